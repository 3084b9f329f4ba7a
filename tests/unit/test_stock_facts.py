"""A movement's reads as plain facts (``stock_line_facts``, ``receipt_target``): the same values the rows hold,
the same refusals (the race with facts is ``test_concurrency``'s stock-operations race, run with both reads)."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.errors import NotFound
from inventory.models import StockLine
from inventory.stock import (
    LineFacts,
    get_stock_line,
    ledger_mismatches,
    receipt_target,
    receive_stock,
    stock_line_facts,
)


def test_line_facts_hold_what_the_rows_hold(session, stocked_line):
    line = stocked_line(7)
    line_id, warehouse_code, batch = line.id, line.warehouse.code, line.batch
    session.expunge_all()  # a fresh request's session: the facts come from the driver read
    facts = stock_line_facts(session, line_id)
    target = receipt_target(session, warehouse_code=warehouse_code, item_code="PD-001", batch=batch)
    row = get_stock_line(session, line_id)
    assert isinstance(facts, LineFacts) and target.line == facts
    assert (facts.id, facts.batch, facts.production_date, facts.expiry_date) == (
        row.id,
        row.batch,
        row.production_date,
        row.expiry_date,
    )
    assert isinstance(facts.expiry_date, dt.date)  # SQLite's text converted as the ORM converts it
    warehouse, item = facts.warehouse, facts.item
    assert (warehouse.id, warehouse.code, warehouse.province_code, warehouse.status) == (
        row.warehouse.id,
        row.warehouse.code,
        row.warehouse.province_code,
        row.warehouse.status,
    )
    assert warehouse.status is row.warehouse.status  # the enum member, not its code
    assert (item.id, item.code, item.shelf_life_days) == (row.item.id, row.item.code, row.item.shelf_life_days)
    assert target.warehouse == warehouse and target.item == item


def test_line_facts_refuse_a_missing_line_as_get_stock_line_does(session):
    with pytest.raises(NotFound) as from_facts:
        stock_line_facts(session, 987654)
    with pytest.raises(NotFound) as from_row:
        get_stock_line(session, 987654)
    assert (from_facts.value.message, from_facts.value.field) == (from_row.value.message, from_row.value.field)


def test_a_line_the_session_holds_is_answered_as_the_row(session, stocked_line):
    line = stocked_line(7)
    assert stock_line_facts(session, line.id) is line  # its state may be newer than the row's


def test_receipt_of_a_new_batch_and_one_that_fills_dates_from_facts(session, stocked_line):
    """A receipt read as facts still creates a new batch's line and writes dates missing on an existing one."""
    line = stocked_line(5)
    line_id, warehouse_code = line.id, line.warehouse.code
    session.execute(StockLine.__table__.update().where(StockLine.id == line_id).values(production_date=None))
    session.commit()
    session.expunge_all()
    for batch, dates in (("NEW", {}), ("B1", {"production_date": dt.date(2026, 1, 1)})):
        target = receipt_target(session, warehouse_code=warehouse_code, item_code="PD-001", batch=batch)
        movement = receive_stock(
            session,
            warehouse=target.warehouse,
            item=target.item,
            line=target.line,
            batch=batch,
            quantity=2,
            actor="tester",
            **dates,
        )
        assert movement.stock_line.batch == batch and movement.quantity_after == (2 if batch == "NEW" else 7)
    session.commit()
    assert session.get(StockLine, line_id).production_date == dt.date(2026, 1, 1)
    assert ledger_mismatches(session) == []
