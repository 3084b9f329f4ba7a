"""Loaded arguments in, the service's answer out: the calls the HTTP routes and the CLI commands share.

A route passes what its query schema loaded; the matching command passes its click options under the
same names. Both call the function here, so the shell and the API run the very same search or report.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.schemas.fields import Augmented
from inventory.access import Actor
from inventory.geo import Incident, locate_incident
from inventory.incidents import incident_lines, incident_timeline, totals_by_line
from inventory.models import EmergencyIncident
from inventory.nearest import NearestAnswer, NeedRequest, Plan, nearest_stock, plan_need
from inventory.reference import Category, ReserveType
from inventory.reports.common import ReportRows
from inventory.reports.coverage import CoverageReport, coverage_gaps
from inventory.reports.dashboard import Dashboard, dashboard_figures
from inventory.reports.expiry import ExpiringLine, expiring_stock
from inventory.reports.shortfall import QuotaStatus, quota_shortfalls
from inventory.shipments import ShipmentDetails


def incident_from(session: Session, args: dict) -> Incident:
    return locate_incident(session, latitude=args.get("lat"), longitude=args.get("lon"), county=args.get("county"))


def find_nearest(session: Session, args: dict) -> NearestAnswer:
    """The search from loaded ``NearestQuery`` arguments; the CLI passes the same names."""
    return nearest_stock(
        session,
        incident=incident_from(session, args),
        item=args.get("item"),
        category=Category(args["category"]) if args.get("category") else None,
        quantity=args.get("quantity"),
        radius_km=args["radius_km"],
        reserve_types=[ReserveType(value) for value in args.get("reserve_types") or ()],
        limit=args["limit"],
        include_expired=args["include_expired"],
    )


def plan_arguments(session: Session, data: dict) -> dict:
    """A loaded ``PlanIn`` (or ``CallUpIn``) as the planner's keyword arguments: where, what, how far, which
    reserves; ``plan_need`` and ``raise_callup`` take the same names."""
    return {
        "incident": incident_from(session, data),
        "needs": [NeedRequest(need["item"], need["quantity"]) for need in data["needs"]],
        "radius_km": data["radius_km"],
        "reserve_type_preference": [ReserveType(value) for value in data["reserve_type_preference"]],
        "reserve_types": [ReserveType(value) for value in data["reserve_types"]],
    }


def plan_from(session: Session, data: dict) -> Plan:
    """The plan from a loaded ``PlanIn``."""
    return plan_need(session, **plan_arguments(session, data))


def expiring_from(session: Session, actor: Actor, args: dict) -> ReportRows[ExpiringLine]:
    return expiring_stock(
        session,
        actor,
        within_days=args["within_days"],
        region=args.get("region"),
        warehouse=args.get("warehouse"),
        category=Category(args["category"]) if args.get("category") else None,
        item=args.get("item"),
    )


def quotas_from(session: Session, actor: Actor, args: dict) -> list[QuotaStatus]:
    return quota_shortfalls(session, actor, region=args.get("region"), below_only=args["below_only"])


def coverage_from(session: Session, args: dict) -> CoverageReport:
    return coverage_gaps(
        session,
        item=args.get("item"),
        category=Category(args["category"]) if args.get("category") else None,
        radius_km=args["radius_km"],
        min_quantity=args.get("min_quantity"),
        province=args.get("province"),
    )


def dashboard_from(session: Session, args: dict) -> Dashboard:
    return dashboard_figures(session, region=args.get("region"))


def shipment_details(args: dict) -> ShipmentDetails:
    """How a shipment travels, from loaded ``ShipmentDetailsFields`` (the API and the CLI pass the same names)."""
    return ShipmentDetails(
        carrier=args.get("carrier", ""),
        vehicle=args.get("vehicle", ""),
        driver=args.get("driver", ""),
        driver_phone=args.get("driver_phone", ""),
        departed_at=args.get("departed_at"),
        eta=args.get("eta"),
        note=args.get("note", ""),
    )


def incident_view(session: Session, incident: EmergencyIncident) -> Augmented:
    """The incident with each dispatched line's account and its timeline."""
    accounts = totals_by_line(session, incident)
    codes = {callup.id: callup.code for callup in incident.callups}
    lines = [
        {
            "callup_code": codes[line.callup_id],
            "line_id": line.id,
            "warehouse_code": line.warehouse.code,
            "warehouse_name": line.warehouse.name,
            "reserve_type": line.warehouse.reserve_type.value,
            "item_code": line.item.code,
            "item_name": line.item.name,
            "batch": line.stock_line.batch,
            "dispatched": account.dispatched,
            "in_transit": account.in_transit,
            "received": account.received,
            "lost": account.lost,
            "consumed": account.consumed,
            "returned": account.returned,
            "return_lost": account.return_lost,
            "on_site": account.on_site,
        }
        for line in incident_lines(incident)
        if (account := accounts.get(line.id)) is not None
    ]
    return Augmented(incident, lines=lines, timeline=incident_timeline(session, incident))
