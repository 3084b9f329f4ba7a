"""GB/T 2260 regions: provinces, cities and counties with their coordinates."""

from __future__ import annotations

from flask.views import MethodView

from api.extensions import db
from api.routes.paging import Blueprint, SelectPage
from api.schemas.registry import RegionOut, RegionQuery
from inventory.reference import RegionLevel
from inventory.regions import get_region, list_regions

blp = Blueprint("regions", __name__, description="Province → city → county hierarchy")


@blp.route("/regions")
class Regions(MethodView):
    @blp.arguments(RegionQuery, location="query")
    @blp.response(200, RegionOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """List regions by level, parent or part of the name."""
        level = RegionLevel(args["level"]) if "level" in args else None
        return list_regions(db.session, level=level, parent_code=args.get("parent"), name=args.get("name"))


@blp.route("/regions/<string:code>")
class RegionByCode(MethodView):
    @blp.response(200, RegionOut)
    def get(self, code: str):
        """One region."""
        return get_region(db.session, code)
