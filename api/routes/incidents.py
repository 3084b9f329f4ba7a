"""Incidents: their call-ups' stock from dispatch to consumption and return, and the settlement sheet."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.routes.reports import send_workbook
from api.schemas.logistics import (
    ConsumptionIn,
    ConsumptionOut,
    IncidentIn,
    IncidentQuery,
    IncidentRecordOut,
    IncidentSummaryOut,
    ReturnIn,
    SettlementOut,
    SettlementQuery,
    SettlementWorkbookQuery,
    ShipmentOut,
    UnitPriceIn,
    UnitPriceOut,
    UnitPriceQuery,
)
from api.service_calls import incident_view, shipment_details
from importers import report_workbooks as workbooks
from importers.xlsx import XLSX
from inventory.arrivals import record_consumption, return_from_site
from inventory.catalogue import find_item
from inventory.clock import business_today
from inventory.demo import demo_note
from inventory.incidents import (
    close_incident,
    create_incident,
    get_incident,
    list_incidents,
)
from inventory.reference import IncidentStatus, IncidentType
from inventory.settlement import list_unit_prices, set_unit_price, settlement_sheet
from inventory.warehouses import get_warehouse

blp = Blueprint("incidents", __name__, description="Incidents: shipments, receipt, consumption, returns, settlement")


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(IncidentQuery, location="query")
    @blp.response(200, IncidentSummaryOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Incident records, newest first."""
        return list_incidents(db.session, status=IncidentStatus(args["status"]) if "status" in args else None)

    @blp.arguments(IncidentIn)
    @blp.response(201, IncidentRecordOut)
    def post(self, data: dict):
        """Open an incident record (responders, provincial staff, admins); call-ups are then raised against it."""
        incident = create_incident(
            db.session,
            current_actor(),
            name=data["name"],
            incident_type=IncidentType(data["incident_type"]),
            place=data.get("place", ""),
            county_code=data.get("county_code"),
            county=data.get("county"),
            started_at=data.get("started_at"),
            lead_organisation=data.get("lead_organisation", ""),
        )
        return incident_view(db.session, incident)


@blp.route("/incidents/<string:code>")
class IncidentByCode(MethodView):
    @blp.response(200, IncidentRecordOut)
    def get(self, code: str):
        """One incident: its call-ups, each dispatched line's account and the timeline (who and when)."""
        return incident_view(db.session, get_incident(db.session, code))


@blp.route("/incidents/<string:code>/close")
class CloseIncident(MethodView):
    @blp.response(200, IncidentRecordOut)
    def post(self, code: str):
        """Close: refused while a call-up awaits its sources, a shipment is on the road or stock is on site."""
        return incident_view(db.session, close_incident(db.session, current_actor(), code))


@blp.route("/incidents/<string:code>/consumption")
class Consume(MethodView):
    @blp.arguments(ConsumptionIn)
    @blp.response(201, ConsumptionOut)
    def post(self, data: dict, code: str):
        """Write off what was used (消耗) against one call-up line; never more than is on site."""
        return record_consumption(
            db.session,
            current_actor(),
            code,
            callup_line_id=data["callup_line_id"],
            quantity=data["quantity"],
            note=data.get("note", ""),
        )


@blp.route("/incidents/<string:code>/returns")
class ReturnStock(MethodView):
    @blp.arguments(ReturnIn)
    @blp.response(201, ShipmentOut)
    def post(self, data: dict, code: str):
        """Send unused stock back (归还) as a shipment, to its source or `to_warehouse_code`; batch and expiry kept."""
        target = data.get("to_warehouse_code")
        return return_from_site(
            db.session,
            current_actor(),
            code,
            lines=[(line["callup_line_id"], line["quantity"]) for line in data["lines"]],
            to_warehouse=get_warehouse(db.session, target, field="to_warehouse_code") if target else None,
            details=shipment_details(data),
        )


@blp.route("/incidents/<string:code>/settlement")
class Settlement(MethodView):
    @blp.arguments(SettlementQuery, location="query")
    @blp.response(200, SettlementOut)
    def get(self, args: dict, code: str):
        """The settlement sheet (结算): per source and item, consumed + lost at the agreed price; government
        reserves as replenishment requests (补充储备). Provincial staff see their province's sources,
        managers their warehouses."""
        incident = get_incident(db.session, code)
        return settlement_sheet(db.session, current_actor(), incident, warehouse_code=args.get("warehouse"))


@blp.route("/incidents/<string:code>/settlement.xlsx")
class SettlementWorkbook(MethodView):
    @blp.arguments(SettlementWorkbookQuery, location="query", unknown=RAISE)
    @blp.doc(responses={200: {"description": "the settlement sheet as an Excel workbook", "content": {XLSX: {}}}})
    def get(self, args: dict, code: str) -> Response:
        """The settlement sheet as a workbook in the ledger export's style (per incident, or one source)."""
        incident = get_incident(db.session, code)
        sheet = settlement_sheet(db.session, current_actor(), incident, warehouse_code=args.get("warehouse"))
        lang, part, today = args["lang"], args.get("warehouse") or incident.code, business_today()
        scope = part
        if note := demo_note(db.session, lang):
            scope += f" — {note}"  # a demo database says so in the title, as every export does
        dump = SettlementOut().dump(sheet)
        return send_workbook(
            lambda out: workbooks.settlement_workbook(out, dump, scope=scope, lang=lang, today=today),
            workbooks.file_name("结算单", "settlement", part, lang, today),
            "settlement",
        )


@blp.route("/unit-prices")
class UnitPrices(MethodView):
    @blp.arguments(UnitPriceQuery, location="query")
    @blp.response(200, UnitPriceOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Agreed unit prices per source warehouse and item (provincial staff: their province; managers: their
        warehouses)."""
        return list_unit_prices(db.session, current_actor(), warehouse_code=args.get("warehouse"))

    @blp.arguments(UnitPriceIn)
    @blp.response(200, UnitPriceOut)
    def post(self, data: dict):
        """Set the agreed price of an item from a source (admins; provincial staff in its province)."""
        return set_unit_price(
            db.session,
            current_actor(),
            warehouse=get_warehouse(db.session, data["warehouse_code"]),
            item=find_item(db.session, data["item"]),
            price=data["price"],
            agreement=data.get("agreement", ""),
        )
