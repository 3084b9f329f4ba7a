"""Concurrent issues against one stock line: no lost update, never below zero, ledger = quantity.

Real threads (each with its own connection) and real processes (gunicorn workers) against the
real database, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from api.extensions import db
from inventory.db import intends_to_write
from inventory.errors import InsufficientStock
from inventory.models import AuditEntry, Movement, StockLine
from inventory.stock import (
    adjust_stock,
    get_stock_line,
    issue_stock,
    ledger_mismatches,
    receipt_target,
    receive_stock,
    stock_line_facts,
    take_stock,
)

WORKERS = 60
STOCK = 50

pytestmark = pytest.mark.slow


def test_sixty_threads_issuing_from_fifty_units_leave_exactly_zero(app, stocked_line):
    line_id = stocked_line(STOCK).id
    db.session.remove()
    start = threading.Barrier(WORKERS)
    outcomes: list[str] = []

    def issue_one() -> str:
        with app.app_context(), intends_to_write():
            start.wait()
            try:
                issue_stock(db.session, line=get_stock_line(db.session, line_id), quantity=1, actor="racer")
                db.session.commit()
                return "issued"
            except InsufficientStock:
                db.session.rollback()
                return "refused"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(lambda _: issue_one(), range(WORKERS)))

    assert outcomes.count("issued") == STOCK
    assert outcomes.count("refused") == WORKERS - STOCK
    assert db.session.get(StockLine, line_id).quantity == 0
    assert db.session.scalar(select(func.count()).where(Movement.stock_line_id == line_id)) == STOCK + 1
    assert ledger_mismatches(db.session) == []


def test_sixty_concurrent_http_issues_across_four_gunicorn_workers(app, stocked_line, gunicorn, token_for):
    live_server = gunicorn(workers=4)
    line_id = stocked_line(STOCK).id
    token = token_for("admin")
    db.session.remove()

    def issue_one(_: int) -> int:
        request = urllib.request.Request(
            f"{live_server}/api/v1/stock-lines/{line_id}/issues",
            data=json.dumps({"quantity": 1, "reason": "race"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        statuses = list(pool.map(issue_one, range(WORKERS)))

    assert statuses.count(201) == STOCK, statuses
    assert statuses.count(409) == WORKERS - STOCK, statuses
    line = db.session.get(StockLine, line_id)
    assert line.quantity == Decimal(0)
    assert ledger_mismatches(db.session) == []


@pytest.mark.parametrize("read_line", [get_stock_line, stock_line_facts], ids=["rows", "facts"])
def test_racing_stock_operations_each_leave_one_entry_and_one_audit_naming_it(app, stocked_line, read_line):
    """A stock operation's three writes (one statement on PostgreSQL): raced on one line, every one that went
    through left its ledger entry and one audit entry naming it with the quantity after; the refused ones left
    neither, and the line's quantity is its ledger's sum. The line read as ORM rows or as plain facts (what the
    HTTP routes read, ``stock_line_facts``)."""
    from tests.unit.racing import run_at_once

    line = stocked_line(10)
    line_id, warehouse_code, item_code, batch = line.id, line.warehouse.code, line.item.code, line.batch
    db.session.remove()

    def issue() -> None:
        issue_stock(db.session, line=read_line(db.session, line_id), quantity=2, actor="racer")

    def adjust() -> None:
        adjust_stock(db.session, line=read_line(db.session, line_id), delta=-3, actor="racer", reason="lost")

    def count() -> None:
        take_stock(db.session, line=read_line(db.session, line_id), counted_quantity=4, actor="racer")

    def receive() -> None:
        target = receipt_target(db.session, warehouse_code=warehouse_code, item_code=item_code, batch=batch)
        receive_stock(db.session, warehouse=target.warehouse, item=target.item, line=target.line, batch=batch,
                      quantity=1, actor="racer")  # fmt: skip

    outcomes = run_at_once(app, [issue] * 8 + [adjust] * 4 + [count] * 2 + [receive] * 4)
    assert all(outcome == "done" or outcome.startswith("refused: ") for outcome in outcomes), outcomes
    entries = db.session.scalars(select(Movement).where(Movement.stock_line_id == line_id).order_by(Movement.id)).all()
    audits = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "stock_line", AuditEntry.object_key == str(line_id))
    ).all()
    assert len(entries) == outcomes.count("done") + 1 and outcomes.count("done") >= 4  # + the opening receipt
    audited = sorted(
        (entry["id"], entry["stock_line_id"], Decimal(entry["delta"]), Decimal(entry["quantity_after"]))
        for audit in audits
        for entry in json.loads(audit.after)["movements"]
    )
    assert audited == [(m.id, line_id, m.delta, m.quantity_after) for m in entries]
    assert db.session.get(StockLine, line_id).quantity == sum(m.delta for m in entries) >= 0
    assert ledger_mismatches(db.session) == []
