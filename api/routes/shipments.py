"""Shipments: call-up lines dispatched together, transfers between warehouses, and receipt at the other end."""

from __future__ import annotations

from flask.views import MethodView

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.logistics import DispatchShipmentIn, ShipmentOut, ShipmentQuery, ShipmentReceiptIn, TransferShipmentIn
from api.service_calls import shipment_details
from inventory.arrivals import LineReceipt, receive_shipment
from inventory.callups import dispatch_lines
from inventory.reference import ShipmentKind, ShipmentStatus
from inventory.shipments import get_shipment, list_shipments, ship_transfer
from inventory.warehouses import get_warehouse

blp = Blueprint("shipments", __name__, description="Shipments in transit and their receipt")


@blp.route("/shipments")
class Shipments(MethodView):
    @blp.arguments(ShipmentQuery, location="query")
    @blp.response(200, ShipmentOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Shipments newest first, by status, kind, warehouse (leaving or reaching it), incident, or overdue only."""
        return list_shipments(
            db.session,
            status=ShipmentStatus(args["status"]) if "status" in args else None,
            kind=ShipmentKind(args["kind"]) if "kind" in args else None,
            warehouse_code=args.get("warehouse"),
            incident_code=args.get("incident"),
            overdue=args["overdue"],
        )

    @blp.arguments(DispatchShipmentIn)
    @blp.response(201, ShipmentOut)
    def post(self, data: dict):
        """Dispatch reserved call-up lines of one warehouse as one shipment (发运): the stock leaves the
        ledger as `ship_out` (referencing each order) and is in transit until the requester receives it."""
        return dispatch_lines(
            db.session,
            current_actor(),
            data["line_ids"],
            note=data.get("note", ""),
            allow_expired=data["allow_expired"],
            details=shipment_details(data),
        )


@blp.route("/shipments/transfers")
class TransferShipments(MethodView):
    @blp.arguments(TransferShipmentIn)
    @blp.response(201, ShipmentOut)
    def post(self, data: dict):
        """Send batches of one warehouse to another: out of on hand now, into the target's ledger on receipt."""
        return ship_transfer(
            db.session,
            current_actor(),
            lines=[(line["stock_line_id"], line["quantity"]) for line in data["lines"]],
            to_warehouse=get_warehouse(db.session, data["to_warehouse_code"], field="to_warehouse_code"),
            details=shipment_details(data),
        )


@blp.route("/shipments/<string:code>")
class ShipmentByCode(MethodView):
    @blp.response(200, ShipmentOut)
    def get(self, code: str):
        """One shipment with its lines: sent, received, short, damaged."""
        return get_shipment(db.session, code)


@blp.route("/shipments/<string:code>/receive")
class ReceiveShipment(MethodView):
    @blp.arguments(ShipmentReceiptIn)
    @blp.response(200, ShipmentOut)
    def post(self, data: dict, code: str):
        """Receipt (接收): what arrived per line (lines not listed arrived in full); short or damaged needs a
        reason. A dispatch is received by its requester, a transfer or return by the target warehouse."""
        return receive_shipment(
            db.session,
            current_actor(),
            code,
            [
                LineReceipt(
                    line_id=line["id"],
                    received=line["received"],
                    damaged=line.get("damaged", 0),
                    short=line.get("short"),
                    reason=line.get("reason", ""),
                )
                for line in data["lines"]
            ],
        )
