"""``db.insert_many(…, overlap=True)``: chunks inserted by a writer thread while the next is built, with the same
rows, the same errors and nothing written after a chunk that failed."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Numeric, String, Table, create_engine, select
from sqlalchemy.orm import Session

from inventory import db as inventory_db
from inventory.db import configure_engine, insert_many

_METADATA = MetaData()
_LINES = Table(
    "overlap_line",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("quantity", Numeric(12, 3), nullable=False),
)


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setattr(inventory_db, "WRITE_CHUNK", 3)  # 10 rows: four chunks
    engine = create_engine(f"sqlite:///{tmp_path / 'overlap.sqlite3'}")
    configure_engine(engine)
    _METADATA.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _rows(count: int) -> list[tuple]:
    return [(number, f"code-{number}", Decimal(number) / 4) for number in range(1, count + 1)]


def _inserting_threads(session: Session) -> list[str]:
    """The name of the thread that ran each INSERT (SQLite calls the trace callback in that thread)."""
    names: list[str] = []
    driver = session.connection().connection.driver_connection

    def traced(statement: str) -> None:
        if statement.startswith("INSERT"):
            names.append(threading.current_thread().name)

    driver.set_trace_callback(traced)
    return names


@pytest.mark.parametrize("overlap", [False, True])
def test_the_same_rows_either_way_and_inserted_by_the_writer_thread(session, overlap):
    threads = _inserting_threads(session)
    assert insert_many(session, _LINES, _rows(10), ("id", "code", "quantity"), overlap=overlap) == 10
    stored = session.execute(select(_LINES.c.id, _LINES.c.code, _LINES.c.quantity).order_by(_LINES.c.id)).all()
    assert [tuple(row) for row in stored] == _rows(10)
    main = threading.current_thread().name
    assert len(threads) == 10
    assert set(threads) == ({"insert_many"} if overlap else {main})


@pytest.mark.parametrize("overlap", [False, True])
def test_a_failing_chunk_raises_its_error_and_no_later_chunk_is_written(session, overlap):
    rows = _rows(10)
    rows[7] = (8, "code-1", Decimal(2))  # the third chunk repeats the first row's code
    built: list[int] = []

    def generated():
        for row in rows:
            built.append(row[0])
            yield row

    with pytest.raises(sqlite3.IntegrityError):
        insert_many(session, _LINES, generated(), ("id", "code", "quantity"), overlap=overlap)
    ids = session.scalars(select(_LINES.c.id).order_by(_LINES.c.id)).all()
    assert ids == [1, 2, 3, 4, 5, 6, 7]  # the failing chunk stops at its row; the fourth is never inserted
    assert built[-1] <= 10
    session.rollback()
    assert session.scalars(select(_LINES.c.id)).all() == []  # the caller's rollback takes back everything


def test_an_error_building_the_rows_waits_for_the_writer(session):
    def generated():
        yield from _rows(7)
        raise ValueError("built wrong")

    with pytest.raises(ValueError, match="built wrong"):
        insert_many(session, _LINES, generated(), ("id", "code", "quantity"), overlap=True)
    assert threading.active_count() == 1 or all(t.name != "insert_many" for t in threading.enumerate())
    assert session.scalars(select(_LINES.c.id).order_by(_LINES.c.id)).all() == [1, 2, 3, 4, 5, 6]
