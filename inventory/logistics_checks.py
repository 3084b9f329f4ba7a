"""The logistics invariants ``check-ledger`` and the tests verify, next to the ledger's own.

- every shipment line in transit has no outcome yet; a delivered one: received + short + damaged = sent;
- the ledger agrees with the shipments: a line that left a warehouse wrote ``ship_out`` of what was sent,
  a line received at a warehouse wrote ``ship_in``/``return_in`` of what was received, nothing else;
- per dispatched call-up line: dispatched = in transit + received + lost, and received = consumed +
  returned + on site with nothing negative; once its incident is closed, nothing in transit or on site.
In-transit stock is in no warehouse's available quantity because ``ship_out`` took it off on hand.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.incidents import line_accounts
from inventory.models import CallUp, CallUpLine, EmergencyIncident, Movement, Shipment, ShipmentLine
from inventory.reference import CallUpLineStatus, IncidentStatus, MovementKind, ShipmentKind, ShipmentStatus

LEAVES_A_WAREHOUSE = (ShipmentKind.DISPATCH, ShipmentKind.TRANSFER)
OUT_KINDS = (MovementKind.SHIP_OUT,)
IN_KINDS = (MovementKind.SHIP_IN, MovementKind.RETURN_IN)


def logistics_mismatches(session: Session) -> list[str]:
    """Every broken logistics invariant, one sentence each (empty when all hold)."""
    problems = _shipment_problems(session)
    problems += _line_problems(session)
    return problems


def _shipment_problems(session: Session) -> list[str]:
    ledger: dict[tuple[str, bool], Decimal] = defaultdict(Decimal)
    rows = session.execute(
        select(Movement.transfer_key, Movement.kind, func.sum(Movement.delta))
        .where(Movement.kind.in_(OUT_KINDS + IN_KINDS))
        .group_by(Movement.transfer_key, Movement.kind)
    )
    for key, kind, total in rows:
        ledger[(key, kind in OUT_KINDS)] += Decimal(total)
    problems = []
    seen = set()
    for line, kind, status in session.execute(
        select(ShipmentLine, Shipment.kind, Shipment.status).join(Shipment, Shipment.id == ShipmentLine.shipment_id)
    ):
        seen.add(line.ledger_key)
        outcome = line.received + line.short + line.damaged
        if status is ShipmentStatus.IN_TRANSIT and outcome:
            problems.append(f"shipment line {line.id} is in transit but has an outcome")
        if status is ShipmentStatus.DELIVERED and outcome != line.quantity:
            problems.append(f"shipment line {line.id}: received + short + damaged = {outcome}, sent {line.quantity}")
        left = -ledger.get((line.ledger_key, True), Decimal(0))
        if left != (line.quantity if kind in LEAVES_A_WAREHOUSE else 0):
            problems.append(f"shipment line {line.id}: the ledger shipped out {left}, the shipment {line.quantity}")
        arrived = ledger.get((line.ledger_key, False), Decimal(0))
        if arrived != (line.received if kind is not ShipmentKind.DISPATCH else 0):
            problems.append(f"shipment line {line.id}: the ledger received {arrived}, the shipment {line.received}")
    for key, _ in ledger:
        if key not in seen:
            problems.append(f"ledger entries with key {key} belong to no shipment line")
    return problems


def _line_problems(session: Session) -> list[str]:
    lines = session.scalars(
        select(CallUpLine)
        .where(CallUpLine.status == CallUpLineStatus.DISPATCHED)
        .where(CallUpLine.id.in_(select(ShipmentLine.callup_line_id)))
    ).all()
    closed = set(
        session.scalars(
            select(CallUp.id)
            .join(EmergencyIncident, EmergencyIncident.id == CallUp.incident_id)
            .where(EmergencyIncident.status == IncidentStatus.CLOSED)
        )
    )
    problems = []
    accounts = line_accounts(session, lines)
    for line in lines:
        account = accounts[line.id]
        if account.dispatched != account.in_transit + account.received + account.lost:
            problems.append(
                f"call-up line {line.id}: dispatched {account.dispatched} ≠ in transit {account.in_transit} + "
                f"received {account.received} + lost {account.lost}"
            )
        if account.on_site < 0:
            problems.append(
                f"call-up line {line.id}: received {account.received} < consumed {account.consumed} + "
                f"returned {account.returned}"
            )
        if line.callup_id in closed and (account.on_site or account.in_transit):
            problems.append(f"call-up line {line.id}: its incident is closed with stock in transit or on site")
    return problems
