"""From call-up to the river bank and back: shipments, receipt, consumption, returns, settlement."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from api.extensions import db
from inventory.access import Principal
from inventory.arrivals import LineReceipt, receive_shipment, record_consumption, return_from_site
from inventory.callups import cancel_callup, dispatch_line, dispatch_lines, raise_callup
from inventory.catalogue import get_item
from inventory.db import intends_to_write
from inventory.errors import Conflict, Forbidden, ValidationFailed
from inventory.geo import Incident, Point
from inventory.incidents import close_incident, create_incident, get_incident, incident_timeline, totals_by_line
from inventory.logistics_checks import logistics_mismatches
from inventory.models import AuditEntry, Movement, Shipment, StockLine, User
from inventory.nearest import NeedRequest
from inventory.reference import (
    CallUpStatus,
    IncidentStatus,
    IncidentType,
    MovementKind,
    ReserveType,
    Role,
    ShipmentStatus,
)
from inventory.settlement import set_unit_price, settlement_sheet
from inventory.shipments import ShipmentDetails, flag_overdue, is_overdue, list_shipments, ship_transfer
from inventory.warehouses import get_warehouse
from tests.unit.racing import run_at_once

PLACE = Incident(Point(39.90, 116.40))
RESPONDER = Principal(username="rita", role=Role.RESPONDER)
ADMIN = Principal(username="ada", role=Role.ADMIN)
BEIJING_STAFF = Principal(username="bei", role=Role.PROVINCIAL, province_code="110000")
MAY_1, MAY_2 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC), dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
TRUCK = ShipmentDetails(carrier="顺丰", vehicle="京A12345", driver="王师傅", driver_phone="13800000000")


def manager(warehouse) -> Principal:
    return Principal(username=f"m-{warehouse.code}", role=Role.MANAGER, warehouse_ids=frozenset({warehouse.id}))


@pytest.fixture
def sources(session, make_warehouse, stocked_line):
    """An enterprise store (activated carbon in two batches), a third-party one (quicklime), a government one."""
    enterprise = make_warehouse("ENT", reserve_type="enterprise", latitude=39.95, longitude=116.40)
    third_party = make_warehouse("TP", reserve_type="third_party", latitude=39.96, longitude=116.40)
    government = make_warehouse("GOV", reserve_type="government", latitude=39.97, longitude=116.40)
    stocked_line(12, warehouse=enterprise, item_code="PD-001", batch="E1")
    stocked_line(30, warehouse=enterprise, item_code="PD-001", batch="E2")
    stocked_line(30, warehouse=third_party, item_code="PD-002", batch="T1")
    stocked_line(40, warehouse=government, item_code="PD-003", batch="G1")
    return {"ENT": enterprise, "TP": third_party, "GOV": government}


def _callup(session, incident, item: str, quantity: int, reserve_type: ReserveType):
    return raise_callup(
        session,
        RESPONDER,
        incident_name="" if incident is not None else "无事件记录",
        incident=PLACE,
        needs=[NeedRequest(item=item, quantity=Decimal(quantity))],
        reserve_type_preference=[reserve_type],
        incident_record=incident,
    )


def _on_hand(session, warehouse) -> Decimal:
    return session.scalar(
        select(func.coalesce(func.sum(StockLine.quantity), 0)).where(StockLine.warehouse_id == warehouse.id)
    )


def test_an_incident_from_call_up_to_settlement_closes_its_totals(session, sources):
    incident = create_incident(
        session,
        RESPONDER,
        name="某河段苯酚泄漏",
        incident_type=IncidentType.CHEMICAL_SPILL,
        place="京密引水渠",
        county_code="110101",
        lead_organisation="北京市生态环境局",
    )
    carbon = _callup(session, incident, "PD-001", 20, ReserveType.ENTERPRISE)
    lime = _callup(session, incident, "PD-002", 10, ReserveType.THIRD_PARTY)
    slaked = _callup(session, incident, "PD-003", 15, ReserveType.GOVERNMENT)
    assert {line.warehouse.code for line in carbon.lines} == {"ENT"} and len(carbon.lines) == 2
    assert carbon.incident_name == "某河段苯酚泄漏" and carbon.incident_id == incident.id

    # Dispatch: the enterprise's two batches travel as one shipment; the stock is in transit.
    ent, tp, gov = sources["ENT"], sources["TP"], sources["GOV"]
    eta = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    first = dispatch_lines(session, manager(ent), [line.id for line in carbon.lines], details=TRUCK)
    second = dispatch_lines(session, manager(tp), [lime.lines[0].id], details=ShipmentDetails(eta=eta))
    third = dispatch_lines(session, manager(gov), [slaked.lines[0].id], details=TRUCK)
    assert len(first.lines) == 2 and first.status is ShipmentStatus.IN_TRANSIT and first.incident_id == incident.id
    assert _on_hand(session, ent) == 22 and not is_overdue(second)
    assert {m.kind for m in session.scalars(select(Movement).where(Movement.reference == carbon.code))} == {
        MovementKind.SHIP_OUT
    }
    assert all(callup.status is CallUpStatus.COMPLETED for callup in (carbon, lime, slaked))
    assert logistics_mismatches(session) == []

    # Receipt by the requester: one short.
    with pytest.raises(ValidationFailed) as no_reason:
        receive_shipment(session, RESPONDER, second.code, [LineReceipt(second.lines[0].id, received=8)])
    assert no_reason.value.field == "lines[0].reason" and second.status is ShipmentStatus.IN_TRANSIT
    receive_shipment(session, RESPONDER, first.code)
    receive_shipment(session, RESPONDER, second.code, [LineReceipt(second.lines[0].id, received=8, reason="破包两袋")])
    receive_shipment(session, RESPONDER, third.code)
    assert (second.lines[0].short, second.status) == (Decimal(2), ShipmentStatus.DELIVERED)

    # Consumption and a partial return (to the source, batch and expiry kept).
    carbon_e1, carbon_e2 = sorted(carbon.lines, key=lambda line: line.stock_line.batch)
    record_consumption(session, RESPONDER, incident.code, callup_line_id=carbon_e1.id, quantity=12)
    record_consumption(session, RESPONDER, incident.code, callup_line_id=carbon_e2.id, quantity=5)
    record_consumption(session, RESPONDER, incident.code, callup_line_id=lime.lines[0].id, quantity=8)
    record_consumption(session, RESPONDER, incident.code, callup_line_id=slaked.lines[0].id, quantity=10)
    with pytest.raises(Conflict):
        record_consumption(session, RESPONDER, incident.code, callup_line_id=carbon_e2.id, quantity=4)
    back = return_from_site(session, RESPONDER, incident.code, lines=[(carbon_e2.id, 3)], details=TRUCK)
    back_gov = return_from_site(session, RESPONDER, incident.code, lines=[(slaked.lines[0].id, 5)], details=TRUCK)
    with pytest.raises(Conflict):  # still on the road
        close_incident(session, RESPONDER, incident.code)
    with pytest.raises(Forbidden):  # a return is received by the target's people
        receive_shipment(session, RESPONDER, back.code)
    receive_shipment(session, manager(ent), back.code)
    receive_shipment(session, manager(gov), back_gov.code)
    returned = session.scalars(select(Movement).where(Movement.reference == back.code)).one()
    assert returned.kind is MovementKind.RETURN_IN and returned.stock_line_id == carbon_e2.stock_line_id
    assert _on_hand(session, ent) == 25

    close_incident(session, RESPONDER, incident.code)
    assert incident.status is IncidentStatus.CLOSED
    for account in totals_by_line(session, incident).values():
        assert account.dispatched == account.received + account.lost
        assert account.received == account.consumed + account.returned
    assert logistics_mismatches(session) == []

    # Settlement: priced sources pay consumed + lost; the government reserve is replenished.
    set_unit_price(session, BEIJING_STAFF, warehouse=ent, item=get_item(session, "PD-001"), price="1200.5")
    set_unit_price(session, ADMIN, warehouse=tp, item=get_item(session, "PD-002"), price=800, agreement="协议 2026-07")
    set_unit_price(session, ADMIN, warehouse=tp, item=get_item(session, "PD-002"), price=750, agreement="协议 2026-08")
    with pytest.raises(ValidationFailed):
        set_unit_price(session, ADMIN, warehouse=gov, item=get_item(session, "PD-003"), price=1)
    sheet = settlement_sheet(session, BEIJING_STAFF, incident)
    rows = {(row.warehouse.code, row.item.code): row for row in sheet.rows}
    assert (rows["ENT", "PD-001"].charged, rows["ENT", "PD-001"].amount) == (Decimal(17), Decimal("20408.50"))
    assert (rows["TP", "PD-002"].lost, rows["TP", "PD-002"].charged) == (Decimal(2), Decimal(10))
    assert rows["TP", "PD-002"].amount == Decimal(7500)
    assert sheet.total_amount == Decimal("27908.50") and sheet.unpriced == 0
    assert [(row.warehouse.code, row.charged) for row in sheet.replenishment] == [("GOV", Decimal(10))]

    # The sheet's totals are the ledger's: what left each source and did not come back.
    for row in sheet.rows + sheet.replenishment:
        net = session.scalar(
            select(func.sum(Movement.delta))
            .join(StockLine, StockLine.id == Movement.stock_line_id)
            .where(
                StockLine.warehouse_id == row.warehouse.id,
                Movement.kind.in_([MovementKind.SHIP_OUT, MovementKind.RETURN_IN]),
            )
        )
        assert -net == row.charged

    events = [entry.event for entry in incident_timeline(session, incident)]
    assert events[0] == "opened" and events[-1] == "closed"
    assert {"raised", "dispatched", "shipped", "received", "consumed", "returned"} <= set(events)


def test_a_call_up_that_reserved_nothing_is_unfilled_and_can_be_cancelled(session, sources):
    callup = raise_callup(
        session, RESPONDER, incident_name="x", incident=PLACE, needs=[NeedRequest(item="PD-004", quantity=Decimal(1))]
    )
    assert callup.lines == [] and callup.status is CallUpStatus.UNFILLED
    cancel_callup(session, RESPONDER, callup.code, reason="nothing to send")
    assert callup.status is CallUpStatus.CANCELLED


def test_a_shipment_carries_lines_of_one_warehouse_only(session, sources):
    ent = _callup(session, None, "PD-001", 5, ReserveType.ENTERPRISE)
    tp = _callup(session, None, "PD-002", 5, ReserveType.THIRD_PARTY)
    with pytest.raises(ValidationFailed) as mixed:
        dispatch_lines(session, ADMIN, [ent.lines[0].id, tp.lines[0].id])
    assert mixed.value.field == "line_ids"
    with pytest.raises(ValidationFailed) as early:
        dispatch_line(
            session,
            ADMIN,
            ent.lines[0].id,
            details=ShipmentDetails(departed_at=MAY_2, eta=MAY_1),
        )
    assert early.value.field == "eta"


def test_a_transfer_is_in_transit_until_the_target_receives_it(session, sources):
    ent, tp = sources["ENT"], sources["TP"]
    lime = session.scalars(select(StockLine).where(StockLine.warehouse_id == tp.id)).one()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    shipment = ship_transfer(
        session,
        manager(tp),
        lines=[(lime.id, 10)],
        to_warehouse=ent,
        details=ShipmentDetails(departed_at=past - dt.timedelta(hours=1), eta=past),
    )
    assert (lime.quantity, _on_hand(session, ent)) == (Decimal(20), Decimal(42))
    assert is_overdue(shipment) and [s.code for s in flag_overdue(session)] == [shipment.code]
    assert flag_overdue(session) == []  # flagged once
    with pytest.raises(Forbidden):
        receive_shipment(session, manager(tp), shipment.code)
    receive_shipment(
        session, manager(ent), shipment.code, [LineReceipt(shipment.lines[0].id, received=9, damaged=1, reason="受潮")]
    )
    arrived = session.scalars(select(StockLine).where(StockLine.warehouse_id == ent.id, StockLine.batch == "T1")).one()
    assert (arrived.quantity, arrived.expiry_date) == (Decimal(9), lime.expiry_date)
    assert logistics_mismatches(session) == []
    with pytest.raises(Conflict):
        receive_shipment(session, manager(ent), shipment.code)


def _shipment_of(session, incident_code: str):
    return session.scalars(list_shipments(session, incident_code=incident_code)).first()


def test_only_the_requester_receives_a_dispatch_and_accounts_for_it(session, sources):
    incident = create_incident(session, RESPONDER, name="演练", incident_type=IncidentType.WATER)
    callup = _callup(session, incident, "PD-002", 4, ReserveType.THIRD_PARTY)
    dispatch_line(session, manager(sources["TP"]), callup.lines[0].id)
    shipment = _shipment_of(session, incident.code)
    sent = session.scalars(select(Movement).where(Movement.reference == callup.code)).one()
    assert sent.transfer_key == shipment.lines[0].ledger_key
    other = Principal(username="otto", role=Role.RESPONDER)
    with pytest.raises(Forbidden):
        receive_shipment(session, other, shipment.code)
    receive_shipment(session, RESPONDER, shipment.code)
    with pytest.raises(Forbidden):
        record_consumption(session, other, incident.code, callup_line_id=callup.lines[0].id, quantity=1)


def test_parallel_receipts_of_one_shipment_let_exactly_one_through(app, sources):
    with intends_to_write():
        incident = create_incident(db.session, RESPONDER, name="并发", incident_type=IncidentType.OTHER)
        callup = _callup(db.session, incident, "PD-003", 6, ReserveType.GOVERNMENT)
        dispatch_line(db.session, ADMIN, callup.lines[0].id)
        code = _shipment_of(db.session, incident.code).code
        db.session.commit()
    db.session.remove()
    outcomes = run_at_once(app, [functools.partial(receive_shipment, db.session, ADMIN, code)] * 4)
    assert outcomes.count("done") == 1, outcomes
    assert all("already delivered" in outcome for outcome in outcomes if outcome != "done"), outcomes
    assert logistics_mismatches(db.session) == []


def test_consumption_and_return_racing_never_take_more_than_is_on_site(app, sources):
    with intends_to_write():
        incident = create_incident(db.session, RESPONDER, name="并发", incident_type=IncidentType.OTHER)
        callup = _callup(db.session, incident, "PD-003", 6, ReserveType.GOVERNMENT)
        dispatch_line(db.session, ADMIN, callup.lines[0].id)
        receive_shipment(db.session, RESPONDER, _shipment_of(db.session, incident.code).code)
        line_id, code = callup.lines[0].id, incident.code
        db.session.commit()
    db.session.remove()
    jobs = [
        functools.partial(record_consumption, db.session, RESPONDER, code, callup_line_id=line_id, quantity=4),
        functools.partial(return_from_site, db.session, RESPONDER, code, lines=[(line_id, 4)], details=TRUCK),
    ] * 2
    outcomes = run_at_once(app, jobs)
    assert outcomes.count("done") == 1, outcomes
    account = totals_by_line(db.session, get_incident(db.session, code))[line_id]
    assert account.consumed + account.returned == 4 and account.on_site == 2
    assert logistics_mismatches(db.session) == []


def test_the_shell_flags_overdue_shipments_receives_and_writes_the_settlement(app, session, sources, tmp_path):
    incident = create_incident(session, RESPONDER, name="夜间泄漏", incident_type=IncidentType.WATER)
    callup = _callup(session, incident, "PD-001", 5, ReserveType.ENTERPRISE)
    late = ShipmentDetails(departed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), eta=dt.datetime.now(dt.UTC))
    dispatch_lines(session, ADMIN, [line.id for line in callup.lines], details=late)
    code = _shipment_of(session, incident.code).code
    session.commit()
    runner = app.test_cli_runner()
    flagged = runner.invoke(args=["shipments", "flag-overdue"])
    assert flagged.exit_code == 0 and f"{code} dispatch" in flagged.output and "newly flagged" in flagged.output
    assert f"ETA {late.eta:%Y-%m-%d %H:%M} UTC" in flagged.output  # a terminal's moments say their zone
    assert "newly flagged" not in runner.invoke(args=["shipments", "flag-overdue"]).output
    assert runner.invoke(args=["shipments", "receive", code]).exit_code == 0
    shown = runner.invoke(args=["incident", "show", incident.code, "--json"])
    assert shown.exit_code == 0 and '"event": "received"' in shown.output
    timeline = runner.invoke(args=["incident", "show", incident.code]).output.splitlines()[-1]
    assert re.match(r"  \d{4}-\d\d-\d\d \d\d:\d\d UTC received", timeline), timeline
    workbook = tmp_path / "settlement.xlsx"
    written = runner.invoke(args=["settlement", incident.code, "-o", str(workbook)])
    assert written.exit_code == 0 and workbook.stat().st_size > 0, written.output
    assert runner.invoke(args=["check-ledger"]).exit_code == 0


@pytest.mark.corrupts_ledger
def test_check_ledger_fails_when_a_shipment_disagrees_with_the_ledger(app, session, sources):
    callup = _callup(session, None, "PD-002", 5, ReserveType.THIRD_PARTY)
    dispatch_line(session, ADMIN, callup.lines[0].id)
    session.commit()
    session.execute(text("UPDATE shipment_line SET received = 1000"))  # in transit yet received: 1 (thousandths)
    session.commit()
    result = app.test_cli_runner().invoke(args=["check-ledger"])
    assert result.exit_code == 1 and "in transit but has an outcome" in result.output


def test_closing_and_consuming_at_once_never_close_with_stock_on_site(app, sources):
    with intends_to_write():
        incident = create_incident(db.session, RESPONDER, name="并发结束", incident_type=IncidentType.OTHER)
        callup = _callup(db.session, incident, "PD-003", 6, ReserveType.GOVERNMENT)
        dispatch_line(db.session, ADMIN, callup.lines[0].id)
        receive_shipment(db.session, RESPONDER, _shipment_of(db.session, incident.code).code)
        record_consumption(db.session, RESPONDER, incident.code, callup_line_id=callup.lines[0].id, quantity=5)
        line_id, code = callup.lines[0].id, incident.code
        db.session.commit()
    db.session.remove()
    jobs = [
        functools.partial(close_incident, db.session, RESPONDER, code),
        functools.partial(record_consumption, db.session, RESPONDER, code, callup_line_id=line_id, quantity=1),
    ]
    outcomes = run_at_once(app, jobs)
    closing, consuming = outcomes
    # Either the consumption came first (then the close finds nothing on site) or the close was refused.
    assert consuming == "done", outcomes
    incident = get_incident(db.session, code)
    assert (incident.status is IncidentStatus.CLOSED) == (closing == "done"), outcomes
    assert logistics_mismatches(db.session) == []


def test_an_overdue_shipment_and_a_short_receipt_are_told_to_the_people_concerned(session, sources):
    """The outbox hears of both in the same transaction: the managers at each end (and a call-up's requester)."""
    from inventory.accounts import create_user
    from inventory.models import Notification, OutboxEvent

    ent, tp = sources["ENT"], sources["TP"]
    for warehouse in (ent, tp):
        create_user(session, "tester", username=f"m-{warehouse.code}", role="manager", warehouse_codes=[warehouse.code])
    create_user(session, "tester", username="m-elsewhere", role="manager", warehouse_codes=[sources["GOV"].code])
    lime = session.scalars(select(StockLine).where(StockLine.warehouse_id == tp.id)).one()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    details = ShipmentDetails(carrier="顺丰", departed_at=past - dt.timedelta(hours=1), eta=past)
    shipment = ship_transfer(session, manager(tp), lines=[(lime.id, 10)], to_warehouse=ent, details=details)
    flag_overdue(session)
    flag_overdue(session)
    receipt = LineReceipt(shipment.lines[0].id, received=9, damaged=1, reason="受潮")
    receive_shipment(session, manager(ent), shipment.code, [receipt])

    told = session.execute(
        select(OutboxEvent.kind, OutboxEvent.payload, Notification.user_id)
        .join(Notification, Notification.event_id == OutboxEvent.id)
        .order_by(OutboxEvent.id, Notification.user_id)
    ).all()
    users = {user.id: user.username for user in session.scalars(select(User))}
    assert [(kind.value, users[user_id]) for kind, _, user_id in told] == [
        ("shipment_overdue", "m-ent"),
        ("shipment_overdue", "m-tp"),
        ("receipt_discrepancy", "m-ent"),
        ("receipt_discrepancy", "m-tp"),
    ]
    overdue, discrepancy = json.loads(told[0][1]), json.loads(told[2][1])
    assert (overdue["shipment_code"], overdue["carrier"], overdue["from_warehouse_name"]) == (
        shipment.code,
        "顺丰",
        tp.name,
    )
    assert discrepancy["lines"] == [
        {"item_name": lime.item.name, "unit": lime.item.unit, "dispatched": "10", "received": "9", "reason": "受潮"}
    ]


def test_two_closes_of_one_incident_at_once_close_it_once(app, sources):
    """Two people closing one incident (its lock, then its status read again): one closes it, the other is told
    it is already closed; one audit entry."""
    for _round in range(4):
        with intends_to_write():
            code = create_incident(db.session, RESPONDER, name="同时结束", incident_type=IncidentType.OTHER).code
            db.session.commit()
        db.session.remove()
        outcomes = run_at_once(app, [functools.partial(close_incident, db.session, RESPONDER, code)] * 2)
        assert sorted(outcomes) == ["done", f"refused: incident {code} is already closed"], outcomes
        closes = select(func.count()).where(AuditEntry.action == "incident.close", AuditEntry.object_key == code)
        assert db.session.scalar(closes) == 1
        db.session.remove()


def test_two_overdue_rounds_at_once_flag_each_shipment_once(app, sources):
    """Two cron hosts flagging at once (a conditional UPDATE): each late shipment is flagged, and told, once."""
    late = ShipmentDetails(departed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), eta=dt.datetime.now(dt.UTC))
    with intends_to_write():
        for item, quantity, reserve_type in (
            ("PD-001", 5, ReserveType.ENTERPRISE),
            ("PD-003", 4, ReserveType.GOVERNMENT),
        ):
            callup = _callup(db.session, None, item, quantity, reserve_type)
            dispatch_lines(db.session, ADMIN, [line.id for line in callup.lines], details=late)
        db.session.commit()
    db.session.remove()
    flagged: list[list[str]] = []
    outcomes = run_at_once(app, [lambda: flagged.append([s.code for s in flag_overdue(db.session)])] * 2)
    assert outcomes == ["done", "done"], outcomes
    assert sorted(code for codes in flagged for code in codes) == sorted(
        db.session.scalars(select(Shipment.code).where(Shipment.overdue_flagged_at.is_not(None)))
    )
    told = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "shipment.overdue")
    assert db.session.scalar(told) == 2


def test_racing_price_edits_each_audit_the_price_they_replaced(app, sources):
    """Editors setting one source's price at once: each audit entry's 'before' is the price it replaced (the
    one before it in the log), never a price read before another editor's change committed."""
    db.session.remove()  # the sources are committed

    def edit(price: int):
        source = get_warehouse(db.session, "ENT")
        return set_unit_price(db.session, ADMIN, warehouse=source, item=get_item(db.session, "PD-001"), price=price)

    outcomes = run_at_once(app, [functools.partial(edit, price) for price in range(100, 106)])
    assert outcomes == ["done"] * 6, outcomes
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "settlement.price").order_by(AuditEntry.id)
        ).all()
        said = [(_price(entry.before), _price(entry.after)) for entry in entries]
        db.session.remove()
    assert [before for before, _after in said] == [None] + [after for _before, after in said[:-1]], said


def _price(audited: str | None) -> Decimal | None:
    return Decimal(json.loads(audited)["price"]) if audited else None
