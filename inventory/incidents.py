"""Incident records (事件): what groups call-ups, shipments, receipts, consumption and returns.

``line_accounts`` is the one place the quantities of a call-up line are added up:
dispatched = in transit + received + lost on the way; received = consumed + returned + still on site.
Closing an incident needs nothing on the road and nothing left on site, so its totals close exactly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal
from inventory.audit import record_audit
from inventory.errors import Conflict, Forbidden, NotFound, ValidationFailed
from inventory.models import CallUp, CallUpLine, Consumption, EmergencyIncident, Shipment, ShipmentLine
from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    IncidentStatus,
    IncidentType,
    Role,
    ShipmentKind,
    ShipmentStatus,
)
from inventory.regions import find_region, resolve_region_path
from inventory.system_texts import DAMAGED, SHORT
from inventory.validation import check_text, text_limit

MANAGING_ROLES = frozenset({Role.ADMIN, Role.PROVINCIAL, Role.RESPONDER})
ZERO = Decimal(0)


def get_incident(session: Session, code: str) -> EmergencyIncident:
    incident = session.scalar(select(EmergencyIncident).where(EmergencyIncident.code == code))
    if incident is None:
        raise NotFound(f"no incident {code!r}", field="incident_code")
    return incident


def list_incidents(session: Session, *, status: IncidentStatus | None = None) -> Select:
    stmt = select(EmergencyIncident).order_by(EmergencyIncident.id.desc())
    if status is not None:
        stmt = stmt.where(EmergencyIncident.status == status)
    return stmt


def lock_incident(session: Session, incident_id: int) -> EmergencyIncident:
    """Lock the incident row and reload it with its call-ups: the incident comes before its call-ups in
    every lock order (raising a call-up against it, closing it)."""
    # FOR NO KEY UPDATE: rows that merely refer to the incident (a consumption, a call-up) take KEY SHARE
    # on it for their foreign key while holding a call-up lock; FOR UPDATE would deadlock with them.
    session.execute(
        select(EmergencyIncident.id).where(EmergencyIncident.id == incident_id).with_for_update(key_share=True)
    )
    incident = session.scalars(
        select(EmergencyIncident).where(EmergencyIncident.id == incident_id).execution_options(populate_existing=True)
    ).one()
    session.scalars(
        select(CallUp).where(CallUp.incident_id == incident_id).execution_options(populate_existing=True)
    ).all()
    return incident


def create_incident(
    session: Session,
    actor: Actor,
    *,
    name: str,
    incident_type: IncidentType,
    place: str = "",
    county_code: str | None = None,
    county: str | None = None,
    started_at: dt.datetime | None = None,
    lead_organisation: str = "",
) -> EmergencyIncident:
    """Open an incident record (responders, provincial staff, admins: those who raise call-ups).

    Its county is ``county_code``, or ``county``: a code or a name as the nearest search takes it (海淀,
    北京市海淀区), found the same way; either way a county-level place.
    """
    principal = as_principal(actor)
    if principal.role not in MANAGING_ROLES:
        raise Forbidden(f"the {principal.role.value} role may not open incidents")
    county = (county or "").strip()
    if county and county_code:
        raise ValidationFailed("give the incident's county as county or county_code, not both", field="county")
    if county:
        county_code = find_region(session, county).code
        resolve_region_path(session, county_code, field="county")
    elif county_code:
        resolve_region_path(session, county_code, field="county_code")
    incident = EmergencyIncident(
        code=str(uuid.uuid4())[:32],
        name=check_text(name, "name", max_length=text_limit(EmergencyIncident.name), required=True),
        incident_type=incident_type,
        place=check_text(place, "place", max_length=text_limit(EmergencyIncident.place)),
        county_code=county_code or None,
        started_at=started_at or dt.datetime.now(dt.UTC),
        status=IncidentStatus.OPEN,
        lead_organisation=check_text(
            lead_organisation, "lead_organisation", max_length=text_limit(EmergencyIncident.lead_organisation)
        ),
        created_by=principal.username,
    )
    session.add(incident)
    session.flush()
    incident.code = f"INC-{incident.started_at:%Y%m%d}-{incident.id:05d}"
    session.flush()
    record_audit(session, actor, "incident.create", object_type="incident", object_key=incident.code)
    return incident


@dataclass
class LineAccount:
    """Where the stock of one dispatched call-up line is now, and where it went."""

    dispatched: Decimal = ZERO
    in_transit: Decimal = ZERO
    received: Decimal = ZERO
    lost: Decimal = ZERO  # short or damaged on the way out
    consumed: Decimal = ZERO
    returned: Decimal = ZERO  # sent back from the site
    return_received: Decimal = ZERO
    return_lost: Decimal = ZERO
    shipments: list[str] = field(default_factory=list)

    @property
    def on_site(self) -> Decimal:
        return self.received - self.consumed - self.returned

    @property
    def charged(self) -> Decimal:
        """What the source does not get back: consumed, and lost on either road."""
        return self.consumed + self.lost + self.return_lost


def line_accounts(session: Session, lines: Iterable[CallUpLine]) -> dict[int, LineAccount]:
    """The account of each dispatched line, from its shipments and consumption (two queries)."""
    accounts = {line.id: LineAccount(dispatched=line.quantity) for line in lines if _sent(line)}
    if not accounts:
        return {}
    ids = list(accounts)
    rows = session.execute(
        select(ShipmentLine, Shipment.kind, Shipment.status, Shipment.code)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(ShipmentLine.callup_line_id.in_(ids))
        .order_by(ShipmentLine.id)
    )
    for sent, kind, status, code in rows:
        account = accounts[sent.callup_line_id]
        account.shipments.append(code)
        if kind is ShipmentKind.DISPATCH:
            if status is ShipmentStatus.IN_TRANSIT:
                account.in_transit += sent.quantity
            account.received += sent.received
            account.lost += sent.lost
        else:
            account.returned += sent.quantity
            account.return_received += sent.received
            account.return_lost += sent.lost
    used = session.execute(
        select(Consumption.callup_line_id, func.sum(Consumption.quantity))
        .where(Consumption.callup_line_id.in_(ids))
        .group_by(Consumption.callup_line_id)
    )
    for line_id, total in used:
        accounts[line_id].consumed = Decimal(total)
    return accounts


def _sent(line: CallUpLine) -> bool:
    return line.status is CallUpLineStatus.DISPATCHED


def incident_lines(incident: EmergencyIncident) -> list[CallUpLine]:
    return [line for callup in incident.callups for line in callup.lines]


def close_incident(session: Session, actor: Actor, code: str) -> EmergencyIncident:
    """Close when nothing is pending, on the road or left on site: every line's totals then close."""
    principal = as_principal(actor)
    incident = get_incident(session, code)
    if principal.role not in MANAGING_ROLES:
        raise Forbidden(f"the {principal.role.value} role may not close incidents")
    incident = lock_incident(session, incident.id)
    if incident.status is IncidentStatus.CLOSED:
        raise Conflict(f"incident {code} is already closed", field="incident_code")
    # Then its call-ups in id order: consumption and returns that hold one finish first, or wait and
    # then find the incident closed.
    for callup in incident.callups:
        session.execute(select(CallUp.id).where(CallUp.id == callup.id).with_for_update())
    session.scalars(
        select(CallUp).where(CallUp.incident_id == incident.id).execution_options(populate_existing=True)
    ).all()  # their statuses as committed before our locks
    if any(callup.status is CallUpStatus.OPEN for callup in incident.callups):
        raise Conflict("a call-up of this incident still awaits its sources", field="incident_code")
    on_road = session.scalar(
        select(func.count())
        .select_from(Shipment)
        .where(Shipment.incident_id == incident.id, Shipment.status == ShipmentStatus.IN_TRANSIT)
    )
    if on_road:
        raise Conflict(f"{on_road} shipments of this incident are still in transit", field="incident_code")
    for line_id, account in line_accounts(session, incident_lines(incident)).items():
        if account.on_site:
            raise Conflict(
                f"call-up line {line_id} still has {account.on_site} on site: record it consumed or return it",
                field="incident_code",
            )
    incident.status = IncidentStatus.CLOSED
    incident.closed_by, incident.closed_at = principal.username, dt.datetime.now(dt.UTC)
    session.flush()
    record_audit(session, actor, "incident.close", object_type="incident", object_key=incident.code)
    return incident


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    event: str
    actor: str
    callup_code: str | None = None
    shipment_code: str | None = None
    line_id: int | None = None
    quantity: Decimal | None = None
    note: str = ""


def incident_timeline(session: Session, incident: EmergencyIncident) -> list[TimelineEntry]:
    """Everything that happened to the incident's stock, oldest first, with who and when."""
    entries = [TimelineEntry(incident.created_at, "opened", incident.created_by)]
    codes = {callup.id: callup.code for callup in incident.callups}
    for callup in incident.callups:
        for event in callup.events:
            when, what, who = event.occurred_at, event.event, event.actor
            entries.append(TimelineEntry(when, what, who, callup.code, line_id=event.line_id, note=event.note))
    line_callup = {line.id: codes[line.callup_id] for line in incident_lines(incident)}
    shipments = session.scalars(select(Shipment).where(Shipment.incident_id == incident.id).order_by(Shipment.id))
    for shipment in shipments:
        departed = "returned" if shipment.kind is ShipmentKind.RETURN else "shipped"
        for line in shipment.lines:
            callup_code = line_callup.get(line.callup_line_id)
            entries.append(
                TimelineEntry(
                    shipment.departed_at,
                    departed,
                    shipment.sent_by,
                    callup_code,
                    shipment.code,
                    line.callup_line_id,
                    line.quantity,
                )
            )
            if shipment.status is ShipmentStatus.DELIVERED:
                entries.append(
                    TimelineEntry(
                        shipment.delivered_at,
                        "received",
                        shipment.received_by,
                        callup_code,
                        shipment.code,
                        line.callup_line_id,
                        line.received,
                        _discrepancy_note(line),
                    )
                )
    consumed = session.scalars(
        select(Consumption).where(Consumption.incident_id == incident.id).order_by(Consumption.id)
    )
    for use in consumed:
        entries.append(
            TimelineEntry(
                use.recorded_at,
                "consumed",
                use.recorded_by,
                line_callup.get(use.callup_line_id),
                line_id=use.callup_line_id,
                quantity=use.quantity,
                note=use.note,
            )
        )
    if incident.closed_at is not None:
        entries.append(TimelineEntry(incident.closed_at, "closed", incident.closed_by or ""))
    return sorted(entries, key=lambda entry: entry.at)


def _discrepancy_note(line: ShipmentLine) -> str:
    amounts = ((SHORT, line.short), (DAMAGED, line.damaged))
    parts = [template.text(quantity=amount) for template, amount in amounts if amount]
    if not parts:
        return ""
    return "; ".join(parts) + (f": {line.discrepancy_reason}" if line.discrepancy_reason else "")


def totals_by_line(session: Session, incident: EmergencyIncident) -> dict[int, LineAccount]:
    """``line_accounts`` of every line of the incident (the API's ``lines`` and the settlement's input)."""
    return line_accounts(session, incident_lines(incident))


def grouped(accounts: dict[int, LineAccount], lines: Iterable[CallUpLine]) -> dict[tuple[int, int], LineAccount]:
    """Accounts added up per (source warehouse, item)."""
    out: dict[tuple[int, int], LineAccount] = defaultdict(LineAccount)
    for line in lines:
        account = accounts.get(line.id)
        if account is None:
            continue
        total = out[(line.warehouse_id, line.item_id)]
        for name in ("dispatched", "in_transit", "received", "lost", "consumed", "returned", "return_received"):
            setattr(total, name, getattr(total, name) + getattr(account, name))
        total.return_lost += account.return_lost
    return out
