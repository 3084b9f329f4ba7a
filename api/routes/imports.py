"""Excel ledgers in (台账导入): upload, dry run, annotated error workbook, template, import records.

The view only reads the upload and shapes the answer; ``importers.import_ledger`` does the work inside the
request's transaction (committed by the app's after-request hook for a 2xx answer).
"""

from __future__ import annotations

import io
from pathlib import PurePath

from flask import Response, current_app, request, send_file
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate

from api.errors import problem
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from importers.annotate import annotate_workbook
from importers.ledger import import_ledger
from importers.outcome import ImportReport
from importers.template import ledger_template
from importers.xlsx import XLSX
from inventory.imports import get_import, list_imports

blp = Blueprint("imports", __name__, description="Excel ledgers in: import, dry run, error workbook, template")


class ImportUpload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "the .xlsx"})


class ImportFlags(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check everything, write nothing"})
    skip_invalid = fields.Boolean(
        load_default=False, metadata={"description": "import the valid rows, report the others"}
    )


class TemplateQuery(Schema):
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class IssueOut(Schema):
    severity = fields.String()
    message = fields.String()
    sheet = fields.String()
    row = fields.Integer(metadata={"description": "the Excel row number"})
    column = fields.String(metadata={"description": "the column header as written in the file"})
    cell = fields.String(metadata={"description": "e.g. F7"})
    field = fields.String()
    value = fields.Raw(metadata={"description": "the rejected value"})


class ImportReportOut(Schema):
    status = fields.String(metadata={"enum": ["validated", "imported", "rejected"]})
    file_name = fields.String()
    sha256 = fields.String()
    dry_run = fields.Boolean()
    skip_invalid = fields.Boolean()
    import_id = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True, metadata={"description": "reference of the ledger entries written"})
    actor = fields.String()
    sheets = fields.List(fields.Dict())
    rows = fields.Integer()
    rows_rejected = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    errors_total = fields.Integer()
    warnings_total = fields.Integer()
    errors = fields.List(fields.Nested(IssueOut))
    warnings = fields.List(fields.Nested(IssueOut))
    notes = fields.List(fields.Nested(IssueOut), metadata={"description": "rows skipped on purpose (totals, notes)"})
    previous_import = fields.Dict(allow_none=True)


class LedgerImportOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    file_name = fields.String()
    sha256 = fields.String()
    actor = fields.String()
    imported_at = fields.DateTime()
    skip_invalid = fields.Boolean()
    rows = fields.Integer()
    rows_rejected = fields.Integer()
    warnings = fields.Integer()
    warehouses_created = fields.Integer()
    warehouses_updated = fields.Integer()
    items_created = fields.Integer()
    lines_created = fields.Integer()
    lines_changed = fields.Integer()
    lines_unchanged = fields.Integer()


def _upload(files: dict) -> tuple[bytes, str]:
    """The uploaded bytes and a plain file name (no client path)."""
    storage = files["file"]
    if not hasattr(storage, "read"):
        abort(422, errors={"file": ["upload the workbook as a multipart file field named 'file'"]})
    name = PurePath((storage.filename or "ledger.xlsx").replace("\\", "/")).name[:255] or "ledger.xlsx"
    return storage.read(), name


def _flags(query: dict) -> dict:
    """Flags from the query string or, as browsers' forms send them, from the multipart form."""
    try:
        form = ImportFlags().load(request.form)
    except ValidationError as error:
        abort(422, errors=error.messages)
    return {name: query[name] or form[name] for name in ("dry_run", "skip_invalid")}


def _run(files: dict, query: dict, *, dry_run: bool | None = None) -> tuple[ImportReport, bytes]:
    data, name = _upload(files)
    flags = _flags(query)
    if dry_run is not None:
        flags["dry_run"] = dry_run
    report = import_ledger(db.session, data, file_name=name, actor=current_actor(), **flags)
    return report, data


@blp.route("/imports")
class Imports(MethodView):
    @blp.arguments(ImportFlags, location="query")
    @blp.arguments(ImportUpload, location="files")
    @blp.response(201, ImportReportOut)
    @blp.alt_response(200, schema=ImportReportOut, description="dry run without errors: the report, nothing written")
    @blp.alt_response(
        422,
        description="the file has errors, dry run or not (problem JSON with the full `report`), or is unreadable",
    )
    @blp.alt_response(413, description="the file is past an upload limit (problem JSON naming the limit)")
    def post(self, query: dict, files: dict):
        """Import a ledger workbook (multipart field ``file``) as stocktakes, in one transaction.

        With any error the answer is 422, problem JSON carrying the report, and nothing is written unless
        ``skip_invalid``; ``dry_run`` checks the same way and writes nothing (200 when clean). Each error
        names the sheet, the Excel row, the column header and the rejected value. Re-importing the same
        ledger writes no ledger entries.
        """
        report, _data = _run(files, query)
        if report.status == "rejected" or (report.dry_run and report.has_errors and not report.skip_invalid):
            return _rejected(report)
        return report.to_dict(), 200 if report.dry_run else 201

    @blp.response(200, LedgerImportOut(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """Imports recorded, newest first (administrators see all, others their own)."""
        return list_imports(db.session, current_actor())


@blp.route("/imports/<id:import_id>")
class ImportById(MethodView):
    @blp.response(200, LedgerImportOut)
    def get(self, import_id: int):
        """One recorded import; its ledger entries are ``GET /movements?reference=IMPORT-<id>``."""
        return get_import(db.session, current_actor(), import_id)


@blp.route("/imports/report.xlsx")
class ImportReportWorkbook(MethodView):
    @blp.arguments(ImportFlags, location="query")
    @blp.arguments(ImportUpload, location="files")
    @blp.doc(responses={200: {"description": "the uploaded workbook with an issues column", "content": {XLSX: {}}}})
    def post(self, query: dict, files: dict) -> Response:
        """Check a ledger (a dry run) and return the same workbook with a column saying what is wrong per row."""
        report, data = _run(files, query, dry_run=True)
        annotated = annotate_workbook(data, report)
        stem = PurePath(report.file_name).stem
        return send_file(
            io.BytesIO(annotated), mimetype=XLSX, as_attachment=True, download_name=f"{stem}-检查结果.xlsx"
        )


@blp.route("/imports/template.xlsx")
class ImportTemplate(MethodView):
    @blp.arguments(TemplateQuery, location="query")
    @blp.doc(responses={200: {"description": "an empty ledger with lists, an example row and instructions"}})
    def get(self, query: dict) -> Response:
        """An empty ledger to fill in: headers, drop-down lists, an example row and an instructions sheet."""
        data = ledger_template(query["lang"])
        name = "环境应急物资台账模板.xlsx" if query["lang"] == "zh" else "emergency-materials-ledger-template.xlsx"
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


def _rejected(report: ImportReport) -> Response:
    """422 problem JSON whose ``errors`` map cells to messages, with the whole report as an extension member."""
    errors: dict[str, list[str]] = {}
    for issue in report.errors:
        place = f"{issue.sheet}!{issue.cell or issue.row or ''}" if issue.sheet else "file"
        errors.setdefault(place, []).append(issue.message)
    response = problem(422, "Invalid ledger", report.summary(), errors)
    body = response.get_json()
    body["report"] = ImportReportOut().dump(report.to_dict())
    response.set_data(current_app.json.dumps(body))
    return response
