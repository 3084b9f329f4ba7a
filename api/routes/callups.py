"""Call-up orders: raise from a need, dispatch or decline per source, cancel."""

from __future__ import annotations

from flask.views import MethodView

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.callups import CallUpIn, CallUpLineOut, CallUpOut, CallUpQuery, CancelIn, DecisionIn, DeclineIn
from api.service_calls import plan_arguments, shipment_details
from inventory.callups import cancel_callup, decline_line, dispatch_line, get_callup, list_callups, raise_callup
from inventory.incidents import get_incident
from inventory.reference import CallUpStatus

blp = Blueprint("callups", __name__, description="Call-up orders that reserve the nearest stock")


@blp.route("/callups")
class CallUps(MethodView):
    @blp.arguments(CallUpQuery, location="query")
    @blp.response(200, CallUpOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Call-ups, newest first, by status, requester or source warehouse."""
        return list_callups(
            db.session,
            status=CallUpStatus(args["status"]) if "status" in args else None,
            requester=args.get("requester"),
            warehouse_code=args.get("warehouse"),
        )

    @blp.arguments(CallUpIn)
    @blp.response(201, CallUpOut)
    def post(self, data: dict):
        """Plan the needs and reserve the plan at once (responders, provincial staff, admins).

        The order lists one line per warehouse and batch; shortfalls show as needs larger than
        what the lines hold. Managers of each source then dispatch or decline their lines.
        """
        incident_code = data.get("incident_code")
        return raise_callup(
            db.session,
            current_actor(),
            incident_name=data.get("incident_name", ""),
            incident_record=get_incident(db.session, incident_code) if incident_code else None,
            note=data.get("note", ""),
            **plan_arguments(db.session, data),
        )


@blp.route("/callups/<string:code>")
class CallUpByCode(MethodView):
    @blp.response(200, CallUpOut)
    def get(self, code: str):
        """One call-up with its lines and status history."""
        return get_callup(db.session, code)


@blp.route("/callups/<string:code>/cancel")
class CancelCallUp(MethodView):
    @blp.arguments(CancelIn)
    @blp.response(200, CallUpOut)
    def post(self, data: dict, code: str):
        """Withdraw the order (its requester or an admin); pending reservations are released."""
        return cancel_callup(db.session, current_actor(), code, reason=data.get("reason", ""))


@blp.route("/callup-lines/<id:line_id>/dispatch")
class DispatchLine(MethodView):
    @blp.arguments(DecisionIn)
    @blp.response(200, CallUpLineOut)
    def post(self, data: dict, line_id: int):
        """The source warehouse sends it alone on a shipment (optional carrier, driver, ETA…): the stock leaves
        the ledger as `ship_out` referencing the order and is in transit until the requester receives it."""
        return dispatch_line(
            db.session,
            current_actor(),
            line_id,
            note=data.get("note", ""),
            allow_expired=data["allow_expired"],
            details=shipment_details(data),
        )


@blp.route("/callup-lines/<id:line_id>/decline")
class DeclineLine(MethodView):
    @blp.arguments(DeclineIn)
    @blp.response(200, CallUpLineOut)
    def post(self, data: dict, line_id: int):
        """The source cannot send it: the reservation is released and the remainder planned again."""
        return decline_line(db.session, current_actor(), line_id, reason=data["reason"])
