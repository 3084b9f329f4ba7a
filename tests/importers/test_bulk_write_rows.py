"""``write_stock_counts`` stores what SQLAlchemy's own INSERT and UPDATE statements would store, row by row.

The bulk path inserts with ids it draws first (``db.next_ids``), on SQLite by INSERTs of many rows each
(``db._driver_executemany``), on PostgreSQL by binary COPY, with values converted once per distinct value
(``db._bound``). Here the same plan is written both ways on the same state, each
in a savepoint rolled back, and the rows are compared as the driver reads them back: the same ids (those the
database gives the next rows), quantities, dates, timestamps, texts and ledger entries.
"""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal

import pytest
from sqlalchemy import insert, update

import inventory.db
import inventory.imports
from inventory.catalogue import get_item
from inventory.imports import StockCount, plan_stock_counts, write_stock_counts
from inventory.models import Movement, StockLine
from inventory.reference import MovementKind

NOW = dt.datetime(2026, 3, 4, 13, 6, 7, 891011, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # stored as 05:06 UTC
REFERENCE = "IMP-000042"
REASON = "台账导入 ledger import 台账.xlsx"


class _FixedDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


def _stored(session, table: str, after: int) -> list[tuple]:
    rows = session.connection().exec_driver_sql(f"SELECT * FROM {table} WHERE id > {after} ORDER BY id")
    return [tuple(row) for row in rows]


def _last_id(session, table: str) -> int:
    return session.connection().exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()


def _written(session, write) -> tuple[list[tuple], list[tuple]]:
    """The stock lines and ledger entries ``write`` leaves after the current last ones, rolled back after."""
    lines_before, entries_before = _last_id(session, "stock_line"), _last_id(session, "movement")
    savepoint = session.begin_nested()
    try:
        write()
        session.flush()
        return _stored(session, "stock_line", lines_before), _stored(session, "movement", entries_before)
    finally:
        savepoint.rollback()


def _one_statement_a_row(session, plan) -> None:
    """The oracle: Core INSERT/UPDATE statements, one per row, ids given by the database."""
    for line in plan.lines:
        count = line.count
        if line.is_new:
            result = session.execute(
                insert(StockLine.__table__).values(
                    warehouse_id=count.warehouse_id,
                    item_id=count.item_id,
                    batch=count.batch,
                    quantity=count.counted,
                    reserved=Decimal(0),
                    production_date=line.production_date,
                    expiry_date=line.expiry_date,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            line_id = result.inserted_primary_key[0]
        else:
            line_id = line.line_id
            session.execute(
                update(StockLine.__table__)
                .where(StockLine.__table__.c.id == line_id)
                .values(quantity=count.counted, updated_at=NOW)
            )
        if count.counted != line.current:
            session.execute(
                insert(Movement.__table__).values(
                    stock_line_id=line_id,
                    kind=MovementKind.STOCKTAKE,
                    delta=count.counted - line.current,
                    quantity_after=count.counted,
                    actor="tester",
                    reason=REASON,
                    reference=REFERENCE,
                    transfer_key=None,
                    occurred_at=NOW,
                )
            )


def _shifted(rows: list[tuple], by: int, *, line_by: int | None = None) -> list[tuple]:
    """Rows with their id (and a ledger entry's stock line id, when it is a new line's) moved by ``by``."""
    shifted = []
    for row in rows:
        row = (row[0] + by, *row[1:])
        if line_by is not None and row[1] > line_by[0]:
            row = (row[0], row[1] + line_by[1], *row[2:])
        shifted.append(row)
    return shifted


@pytest.mark.parametrize("copied_run", [1_000, 2], ids=["entries bound row by row", "runs of new lines copied"])
@pytest.mark.parametrize(
    "insert_parameters", [None, 25], ids=["rows a statement by the limits", "two rows a statement"]
)
def test_the_bulk_write_stores_what_one_statement_a_row_stores(
    session, db_kind, make_warehouse, stocked_line, monkeypatch, copied_run, insert_parameters
):
    existing = stocked_line(100)
    warehouse = existing.warehouse
    other = stocked_line(100, warehouse=make_warehouse()).warehouse
    carbon, second = get_item(session, "PD-001"), get_item(session, "PD-002")
    counts = [
        StockCount(1, warehouse.id, carbon.id, "B1", Decimal(90)),  # an existing line counted anew
        StockCount(2, warehouse.id, carbon.id, "N1", Decimal(5), dt.date(2025, 3, 1)),
        StockCount(3, warehouse.id, second.id, "新批次", Decimal("1.5")),
        StockCount(4, other.id, carbon.id, "B1", Decimal(70)),  # another, between two runs of new lines
        StockCount(5, other.id, carbon.id, "N3", Decimal(0)),  # a new line of nothing: no ledger entry
        StockCount(6, other.id, second.id, "N4", Decimal("12.345"), None, dt.date(2030, 12, 31)),
        StockCount(7, other.id, carbon.id, "N5", Decimal("1E+6")),
    ]
    # a run of at least this many new lines gets its ledger entries by INSERT … SELECT from the lines
    monkeypatch.setattr(inventory.imports, "_COPIED_RUN", copied_run)
    if insert_parameters:  # SQLite: several INSERTs of two rows and one of the last row (PostgreSQL: COPY)
        monkeypatch.setattr(inventory.db, "INSERT_PARAMETERS", insert_parameters)
    warehouses = {warehouse.id: warehouse, other.id: other}
    monkeypatch.setattr(inventory.imports, "dt", types.SimpleNamespace(datetime=_FixedDatetime, UTC=dt.UTC))

    def bulk():
        plan = plan_stock_counts(session, "tester", counts, warehouses)
        assert not plan.errors and plan.new_lines == 5
        write_stock_counts(session, plan, actor="tester", reference=REFERENCE, reason=REASON)

    lines, entries = _written(session, bulk)
    expected_lines, expected_entries = _written(
        session, lambda: _one_statement_a_row(session, plan_stock_counts(session, "tester", counts, warehouses))
    )
    assert len(lines) == 5 and len(entries) == 6
    # SQLite gives the next rows the same ids again after a rollback; a PostgreSQL sequence moves on past the ones
    # the first write drew, so the second write's ids are the first's moved by as many rows.
    line_shift = 0 if db_kind == "sqlite" else len(lines)
    entry_shift = 0 if db_kind == "sqlite" else len(entries)
    assert expected_lines == _shifted(lines, line_shift)
    last_old_line = max(line[0] for line in lines) - len(lines)
    assert expected_entries == _shifted(entries, entry_shift, line_by=(last_old_line, line_shift))


def test_the_lines_read_for_the_plan_are_what_sqlalchemy_reads(session, make_warehouse, stocked_line):
    """``_locked_lines`` reads the driver's rows and converts them itself (each distinct value once): the same
    lines, ids, quantities and dates as SQLAlchemy's own select, None dates included."""
    from sqlalchemy import select

    warehouse, other = make_warehouse(), make_warehouse()
    lines = [
        stocked_line(100, warehouse=warehouse),
        stocked_line("1.5", warehouse=warehouse, batch="新批次"),
        stocked_line("1.5", warehouse=other, item_code="PD-002", batch=""),
        stocked_line("12.345", warehouse=other),
    ]
    lines[1].expiry_date, lines[2].production_date, lines[3].reserved = dt.date(2030, 12, 31), None, Decimal("2.5")
    session.flush()
    columns = StockLine.__table__.c
    expected = {
        (row.warehouse_id, row.item_id, row.batch): (
            row.id, row.quantity, row.reserved, row.production_date, row.expiry_date
        )
        for row in session.execute(
            select(
                columns.warehouse_id, columns.item_id, columns.batch, columns.id, columns.quantity, columns.reserved,
                columns.production_date, columns.expiry_date,
            ).where(columns.warehouse_id.in_([warehouse.id, other.id]))
        )
    }  # fmt: skip
    read = inventory.imports._locked_lines(session, [warehouse.id, other.id])
    assert read == expected and len(read) == 4
    assert [type(value) for value in read[(other.id, lines[3].item_id, "B1")]] == [
        int,
        Decimal,
        Decimal,
        dt.date,
        dt.date,
    ]
    assert read[(other.id, lines[2].item_id, "")][3] is None
    assert inventory.imports._locked_lines(session, []) == {}
