"""Excel ledgers in (台账导入): upload, dry run, annotated error workbook, template, import records.

The view only reads the upload and shapes the answer; ``importers.import_ledger`` does the work inside the
request's transaction (committed by the app's after-request hook for a 2xx answer).
"""

from __future__ import annotations

import io
import time
from pathlib import PurePath

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate

from api.downloads import send_download
from api.errors import problem, request_language
from api.extensions import db
from api.identity import current_actor
from api.messages import catalog, language_of
from api.metrics import record_import
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
    lang = fields.String(
        validate=validate.OneOf(["zh", "en"]),
        metadata={"description": "language of the report's messages (default: from Accept-Language)"},
    )
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check everything, write nothing"})
    skip_invalid = fields.Boolean(
        load_default=False, metadata={"description": "import the valid rows, report the others"}
    )


class TemplateQuery(Schema):
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class IssueOut(Schema):
    severity = fields.String()
    message = fields.String(metadata={"description": "in the request's language"})
    code = fields.String(metadata={"description": "the message's stable code (README: problem codes)"})
    params = fields.Dict(metadata={"description": "the values the message names"})
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


def _flags(query: dict) -> tuple[dict, str | None]:
    """Flags from the query string or, as browsers' forms send them, from the multipart form."""
    try:
        form = ImportFlags().load(request.form)
    except ValidationError as error:
        abort(422, errors=error.messages)
    language = query.get("lang") or form.get("lang")
    return {name: query[name] or form[name] for name in ("dry_run", "skip_invalid")}, language


def _run(files: dict, query: dict, *, dry_run: bool | None = None) -> tuple[ImportReport, ImportReport, bytes]:
    """The report as the importer wrote it, the same in the reader's language (``lang=``, else Accept-Language)."""
    data, name = _upload(files)
    flags, language = _flags(query)
    if dry_run is not None:
        flags["dry_run"] = dry_run
    started = time.perf_counter()
    report = import_ledger(db.session, data, file_name=name, actor=current_actor(), **flags)
    record_import(report.status, report.rows, time.perf_counter() - started)
    lang = language_of(language, request_language())
    shown = report.in_language(lambda text: catalog().translate(text, lang), "；" if lang == "zh" else "; ")
    return report, shown, data


def _report_body(report: ImportReport, shown: ImportReport) -> dict:
    """The report in the reader's language, each issue with its message's code and parameters."""
    body = shown.to_dict()
    for kind in ("errors", "warnings"):
        for issue, out in zip(getattr(report, kind), body[kind], strict=True):
            message = catalog().message(issue.message, "en")
            out["code"], out["params"] = message.code, message.params
    return body


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
        report, shown, _data = _run(files, query)
        if report.status == "rejected" or (report.dry_run and report.has_errors and not report.skip_invalid):
            return _rejected(report, shown)
        return _report_body(report, shown), 200 if report.dry_run else 201

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
        _report, shown, data = _run(files, query, dry_run=True)
        annotated = annotate_workbook(data, shown)
        stem = PurePath(shown.file_name).stem
        return send_download(io.BytesIO(annotated), XLSX, f"{stem}-检查结果.xlsx", "ledger-check")


@blp.route("/imports/template.xlsx")
class ImportTemplate(MethodView):
    @blp.arguments(TemplateQuery, location="query")
    @blp.doc(responses={200: {"description": "an empty ledger with lists, an example row and instructions"}})
    def get(self, query: dict) -> Response:
        """An empty ledger to fill in: headers, drop-down lists, an example row and an instructions sheet."""
        data = ledger_template(query["lang"])
        name = "环境应急物资台账模板.xlsx" if query["lang"] == "zh" else "emergency-materials-ledger-template.xlsx"
        return send_download(io.BytesIO(data), XLSX, name, "emergency-materials-ledger-template")


def _rejected(report: ImportReport, shown: ImportReport) -> Response:
    """422 problem JSON whose ``errors`` map cells to messages, with the whole report as an extension member.

    ``errors`` keeps the importer's English (``problem`` translates each message and gives its code), the
    detail and the report come already in the reader's language.
    """
    errors: dict[str, list[str]] = {}
    for issue in report.errors:
        place = f"{issue.sheet}!{issue.cell or issue.row or ''}" if issue.sheet else "file"
        errors.setdefault(place, []).append(issue.message)
    response = problem(422, "Invalid ledger", shown.summary(), errors)
    body = response.get_json()
    body["report"] = ImportReportOut().dump(_report_body(report, shown))
    response.set_data(current_app.json.dumps(body))
    return response
