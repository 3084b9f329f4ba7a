"""SQLite: a connection that bulk-writes (``db.insert_many``) commits without checkpointing the write-ahead log, and
its log is checkpointed on the checkpointing thread once the connection is back in the pool (``db._Checkpoints``);
every other connection keeps SQLite's automatic checkpoint."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from sqlalchemy import select

from api.extensions import db
from inventory import db as database
from inventory.db import insert_many
from inventory.models import DataVersion


@pytest.fixture(autouse=True)
def _sqlite_only(db_kind):
    if db_kind != "sqlite":
        pytest.skip("SQLite's write-ahead log")


def _autocheckpoint(session) -> int:
    return session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()


def _log_state(path: str) -> tuple[int, int]:
    """(frames in the log, frames of it already copied into the database file), read from the wal-index the
    connections share (``<file>-shm``, https://sqlite.org/walformat.html: ``mxFrame`` at byte 16 of its header,
    ``nBackfill`` at byte 96), without touching the log."""
    header = Path(f"{path}-shm").read_bytes()[:100]
    return struct.unpack_from("=I", header, 16)[0], struct.unpack_from("=I", header, 96)[0]


def test_a_bulk_write_commits_without_checkpointing_and_the_thread_checkpoints_after_checkin(session):
    path = db.engine.url.database
    assert _autocheckpoint(session) == 1000  # SQLite's default, on every connection that has not bulk-written
    before = database._CHECKPOINTS.checkpointed

    rows = [(f"bulk-{number}", number) for number in range(150_000)]  # > 1,000 pages of log
    insert_many(session, DataVersion.__table__, rows, ("name", "version"))
    assert _autocheckpoint(session) == 0  # this connection's commit leaves the log as it is
    session.commit()
    frames, copied = _log_state(path)
    assert frames > 1000 and copied < frames  # SQLite's own checkpoint would have copied them all by now
    assert database._CHECKPOINTS.checkpointed == before  # nothing asked before the connection is back

    session.close()  # back in the pool: the log is handed over
    assert database._CHECKPOINTS.settle(10)
    assert database._CHECKPOINTS.checkpointed == before + 1
    assert _log_state(path) == (frames, frames)  # the thread copied all of it
    assert _autocheckpoint(session) == 1000  # the pooled connection has its automatic checkpoint back
    assert session.scalar(select(DataVersion.version).where(DataVersion.name == "bulk-149999")) == 149999


def test_a_plain_write_keeps_sqlite_s_own_checkpoint(session):
    before = database._CHECKPOINTS.checkpointed
    session.add(DataVersion(name="plain", version=1))
    session.commit()
    session.close()
    assert database._CHECKPOINTS.settle(10)
    assert database._CHECKPOINTS.checkpointed == before


def test_a_checkpoint_of_a_file_gone_meanwhile_does_not_create_it(tmp_path: Path):
    gone = tmp_path / "replaced.sqlite3"
    database._CHECKPOINTS.request(str(gone))
    assert database._CHECKPOINTS.settle(10)
    assert not gone.exists()


def test_a_checkpoint_that_fails_leaves_the_thread_checkpointing_the_others(tmp_path: Path):
    before = database._CHECKPOINTS.checkpointed
    database._CHECKPOINTS.request("no\x00such")  # sqlite3.connect refuses the path outright (ValueError)
    database._CHECKPOINTS.request(str(tmp_path / "absent.sqlite3"))
    assert database._CHECKPOINTS.settle(10)
    assert database._CHECKPOINTS.checkpointed == before + 2 and database._CHECKPOINTS.thread.is_alive()
