"""Call-up decisions racing each other: exactly one decision wins, every other is a 409.

Real threads, each with its own connection, against the real database. SQLite's single writer
hides these races; PostgreSQL's READ COMMITTED does not, so the services must lock or condition
every state change on the current state.
"""

from __future__ import annotations

import functools
import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.extensions import db
from inventory.access import Principal
from inventory.callups import cancel_callup, decline_line, dispatch_line, raise_callup
from inventory.db import intends_to_write
from inventory.geo import Incident, Point
from inventory.models import CallUpLine, Movement, StockLine
from inventory.nearest import NeedRequest
from inventory.reference import CallUpLineStatus, MovementKind, Role
from inventory.stock import ledger_mismatches, reservation_mismatches
from tests.unit.racing import run_at_once

pytestmark = pytest.mark.slow

INCIDENT = Incident(Point(39.90, 116.40))
RESPONDER = Principal(username="rita", role=Role.RESPONDER)
ADMIN = Principal(username="root", role=Role.ADMIN)
RACERS = 8


def _raise(item_code: str, quantity: int, incident_name: str = "竞争"):
    """A responder's call-up for ``quantity`` of one item near ``INCIDENT`` (not committed)."""
    return raise_callup(
        db.session,
        RESPONDER,
        incident_name=incident_name,
        incident=INCIDENT,
        needs=[NeedRequest(item=item_code, quantity=Decimal(quantity))],
    )


def _raise_one_line_callup(
    app, make_warehouse, stocked_line, quantity: int = 5, item_code: str = "PD-001"
) -> tuple[str, int, int]:
    """A call-up for ``quantity`` units held as one line on the only stock line of the item, committed."""
    warehouse = make_warehouse(f"ONLY-{item_code}", latitude=39.95, longitude=116.40)
    line = stocked_line(100, warehouse=warehouse, item_code=item_code)
    callup = _raise(item_code, quantity)
    db.session.commit()
    (callup_line,) = callup.lines
    result = callup.code, callup_line.id, line.id
    db.session.remove()
    return result


def _assert_invariants() -> None:
    assert ledger_mismatches(db.session) == []
    assert reservation_mismatches(db.session) == []


def test_parallel_dispatches_of_one_line_issue_it_once(app, make_warehouse, stocked_line):
    code, line_id, stock_line_id = _raise_one_line_callup(app, make_warehouse, stocked_line)

    outcomes = run_at_once(app, [lambda: dispatch_line(db.session, ADMIN, line_id) for _ in range(RACERS)])

    assert outcomes.count("done") == 1, outcomes
    losers = [o for o in outcomes if o != "done"]
    assert all("dispatched" in o for o in losers), losers
    issues = db.session.scalars(select(Movement).where(Movement.reference == code)).all()
    assert [(m.kind, m.delta) for m in issues] == [(MovementKind.SHIP_OUT, Decimal(-5))]
    stock = db.session.get(StockLine, stock_line_id)
    assert (stock.quantity, stock.reserved) == (Decimal(95), Decimal(0))
    _assert_invariants()


def test_dispatch_decline_and_cancel_racing_on_one_line_one_wins(app, make_warehouse, stocked_line):
    for item_code in ("PD-001", "PD-002", "PD-003"):  # one source per round: a decline finds no other
        code, line_id, _ = _raise_one_line_callup(app, make_warehouse, stocked_line, item_code=item_code)
        decisions = [
            functools.partial(dispatch_line, db.session, ADMIN, line_id),
            functools.partial(decline_line, db.session, ADMIN, line_id, reason="truck broken"),
            functools.partial(cancel_callup, db.session, RESPONDER, code, reason="over"),
        ]
        outcomes = run_at_once(app, decisions * 2)
        # The line is decided exactly once. A decline leaves the call-up unfilled (nothing reserved),
        # which its requester may still withdraw: then one cancel wins too, and only then.
        line_decisions = outcomes[0:2] + outcomes[3:5]
        cancels = [outcomes[2], outcomes[5]]
        status = db.session.get(CallUpLine, line_id).status
        db.session.remove()
        expected = {  # (line decisions done, cancels done) by the line's final status
            CallUpLineStatus.DISPATCHED: (1, 0),
            CallUpLineStatus.DECLINED: (1, 1),
            CallUpLineStatus.CANCELLED: (0, 1),
        }[status]
        assert (line_decisions.count("done"), cancels.count("done")) == expected, outcomes
        _assert_invariants()


def test_parallel_cancels_release_the_reservation_once(app, make_warehouse, stocked_line):
    code, _, stock_line_id = _raise_one_line_callup(app, make_warehouse, stocked_line)
    # A second open call-up holds 10 more units of the same line: a double release would steal from it.
    with intends_to_write():
        _raise("PD-001", 10, "另一事件")
        db.session.commit()
    db.session.remove()

    outcomes = run_at_once(app, [lambda: cancel_callup(db.session, RESPONDER, code) for _ in range(RACERS)])

    assert outcomes.count("done") == 1, outcomes
    assert all("cancelled" in o for o in outcomes if o != "done"), outcomes
    assert db.session.get(StockLine, stock_line_id).reserved == Decimal(10)
    held = Counter(db.session.scalars(select(CallUpLine.status)))
    assert held == {CallUpLineStatus.CANCELLED: 1, CallUpLineStatus.RESERVED: 1}
    _assert_invariants()


def test_parallel_http_dispatches_across_gunicorn_workers_one_wins(
    app, make_warehouse, stocked_line, gunicorn, token_for
):
    live_server = gunicorn(workers=4)
    _, line_id, stock_line_id = _raise_one_line_callup(app, make_warehouse, stocked_line)
    token = token_for("admin")
    db.session.remove()
    start = threading.Barrier(RACERS)

    def dispatch(_: int) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{live_server}/api/v1/callup-lines/{line_id}/dispatch",
            data=b"{}",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(dispatch, range(RACERS)))

    assert sorted(status for status, _ in answers) == [200] + [409] * (RACERS - 1), answers
    # the answer's language is the server's (its status named in words): the code and its parameters are not
    losers = [body for status, body in answers if status == 409]
    assert all((body["code"], body["params"]["status"]) == ("callup_line_already", "dispatched") for body in losers)
    assert db.session.get(StockLine, stock_line_id).quantity == Decimal(95)
    _assert_invariants()


def test_stocktakes_racing_reservations_never_count_below_what_is_reserved(app, make_warehouse, stocked_line):
    """Stocktakes counting a line and call-ups reserving on it, at once: each either goes through or is refused
    (a 409 at the edge), none meets the database's reserved <= quantity constraint (a 500), each stocktake
    that went through left the line at its count (not at a count applied to a quantity read before another
    changed it), and what is reserved at the end is what the open call-up lines hold, within the line."""
    from inventory.stock import take_stock

    warehouse = make_warehouse("ONLY-PD-001", latitude=39.95, longitude=116.40)
    line_id = stocked_line(100, warehouse=warehouse, item_code="PD-001").id
    db.session.remove()

    def reserve() -> None:
        _raise("PD-001", 30)

    def count(counted: int) -> None:
        take_stock(db.session, line=db.session.get(StockLine, line_id), counted_quantity=counted, actor=ADMIN)

    counts = (70, 50, 40, 100)
    for _ in range(3):  # the order the threads reach the line differs from round to round
        outcomes = run_at_once(app, [reserve] * 4 + [functools.partial(count, counted) for counted in counts])
        assert all(outcome == "done" or outcome.startswith("refused: ") for outcome in outcomes), outcomes
        counted_to = db.session.scalars(
            select(Movement.quantity_after).where(
                Movement.stock_line_id == line_id, Movement.kind == MovementKind.STOCKTAKE
            )
        ).all()
        assert {Decimal(after) for after in counted_to} <= {Decimal(c) for c in counts}, counted_to
        line = db.session.get(StockLine, line_id)
        assert line.reserved <= line.quantity
        _assert_invariants()
        db.session.remove()
