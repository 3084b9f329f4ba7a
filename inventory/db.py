"""Engine set-up that the domain needs from any database, whoever creates the engine.

SQLite under several gunicorn workers needs WAL (readers never block the writer), a busy
timeout, enforced foreign keys, and write transactions that start with BEGIN IMMEDIATE: a
deferred transaction that reads first and upgrades to a write later fails at once with
"database is locked", ignoring the busy timeout. Edges declare a write with ``intends_to_write``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy.orm import Session

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


def data_version(session: Session, table: str) -> int:
    """The change counter of ``table`` (warehouse, item, item_alias), bumped by database triggers."""
    return session.scalar(_DATA_VERSION, {"table": table}) or 0


IN_CHUNK = 1_000  # values per IN (…) list: well under SQLite's and PostgreSQL's parameter limits


def chunks(values: list, size: int = IN_CHUNK) -> Iterator[list]:
    """Slices of ``values`` small enough for one IN (…) list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
