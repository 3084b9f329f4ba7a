"""Excel ledgers out (台账导出): the stock of a province, city, county or the whole country as .xlsx."""

from __future__ import annotations

import io

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.config import LANGUAGES
from api.downloads import send_download
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint
from api.schemas.fields import RegionField
from importers.export import export_ledger
from importers.xlsx import XLSX

blp = Blueprint("exports", __name__, description="Excel ledgers out")


class LedgerExportQuery(Schema):
    region = RegionField(metadata={"description": "province, city or county code or name (北京市); omit for all"})
    lang = fields.String(load_default="zh", validate=validate.OneOf(LANGUAGES))


@blp.route("/exports/ledger.xlsx")
class LedgerExport(MethodView):
    @blp.arguments(LedgerExportQuery, location="query")
    @blp.doc(responses={200: {"description": "summary, ledger and warehouse sheets", "content": {XLSX: {}}}})
    def get(self, query: dict) -> Response:
        """The ledger as a workbook: a summary, one row per stock line with its region, and the warehouses.

        Provincial staff get their own province. The file imports back unchanged (``POST /imports``).
        """
        out = io.BytesIO()
        result = export_ledger(db.session, out, actor=current_actor(), region=query.get("region"), lang=query["lang"])
        out.seek(0)
        return send_download(out, XLSX, result.file_name, "emergency-materials-ledger")
