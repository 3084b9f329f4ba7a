"""The audit log: administrators see everything, provincial staff their province."""

from __future__ import annotations

from flask.views import MethodView

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.accounts import AuditOut, AuditQuery
from inventory.audit import list_audit

blp = Blueprint("audit", __name__, description="Who changed what, when and from where")


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Audit entries, newest first, by user, action, object or time window."""
        return list_audit(db.session, current_actor(), **args)
