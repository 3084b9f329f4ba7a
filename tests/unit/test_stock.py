"""The stock ledger at the service boundary: every change is one movement, never below zero."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DatabaseError

from inventory.catalogue import get_item
from inventory.errors import Conflict, InsufficientStock, ValidationFailed
from inventory.models import AuditEntry, Movement, StockLine
from inventory.reference import MovementKind
from inventory.stock import (
    adjust_stock,
    issue_stock,
    ledger_mismatches,
    quantity_as_of,
    receive_stock,
    take_stock,
    transfer_stock,
)
from inventory.warehouses import update_warehouse


def movements_of(session, line_id):
    return list(session.scalars(select(Movement).where(Movement.stock_line_id == line_id).order_by(Movement.id)))


def test_receipt_creates_the_batch_line_and_one_receipt(session, make_warehouse):
    warehouse = make_warehouse()
    movement = receive_stock(
        session,
        warehouse=warehouse,
        item=get_item(session, "PD-001"),
        quantity=Decimal("12.5"),
        batch="2026-01",
        production_date=dt.date(2026, 1, 10),
        actor="alice",
        reference="PO-1",
    )
    line = movement.stock_line
    assert (line.quantity, line.batch, movement.kind, movement.delta, movement.quantity_after) == (
        Decimal("12.5"),
        "2026-01",
        MovementKind.RECEIPT,
        Decimal("12.5"),
        Decimal("12.5"),
    )
    # Activated carbon keeps 1825 days: expiry follows from the production date.
    assert line.expiry_date == dt.date(2026, 1, 10) + dt.timedelta(days=1825)
    assert movement.actor == "alice" and movement.reference == "PO-1"


def test_second_receipt_of_same_batch_adds_to_the_same_line(session, stocked_line):
    line = stocked_line(100)
    receive_stock(session, warehouse=line.warehouse, item=line.item, quantity=5, batch="B1", actor="bob")
    assert session.scalar(select(func.count()).select_from(StockLine)) == 1
    assert line.quantity == Decimal(105)


def test_receipt_with_other_dates_for_an_existing_batch_is_refused(session, stocked_line):
    line = stocked_line(100)
    with pytest.raises(Conflict) as error:
        receive_stock(
            session,
            warehouse=line.warehouse,
            item=line.item,
            quantity=5,
            batch="B1",
            production_date=dt.date(2025, 5, 1),
            actor="bob",
        )
    assert error.value.field == "production_date"


def test_expiry_before_production_is_refused(session, make_warehouse):
    with pytest.raises(ValidationFailed) as error:
        receive_stock(
            session,
            warehouse=make_warehouse(),
            item=get_item(session, "SP-003"),
            quantity=1,
            production_date=dt.date(2026, 5, 1),
            expiry_date=dt.date(2026, 4, 1),
            actor="bob",
        )
    assert error.value.field == "expiry_date"


def test_receipt_into_an_inactive_warehouse_is_refused(session, make_warehouse):
    warehouse = make_warehouse()
    update_warehouse(session, "tester", warehouse.code, status="inactive")
    with pytest.raises(Conflict):
        receive_stock(session, warehouse=warehouse, item=get_item(session, "PD-001"), quantity=1, actor="x")


@pytest.mark.parametrize("bad", [0, -1, "1.0005", "abc", "1e13"])
def test_receipt_quantity_must_be_positive_with_three_decimals(session, make_warehouse, bad):
    with pytest.raises(ValidationFailed) as error:
        receive_stock(session, warehouse=make_warehouse(), item=get_item(session, "PD-001"), quantity=bad, actor="x")
    assert error.value.field == "quantity"


def test_issue_larger_than_stock_is_refused_and_ledger_unchanged(session, stocked_line):
    line = stocked_line(10)
    with pytest.raises(InsufficientStock) as error:
        issue_stock(session, line=line, quantity=Decimal("10.001"), actor="bob")
    session.rollback()
    assert error.value.available == Decimal(10)
    assert session.get(StockLine, line.id).quantity == Decimal(10)
    assert [m.kind for m in movements_of(session, line.id)] == [MovementKind.RECEIPT]


def test_the_returned_ledger_entry_is_the_row_written_and_its_audit_entry_names_it(session, stocked_line):
    """The entry comes back from Core statements: every column as the database holds it, in no session (a
    rollback cannot leave it behind there)."""
    line = stocked_line(10)
    movement = issue_stock(session, line=line, quantity="2.5", actor="bob", reason="flood", reference="R-1")
    state = inspect(movement)
    assert state.detached and not state.modified and not state.unloaded
    assert movement.stock_line is line and line.quantity == Decimal("7.5")
    columns = [column.key for column in inspect(Movement).column_attrs]
    written = {key: getattr(movement, key) for key in columns}
    line_id = line.id
    session.commit()
    session.expunge_all()
    stored = session.get(Movement, written["id"])
    assert {key: getattr(stored, key) for key in columns} == written
    assert (stored.kind, stored.delta, stored.quantity_after) == (MovementKind.ISSUE, Decimal("-2.5"), Decimal("7.5"))
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "stock.issue")).one()
    assert (audit.actor, audit.object_key) == ("bob", str(line_id))
    assert json.loads(audit.after)["movements"] == [
        {"id": written["id"], "stock_line_id": line_id, "delta": "-2.5", "quantity_after": "7.500"}
    ]


def test_a_movement_rolled_back_leaves_nothing_that_stops_the_next_one(session, stocked_line):
    """A request is retried after a rollback in the same session (``InventoryApp.dispatch_request``): the
    entry rolled back must not linger there, or SQLite, which gives the freed id again, refuses the retry."""
    line = stocked_line(10)
    warehouse, item = line.warehouse, line.item
    first = receive_stock(session, warehouse=warehouse, item=item, quantity=Decimal(5), batch=line.batch, actor="bob")
    session.rollback()
    assert not any(isinstance(held, Movement) for held in session)
    again = receive_stock(session, warehouse=warehouse, item=item, quantity=Decimal(5), batch=line.batch, actor="bob")
    session.commit()
    assert again.quantity_after == Decimal(15) and session.get(Movement, again.id).delta == Decimal(5)
    assert first.id <= again.id  # SQLite gives the rolled-back id again; PostgreSQL's sequence moves on


def test_decimal_arithmetic_is_exact(session, stocked_line):
    """0.3 - 0.1 - 0.2 is exactly zero: quantities are never floats in the database."""
    line = stocked_line("0.3")
    issue_stock(session, line=line, quantity="0.1", actor="x")
    issue_stock(session, line=line, quantity="0.2", actor="x")
    assert line.quantity == Decimal(0)
    with pytest.raises(InsufficientStock):
        issue_stock(session, line=line, quantity="0.001", actor="x")


def test_transfer_writes_two_linked_entries_and_creates_the_target_batch(session, stocked_line, make_warehouse):
    line = stocked_line(50)
    target = make_warehouse(county_code="440305", latitude=22.53, longitude=113.93)
    transfer = transfer_stock(session, line=line, to_warehouse=target, quantity=20, actor="carol", reason="drill")
    assert transfer.out.transfer_key == transfer.into.transfer_key is not None
    assert (transfer.out.delta, transfer.into.delta) == (Decimal(-20), Decimal(20))
    into_line = transfer.into.stock_line
    assert (into_line.warehouse_id, into_line.batch, into_line.expiry_date) == (target.id, "B1", line.expiry_date)
    assert (line.quantity, into_line.quantity) == (Decimal(30), Decimal(20))


def test_transfer_to_the_same_warehouse_is_refused(session, stocked_line):
    line = stocked_line(50)
    with pytest.raises(ValidationFailed):
        transfer_stock(session, line=line, to_warehouse=line.warehouse, quantity=1, actor="x")


def test_transfer_beyond_stock_writes_nothing(session, stocked_line, make_warehouse):
    line = stocked_line(5)
    target = make_warehouse()
    session.commit()
    with pytest.raises(InsufficientStock):
        transfer_stock(session, line=line, to_warehouse=target, quantity=6, actor="x")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Movement)) == 1


def test_adjustment_needs_a_reason_and_may_go_either_way(session, stocked_line):
    line = stocked_line(10)
    with pytest.raises(ValidationFailed) as error:
        adjust_stock(session, line=line, delta=-1, actor="x", reason="")
    assert error.value.field == "reason"
    adjust_stock(session, line=line, delta=-3, actor="x", reason="water damage")
    adjust_stock(session, line=line, delta="1.5", actor="x", reason="found a sack")
    assert line.quantity == Decimal("8.5")


def test_stocktake_sets_the_count_and_records_the_difference(session, stocked_line):
    line = stocked_line(10)
    movement = take_stock(session, line=line, counted_quantity="7.25", actor="dave")
    assert (movement.kind, movement.delta, line.quantity) == (MovementKind.STOCKTAKE, Decimal("-2.75"), Decimal("7.25"))
    agreeing = take_stock(session, line=line, counted_quantity="7.25", actor="dave")
    assert agreeing.delta == 0 and line.quantity == Decimal("7.25")


def test_quantity_equals_ledger_sum_and_history_gives_quantity_as_of(session, stocked_line):
    line = stocked_line(100)
    after_receipt = dt.datetime.now(dt.UTC)
    issue_stock(session, line=line, quantity=30, actor="x")
    take_stock(session, line=line, counted_quantity=60, actor="x")
    session.commit()
    assert ledger_mismatches(session) == []
    assert quantity_as_of(session, line.id, after_receipt) == Decimal(100)
    assert quantity_as_of(session, line.id, dt.datetime.now(dt.UTC)) == Decimal(60)
    assert quantity_as_of(session, line.id, after_receipt - dt.timedelta(days=1)) == Decimal(0)


def test_ledger_mismatch_is_detected(session, stocked_line):
    line = stocked_line(10)
    session.execute(text("UPDATE stock_line SET quantity = 1 WHERE id = :id"), {"id": line.id})
    assert ledger_mismatches(session) == [(line.id, Decimal("0.001"), Decimal(10))]


def test_the_database_refuses_to_edit_or_delete_a_ledger_entry(session, stocked_line):
    line = stocked_line(10)
    movement_id = movements_of(session, line.id)[0].id
    for statement in ("UPDATE movement SET delta = 1 WHERE id = :id", "DELETE FROM movement WHERE id = :id"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement), {"id": movement_id})
        session.rollback()


def test_the_database_refuses_negative_stock_even_past_the_service(session, stocked_line):
    line = stocked_line(10)
    with pytest.raises(DatabaseError):
        session.execute(text("UPDATE stock_line SET quantity = -1 WHERE id = :id"), {"id": line.id})


def test_reserved_stock_cannot_be_issued(session, stocked_line):
    line = stocked_line(10)
    session.execute(text("UPDATE stock_line SET reserved = 6000 WHERE id = :id"), {"id": line.id})  # 6 units
    with pytest.raises(InsufficientStock) as error:
        issue_stock(session, line=line, quantity=5, actor="x")
    assert error.value.available == Decimal(4)
    issue_stock(session, line=line, quantity=4, actor="x")
    assert (line.quantity, line.reserved, line.available) == (Decimal(6), Decimal(6), Decimal(0))


def test_quantity_arithmetic_in_sql_binds_values_as_thousandths(session, stocked_line):
    """``quantity - reserved`` is still a quantity, so a Decimal compared with it is converted too."""
    line = stocked_line(10)
    session.execute(text("UPDATE stock_line SET reserved = 4000 WHERE id = :id"), {"id": line.id})  # 4 units
    available = StockLine.quantity - StockLine.reserved
    matches = select(func.count()).where(StockLine.id == line.id)
    assert session.scalar(matches.where(available >= Decimal(6))) == 1
    assert session.scalar(matches.where(available > Decimal("6.001") - Decimal("0.002"))) == 1
    assert session.scalar(matches.where(available >= Decimal("6.001"))) == 0
    assert session.scalar(select(func.sum(available)).where(StockLine.id == line.id)) == Decimal(6)


def test_a_stock_operations_audit_text_is_the_one_python_writes(session, stocked_line):
    """On PostgreSQL the audit entry's JSON is joined in SQL around the entry's id and quantity after: the same
    text as ``audit_json`` of the movements, to the character (a quoted, non-ASCII reference; a fraction)."""
    from inventory.audit import audit_json
    from inventory.stock import movements_audited

    line = stocked_line("10.5")
    for reference in ('防汛 "一号"', None):
        movement = issue_stock(session, line=line, quantity="0.25", actor="bob", reference=reference)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "stock.issue").order_by(AuditEntry.id.desc())
        ).first()
        assert audit.after == audit_json(movements_audited([movement], reference))
        assert json.loads(audit.after)["movements"][0]["quantity_after"] == str(movement.quantity_after)
