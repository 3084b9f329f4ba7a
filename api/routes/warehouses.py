"""The registry of warehouses."""

from __future__ import annotations

from flask.views import MethodView

from api.etags import require_if_match, with_etag
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.registry import WarehouseCreate, WarehouseOut, WarehouseQuery, WarehouseUpdate
from inventory.reference import ReserveType, WarehouseLevel, WarehouseStatus
from inventory.warehouses import create_warehouse, delete_warehouse, get_warehouse, list_warehouses, update_warehouse

blp = Blueprint("warehouses", __name__, description="Warehouses at the four reserve levels")


@blp.route("/warehouses")
class Warehouses(MethodView):
    @blp.arguments(WarehouseQuery, location="query")
    @blp.response(200, WarehouseOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """List warehouses, filtered by region at any level, reserve type, status, level or item held."""
        return list_warehouses(
            db.session,
            region=args.get("region"),
            reserve_type=ReserveType(args["reserve_type"]) if "reserve_type" in args else None,
            status=WarehouseStatus(args["status"]) if "status" in args else None,
            level=WarehouseLevel(args["level"]) if "level" in args else None,
            item_code=args.get("item"),
            q=args.get("q"),
        )

    @blp.arguments(WarehouseCreate)
    @blp.response(201, WarehouseOut)
    def post(self, data: dict):
        """Register a warehouse. Its city and province follow from the county code."""
        return create_warehouse(db.session, current_actor(), **data)


@blp.route("/warehouses/<string:code>")
class WarehouseByCode(MethodView):
    @blp.response(200, WarehouseOut)
    def get(self, code: str):
        """One warehouse, with its ``ETag``."""
        return with_etag(get_warehouse(db.session, code, field="code"), WarehouseOut())

    @blp.arguments(WarehouseUpdate)
    @blp.response(200, WarehouseOut)
    def patch(self, data: dict, code: str):
        """Change some fields of a warehouse (the code is permanent).

        Send ``If-Match`` with the ``ETag`` you read: 412 if the warehouse changed since (without it the
        change is applied, for older clients)."""
        require_if_match(get_warehouse(db.session, code, field="code"), WarehouseOut())
        return with_etag(update_warehouse(db.session, current_actor(), code, **data), WarehouseOut())

    @blp.response(204)
    def delete(self, code: str) -> None:
        """Delete a warehouse that has never held stock; otherwise set its status to inactive."""
        delete_warehouse(db.session, current_actor(), code)
