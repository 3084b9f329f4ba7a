"""Reserve quotas: the minimum quantities a warehouse or a region should hold of an item or a category."""

from __future__ import annotations

from flask.views import MethodView

from api.etags import require_if_match, with_etag
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.reports import QuotaIn, QuotaOut, QuotaQuery, QuotaUpdate
from inventory.models import ReserveQuota
from inventory.quotas import create_quota, delete_quota, get_quota, list_quotas, update_quota
from inventory.reference import Category

blp = Blueprint("quotas", __name__, description="Reserve quotas: minimum holdings per warehouse or region")


@blp.route("/quotas")
class Quotas(MethodView):
    @blp.arguments(QuotaQuery, location="query")
    @blp.response(200, QuotaOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Quotas you read (provincial staff: their province; managers: their warehouses and the regions
        those sit in), by region (its own quotas, those of regions inside it and of its warehouses),
        warehouse, item or category."""
        return list_quotas(
            db.session,
            current_actor(),
            region=args.get("region"),
            warehouse=args.get("warehouse"),
            item=args.get("item"),
            category=Category(args["category"]) if args.get("category") else None,
        )

    @blp.arguments(QuotaIn)
    @blp.response(201, QuotaOut)
    def post(self, data: dict) -> ReserveQuota:
        """Set a quota: `warehouse` or `region` (any level), `item` or `category`, and the `minimum`.

        Administrators anywhere, provincial staff inside their province. One quota per target and
        material (409 names the existing one: change it with PATCH).
        """
        return create_quota(db.session, current_actor(), **data)


@blp.route("/quotas/<id:quota_id>")
class QuotaById(MethodView):
    @blp.response(200, QuotaOut)
    def get(self, quota_id: int) -> ReserveQuota:
        """One quota (404 outside what you read), with its ``ETag``."""
        return with_etag(get_quota(db.session, current_actor(), quota_id), QuotaOut())

    @blp.arguments(QuotaUpdate)
    @blp.response(200, QuotaOut)
    def patch(self, data: dict, quota_id: int) -> ReserveQuota:
        """Change the minimum or the note; to change the target or material, delete and create.

        Send ``If-Match`` with the ``ETag`` you read: 412 if the quota changed since (without it the
        change is applied, for older clients)."""
        require_if_match(get_quota(db.session, current_actor(), quota_id), QuotaOut())
        return with_etag(update_quota(db.session, current_actor(), quota_id, **data), QuotaOut())

    @blp.response(204)
    def delete(self, quota_id: int) -> None:
        """Delete a quota (audited with its last state)."""
        delete_quota(db.session, current_actor(), quota_id)
