"""Engine set-up that the domain needs from any database, whoever creates the engine.

SQLite under several gunicorn workers needs WAL (readers never block the writer), a busy
timeout, enforced foreign keys, and write transactions that start with BEGIN IMMEDIATE: a
deferred transaction that reads first and upgrades to a write later fails at once with
"database is locked", ignoring the busy timeout. Edges declare a write with ``intends_to_write``.

Also the helpers every service shares for talking to either database: error classification, data
versions and per-worker caches, IN-list chunks, and bulk writes (COPY on PostgreSQL, else executemany).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import gc
import itertools
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Select,
    Table,
    create_engine,
    event,
    exc,
    insert,
)
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.pool import NullPool

from inventory.models import DataVersion
from inventory.validation import memoised

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
# A PostgreSQL server that does not answer (a dropped network, not a refused connection) must not
# hold a worker until gunicorn kills it: give up connecting after this many seconds.
POSTGRESQL_CONNECT_TIMEOUT_S = 5


@contextlib.contextmanager
def intends_to_write() -> Iterator[None]:
    """Within this block, new SQLite transactions take the write lock up front (BEGIN IMMEDIATE)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(value: bool) -> contextvars.Token:
    """For edges that cannot wrap a block (a request hook); pair with ``reset_write_intent``."""
    return _write_intent.set(value)


def reset_write_intent(token: contextvars.Token) -> None:
    _write_intent.reset(token)


def configure_engine(engine: Engine) -> None:
    """Install the per-dialect connection settings described above (idempotent).

    Recovery after the database comes back: a pooled connection that sat idle for more than
    ``PING_AFTER_IDLE_S`` is tested on checkout, and discarded and replaced if it died with the server
    (see ``_ping_idle_connections``); one in steady use is not, which saves a round trip per request.
    A connection that dies in use fails that request (a 503), and the pool then drops every connection
    opened before it, as SQLAlchemy does on any disconnect.
    """
    if getattr(engine, "_inventory_configured", False):
        return
    engine._inventory_configured = True  # type: ignore[attr-defined]
    _ping_idle_connections(engine)
    _drop_data_versions_when_stale(engine)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "do_connect")
        def _connect_timeout(_dialect, _record, _cargs, cparams) -> None:
            cparams.setdefault("connect_timeout", POSTGRESQL_CONNECT_TIMEOUT_S)

        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself rather than pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as error:
            # A read-only file (or directory) cannot switch to WAL; it can still be read, and each
            # write is refused as SQLITE_READONLY (a 503 at the edge) instead of nothing working.
            log.debug("SQLite journal mode left unchanged: %s", error)
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 8 MB of page cache (SQLite's default is 2 MB): a nearest search touches ~80 pages of a national file
        # (docs/benchmarks.md "s24: nearest in-process": -3.5 % CPU at p50, +5.6 MB resident per connection).
        cursor.execute("PRAGMA cache_size=-8192")
        cursor.close()

    if not _in_memory(engine):
        _checkpoint_after_bulk_writes(engine, engine.url.database)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Every transaction sends it: on the cursor (events and error handling as exec_driver_sql's, a fraction
        # of the cost).
        driver_rows(connection, "BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


PING_AFTER_IDLE_S = 1.0

# SQLite checkpoints its write-ahead log on the committing connection, right after a commit that leaves more than
# 1,000 pages in it: the national import's commit took 0.17 s, 0.14 s of it that checkpoint. A connection that
# bulk-writes (``insert_many``) commits without it, and its log is checkpointed on a thread of its own once the
# connection is back in the pool (SQLite's own advice for latency: docs/benchmarks.md, "s27").
_CHECKPOINT_DEFERRED = "checkpoint_deferred"
_SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, restored on the connection once its log is handed over


def _checkpoint_after_bulk_writes(engine: Engine, path: str) -> None:
    engine._checkpoints_handed_over = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "checkin")
    def _hand_over_the_log(dbapi_connection, record) -> None:
        if record.info.pop(_CHECKPOINT_DEFERRED, False):
            if dbapi_connection is not None:  # None: invalidated, closed with its setting
                with contextlib.suppress(sqlite3.Error):
                    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_AUTOCHECKPOINT_PAGES}")
            _CHECKPOINTS.request(path)


def _defer_checkpoint(session: Session) -> None:
    """This SQLite connection's commits leave the log to the checkpointing thread until it is checked in."""
    connection = session.connection()
    engine = connection.engine
    # only where the log is handed over at checkin (``configure_engine``, for a file: a memory database has none)
    if _CHECKPOINT_DEFERRED not in connection.info and getattr(engine, "_checkpoints_handed_over", False):
        connection.connection.driver_connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.info[_CHECKPOINT_DEFERRED] = True


class _Checkpoints:
    """One daemon thread that checkpoints the SQLite files asked of it, one at a time (PASSIVE: it never waits
    for a reader or a writer, nor makes one wait; what it cannot copy now, the next checkpoint copies).

    Its connection opens the file only if it still exists (``mode=rw``: a file replaced or removed meanwhile is
    not created again), and is closed after each checkpoint. A process that exits mid-checkpoint leaves nothing
    half-done: the log stays whole until the database file holds its pages. After a fork the child starts
    afresh (the parent's thread does not exist there)."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.condition = threading.Condition()
        self.thread: threading.Thread | None = None
        self.busy = False  # a checkpoint is running
        self.checkpointed = 0  # checkpoints run by this process (the tests read it)

    def request(self, path: str) -> None:
        with self.condition:
            self.pending.add(path)
            self.condition.notify()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
                self.thread.start()

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until every checkpoint asked for has run (tests; whatever copies the file); False on timeout."""
        with self.condition:
            return self.condition.wait_for(lambda: not self.pending and not self.busy, timeout)

    def _run(self) -> None:
        while True:
            with self.condition:
                self.condition.wait_for(lambda: self.pending)
                path = self.pending.pop()
                self.busy = True
            try:
                _checkpoint(path)
            finally:
                with self.condition:
                    self.busy = False
                    self.checkpointed += 1
                    self.condition.notify_all()

    def _after_fork(self) -> None:
        self.pending, self.condition, self.thread, self.busy = set(), threading.Condition(), None, False


def _checkpoint(path: str) -> None:
    try:
        address = f"{Path(path).resolve().as_uri()}?mode=rw"
        with contextlib.closing(sqlite3.connect(address, uri=True, timeout=1.0)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as error:  # gone, replaced, not in WAL mode: the next automatic checkpoint does it
        log.debug("SQLite checkpoint of %s left to the next: %s", path, error)
    except Exception:  # whatever it is, the thread lives on for the other files
        log.exception("SQLite checkpoint of %s failed", path)


_CHECKPOINTS = _Checkpoints()
os.register_at_fork(after_in_child=_CHECKPOINTS._after_fork)


def settle_checkpoints(timeout: float = 30.0) -> bool:
    """Wait for the checkpoints asked of the checkpointing thread (a process about to exit, a benchmark between
    steps); False if they did not end within ``timeout``."""
    return _CHECKPOINTS.settle(timeout)


atexit.register(settle_checkpoints, 10.0)  # a CLI import leaves its file checkpointed (daemon threads just stop)


def _ping_idle_connections(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, for connections idle longer than ``PING_AFTER_IDLE_S`` only.

    The pessimistic disconnect handling of SQLAlchemy's pooling documentation: raising
    ``DisconnectionError`` on checkout makes the pool discard the connection and try a new one.
    """

    @event.listens_for(engine, "checkin")
    def _note_idle_since(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None) or classify_database_error(error):
                raise exc.DisconnectionError() from error
            raise


@dataclass(frozen=True)
class DatabaseFailure:
    """A database error that says nothing about the request: the database cannot serve it now.

    ``cause`` is a short stable name ("deadlock", "unavailable", "read-only"…), ``code`` the driver's
    own (a PostgreSQL SQLSTATE or an SQLite result code name). ``retry_in_server``: the database
    rolled the transaction back because of a concurrent one, so running it again may succeed.
    ``retry_after``: seconds a client should wait before trying again.
    """

    cause: str
    code: str
    retry_in_server: bool = False
    retry_after: int = 1


_DEADLOCK = ("deadlock", True, 1)
_SERIALIZATION = ("serialization failure", True, 1)
_BUSY = ("busy", False, 1)
_UNAVAILABLE = ("unavailable", False, 5)
_READ_ONLY = ("read-only", False, 30)
_DISK_FULL = ("disk full", False, 30)
_RESOURCES = ("out of resources", False, 5)
_IO_ERROR = ("I/O error", False, 30)

# PostgreSQL SQLSTATEs (Appendix A of its manual): exact codes first, then their class (first two characters).
_SQLSTATES = {
    "40P01": _DEADLOCK,  # deadlock_detected
    "40001": _SERIALIZATION,  # serialization_failure
    "55P03": _BUSY,  # lock_not_available (lock_timeout, NOWAIT)
    "57P01": _UNAVAILABLE,  # admin_shutdown
    "57P02": _UNAVAILABLE,  # crash_shutdown
    "57P03": _UNAVAILABLE,  # cannot_connect_now (starting up, shutting down)
    "25006": _READ_ONLY,  # read_only_sql_transaction (a standby, default_transaction_read_only)
    "53100": _DISK_FULL,  # disk_full
    "58030": _IO_ERROR,  # io_error
}
_SQLSTATE_CLASSES = {
    "08": _UNAVAILABLE,  # connection exceptions
    "53": _RESOURCES,  # insufficient resources: out of memory, too many connections
}
# SQLite primary result codes (the low byte of the extended code).
_SQLITE_CODES = {
    sqlite3.SQLITE_BUSY: _BUSY,
    sqlite3.SQLITE_LOCKED: _BUSY,
    sqlite3.SQLITE_READONLY: _READ_ONLY,
    sqlite3.SQLITE_FULL: _DISK_FULL,
    sqlite3.SQLITE_CANTOPEN: _UNAVAILABLE,
    sqlite3.SQLITE_IOERR: _IO_ERROR,
    sqlite3.SQLITE_NOMEM: _RESOURCES,
}


def is_missing_table(error: BaseException) -> bool:
    """A statement named a table the database does not have: its schema was never created (or is behind)."""
    orig = error.orig if isinstance(error, exc.DBAPIError) else error
    if isinstance(orig, sqlite3.OperationalError):
        return str(orig).startswith("no such table")
    return getattr(orig, "sqlstate", None) == "42P01"  # PostgreSQL's undefined_table


def classify_database_error(error: BaseException) -> DatabaseFailure | None:
    """What kind of unavailability ``error`` is, from driver error codes; None for anything else.

    Takes SQLAlchemy's wrapped errors or the driver's own. None means the error is about the
    request or the code (a constraint, a bad value, a bug): the caller must not call it transient.
    """
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return _failure(_BUSY, "pool timeout")
    orig = error.orig if isinstance(error, exc.DBAPIError) else error
    if isinstance(orig, sqlite3.Error):
        extended = getattr(orig, "sqlite_errorcode", None)
        if extended is None:
            return None
        name = getattr(orig, "sqlite_errorname", None) or str(extended)
        if extended == sqlite3.SQLITE_BUSY_SNAPSHOT:  # a read transaction's snapshot went stale before it wrote
            return _failure(_SERIALIZATION, name)
        entry = _SQLITE_CODES.get(extended & 0xFF)
        return _failure(entry, name) if entry else None
    sqlstate = getattr(orig, "sqlstate", None) or ""
    entry = _SQLSTATES.get(sqlstate) or _SQLSTATE_CLASSES.get(sqlstate[:2])
    if entry:
        return _failure(entry, sqlstate)
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return _failure(_UNAVAILABLE, sqlstate or "connection lost")
    if not sqlstate and _is_connection_failure(orig):
        return _failure(_UNAVAILABLE, "connection failed")
    return None


def _failure(entry: tuple[str, bool, int], code: str) -> DatabaseFailure:
    cause, retry_in_server, retry_after = entry
    return DatabaseFailure(cause, code, retry_in_server, retry_after)


def _is_connection_failure(orig: BaseException | None) -> bool:
    """psycopg reports a refused or lost connection without a SQLSTATE, as OperationalError or InterfaceError."""
    try:
        import psycopg
    except ImportError:  # SQLite-only installations
        return False
    return isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)


# Every request that uses a worker cache reads the versions: the driver's own SQL, nothing to compile.
_DATA_VERSIONS = f"SELECT name, version FROM {DataVersion.__tablename__}"
_VERSIONS_KEY = "inventory_data_versions"


_READ_CONNECTION = "inventory_read_connection"


def _plain_session(session: Session | scoped_session) -> Session:
    """The request's own session behind a scoped one (Flask-SQLAlchemy's ``db.session`` is scoped)."""
    return session() if isinstance(session, scoped_session) else session


@contextlib.contextmanager
def reading(session: Session) -> Iterator[Connection]:
    """A connection for a read-only service call (the nearest search, a plan): the session's own when it is in a
    transaction, or its caller declared a write (``intends_to_write``: on SQLite the session's transaction then
    takes the write lock up front, so what the call read stays true until the caller writes), or the database
    is in memory (one connection in all); else a pooled connection in a read transaction of its own, rolled
    back when the block ends.

    The own transaction costs less than the ORM session's begin and rollback (on SQLite, with the data-version
    read: 161–179 against 218–290 µs of CPU at load 11, docs/benchmarks.md "s23: search") and is as fresh: a
    pooled checkout, a plain ``BEGIN`` (deferred on SQLite: one snapshot from the first read), the engine's
    events as on any connection. Inside the block the session's data-version reads (``data_versions``: the
    worker caches, ``VersionedMemo``) go to this connection, so one snapshot serves them and the block's own
    queries; nothing in the block may begin the session's transaction.
    """
    own = _plain_session(session)
    held = own.info.get(_READ_CONNECTION)
    if held is not None:
        yield held
        return
    engine = own.get_bind()
    if own.in_transaction() or _write_intent.get() or _in_memory(engine):
        yield own.connection()
        return
    connection = engine.connect()
    try:
        connection.begin()
        own.info[_READ_CONNECTION] = connection
        try:
            yield connection
        finally:
            del own.info[_READ_CONNECTION]
    finally:
        connection.close()


@contextlib.contextmanager
def loading_session(session: Session) -> Iterator[Session]:
    """The session a worker copy or memo loads through: within ``reading``, one bound to its connection (its
    snapshot; the request's session must not begin, nor a second pooled connection be taken), else ``session``."""
    own = _plain_session(session)
    read = own.info.get(_READ_CONNECTION)
    if read is None:
        yield session
        return
    with Session(bind=read) as reader:
        yield reader


def _in_memory(engine: Engine) -> bool:
    return engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:")


def data_versions(session: Session) -> dict[str, int]:
    """Every table's change counter, read once per transaction: one small SELECT however many caches ask.

    Kept on the connection until it writes (a trigger may have bumped a counter), begins, commits or
    rolls back: the listeners of ``configure_engine`` drop it; an engine without them reads every time.
    Within ``reading``'s block, read on its connection.
    """
    connection = session.info.get(_READ_CONNECTION) or session.connection()
    versions = connection.info.get(_VERSIONS_KEY)
    if versions is None:
        versions = dict(driver_rows(connection, _DATA_VERSIONS))
        if getattr(connection.engine, "_inventory_configured", False):
            connection.info[_VERSIONS_KEY] = versions
    return versions


def driver_rows(connection: Connection, statement: str, parameters: Sequence | dict | None = None) -> list[tuple]:
    """The rows of a read, as the driver's plain tuples, from a DB-API cursor of ``connection`` (in its transaction).

    For the reads every search makes (the data versions, the nearest stock query): SQLAlchemy's own execution
    costs many times such a query (~190 µs against ~10 µs for the data versions on SQLite). The engine's cursor
    events still see the statement (statement counters, the data-version memo), and a driver error goes through
    SQLAlchemy's own handling, as ``exec_driver_sql``'s would: wrapped, ``handle_error`` events, a connection the
    database dropped invalidated. ``statement`` is in the driver's paramstyle; values are not converted.
    """
    cursor = connection.connection.cursor()
    # try/except rather than ``driver_errors_raised_as_sqlalchemy_s``, which does the same: every search reads
    # through here twice, and a context manager costs ~1.2 µs a call where try costs nothing.
    try:
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, statement, parameters, None, False)
        if parameters is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, parameters)
        rows = cursor.fetchall()
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, statement, parameters, None, False)
        cursor.close()
        return rows
    except Exception as error:
        connection._handle_dbapi_exception(error, statement, parameters, cursor, None)  # raises, wrapped
        raise  # not reached: for type checkers


@contextlib.contextmanager
def driver_errors_raised_as_sqlalchemy_s(
    connection: Connection, statement: str, cursor=None, parameters: Sequence | dict | None = None
) -> Iterator[None]:
    """A driver error met on a DB-API cursor of ``connection`` (a read, an executemany, a COPY) raised as
    SQLAlchemy raises it from ``execute``: wrapped (a constraint's ``IntegrityError`` answers 409, a bad value's
    ``DataError`` 422, an unavailable database 503), ``handle_error`` events run, a dropped connection
    invalidated. Unwrapped, a unique violation an import met racing a receipt was a 500."""
    try:
        yield
    except Exception as error:
        connection._handle_dbapi_exception(error, statement, parameters, cursor, None)  # raises, wrapped
        raise  # not reached: for type checkers


def data_version(session: Session, *tables: str) -> int:
    """The change counter of ``tables`` (warehouse, item, item_alias, …), bumped by database triggers.

    Of several tables, the sum: it grows whenever any of them changes, so it versions them together.
    """
    versions = data_versions(session)
    return sum(versions.get(table, 0) for table in tables)


def _forget_data_versions(connection, *_args) -> None:
    # A connection the database dropped raises when asked for its info (PendingRollbackError): the memo went
    # with it, since a DBAPI connection's info is cleared when it is invalidated.
    with contextlib.suppress(exc.SQLAlchemyError):
        connection.info.pop(_VERSIONS_KEY, None)


def _forget_data_versions_on_write(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info.pop(_VERSIONS_KEY, None)


def _forget_data_versions_on_checkin(_dbapi_connection, record) -> None:
    record.info.pop(_VERSIONS_KEY, None)


def _drop_data_versions_when_stale(engine: Engine) -> None:
    """The memo of ``data_versions`` lives as long as the transaction that read it, and no write."""
    for name in ("begin", "commit", "rollback", "rollback_savepoint"):
        event.listen(engine, name, _forget_data_versions)
    event.listen(engine, "after_cursor_execute", _forget_data_versions_on_write)
    event.listen(engine, "checkin", _forget_data_versions_on_checkin)


class Versioned(Protocol):
    version: int


CachedT = TypeVar("CachedT", bound=Versioned)
_per_engine_caches: list[weakref.WeakKeyDictionary] = []


def per_engine_cache() -> weakref.WeakKeyDictionary:
    """A worker-wide cache keyed by engine, emptied with the others by ``forget_worker_copies``."""
    cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    _per_engine_caches.append(cache)
    return cache


def forget_worker_copies(engine: Engine) -> None:
    """Drop every copy this worker keeps for ``engine``: its database was replaced underneath it.

    Data versions restart with a replaced database (a restored file, the test suite's template), so a
    version can come round again with other rows behind it: a version check alone would not notice.
    """
    for cache in _per_engine_caches:
        cache.pop(engine, None)


_worker_caches: weakref.WeakKeyDictionary[Engine, dict[tuple, Versioned]] = per_engine_cache()
_worker_cache_lock = threading.Lock()
# Called with the tables' names each time a worker reloads a cache (the edge counts them as a metric).
cache_reload_listeners: list[Callable[[tuple[str, ...]], None]] = []


def worker_cache(session: Session, tables: tuple[str, ...], load: Callable[[Session, int], CachedT]) -> CachedT:
    """This worker's copy of what ``load`` reads from ``tables``, reloaded when any of them changed.

    One integer read per call: the tables' data version, which database triggers bump on every
    insert, update or delete, whichever worker, import or script made it. Only committed rows are
    shared between requests: a transaction that sees another version (its own uncommitted
    changes) gets a copy of its own, so a rolled-back change never lingers.
    """
    engine = session.get_bind()
    version = data_version(session, *tables)
    key = (tables, load)
    cached = _worker_caches.get(engine, {}).get(key)
    if cached is not None and cached.version == version:
        return cached  # type: ignore[return-value]
    with _worker_cache_lock:
        cached = _worker_caches.get(engine, {}).get(key)
        if cached is None or cached.version != version:
            cached = _load_committed(engine, session, tables, load)
            _worker_caches.setdefault(engine, {})[key] = cached
            for listener in cache_reload_listeners:
                listener(tables)
    if cached.version == version:
        return cached  # type: ignore[return-value]
    with loading_session(session) as reader:
        return load(reader, version)


class VersionedMemo:
    """Per-worker answers by key, all forgotten as soon as the data version of ``tables`` changes.

    For lookups too many to load at once (the principal behind each token seen): ``lookup`` costs one
    integer read when the answer is known. Only answers read from committed rows are kept: the session
    must not be inside a transaction yet (its first read is the version), else ``lookup`` just loads.
    ``load`` returns None for what must not be kept (unknown keys: a flood of made-up ones must not
    fill the memory); at most ``max_entries`` are kept, then the memo starts afresh.
    """

    def __init__(self, tables: tuple[str, ...], max_entries: int = 10_000) -> None:
        self.tables = tables
        self.max_entries = max_entries
        self._by_engine: weakref.WeakKeyDictionary[Engine, tuple[int, dict]] = per_engine_cache()
        self._lock = threading.Lock()

    def lookup(self, session: Session, key: object, load: Callable[[Session], object]):
        own = _plain_session(session)
        if own.in_transaction():
            return load(session)
        engine = session.get_bind()
        version = data_version(session, *self.tables)
        memo = self._by_engine.get(engine)
        if memo is None or memo[0] != version:
            with self._lock:
                memo = self._by_engine.get(engine)
                if memo is None or memo[0] != version:
                    memo = (version, {})
                    self._by_engine[engine] = memo
        entries = memo[1]
        found = entries.get(key)
        if found is not None:
            return found
        with loading_session(session) as reader:
            found = load(reader)
        if found is not None:
            if len(entries) >= self.max_entries:
                entries.clear()
            entries[key] = found
        return found


def _load_committed(engine: Engine, session: Session, tables: tuple[str, ...], load: Callable) -> Versioned:
    """The committed rows, read on a connection of our own, outside the pool.

    Outside the pool because the caller already holds a pooled connection: under many threads a
    second one from the same pool can wait for a connection that never frees. The read takes no
    write lock. An in-memory SQLite database exists only on the session's connection: read there.
    """
    if _in_memory(engine):
        return load(session, data_version(session, *tables))
    own_engine = create_engine(engine.url, poolclass=NullPool)
    configure_engine(own_engine)
    token = set_write_intent(False)
    try:
        with Session(own_engine) as own:
            # Version first: rows committed after it only make the copy newer than its label,
            # which costs one extra reload, never a stale answer.
            return load(own, data_version(own, *tables))
    finally:
        reset_write_intent(token)
        own_engine.dispose()


IN_CHUNK = 1_000  # values per IN (…) list: well under SQLite's and PostgreSQL's parameter limits


@contextlib.contextmanager
def unless_taken_meanwhile(session: Session, conflict: Callable[[], Exception | None]) -> Iterator[None]:
    """Write in a savepoint what the caller checked was free (a code, a username…): if a row committed since
    (two creations at once, PostgreSQL) breaks the unique key, ``conflict()`` checks again and its refusal (the
    caller's own 409, naming the field) is raised instead of a bare IntegrityError; None: the error stands."""
    try:
        with session.begin_nested():
            yield
    except exc.IntegrityError:
        refusal = conflict()
        if refusal is None:
            raise
        raise refusal from None


RowLock = Literal["", "edit", "delete"]


def locked(statement: Select, entity: type, lock: RowLock) -> Select:
    """``statement`` locking ``entity``'s row to the commit and reading it as committed, for a service that reads
    a row to change it (PostgreSQL; SQLite's writes are serial): two at once then queue, the second checking what
    the first committed, or finding the row gone. ``"edit"`` takes FOR NO KEY UPDATE, as the UPDATE itself would
    (rows that merely refer to it by a foreign key do not wait); ``"delete"`` FOR UPDATE; ``""`` no lock."""
    if not lock:
        return statement
    return statement.with_for_update(key_share=lock == "edit", of=entity).execution_options(populate_existing=True)


def chunks(values: list, size: int = IN_CHUNK) -> Iterator[list]:
    """Slices of ``values`` small enough for one IN (…) list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


WRITE_CHUNK = 10_000  # parameter sets per executemany


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector held off for a bulk step (it is switched back on after).

    A step over a whole ledger makes hundreds of thousands of tuples and objects (rows, planned lines, cache keys),
    and every so many of them set off a collection, every few a pass over the whole heap (the app, SQLAlchemy's
    caches, the import's rows) that finds nothing: reference counting frees them. On the national ledger: the export
    0.8–1.4 s of CPU of about 5; the import (``import_ledger``, which holds it around the whole run) ≈ 2 s of about
    8.5, its planning and writing alone 0.25–0.3 s each (a full pass each). If two such steps overlap, the collector
    is back on once both are done at the latest."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def insert_many(
    session: Session, table: Table, rows: Iterable[dict] | Iterable[tuple], columns: tuple[str, ...] = ()
) -> int:
    """Insert many rows: PostgreSQL's COPY (several times faster than batched INSERTs there), else the driver's
    own executemany.

    Both bypass SQLAlchemy's per-row parameter handling (on 126,000 rows it costs more than the inserting):
    each value goes through its column type's own bind processing (quantities to integer thousandths,
    timestamps to naive UTC, enums to their stored value), converted once per distinct value of a batch
    (``_bound``), so the rows land exactly as an INSERT would write them. A row leaving out a column with a
    Python-side default goes through SQLAlchemy's executemany, which fills the default in (SQLite only).

    With ``columns``, each row is a tuple of those columns' values in that order: no dict per row to build and
    take apart again (the ledger import's 126,000 lines and entries).
    """
    dialect = session.get_bind().dialect
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    names = list(columns or first)
    rows = itertools.chain((first,), rows)
    if dialect.name != "postgresql":
        defaults_left_out = any(column.default is not None and column.name not in names for column in table.columns)
        if dialect.name == "sqlite":
            _defer_checkpoint(session)
        if dialect.paramstyle != "qmark" or defaults_left_out:
            if columns:
                rows = (dict(zip(names, row, strict=True)) for row in rows)
            return executemany(session, insert(table), rows)
        return _driver_executemany(session, table, names, rows, dialect, as_tuples=bool(columns))
    return _copy(session, table, names, rows, dialect, as_tuples=bool(columns))


def _copy(session: Session, table: Table, names: list[str], rows: Iterable, dialect, *, as_tuples: bool) -> int:
    """``COPY … FROM STDIN`` through psycopg, ``WRITE_CHUNK`` rows at a time converted as ``_bound`` converts them.

    In binary when every column's type is one ``_COPY_BINARY_TYPES`` knows (the values are dumped by the column's
    own type, not guessed from each value's Python type, and the server parses no text): on the national import's
    126,000 stock lines 0.05 s of CPU against 0.33 s for text, and less for the server to do.
    """
    types = [_COPY_BINARY_TYPES.get(_type_name(table.c[name].type, dialect)) for name in names]
    binary = all(types)
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN{' (FORMAT BINARY)' if binary else ''}"
    done = 0
    connection = session.connection()
    _forget_data_versions(connection)  # COPY bypasses the statement events; triggers still fire
    with (
        driver_errors_raised_as_sqlalchemy_s(connection, statement),
        connection.connection.driver_connection.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(statement) as copy,
    ):
        if binary:
            copy.set_types(types)
        write_row = copy.write_row
        for batch in _bound_batches(table, names, rows, dialect, as_tuples=as_tuples):
            for values in batch:
                write_row(values)
            done += len(batch)
    return done


# PostgreSQL types (as the dialect spells a column's type, length aside) that binary COPY may dump by the column's
# type: psycopg's binary dumpers for these take what the bind processors give (int, str, date, naive datetime,
# bool). Any other column (JSON, numeric, an array…) keeps the table to text COPY, where psycopg dumps each value by
# its Python type and the server parses it.
_COPY_BINARY_TYPES = {
    "SMALLINT": "int2",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "BOOLEAN": "bool",
    "VARCHAR": "varchar",
    "TEXT": "text",
    "DATE": "date",
    "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
}


def _type_name(column_type, dialect) -> str:
    return column_type.compile(dialect=dialect).partition("(")[0]


def next_ids(session: Session, table: Table, count: int) -> Sequence[int]:
    """The ids the next ``count`` rows inserted into ``table`` take, ascending, for the caller to insert them with
    (no reading them back by key afterwards).

    PostgreSQL: drawn from the id column's own sequence, as its default would draw them (COPY takes ``nextval``
    row by row: the same numbers, uncontended). SQLite: the ones after the largest id, which is what SQLite gives
    an ``INTEGER PRIMARY KEY`` without AUTOINCREMENT; the caller's write transaction keeps them (BEGIN IMMEDIATE:
    no other writer until it ends).
    """
    if count <= 0:
        return []
    connection = session.connection()
    (key,) = table.primary_key.columns
    if connection.dialect.name == "postgresql":
        # The sequence named once (a sub-select, run before the rows): as an argument of nextval itself, the name is
        # looked up in the catalogue again for every row (0.30 s of the server's time for 126,000 ids, against 0.05 s).
        rows = driver_rows(
            connection,
            "SELECT nextval((SELECT pg_get_serial_sequence(%s, %s)::regclass)) FROM generate_series(1, %s) ORDER BY 1",
            (table.name, key.name, count),
        )
        return [row[0] for row in rows]
    quote = connection.dialect.identifier_preparer.quote
    ((last,),) = driver_rows(connection, f"SELECT max({quote(key.name)}) FROM {quote(table.name)}")
    first = (last or 0) + 1
    return range(first, first + count)


def _driver_executemany(
    session: Session, table: Table, names: list[str], rows: Iterable, dialect, *, as_tuples: bool = False
) -> int:
    """``INSERT … VALUES (?, …), (?, …), …`` through the DB-API cursor, ``_rows_per_insert`` rows a statement; the
    rows of a ``WRITE_CHUNK`` batch left over, and a batch smaller than that, by ``executemany`` of the one-row
    statement.

    The same rows in the same order as one INSERT a row (ids given or drawn in that order, triggers and checks
    per row), but SQLite steps and resets one statement per several hundred rows instead of one per row: the
    national import's 126,000 stock lines 0.39-0.40 s of CPU against 0.48-0.50 s by ``executemany``. The driver
    keeps each statement text it ran compiled, about 100 bytes a parameter (``INSERT_PARAMETERS``): one
    many-row text per table and columns, not one per length. A statement that fails keeps none of its rows
    (executemany kept those before the failing one): every caller rolls its savepoint back on the error anyway.
    """
    quote = dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) VALUES "
    one = f"({', '.join('?' for _name in names)})"
    connection = session.connection()
    _forget_data_versions(connection)  # the raw cursor bypasses the statement events; triggers fire
    driver = connection.connection.driver_connection
    most = _rows_per_insert(driver, len(head), len(one), len(names))
    many = None
    cursor = driver.cursor()  # type: ignore[union-attr]
    done = 0
    try:
        with driver_errors_raised_as_sqlalchemy_s(connection, head + one, cursor):
            for batch in _bound_batches(table, names, rows, dialect, as_tuples=as_tuples):
                whole = len(batch) - len(batch) % most
                for start in range(0, whole, most):
                    many = many or head + ", ".join([one] * most)
                    cursor.execute(many, list(itertools.chain.from_iterable(batch[start : start + most])))
                if whole < len(batch):
                    cursor.executemany(head + one, batch[whole:])
                done += len(batch)
    finally:
        cursor.close()
    return done


def _rows_per_insert(driver, head_length: int, row_length: int, width: int) -> int:
    """How many rows of ``width`` values one INSERT may hold: within the connection's limits on parameters and
    on statement length, and at most ``INSERT_PARAMETERS`` parameters."""
    parameters = min(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), INSERT_PARAMETERS)
    length = driver.getlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH) - head_length
    return max(1, min(parameters // width, length // (row_length + 2)))


# Parameters in one many-row INSERT: 800 stock lines. Larger is no cheaper per row (the national import's write:
# 0.84-0.88 s of CPU at 8,000 as at 20,000), and the driver keeps each statement compiled in its connection's cache
# (about 100 bytes a parameter: ~4 MB for an import's five tables, not ~12 MB, on every pooled connection).
INSERT_PARAMETERS = 8_000


def _bound_batches(table: Table, names: list[str], rows: Iterable, dialect, *, as_tuples: bool) -> Iterator[list]:
    """``rows`` (tuples of ``names``' values, or dicts) in batches of ``WRITE_CHUNK``, each value converted by its
    column's bind processor (``_bound``): what COPY and executemany send."""
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    converters = [(position, process) for position, process in enumerate(processors) if process]
    known: list[dict] = [{} for _converter in converters]  # what values converted to, kept from batch to batch
    batch: list = []
    for row in rows:
        batch.append(row if as_tuples else [row[name] for name in names])
        if len(batch) == WRITE_CHUNK:
            yield _bound(batch, converters, known)
            batch = []
    if batch:
        yield _bound(batch, converters, known)


def _bound(batch: list, converters: list[tuple[int, Callable]], known: list[dict] | None = None) -> list:
    """The rows of ``batch`` with each converted column through its bind processor, column by column.

    Bind processors are functions of the value alone, and an import repeats its values (one timestamp, one
    actor, a few thousand quantities over 126,000 rows): each distinct value of a column is converted once
    (by type and value, as ``validation.memoised`` remembers them: a column of one type, None aside, is
    keyed by value alone), and the column is mapped through the table of results in C. ``known`` holds, per
    converter and type, the tables of the batches before: a value is converted once per insert, not per batch.
    """
    if not converters:
        return batch
    columns = list(zip(*batch, strict=True))
    for index, (position, process) in enumerate(converters):
        values = columns[position]
        kinds = set(map(type, values))
        kinds.discard(type(None))
        try:
            if len(kinds) > 1:
                raise TypeError("several types: keyed by type and value")
            results = {} if known is None else known[index].setdefault(next(iter(kinds), None), {})
            for value in set(values).difference(results):
                results[value] = process(value)
        except TypeError:  # unhashable values, or several types whose equal values must stay apart
            columns[position] = list(map(memoised(process), values))
            continue
        columns[position] = list(map(results.__getitem__, values))
    return list(zip(*columns, strict=True))


def executemany(session: Session, statement: Executable, rows: Iterable[dict], size: int = WRITE_CHUNK) -> int:
    """Execute ``statement`` for every parameter set, ``size`` at a time; returns how many there were."""
    done = 0
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            session.execute(statement, batch)
            done, batch = done + size, []
    if batch:
        session.execute(statement, batch)
        done += len(batch)
    return done
