"""Call-up orders: a plan turned into reservations, then dispatched or declined per source.

Raising a call-up plans the needs (nearest first, FEFO) and reserves every allocation in the
same transaction; if another call-up took some of that stock meanwhile, the reservation fails
for that line and the plan is run again, so nothing is ever held twice. Managers of each source
warehouse dispatch (stock leaves as ledger issues referencing the order) or decline (the
reservation is released and the remainder is planned again without that warehouse).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal, require_stock_change
from inventory.audit import record_audit
from inventory.callup_notices import line_decided, lines_waiting
from inventory.errors import Conflict, Forbidden, NotFound, ValidationFailed
from inventory.geo import Incident, Point
from inventory.models import CallUp, CallUpEvent, CallUpLine, CallUpNeed, EmergencyIncident, Shipment
from inventory.nearest import DEFAULT_RADIUS_KM, NeedRequest, Plan, plan_need
from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    IncidentStatus,
    MovementKind,
    ReserveType,
    Role,
    ShipmentKind,
)
from inventory.shipments import ShipmentDetails, add_line, open_shipment
from inventory.stock import REASON_LIMIT, expired_issue_reason, record_movement, release_reservation, reserve_stock
from inventory.system_texts import ALL_COVERED, CALLUP, CALLUP_NOTE, SHIPMENT_ENTRY, SHORT_BY
from inventory.validation import check_text, text_limit
from inventory.warehouses import get_warehouse

RAISING_ROLES = frozenset({Role.ADMIN, Role.PROVINCIAL, Role.RESPONDER})
PLAN_ATTEMPTS = 5
ACTIVE_LINE = (CallUpLineStatus.RESERVED, CallUpLineStatus.DISPATCHED)
CANCELLABLE = (CallUpStatus.OPEN, CallUpStatus.UNFILLED)


def get_callup(session: Session, code: str) -> CallUp:
    callup = session.scalar(select(CallUp).where(CallUp.code == code))
    if callup is None:
        raise NotFound(f"no call-up {code!r}", field="code")
    return callup


def get_callup_line(session: Session, line_id: int) -> CallUpLine:
    line = session.get(CallUpLine, line_id)
    if line is None:
        raise NotFound(f"no call-up line {line_id}", field="line_id")
    return line


def list_callups(
    session: Session,
    *,
    status: CallUpStatus | None = None,
    requester: str | None = None,
    warehouse_code: str | None = None,
) -> Select:
    """Call-ups newest first; ``warehouse_code`` keeps those drawing on that warehouse."""
    stmt = select(CallUp).order_by(CallUp.id.desc())
    if status is not None:
        stmt = stmt.where(CallUp.status == status)
    if requester:
        stmt = stmt.where(CallUp.requester == requester)
    if warehouse_code:  # an unknown one: 404, not an empty list
        warehouse_id = get_warehouse(session, warehouse_code, field="warehouse").id
        stmt = stmt.where(CallUp.id.in_(select(CallUpLine.callup_id).where(CallUpLine.warehouse_id == warehouse_id)))
    return stmt


def raise_callup(
    session: Session,
    actor: Actor,
    *,
    incident_name: str,
    incident: Incident,
    needs: Sequence[NeedRequest],
    radius_km: float = DEFAULT_RADIUS_KM,
    reserve_type_preference: Sequence[ReserveType] = (),
    reserve_types: Sequence[ReserveType] = (),
    note: str = "",
    incident_record: EmergencyIncident | None = None,
) -> CallUp:
    """Plan the needs and reserve the plan at once; shortfalls stay visible on the order.

    Raised against an incident record, it joins that incident (and takes its name when none is given).
    """
    principal = as_principal(actor)
    if principal.role not in RAISING_ROLES:
        raise Forbidden(f"the {principal.role.value} role may not raise call-ups")
    if incident_record is not None:
        # Locked, so a close cannot slip in between this check and the new call-up's commit.
        session.execute(
            select(EmergencyIncident.id)
            .where(EmergencyIncident.id == incident_record.id)
            .with_for_update(key_share=True)  # as incidents.lock_incident
        )
        session.refresh(incident_record, ["status"])
        if incident_record.status is not IncidentStatus.OPEN:
            raise Conflict(f"incident {incident_record.code} is closed", field="incident_code")
        incident_name = incident_name or incident_record.name
    callup = CallUp(
        incident_id=incident_record.id if incident_record is not None else None,
        code=str(uuid.uuid4())[:32],  # replaced by the readable code once the id is known
        incident_name=check_text(
            incident_name, "incident_name", max_length=text_limit(CallUp.incident_name), required=True
        ),
        latitude=incident.point.latitude,
        longitude=incident.point.longitude,
        county_code=incident.county_code,
        radius_km=radius_km,
        reserve_type_preference=",".join(t.value for t in reserve_type_preference),
        reserve_types=",".join(t.value for t in ReserveType if t in set(reserve_types)),
        requester=principal.username,
        status=CallUpStatus.OPEN,
        note=check_text(note, "note", max_length=text_limit(CallUp.note)),
    )
    session.add(callup)
    session.flush()
    callup.code = f"CU-{dt.datetime.now(dt.UTC):%Y%m%d}-{callup.id:05d}"  # system_texts.CALLUP_CODE_SHAPE
    plan = _reserve_plan(session, callup, needs, excluded=frozenset())
    for outcome in plan.needs:
        session.add(CallUpNeed(callup_id=callup.id, item_id=outcome.item.id, requested=outcome.requested))
    _event(session, callup, principal.username, "raised", _shortfall_note(plan))
    _settle_status(callup)
    session.flush()
    session.refresh(callup)
    record_audit(
        session,
        actor,
        "callup.raise",
        object_type="callup",
        object_key=callup.code,
        after={"lines": [(line.stock_line_id, str(line.quantity)) for line in callup.lines]},
    )
    return callup


def dispatch_line(
    session: Session,
    actor: Actor,
    line_id: int,
    *,
    note: str = "",
    allow_expired: bool = False,
    details: ShipmentDetails | None = None,
) -> CallUpLine:
    """The source warehouse sends the reserved stock, alone on a shipment (see ``dispatch_lines``)."""
    dispatch_lines(session, actor, [line_id], note=note, allow_expired=allow_expired, details=details)
    return get_callup_line(session, line_id)


def dispatch_lines(
    session: Session,
    actor: Actor,
    line_ids: Sequence[int],
    *,
    note: str = "",
    allow_expired: bool = False,
    details: ShipmentDetails | None = None,
) -> Shipment:
    """Send reserved lines of one warehouse as one shipment: each leaves the ledger as ``ship_out``
    (referencing its order) and is in transit until the requester's side receives it.

    A batch that expired while reserved is an issue from an expired batch like any other: refused
    unless ``allow_expired`` with a note saying why, which the ledger entry records. ``note`` is the shipment's
    note, and each line's ledger reason (after the order's code) and decision reason: it replaces any note in
    ``details``. Call-up rows are locked in id order, then the stock rows in id order.
    """
    if not line_ids:
        raise ValidationFailed("a shipment needs at least one call-up line", field="line_ids")
    if len(set(line_ids)) != len(line_ids):
        raise ValidationFailed("a call-up line appears twice", field="line_ids")
    lines = [get_callup_line(session, line_id) for line_id in line_ids]
    warehouse = lines[0].warehouse
    if any(line.warehouse_id != warehouse.id for line in lines):
        raise ValidationFailed("every line of a shipment leaves the same warehouse", field="line_ids")
    require_stock_change(actor, warehouse)
    callups = {callup_id: lock_callup(session, callup_id) for callup_id in sorted({line.callup_id for line in lines})}
    for line in lines:
        _require_pending(line, callups[line.callup_id])
    incidents = {callup.incident_id for callup in callups.values()}
    shipment = open_shipment(
        session,
        actor,
        ShipmentKind.DISPATCH,
        replace(details or ShipmentDetails(), note=note),
        source=warehouse,
        incident_id=incidents.pop() if len(incidents) == 1 else None,
    )
    for line in sorted(lines, key=lambda line: line.stock_line_id):  # stock rows in id order
        code = callups[line.callup_id].code
        room = REASON_LIMIT - len(_dispatch_reason(code, "-")) + 1  # what the ledger reason leaves for the note
        line_note = check_text(note, "note", max_length=room).strip()
        line_note = expired_issue_reason(line.stock_line, allow_expired, line_note, field="note", room=room)
        sent = add_line(session, shipment, stock_line=line.stock_line, quantity=line.quantity, callup_line_id=line.id)
        movement = record_movement(
            session,
            stock_line_id=line.stock_line_id,
            delta=-line.quantity,
            kind=MovementKind.SHIP_OUT,
            actor=actor,
            reason=_dispatch_reason(code, line_note),
            reference=code,
            transfer_key=sent.ledger_key,
            release_reserved=line.quantity,
        )
        _decide(
            session,
            actor,
            line,
            CallUpLineStatus.DISPATCHED,
            line_note or SHIPMENT_ENTRY.text(code=shipment.code, entry=movement.id),
        )
    return shipment


def _dispatch_reason(code: str, note: str) -> str:
    """The ledger reason of a dispatch: the order's code, then the note after ': ' when there is one."""
    note = note.strip()
    return CALLUP_NOTE.text(code=code, note=note) if note else CALLUP.text(code=code)


def decline_line(session: Session, actor: Actor, line_id: int, *, reason: str) -> CallUpLine:
    """The source cannot send it: release the reservation and plan the remainder elsewhere."""
    reason = check_text(reason, "reason", max_length=text_limit(CallUpLine.reason), required=True)
    line = _pending_line(session, actor, line_id)
    release_reservation(session, stock_line_id=line.stock_line_id, quantity=line.quantity)
    _decide(session, actor, line, CallUpLineStatus.DECLINED, reason)
    callup = line_callup(session, line)
    remainder = _remaining_needs(callup)
    if remainder:
        declined = frozenset(other.warehouse_id for other in callup.lines if other.status is CallUpLineStatus.DECLINED)
        plan = _reserve_plan(session, callup, remainder, excluded=declined)
        _event(session, callup, as_principal(actor).username, "replanned", _shortfall_note(plan))
    _settle_status(callup)
    session.flush()
    return line


def cancel_callup(session: Session, actor: Actor, code: str, *, reason: str = "") -> CallUp:
    """The requester (or an admin) withdraws the order; every pending reservation is released."""
    principal = as_principal(actor)
    callup = get_callup(session, code)
    if principal.username != callup.requester and not principal.is_admin:
        raise Forbidden(f"only {callup.requester} or an administrator may cancel {code}")
    callup = lock_callup(session, callup.id)
    if callup.status not in CANCELLABLE:
        raise Conflict(f"call-up {code} is {callup.status.value}", field="code")
    for line in sorted(callup.lines, key=lambda line: line.stock_line_id):  # stock rows locked in id order
        if line.status is CallUpLineStatus.RESERVED:
            release_reservation(session, stock_line_id=line.stock_line_id, quantity=line.quantity)
            line.status = CallUpLineStatus.CANCELLED
            line.decided_by, line.decided_at = principal.username, dt.datetime.now(dt.UTC)
    callup.status = CallUpStatus.CANCELLED
    _event(
        session,
        callup,
        principal.username,
        "cancelled",
        check_text(reason, "reason", max_length=text_limit(CallUpEvent.note)),
    )
    session.flush()
    record_audit(session, actor, "callup.cancel", object_type="callup", object_key=code, after={"reason": reason})
    return callup


@dataclass(frozen=True)
class Holding:
    """A call-up line still holding part of a stock line: why that much of it is not available."""

    callup_code: str
    incident_name: str
    line_id: int
    quantity: Decimal


def holdings_of(session: Session, stock_line_id: int) -> list[Holding]:
    """The call-up lines still reserved on a stock line, oldest first (their sum is its ``reserved``)."""
    rows = session.execute(
        select(CallUp.code, CallUp.incident_name, CallUpLine.id, CallUpLine.quantity)
        .join(CallUp, CallUp.id == CallUpLine.callup_id)
        .where(CallUpLine.stock_line_id == stock_line_id, CallUpLine.status == CallUpLineStatus.RESERVED)
        .order_by(CallUpLine.id)
    )
    return [Holding(*row) for row in rows]


def line_callup(session: Session, line: CallUpLine) -> CallUp:
    return session.get(CallUp, line.callup_id)


def _pending_line(session: Session, actor: Actor, line_id: int) -> CallUpLine:
    """The line, with its call-up locked, if it still awaits a decision; else a 409 naming its status."""
    line = get_callup_line(session, line_id)
    require_stock_change(actor, line.warehouse)
    _require_pending(line, lock_callup(session, line.callup_id))
    return line


def _require_pending(line: CallUpLine, callup: CallUp) -> None:
    """Read after the call-up's row lock: a line decided meanwhile is a 409 naming its status."""
    if line.status is not CallUpLineStatus.RESERVED:
        raise Conflict(f"call-up line {line.id} is already {line.status.value}", field="line_id")
    if callup.status is not CallUpStatus.OPEN:
        raise Conflict(f"call-up {callup.code} is {callup.status.value}", field="line_id")


def lock_callup(session: Session, callup_id: int) -> CallUp:
    """Lock the call-up row and reload it with its lines: every decision on a call-up queues here.

    Under PostgreSQL's READ COMMITTED two requests could otherwise both read a line as reserved and
    both decide it (the stock issued twice, a reservation released twice). Holding the call-up's row
    lock from the status check to the commit lets exactly one decision through; the next one reads
    the committed outcome and gets a 409. The call-up is always locked before its stock lines.
    (SQLite ignores FOR UPDATE: its write transactions are already exclusive.)
    """
    session.execute(select(CallUp.id).where(CallUp.id == callup_id).with_for_update())
    callup = session.scalars(
        select(CallUp).where(CallUp.id == callup_id).execution_options(populate_existing=True)
    ).one()
    session.scalars(
        select(CallUpLine).where(CallUpLine.callup_id == callup_id).execution_options(populate_existing=True)
    ).all()
    return callup


def _decide(session: Session, actor: Actor, line: CallUpLine, status: CallUpLineStatus, note: str) -> None:
    principal = as_principal(actor)
    line.status = status
    line.decided_by, line.decided_at, line.reason = (
        principal.username,
        dt.datetime.now(dt.UTC),
        note[: text_limit(CallUpLine.reason)],
    )
    callup = line_callup(session, line)
    _event(session, callup, principal.username, status.value, note, line_id=line.id)
    _settle_status(callup)
    session.flush()
    line_decided(session, callup, line)
    record_audit(
        session,
        actor,
        f"callup.{status.value}",
        object_type="callup_line",
        object_key=line.id,
        province_code=line.warehouse.province_code,
        after={"callup": callup.code, "stock_line_id": line.stock_line_id, "quantity": str(line.quantity)},
    )


def _reserve_plan(session: Session, callup: CallUp, needs: Sequence[NeedRequest], *, excluded: frozenset[int]) -> Plan:
    """Plan and reserve; if a line was taken meanwhile, plan again (it is then no longer available)."""
    preference = tuple(ReserveType(v) for v in callup.reserve_type_preference.split(",") if v)
    allowed = tuple(ReserveType(v) for v in callup.reserve_types.split(",") if v)
    incident = Incident(Point(callup.latitude, callup.longitude), callup.county_code)
    for _ in range(PLAN_ATTEMPTS):
        plan = plan_need(
            session,
            incident=incident,
            needs=needs,
            radius_km=callup.radius_km,
            reserve_type_preference=preference,
            reserve_types=allowed,
            exclude_warehouse_ids=excluded,
        )
        held: list[tuple[int, Decimal]] = []
        # Stock rows are locked in id order, so two call-ups over the same lines cannot deadlock.
        allocations = sorted((a for source in plan.warehouses for a in source.lines), key=lambda a: a.stock_line_id)
        for allocation in allocations:
            if not reserve_stock(session, stock_line_id=allocation.stock_line_id, quantity=allocation.quantity):
                break
            held.append((allocation.stock_line_id, allocation.quantity))
        else:
            _add_lines(session, callup, plan)
            return plan
        for stock_line_id, quantity in held:  # lost a race: give back and plan again
            release_reservation(session, stock_line_id=stock_line_id, quantity=quantity)
    raise Conflict("stock is changing too fast to reserve a plan; try again", field="needs")


def _add_lines(session: Session, callup: CallUp, plan: Plan) -> None:
    added = []
    for source in plan.warehouses:
        for allocation in source.lines:
            added.append(
                CallUpLine(
                    callup_id=callup.id,
                    stock_line_id=allocation.stock_line_id,
                    warehouse_id=source.warehouse.id,
                    item_id=allocation.item.id,
                    quantity=allocation.quantity,
                    distance_km=source.distance_km,
                    status=CallUpLineStatus.RESERVED,
                )
            )
    session.add_all(added)
    session.flush()
    session.expire(callup, ["lines"])
    lines_waiting(session, callup, added)  # the outbox: told in this transaction, sent by the deliver worker


def _remaining_needs(callup: CallUp) -> list[NeedRequest]:
    remaining = []
    for need in callup.needs:
        held = sum(
            (line.quantity for line in callup.lines if line.item_id == need.item_id and line.status in ACTIVE_LINE),
            Decimal(0),
        )
        if need.requested > held:
            remaining.append(NeedRequest(item=need.item.code, quantity=need.requested - held))
    return remaining


def _settle_status(callup: CallUp) -> None:
    """Open while any reservation awaits its source; completed when none does and something was sent
    (shortfalls stay on the needs); unfilled when nothing is held or sent, which may still be cancelled."""
    if callup.status is CallUpStatus.CANCELLED:
        return
    if any(line.status is CallUpLineStatus.RESERVED for line in callup.lines):
        callup.status = CallUpStatus.OPEN
    elif any(line.status is CallUpLineStatus.DISPATCHED for line in callup.lines):
        callup.status = CallUpStatus.COMPLETED
    else:
        callup.status = CallUpStatus.UNFILLED


def _event(
    session: Session, callup: CallUp, actor: str, event: str, note: str = "", line_id: int | None = None
) -> None:
    session.add(
        CallUpEvent(
            callup_id=callup.id, line_id=line_id, event=event, actor=actor, note=note[: text_limit(CallUpEvent.note)]
        )
    )
    session.flush()
    session.expire(callup, ["events"])


def _shortfall_note(plan: Plan) -> str:
    short = [
        SHORT_BY.text(item=n.item.code, quantity=format(n.shortfall.normalize(), "f"))
        for n in plan.needs
        if n.shortfall > 0
    ]
    return "; ".join(short) if short else ALL_COVERED.text()
