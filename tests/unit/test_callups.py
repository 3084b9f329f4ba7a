"""Call-ups: a plan becomes reservations; sources dispatch or decline; nothing is held twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from api.extensions import db
from inventory.access import Principal
from inventory.callups import cancel_callup, decline_line, dispatch_line, raise_callup
from inventory.db import intends_to_write
from inventory.errors import Conflict, Forbidden, ValidationFailed
from inventory.geo import Incident, Point
from inventory.models import CallUpLine, Movement, StockLine
from inventory.nearest import NeedRequest
from inventory.reference import CallUpLineStatus, CallUpStatus, MovementKind, ReserveType, Role
from inventory.stock import ledger_mismatches

INCIDENT = Incident(Point(39.90, 116.40))  # central Beijing
RESPONDER = Principal(username="rita", role=Role.RESPONDER)


@pytest.fixture
def sources(session, make_warehouse, stocked_line):
    """Three warehouses with activated carbon, 'near' (20 t), 'middle' (50 t) and 'far' (100 t)."""
    lines = {}
    for code, lat, quantity in (("NEAR", 39.95, 20), ("MIDDLE", 40.30, 50), ("FAR", 41.00, 100)):
        warehouse = make_warehouse(code, latitude=lat, longitude=116.40)
        lines[code] = stocked_line(quantity, warehouse=warehouse)
    return lines


def manager_of(line: StockLine) -> Principal:
    return Principal(
        username=f"m-{line.warehouse.code}", role=Role.MANAGER, warehouse_ids=frozenset({line.warehouse_id})
    )


def need(quantity) -> list[NeedRequest]:
    return [NeedRequest(item="PD-001", quantity=Decimal(quantity))]


def test_raising_a_call_up_reserves_the_nearest_stock_at_once(session, sources):
    callup = raise_callup(session, RESPONDER, incident_name="化工厂泄漏", incident=INCIDENT, needs=need(30))
    held = {line.warehouse.code: line.quantity for line in callup.lines}
    assert held == {"NEAR": Decimal(20), "MIDDLE": Decimal(10)}
    assert callup.status is CallUpStatus.OPEN and callup.requester == "rita"
    assert callup.code.startswith("CU-")
    assert sources["NEAR"].reserved == 20 and sources["NEAR"].available == 0
    assert sources["MIDDLE"].reserved == 10 and sources["MIDDLE"].quantity == 50
    assert [e.event for e in callup.events] == ["raised"]


def test_shortfall_is_stated_and_nothing_is_over_reserved(session, sources):
    callup = raise_callup(session, RESPONDER, incident_name="尾矿库", incident=INCIDENT, needs=need(500))
    assert sum(line.quantity for line in callup.lines) == 170
    assert callup.needs[0].requested == 500
    assert "short by 330" in callup.events[0].note
    assert all(line.stock_line.reserved == line.stock_line.quantity for line in callup.lines)


def test_dispatch_issues_the_reserved_stock_with_the_order_as_reference(session, sources):
    callup = raise_callup(session, RESPONDER, incident_name="油品泄漏", incident=INCIDENT, needs=need(30))
    for line in list(callup.lines):
        dispatch_line(session, manager_of(line.stock_line), line.id, note="truck 京A12345")
    assert callup.status is CallUpStatus.COMPLETED
    assert (sources["NEAR"].quantity, sources["NEAR"].reserved) == (0, 0)
    assert (sources["MIDDLE"].quantity, sources["MIDDLE"].reserved) == (40, 0)
    issues = list(session.scalars(select(Movement).where(Movement.reference == callup.code)))
    assert sorted(m.delta for m in issues) == [-20, -10] and {m.kind for m in issues} == {MovementKind.SHIP_OUT}
    assert ledger_mismatches(session) == []


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("", "call-up {code}"),
        ("   ", "call-up {code}"),
        ("driver: 王:", "call-up {code}: driver: 王:"),
        (": see log :", "call-up {code}: : see log :"),
    ],
)
def test_the_dispatch_reason_keeps_the_note_whole(session, sources, note, expected):
    """The order's code, then the note as written: a note that ends or starts with ':' keeps it."""
    callup = raise_callup(session, RESPONDER, incident_name="x", incident=INCIDENT, needs=need(5))
    line = callup.lines[0]
    dispatch_line(session, manager_of(line.stock_line), line.id, note=note)
    issue = session.scalars(select(Movement).where(Movement.reference == callup.code)).one()
    assert issue.reason == expected.format(code=callup.code)


def test_decline_releases_and_replans_the_remainder_elsewhere(session, sources):
    callup = raise_callup(session, RESPONDER, incident_name="河流污染", incident=INCIDENT, needs=need(30))
    middle = next(line for line in callup.lines if line.warehouse.code == "MIDDLE")
    decline_line(session, manager_of(sources["MIDDLE"]), middle.id, reason="truck broken")
    assert sources["MIDDLE"].reserved == 0
    active = {line.warehouse.code: line.quantity for line in callup.lines if line.status is CallUpLineStatus.RESERVED}
    assert active == {"NEAR": Decimal(20), "FAR": Decimal(10)}
    assert [e.event for e in callup.events] == ["raised", "declined", "replanned"]


def test_a_replan_after_a_decline_keeps_the_reserve_types_the_order_chose(session, make_warehouse, stocked_line):
    near = stocked_line(20, warehouse=make_warehouse("GOV-NEAR", latitude=39.95, longitude=116.40))
    stocked_line(50, warehouse=make_warehouse("ENT-MID", reserve_type="enterprise", latitude=40.3, longitude=116.4))
    stocked_line(50, warehouse=make_warehouse("GOV-FAR", latitude=41.0, longitude=116.40))
    callup = raise_callup(
        session, RESPONDER, incident_name="x", incident=INCIDENT, needs=need(10), reserve_types=[ReserveType.GOVERNMENT]
    )
    assert callup.reserve_types == "government"
    decline_line(session, manager_of(near), callup.lines[0].id, reason="no driver")
    active = {line.warehouse.code for line in callup.lines if line.status is CallUpLineStatus.RESERVED}
    assert active == {"GOV-FAR"}  # the nearer enterprise store was never allowed


def test_cancel_releases_every_pending_reservation(session, sources):
    callup = raise_callup(session, RESPONDER, incident_name="演练", incident=INCIDENT, needs=need(30))
    first = callup.lines[0]
    dispatch_line(session, manager_of(first.stock_line), first.id)
    cancel_callup(session, RESPONDER, callup.code, reason="exercise over")
    assert callup.status is CallUpStatus.CANCELLED
    assert session.scalar(select(func.sum(StockLine.reserved))) == 0
    assert [line.status for line in callup.lines] == [CallUpLineStatus.DISPATCHED, CallUpLineStatus.CANCELLED]
    with pytest.raises(Conflict):
        cancel_callup(session, RESPONDER, callup.code)


def test_who_may_raise_dispatch_and_cancel(session, sources):
    with pytest.raises(Forbidden):
        raise_callup(session, Principal("vic", Role.VIEWER), incident_name="x", incident=INCIDENT, needs=need(1))
    callup = raise_callup(session, RESPONDER, incident_name="x", incident=INCIDENT, needs=need(1))
    line = callup.lines[0]
    with pytest.raises(Forbidden):
        dispatch_line(session, manager_of(sources["FAR"]), line.id)
    with pytest.raises(Forbidden):
        cancel_callup(session, Principal("someone", Role.RESPONDER), callup.code)
    with pytest.raises(ValidationFailed):
        decline_line(session, manager_of(line.stock_line), line.id, reason="")


def test_a_line_is_decided_once(session, sources):
    callup = raise_callup(session, RESPONDER, incident_name="x", incident=INCIDENT, needs=need(5))
    line = callup.lines[0]
    dispatch_line(session, manager_of(line.stock_line), line.id)
    with pytest.raises(Conflict):
        decline_line(session, manager_of(line.stock_line), line.id, reason="too late")


@pytest.mark.slow
def test_racing_call_ups_reserve_exactly_what_exists(app, make_warehouse, stocked_line):
    """Twenty responders each want 5 t where 50 t exist: exactly 50 t end up reserved, never more."""
    stocked_line(50, warehouse=make_warehouse("ONLY", latitude=39.95, longitude=116.40))
    db.session.commit()
    db.session.remove()
    racers = 20
    start = threading.Barrier(racers)

    def call_up(number: int) -> None:
        with app.app_context(), intends_to_write():
            start.wait()
            try:
                raise_callup(db.session, RESPONDER, incident_name=f"race {number}", incident=INCIDENT, needs=need(5))
                db.session.commit()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        list(pool.map(call_up, range(racers)))

    line = db.session.scalar(select(StockLine))
    held = db.session.scalar(
        select(func.sum(CallUpLine.quantity)).where(CallUpLine.status == CallUpLineStatus.RESERVED)
    )
    assert (line.quantity, line.reserved, held) == (Decimal(50), Decimal(50), Decimal(50))
