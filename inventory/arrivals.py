"""Receipt at the other end (接收), consumption at the incident (消耗) and returns from the site (归还).

Every change here locks the call-up rows it touches in id order first, then (for a warehouse that
receives) the stock rows in id order, like every other call-up decision; a shipment turns delivered
through one conditional UPDATE, so of two receipts of one shipment exactly one goes through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal, require_stock_change
from inventory.audit import record_audit
from inventory.callups import get_callup_line, lock_callup
from inventory.errors import Conflict, Forbidden, ValidationFailed
from inventory.incidents import get_incident, line_accounts
from inventory.models import CallUp, CallUpLine, Consumption, EmergencyIncident, Shipment, StockLine, Warehouse
from inventory.reference import IncidentStatus, MovementKind, ShipmentKind
from inventory.shipments import (
    MAX_SHIPMENT_LINES,
    ShipmentDetails,
    add_line,
    get_shipment,
    mark_delivered,
    open_shipment,
    shipment_events,
)
from inventory.stock import record_movement, stock_line_for
from inventory.stock_rules import require_active
from inventory.system_texts import SHIPMENT_RECEIVED
from inventory.validation import check_quantity, check_text, text_limit

ZERO = Decimal(0)
ARRIVAL_KIND = {ShipmentKind.TRANSFER: MovementKind.SHIP_IN, ShipmentKind.RETURN: MovementKind.RETURN_IN}


@dataclass(frozen=True)
class LineReceipt:
    """What arrived of one shipment line; ``short`` defaults to what is neither received nor damaged."""

    line_id: int
    received: object
    damaged: object = ZERO
    short: object | None = None
    reason: str = ""


def receive_shipment(session: Session, actor: Actor, code: str, receipts: Sequence[LineReceipt] = ()) -> Shipment:
    """Record what arrived; lines not listed arrived in full. A warehouse at the end takes it into its ledger."""
    principal = as_principal(actor)
    shipment = get_shipment(session, code)
    _require_receiver(session, actor, shipment)
    callup_ids = sorted({line.callup_line_id for line in shipment.lines if line.callup_line_id is not None})
    for callup_id in sorted({get_callup_line(session, line_id).callup_id for line_id in callup_ids}):
        lock_callup(session, callup_id)
    outcomes = _outcomes(shipment, receipts)
    mark_delivered(session, shipment, principal.username)
    for line in shipment.lines:
        line.received, line.short, line.damaged, line.discrepancy_reason = outcomes[line.id]
    session.flush()
    if shipment.target_warehouse is not None:
        _take_in(session, actor, shipment)
    record_audit(
        session,
        actor,
        "shipment.receive",
        object_type="shipment",
        object_key=shipment.code,
        province_code=(shipment.target_warehouse or shipment.source_warehouse).province_code,
        after={"lines": [(line.id, str(line.received), str(line.short), str(line.damaged)) for line in shipment.lines]},
    )
    if any(line.lost for line in shipment.lines):
        shipment_events(session, actor, shipment, "receipt_discrepancy")
    return shipment


def _require_receiver(session: Session, actor: Actor, shipment: Shipment) -> None:
    """A warehouse receives through its managers (or provincial staff, admins); a site through the requester."""
    if shipment.target_warehouse is not None:
        require_stock_change(actor, shipment.target_warehouse)
        return
    principal = as_principal(actor)
    if principal.is_admin:
        return
    requesters = set(
        session.scalars(
            select(CallUp.requester)
            .join(CallUpLine, CallUpLine.callup_id == CallUp.id)
            .where(CallUpLine.id.in_([line.callup_line_id for line in shipment.lines]))
        )
    )
    if requesters != {principal.username}:
        raise Forbidden(f"only the requester of the call-up (or an administrator) receives {shipment.code}")


def _outcomes(shipment: Shipment, receipts: Sequence[LineReceipt]) -> dict[int, tuple[Decimal, Decimal, Decimal, str]]:
    """(received, short, damaged, reason) per line; they add up to what was sent, and a loss says why."""
    outcomes = {line.id: (line.quantity, ZERO, ZERO, "") for line in shipment.lines}
    sent = {line.id: line.quantity for line in shipment.lines}
    listed: set[int] = set()
    for number, receipt in enumerate(receipts):
        where = f"lines[{number}]"
        if receipt.line_id not in sent:
            raise ValidationFailed(f"line {receipt.line_id} is not on shipment {shipment.code}", field=f"{where}.id")
        if receipt.line_id in listed:  # two outcomes for one line: which one is true cannot be guessed
            raise ValidationFailed(f"line {receipt.line_id} is listed twice", field=f"{where}.id")
        listed.add(receipt.line_id)
        received = check_quantity(receipt.received, f"{where}.received", allow_zero=True)
        damaged = check_quantity(receipt.damaged, f"{where}.damaged", allow_zero=True)
        rest = sent[receipt.line_id] - received - damaged
        short = rest if receipt.short is None else check_quantity(receipt.short, f"{where}.short", allow_zero=True)
        if rest < 0 or short != rest:
            message = f"received, short and damaged must add up to the {sent[receipt.line_id]} sent"
            raise ValidationFailed(message, field=f"{where}.received")
        reason = check_text(receipt.reason, f"{where}.reason", max_length=text_limit(CallUpLine.reason))
        if (short or damaged) and not reason:
            raise ValidationFailed("a short or damaged quantity needs a reason", field=f"{where}.reason")
        outcomes[receipt.line_id] = (received, short, damaged, reason)
    return outcomes


def _take_in(session: Session, actor: Actor, shipment: Shipment) -> None:
    """Into the same item and batch (dates kept) at the target, stock rows locked in id order."""
    target = shipment.target_warehouse
    arrivals = []
    for line in shipment.lines:
        if line.received <= 0:
            continue
        origin = line.stock_line
        into = stock_line_for(
            session,
            warehouse=target,
            item=origin.item,
            batch=origin.batch,
            production_date=origin.production_date,
            expiry_date=origin.expiry_date,
        )
        line.target_stock_line_id = into.id
        arrivals.append((into.id, line))
    ids = sorted({stock_line_id for stock_line_id, _ in arrivals})
    session.execute(select(StockLine.id).where(StockLine.id.in_(ids)).order_by(StockLine.id).with_for_update())
    for stock_line_id, line in sorted(arrivals, key=lambda pair: pair[0]):
        record_movement(
            session,
            stock_line_id=stock_line_id,
            delta=line.received,
            kind=ARRIVAL_KIND[shipment.kind],
            actor=actor,
            reason=SHIPMENT_RECEIVED.text(code=shipment.code),
            reference=shipment.code,
            transfer_key=line.ledger_key,
        )
    session.flush()


def _incident_line(session: Session, actor: Actor, incident: EmergencyIncident, line_id: int, field: str) -> CallUpLine:
    """A dispatched line of one of the incident's call-ups, acted on by that call-up's requester or an admin."""
    line = get_callup_line(session, line_id)
    callup = session.get(CallUp, line.callup_id)
    if callup.incident_id != incident.id:
        raise ValidationFailed(f"call-up line {line_id} is not part of incident {incident.code}", field=field)
    principal = as_principal(actor)
    if not principal.is_admin and principal.username != callup.requester:
        raise Forbidden(f"only {callup.requester} or an administrator may account for call-up {callup.code}")
    return line


def _open_incident(session: Session, code: str) -> EmergencyIncident:
    incident = get_incident(session, code)
    if incident.status is not IncidentStatus.OPEN:
        raise Conflict(f"incident {code} is closed", field="incident_code")
    return incident


def _still_open(session: Session, incident: EmergencyIncident) -> None:
    """Re-read under the call-up's lock: a close that held it first has committed by now."""
    session.refresh(incident, ["status"])
    if incident.status is not IncidentStatus.OPEN:
        raise Conflict(f"incident {incident.code} is closed", field="incident_code")


def record_consumption(
    session: Session, actor: Actor, incident_code: str, *, callup_line_id: int, quantity: object, note: str = ""
) -> Consumption:
    """Write off what was used at the incident against one line; never more than is on site."""
    incident = _open_incident(session, incident_code)
    line = _incident_line(session, actor, incident, callup_line_id, "callup_line_id")
    quantity = check_quantity(quantity)
    lock_callup(session, line.callup_id)
    _still_open(session, incident)
    account = line_accounts(session, [line]).get(line.id)
    on_site = account.on_site if account is not None else ZERO
    if quantity > on_site:
        raise Conflict(f"call-up line {line.id} has {on_site} on site, cannot consume {quantity}", field="quantity")
    used = Consumption(
        incident_id=incident.id,
        callup_line_id=line.id,
        quantity=quantity,
        recorded_by=as_principal(actor).username,
        recorded_at=dt.datetime.now(dt.UTC),
        note=check_text(note, "note", max_length=text_limit(Consumption.note)),
    )
    session.add(used)
    session.flush()
    record_audit(
        session,
        actor,
        "incident.consume",
        object_type="callup_line",
        object_key=line.id,
        province_code=line.warehouse.province_code,
        after={"incident": incident.code, "quantity": str(quantity)},
    )
    return used


def return_from_site(
    session: Session,
    actor: Actor,
    incident_code: str,
    *,
    lines: Sequence[tuple[int, object]],
    to_warehouse: Warehouse | None = None,
    details: ShipmentDetails,
) -> Shipment:
    """Send unused stock back, as one shipment, to its source (or ``to_warehouse``); batch and expiry are kept."""
    incident = _open_incident(session, incident_code)
    if not lines:
        raise ValidationFailed("a return needs at least one line", field="lines")
    if len(lines) > MAX_SHIPMENT_LINES:
        raise ValidationFailed(f"a shipment has at most {MAX_SHIPMENT_LINES} lines", field="lines")
    if len({line_id for line_id, _ in lines}) != len(lines):
        raise ValidationFailed("a call-up line appears twice", field="lines")
    callup_lines = [
        _incident_line(session, actor, incident, line_id, f"lines[{n}].callup_line_id")
        for n, (line_id, _) in enumerate(lines)
    ]
    quantities = [check_quantity(quantity, f"lines[{n}].quantity") for n, (_, quantity) in enumerate(lines)]
    if to_warehouse is None:
        sources = {line.warehouse_id for line in callup_lines}
        if len(sources) != 1:
            raise ValidationFailed("lines from several sources need a to_warehouse_code", field="to_warehouse_code")
        to_warehouse = callup_lines[0].warehouse
    require_active(to_warehouse, "to_warehouse_code")
    for callup_id in sorted({line.callup_id for line in callup_lines}):
        lock_callup(session, callup_id)
    _still_open(session, incident)
    accounts = line_accounts(session, callup_lines)
    for number, (line, quantity) in enumerate(zip(callup_lines, quantities, strict=True)):
        on_site = accounts[line.id].on_site if line.id in accounts else ZERO
        if quantity > on_site:
            message = f"call-up line {line.id} has {on_site} on site, cannot return {quantity}"
            raise Conflict(message, field=f"lines[{number}].quantity")
    shipment = open_shipment(session, actor, ShipmentKind.RETURN, details, target=to_warehouse, incident_id=incident.id)
    for line, quantity in zip(callup_lines, quantities, strict=True):
        add_line(session, shipment, stock_line=line.stock_line, quantity=quantity, callup_line_id=line.id)
    record_audit(
        session,
        actor,
        "incident.return",
        object_type="shipment",
        object_key=shipment.code,
        province_code=to_warehouse.province_code,
        after={"incident": incident.code, "to": to_warehouse.code},
    )
    return shipment
