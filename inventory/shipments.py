"""Shipments (发运): stock on the road between a warehouse and an incident, or between warehouses.

Stock that leaves a warehouse on a shipment is written out of the ledger at once (``ship_out``, out of
on hand and so out of every available quantity) and is *in transit* until the other end receives it:
a warehouse receipt writes ``ship_in`` (transfer) or ``return_in`` (return) for what arrived, short and
damaged quantities are lost in transit. Call-up dispatches are sent by ``inventory.callups``, returns by
``inventory.arrivals``; both open their shipments here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from inventory.access import Actor, as_principal, require_stock_change
from inventory.audit import record_audit
from inventory.callup_notices import shipment_noticed
from inventory.errors import Conflict, NotFound, ValidationFailed
from inventory.models import EmergencyIncident, Item, Shipment, ShipmentLine, StockLine, Warehouse
from inventory.reference import MovementKind, ShipmentKind, ShipmentStatus
from inventory.stock import get_stock_line, record_movement
from inventory.stock_rules import require_active
from inventory.system_texts import SHIPMENT_TO
from inventory.validation import check_quantity, check_text, text_limit
from inventory.warehouses import get_warehouse

MAX_SHIPMENT_LINES = 200


@dataclass(frozen=True)
class ShipmentDetails:
    """How it travels: carrier or vehicle, driver and phone, departure (default now) and estimated arrival."""

    carrier: str = ""
    vehicle: str = ""
    driver: str = ""
    driver_phone: str = ""
    departed_at: dt.datetime | None = None
    eta: dt.datetime | None = None
    note: str = ""


def get_shipment(session: Session, code: str) -> Shipment:
    shipment = session.scalar(select(Shipment).where(Shipment.code == code))
    if shipment is None:
        raise NotFound(f"no shipment {code!r}", field="code")
    return shipment


def is_overdue(shipment: Shipment, now: dt.datetime | None = None) -> bool:
    """Still on the road after its estimated arrival."""
    return shipment.status is ShipmentStatus.IN_TRANSIT and past_eta(shipment.eta, now)


def past_eta(eta: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    now = now or dt.datetime.now(dt.UTC)
    return eta is not None and eta < now


def list_shipments(
    session: Session,
    *,
    status: ShipmentStatus | None = None,
    kind: ShipmentKind | None = None,
    warehouse_code: str | None = None,
    incident_code: str | None = None,
    overdue: bool = False,
) -> Select:
    """Shipments newest first; ``warehouse_code`` keeps those leaving or reaching that warehouse."""
    stmt = select(Shipment).order_by(Shipment.id.desc())
    if status is not None:
        stmt = stmt.where(Shipment.status == status)
    if kind is not None:
        stmt = stmt.where(Shipment.kind == kind)
    if warehouse_code:  # an unknown one: 404, not an empty list
        warehouse_id = get_warehouse(session, warehouse_code, field="warehouse").id
        stmt = stmt.where(
            or_(Shipment.source_warehouse_id == warehouse_id, Shipment.target_warehouse_id == warehouse_id)
        )
    if incident_code:
        stmt = stmt.join(EmergencyIncident, EmergencyIncident.id == Shipment.incident_id).where(
            EmergencyIncident.code == incident_code
        )
    if overdue:
        stmt = stmt.where(
            Shipment.status == ShipmentStatus.IN_TRANSIT,
            Shipment.eta.is_not(None),
            Shipment.eta < dt.datetime.now(dt.UTC),
        )
    return stmt


def open_shipment(
    session: Session,
    actor: Actor,
    kind: ShipmentKind,
    details: ShipmentDetails,
    *,
    source: Warehouse | None = None,
    target: Warehouse | None = None,
    incident_id: int | None = None,
) -> Shipment:
    """A new shipment in transit (its lines follow with ``add_line``)."""
    departed = details.departed_at or dt.datetime.now(dt.UTC)
    if details.eta is not None and details.eta < departed:
        raise ValidationFailed("the estimated arrival is before the departure", field="eta")
    shipment = Shipment(
        code=str(uuid.uuid4())[:32],  # replaced by the readable code once the id is known
        kind=kind,
        status=ShipmentStatus.IN_TRANSIT,
        incident_id=incident_id,
        source_warehouse_id=source.id if source is not None else None,
        target_warehouse_id=target.id if target is not None else None,
        departed_at=departed,
        eta=details.eta,
        sent_by=as_principal(actor).username,
        **{
            name: check_text(getattr(details, name), name, max_length=text_limit(getattr(Shipment, name)))
            for name in ("carrier", "vehicle", "driver", "driver_phone", "note")
        },
    )
    session.add(shipment)
    session.flush()
    shipment.code = f"SH-{dt.datetime.now(dt.UTC):%Y%m%d}-{shipment.id:05d}"  # system_texts.SHIPMENT_CODE_SHAPE
    session.flush()
    return shipment


def add_line(
    session: Session, shipment: Shipment, *, stock_line: StockLine, quantity: Decimal, callup_line_id: int | None = None
) -> ShipmentLine:
    line = ShipmentLine(
        shipment_id=shipment.id,
        callup_line_id=callup_line_id,
        stock_line_id=stock_line.id,
        item_id=stock_line.item_id,
        quantity=quantity,
    )
    session.add(line)
    session.flush()
    session.expire(shipment, ["lines"])
    return line


def ship_transfer(
    session: Session,
    actor: Actor,
    *,
    lines: Sequence[tuple[int, object]],
    to_warehouse: Warehouse,
    details: ShipmentDetails,
) -> Shipment:
    """Send batches of one warehouse to another: out of the source's on hand now, in at the target on receipt."""
    if not lines:
        raise ValidationFailed("a shipment needs at least one line", field="lines")
    if len(lines) > MAX_SHIPMENT_LINES:
        raise ValidationFailed(f"a shipment has at most {MAX_SHIPMENT_LINES} lines", field="lines")
    stock_lines = [get_stock_line(session, stock_line_id) for stock_line_id, _ in lines]
    quantities = [check_quantity(quantity, f"lines[{n}].quantity") for n, (_, quantity) in enumerate(lines)]
    source = stock_lines[0].warehouse
    if any(line.warehouse_id != source.id for line in stock_lines):
        raise ValidationFailed("every line of a shipment leaves the same warehouse", field="lines")
    if len({line.id for line in stock_lines}) != len(stock_lines):
        raise ValidationFailed("a batch appears twice; send its total once", field="lines")
    require_stock_change(actor, source)
    if to_warehouse.id == source.id:
        raise ValidationFailed("a transfer needs another warehouse", field="to_warehouse_code")
    require_active(to_warehouse, "to_warehouse_code")
    shipment = open_shipment(session, actor, ShipmentKind.TRANSFER, details, source=source, target=to_warehouse)
    for stock_line, quantity in sorted(zip(stock_lines, quantities, strict=True), key=lambda pair: pair[0].id):
        line = add_line(session, shipment, stock_line=stock_line, quantity=quantity)
        record_movement(
            session,
            stock_line_id=stock_line.id,
            delta=-quantity,
            kind=MovementKind.SHIP_OUT,
            actor=actor,
            reason=SHIPMENT_TO.text(code=shipment.code, warehouse=to_warehouse.code),
            reference=shipment.code,
            transfer_key=line.ledger_key,
            field="lines",
        )
    record_audit(
        session,
        actor,
        "shipment.transfer",
        object_type="shipment",
        object_key=shipment.code,
        province_code=source.province_code,
        after={"to": to_warehouse.code, "lines": [(line.stock_line_id, str(line.quantity)) for line in shipment.lines]},
    )
    return shipment


def mark_delivered(session: Session, shipment: Shipment, receiver: str) -> None:
    """In transit → delivered, exactly once: the conditional UPDATE lets one of two receipts through."""
    now = dt.datetime.now(dt.UTC)
    done = session.execute(
        update(Shipment)
        .where(Shipment.id == shipment.id, Shipment.status == ShipmentStatus.IN_TRANSIT)
        .values(status=ShipmentStatus.DELIVERED, received_by=receiver, delivered_at=now, updated_at=now)
        .returning(Shipment.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if done is None:
        raise Conflict(f"shipment {shipment.code} is already delivered", field="code")
    session.refresh(shipment)


def flag_overdue(session: Session, now: dt.datetime | None = None) -> list[Shipment]:
    """Flag shipments past their ETA, each once (for cron); every newly flagged one is a ``shipment_events`` call."""
    now = now or dt.datetime.now(dt.UTC)
    flagged = session.scalars(
        update(Shipment)
        .where(
            Shipment.status == ShipmentStatus.IN_TRANSIT,
            Shipment.eta.is_not(None),
            Shipment.eta < now,
            Shipment.overdue_flagged_at.is_(None),
        )
        .values(overdue_flagged_at=now)
        .returning(Shipment.id)
        .execution_options(synchronize_session=False)
    ).all()
    shipments = [session.get(Shipment, shipment_id, populate_existing=True) for shipment_id in sorted(flagged)]
    for shipment in shipments:
        shipment_events(session, "system", shipment, "overdue")
    return shipments


def shipment_events(session: Session, actor: Actor, shipment: Shipment, event: str) -> None:
    """Where a shipment turns ``overdue`` or is received with a ``receipt_discrepancy``: written to the audit
    log (provincial staff read it for their province) and to the notifications outbox, in this transaction."""
    warehouse = shipment.source_warehouse or shipment.target_warehouse
    record_audit(
        session,
        actor,
        f"shipment.{event}",
        object_type="shipment",
        object_key=shipment.code,
        province_code=warehouse.province_code if warehouse is not None else None,
        after={
            "kind": shipment.kind.value,
            "eta": shipment.eta,
            "lines": [
                {"id": line.id, "quantity": str(line.quantity), "short": str(line.short), "damaged": str(line.damaged)}
                for line in shipment.lines
            ],
        },
    )
    shipment_noticed(session, shipment, event)


@dataclass(frozen=True)
class OnTheRoad:
    """Stock that left a batch line on a shipment not yet received: out of its on hand, not consumed."""

    shipment_code: str
    kind: ShipmentKind
    target_warehouse_code: str | None
    quantity: Decimal
    departed_at: dt.datetime
    eta: dt.datetime | None


def in_transit_from(session: Session, stock_line_id: int) -> list[OnTheRoad]:
    """What left this batch line and is still on the road (a dispatch goes to its incident: no target)."""
    target = aliased(Warehouse)
    rows = session.execute(
        select(Shipment.code, Shipment.kind, target.code, ShipmentLine.quantity, Shipment.departed_at, Shipment.eta)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .outerjoin(target, target.id == Shipment.target_warehouse_id)
        .where(
            ShipmentLine.stock_line_id == stock_line_id,
            Shipment.status == ShipmentStatus.IN_TRANSIT,
            Shipment.kind != ShipmentKind.RETURN,  # a return left the site, not this line
        )
        .order_by(ShipmentLine.id)
    )
    return [OnTheRoad(*row) for row in rows]


def in_transit_totals(session: Session, stock_line_ids: Sequence[int]) -> dict[int, Decimal]:
    """How much left each of these batch lines and is still on the road (``in_transit_from``, summed; one query
    for a page of lines). Lines with nothing on the road are left out."""
    if not stock_line_ids:
        return {}
    rows = session.execute(
        select(ShipmentLine.stock_line_id, func.sum(ShipmentLine.quantity))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(
            ShipmentLine.stock_line_id.in_(stock_line_ids),
            Shipment.status == ShipmentStatus.IN_TRANSIT,
            Shipment.kind != ShipmentKind.RETURN,  # as in in_transit_from: a return left the site, not this line
        )
        .group_by(ShipmentLine.stock_line_id)
    )
    return {stock_line_id: Decimal(total) for stock_line_id, total in rows}


@dataclass(frozen=True)
class InTransitLine:
    """One shipment line still on the road, as the ledger export lists it: from a warehouse (or, for a
    return, an incident) to a warehouse (or, for a dispatch, an incident)."""

    shipment_code: str
    kind: ShipmentKind
    origin: str  # a warehouse code, or the incident's code for a return
    destination: str  # a warehouse code, or the incident's code for a dispatch
    item_code: str
    item_name: str
    unit: str
    batch: str | None
    quantity: Decimal
    departed_at: dt.datetime
    eta: dt.datetime | None
    overdue: bool


def in_transit_lines(session: Session, warehouses=None, now: dt.datetime | None = None) -> list[InTransitLine]:
    """Every shipment line on the road, oldest shipment first; ``warehouses`` (a where-clause on ``Warehouse``,
    e.g. ``inventory.regions.region_filter``) keeps those leaving or reaching a warehouse it matches."""
    now = now or dt.datetime.now(dt.UTC)
    source, target = aliased(Warehouse), aliased(Warehouse)
    stmt = (
        select(
            Shipment.code,
            Shipment.kind,
            source.code,
            target.code,
            EmergencyIncident.code,
            Item.code,
            Item.name,
            Item.unit,
            StockLine.batch,
            ShipmentLine.quantity,
            Shipment.departed_at,
            Shipment.eta,
        )
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(StockLine, StockLine.id == ShipmentLine.stock_line_id)
        .join(Item, Item.id == ShipmentLine.item_id)
        .join(source, source.id == StockLine.warehouse_id)  # a return's line names the batch it goes back to
        .outerjoin(target, target.id == Shipment.target_warehouse_id)
        .outerjoin(EmergencyIncident, EmergencyIncident.id == Shipment.incident_id)
        .where(Shipment.status == ShipmentStatus.IN_TRANSIT)
        .order_by(Shipment.departed_at, Shipment.id, ShipmentLine.id)
    )
    if warehouses is not None:
        in_scope = select(Warehouse.id).where(warehouses)
        stmt = stmt.where(
            or_(
                (Shipment.kind != ShipmentKind.RETURN) & source.id.in_(in_scope),
                Shipment.target_warehouse_id.in_(in_scope),
            )
        )
    lines = []
    for code, kind, source_code, target_code, incident, *rest, departed, eta in session.execute(stmt):
        returning = kind is ShipmentKind.RETURN
        origin = (incident or "") if returning else source_code
        destination = target_code or incident or ""
        lines.append(InTransitLine(code, kind, origin, destination, *rest, departed, eta, past_eta(eta, now)))
    return lines
