"""Who hears of a call-up's progress, recorded in the outbox with the decision itself (``inventory.callups``
calls these): the managers of a warehouse when lines start waiting there, the requester when a line of
their call-up is dispatched or declined.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.orm import Session

from inventory.errors import plain_number
from inventory.models import CallUp, CallUpLine, Shipment
from inventory.outbox import account_named, record_event, warehouse_managers
from inventory.reference import CallUpLineStatus, NotificationKind


def lines_waiting(session: Session, callup: CallUp, lines: Iterable[CallUpLine]) -> None:
    """One event per source warehouse for the lines just reserved there, to that warehouse's managers."""
    by_warehouse: dict[int, list[CallUpLine]] = defaultdict(list)
    for line in lines:
        by_warehouse[line.warehouse_id].append(line)
    for warehouse_id, waiting in sorted(by_warehouse.items()):
        warehouse = waiting[0].warehouse
        payload = {
            **_callup_facts(callup),
            "warehouse_code": warehouse.code,
            "warehouse_name": warehouse.name,
            "lines": [
                {
                    "line_id": line.id,
                    "item_code": line.item.code,
                    "item_name": line.item.name,
                    "unit": line.item.unit,
                    "batch": line.stock_line.batch,
                    "quantity": plain_number(line.quantity),
                }
                for line in waiting
            ],
        }
        record_event(session, NotificationKind.CALLUP_LINE_WAITING, payload, warehouse_managers(session, warehouse_id))


def line_decided(session: Session, callup: CallUp, line: CallUpLine) -> None:
    """Tell the requester that a line of their call-up was dispatched or declined."""
    kinds = {
        CallUpLineStatus.DISPATCHED: NotificationKind.CALLUP_LINE_DISPATCHED,
        CallUpLineStatus.DECLINED: NotificationKind.CALLUP_LINE_DECLINED,
    }
    kind = kinds.get(line.status)
    if kind is None:
        return
    payload = {
        **_callup_facts(callup),
        "line_id": line.id,
        "warehouse_code": line.warehouse.code,
        "warehouse_name": line.warehouse.name,
        "item_code": line.item.code,
        "item_name": line.item.name,
        "unit": line.item.unit,
        "batch": line.stock_line.batch,
        "quantity": plain_number(line.quantity),
        "decided_by": line.decided_by,
        "note" if kind is NotificationKind.CALLUP_LINE_DISPATCHED else "reason": line.reason,
    }
    record_event(session, kind, payload, account_named(session, callup.requester))


def _callup_facts(callup: CallUp) -> dict:
    return {"callup_code": callup.code, "incident_name": callup.incident_name, "requester": callup.requester}


def shipment_noticed(session: Session, shipment: Shipment, event: str) -> None:
    """A shipment past its ETA (``overdue``) or received short or damaged (``receipt_discrepancy``): told to
    the requesters of the call-ups it carries and the managers of the warehouses it leaves and reaches."""
    kind = {"overdue": NotificationKind.SHIPMENT_OVERDUE, "receipt_discrepancy": NotificationKind.RECEIPT_DISCREPANCY}
    callups = [
        session.get(CallUp, callup_id)
        for callup_id in sorted(
            {
                session.get(CallUpLine, line.callup_line_id).callup_id
                for line in shipment.lines
                if line.callup_line_id is not None
            }
        )
    ]
    recipients = [user for callup in callups for user in account_named(session, callup.requester)]
    for warehouse_id in (shipment.source_warehouse_id, shipment.target_warehouse_id):
        if warehouse_id is not None:
            recipients += warehouse_managers(session, warehouse_id)
    source = shipment.source_warehouse
    payload: dict = {
        "shipment_code": shipment.code,
        "callup_code": "、".join(callup.code for callup in callups) or "—",
        "from_warehouse_name": source.name if source is not None else "—",
        "eta": shipment.eta.isoformat(timespec="minutes") if shipment.eta else "—",
        "carrier": shipment.carrier or "—",
        "driver_phone": shipment.driver_phone,
    }
    if event == "receipt_discrepancy":
        payload["lines"] = [
            {
                "item_name": line.item.name,
                "unit": line.item.unit,
                "dispatched": plain_number(line.quantity),
                "received": plain_number(line.received),
                "reason": line.discrepancy_reason,
            }
            for line in shipment.lines
            if line.lost
        ]
    record_event(session, kind[event], payload, recipients, dedupe_key=f"{kind[event].value}:{shipment.code}")
