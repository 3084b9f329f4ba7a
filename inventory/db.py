"""Engine set-up that the domain needs from any database, whoever creates the engine.

SQLite under several gunicorn workers needs WAL (readers never block the writer), a busy
timeout, enforced foreign keys, and write transactions that start with BEGIN IMMEDIATE: a
deferred transaction that reads first and upgrades to a write later fails at once with
"database is locked", ignoring the busy timeout. Edges declare a write with ``intends_to_write``.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from inventory.models import DataVersion

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)

SQLITE_BUSY_TIMEOUT_MS = 15_000


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
    """Install the per-dialect connection settings described above (idempotent)."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_inventory_configured", False):
        return
    engine._inventory_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself rather than pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


# Built once: the nearest search asks for the warehouse version on every request.
_DATA_VERSION = select(DataVersion.version).where(DataVersion.name == bindparam("table"))


_DATA_VERSIONS = select(func.sum(DataVersion.version)).where(DataVersion.name.in_(bindparam("tables", expanding=True)))


def data_version(session: Session, *tables: str) -> int:
    """The change counter of ``tables`` (warehouse, item, item_alias), bumped by database triggers.

    Of several tables, the sum: it grows whenever any of them changes, so it versions them together.
    """
    if len(tables) == 1:
        return session.scalar(_DATA_VERSION, {"table": tables[0]}) or 0
    return int(session.scalar(_DATA_VERSIONS, {"tables": list(tables)}) or 0)


class Versioned(Protocol):
    version: int


CachedT = TypeVar("CachedT", bound=Versioned)
_worker_caches: weakref.WeakKeyDictionary[Engine, dict[tuple, Versioned]] = weakref.WeakKeyDictionary()
_worker_cache_lock = threading.Lock()


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
    if cached.version == version:
        return cached  # type: ignore[return-value]
    return load(session, version)


def _load_committed(engine: Engine, session: Session, tables: tuple[str, ...], load: Callable) -> Versioned:
    """The committed rows, read on a connection of our own, outside the pool.

    Outside the pool because the caller already holds a pooled connection: under many threads a
    second one from the same pool can wait for a connection that never frees. The read takes no
    write lock. An in-memory SQLite database exists only on the session's connection: read there.
    """
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
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


def chunks(values: list, size: int = IN_CHUNK) -> Iterator[list]:
    """Slices of ``values`` small enough for one IN (…) list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
