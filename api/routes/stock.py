"""Stock lines and the ledger: receipts, issues, transfers, adjustments, stocktakes."""

from __future__ import annotations

from decimal import Decimal

from flask import Response
from flask.views import MethodView
from sqlalchemy.orm import Session

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage, json_answer
from api.schemas.fields import Augmented
from api.schemas.registry import (
    AdjustmentIn,
    IssueIn,
    MovementOut,
    MovementQuery,
    ReceiptIn,
    StockLineDetailOut,
    StockLineDetailQuery,
    StockLineOut,
    StockLineQuery,
    StocktakeIn,
    TransferIn,
    TransferOut,
    movement_dict,
    transfer_dict,
)
from inventory.callups import holdings_of
from inventory.reference import Category, MovementKind
from inventory.shipments import in_transit_from, in_transit_totals
from inventory.stock import (
    adjust_stock,
    get_stock_line,
    issue_stock,
    list_movements,
    list_stock_lines,
    quantity_as_of,
    receipt_target,
    receive_stock,
    stock_line_facts,
    take_stock,
    transfer_stock,
)
from inventory.warehouses import get_warehouse

blp = Blueprint("stock", __name__, description="Stock by batch and the append-only ledger")
ZERO = Decimal(0)


class StockLinePage(SelectPage):
    """A page of stock lines, each with what left it and is still on the road (one query for the page)."""

    @property
    def items(self) -> list:
        lines = super().items
        on_the_road = in_transit_totals(db.session, [line.id for line in lines])
        return [Augmented(line, in_transit_quantity=on_the_road.get(line.id, ZERO)) for line in lines]


def _movement_args(data: dict) -> dict:
    return {"actor": current_actor(), "reason": data.get("reason", ""), "reference": data.get("reference")}


@blp.route("/stock-lines")
class StockLines(MethodView):
    @blp.arguments(StockLineQuery, location="query")
    @blp.response(200, StockLineOut(many=True))
    @blp.paginate(StockLinePage)
    def get(self, args: dict):
        """List stock lines (non-empty unless ``include_empty``), by warehouse, item, category, region, expiry."""
        return list_stock_lines(
            db.session,
            warehouse_code=args.get("warehouse"),
            item_code=args.get("item"),
            category=Category(args["category"]) if "category" in args else None,
            region=args.get("region"),
            batch=args.get("batch"),
            expiring_before=args.get("expiring_before"),
            include_empty=args["include_empty"],
        )


@blp.route("/stock-lines/<id:stock_line_id>")
class StockLineById(MethodView):
    @blp.arguments(StockLineDetailQuery, location="query")
    @blp.response(200, StockLineDetailOut)
    def get(self, args: dict, stock_line_id: int):
        """One stock line: on hand, reserved (and the call-ups holding it), available, what left it and is
        still in transit (not on hand, not consumed); with ``as_of`` also its quantity at that moment."""
        line = get_stock_line(db.session, stock_line_id)
        held_by = holdings_of(db.session, stock_line_id)
        in_transit = in_transit_from(db.session, stock_line_id)
        on_the_road = sum((shipped.quantity for shipped in in_transit), ZERO)
        extra = {"held_by": held_by, "in_transit": in_transit, "in_transit_quantity": on_the_road}
        if "as_of" not in args:
            return Augmented(line, **extra)
        moment = args["as_of"]
        return Augmented(line, **extra, as_of=moment, quantity_as_of=quantity_as_of(db.session, stock_line_id, moment))


@blp.route("/stock-lines/<id:stock_line_id>/movements")
class StockLineHistory(MethodView):
    @blp.response(200, MovementOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, stock_line_id: int):
        """The ledger of one stock line, oldest first."""
        get_stock_line(db.session, stock_line_id)
        return list_movements(db.session, stock_line_id=stock_line_id)


# Schema instances, not classes (webargs would build a schema per request); the lean path (api/lean.py) parses
# the two most frequent writes with the same instances and arguments, through the same parser, and answers with
# the same functions as the views.
RECEIPT_IN = ReceiptIn()
ISSUE_IN = IssueIn()
MOVEMENT_ARGUMENTS = {"location": "json"}


def receipt_response(session: Session, data: dict) -> Response:
    """A receipt from its loaded ``ReceiptIn`` body, and its answer (the view's body, and the lean path's)."""
    target = receipt_target(
        session, warehouse_code=data["warehouse_code"], item_code=data["item_code"], batch=data.get("batch", "")
    )
    movement = receive_stock(
        session,
        warehouse=target.warehouse,
        item=target.item,
        line=target.line,
        quantity=data["quantity"],
        batch=data.get("batch", ""),
        production_date=data.get("production_date"),
        expiry_date=data.get("expiry_date"),
        **_movement_args(data),
    )
    return json_answer(movement_dict(movement), 201)


def issue_response(session: Session, data: dict, stock_line_id: int) -> Response:
    """An issue from its loaded ``IssueIn`` body, and its answer (the view's body, and the lean path's)."""
    line = stock_line_facts(session, stock_line_id)
    movement = issue_stock(
        session,
        line=line,
        quantity=data["quantity"],
        allow_expired=data["allow_expired"],
        **_movement_args(data),
    )
    return json_answer(movement_dict(movement), 201)


@blp.route("/receipts")
class Receipts(MethodView):
    @blp.arguments(RECEIPT_IN, **MOVEMENT_ARGUMENTS)
    @blp.response(201, MovementOut)
    def post(self, data: dict):
        """Receive stock into a warehouse; the (item, batch) line is created on first receipt."""
        return receipt_response(db.session, data)


@blp.route("/stock-lines/<id:stock_line_id>/issues")
class Issues(MethodView):
    @blp.arguments(ISSUE_IN, **MOVEMENT_ARGUMENTS)
    @blp.response(201, MovementOut)
    def post(self, data: dict, stock_line_id: int):
        """Issue stock from a line; refused with 409 if the line holds less, or if its batch has expired
        and ``allow_expired`` (with a ``reason``) is not given."""
        return issue_response(db.session, data, stock_line_id)


@blp.route("/stock-lines/<id:stock_line_id>/transfers")
class Transfers(MethodView):
    @blp.arguments(TransferIn())
    @blp.response(201, TransferOut)
    def post(self, data: dict, stock_line_id: int):
        """Transfer to the same item and batch in another warehouse (two linked ledger entries)."""
        line = get_stock_line(db.session, stock_line_id)
        transfer = transfer_stock(
            db.session,
            line=line,
            to_warehouse=get_warehouse(db.session, data["to_warehouse_code"], field="to_warehouse_code"),
            quantity=data["quantity"],
            **_movement_args(data),
        )
        return json_answer(transfer_dict(transfer), 201)


@blp.route("/stock-lines/<id:stock_line_id>/adjustments")
class Adjustments(MethodView):
    @blp.arguments(AdjustmentIn())
    @blp.response(201, MovementOut)
    def post(self, data: dict, stock_line_id: int):
        """Correct a line by a signed delta; a reason is required."""
        line = stock_line_facts(db.session, stock_line_id)
        movement = adjust_stock(db.session, line=line, delta=data["delta"], **_movement_args(data))
        return json_answer(movement_dict(movement), 201)


@blp.route("/stock-lines/<id:stock_line_id>/stocktakes")
class Stocktakes(MethodView):
    @blp.arguments(StocktakeIn())
    @blp.response(201, MovementOut)
    def post(self, data: dict, stock_line_id: int):
        """Record a count: the line is set to it and the ledger records the difference."""
        line = stock_line_facts(db.session, stock_line_id)
        counted = data["counted_quantity"]
        movement = take_stock(db.session, line=line, counted_quantity=counted, **_movement_args(data))
        return json_answer(movement_dict(movement), 201)


@blp.route("/movements")
class Movements(MethodView):
    @blp.arguments(MovementQuery, location="query")
    @blp.response(200, MovementOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """The ledger, oldest first, by warehouse, item, kind, reference or time window."""
        return list_movements(
            db.session,
            warehouse_code=args.get("warehouse"),
            item_code=args.get("item"),
            kind=MovementKind(args["kind"]) if "kind" in args else None,
            reference=args.get("reference"),
            since=args.get("since"),
            until=args.get("until"),
        )
