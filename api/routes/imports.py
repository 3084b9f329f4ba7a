"""Excel ledgers in (台账导入): upload, dry run, annotated error workbook, template, import records.

The view only reads the upload and shapes the answer; ``importers.import_ledger`` does the work inside the
request's transaction (committed by the app's after-request hook for a 2xx answer).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import PurePath

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate

from api.config import LANGUAGES, language_of
from api.downloads import send_download
from api.errors import INVALID_LEDGER, problem, request_language
from api.extensions import db
from api.identity import current_actor
from api.messages import catalog
from api.metrics import record_import
from api.routes.paging import Blueprint, SelectPage
from api.schemas.fields import MessageField
from importers.annotate import annotate_workbook
from importers.columns import checked_mapping
from importers.ledger import import_ledger
from importers.outcome import ImportReport
from importers.template import ledger_template
from importers.xlsx import XLSX
from inventory.import_profiles import ProfileRule, get_profile, list_profiles, save_profile
from inventory.import_review import KINDS as REVIEW_KINDS
from inventory.import_review import confirm_review, correct_review, review_list
from inventory.imports import get_import, list_imports

blp = Blueprint("imports", __name__, description="Excel ledgers in: import, dry run, error workbook, template")


class ImportUpload(Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "the ledger workbook: .xlsx, or .xls (Excel 97-2003)",
        },
    )


class ImportFlags(Schema):
    lang = fields.String(
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "language of the report's messages (default: from Accept-Language)"},
    )
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check everything, write nothing"})
    skip_invalid = fields.Boolean(
        load_default=False, metadata={"description": "import the valid rows, report the others"}
    )
    profile = fields.String(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "apply the saved column mapping of this name"},
    )
    map = fields.String(
        load_default=None,
        validate=validate.Length(max=20_000),
        metadata={"description": 'JSON object: header as written → ledger field or "ignore", for this file'},
    )


class ProfileIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    mapping = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=200)),
        values=fields.String(validate=validate.Length(max=64)),
        required=True,
        metadata={"description": 'header as written → ledger field, or "ignore"'},
    )
    header_signatures = fields.List(
        fields.String(validate=validate.Length(equal=32)),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "the `signature` of each sheet of the report it was made for"},
    )


class ProfileOut(Schema):
    name = fields.String()
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    header_signatures = fields.List(fields.String())


class TemplateQuery(Schema):
    lang = fields.String(load_default="zh", validate=validate.OneOf(LANGUAGES))


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
    value_named = fields.Boolean(
        metadata={"description": "with value: the message names that value itself (as one of its params)"}
    )
    suggestion = fields.String(metadata={"description": "an unknown column: the closest known field"})


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
    profile_saved = fields.String(allow_none=True, metadata={"description": "the column-mapping profile saved"})


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
        abort(422, messages={"file": ["upload the workbook as a multipart file field named 'file'"]})
    name = PurePath((storage.filename or "ledger.xlsx").replace("\\", "/")).name[:255] or "ledger.xlsx"
    return storage.read(), name


def _flags(query: dict) -> tuple[dict, str | None]:
    """Flags from the query string or, as browsers' forms send them, from the multipart form."""
    try:
        form = ImportFlags().load(request.form)
    except ValidationError as error:
        abort(422, messages=error.messages)
    language = query.get("lang") or form.get("lang")
    flags = {name: query[name] or form[name] for name in ("dry_run", "skip_invalid", "profile")}
    given = query["map"] or form["map"]
    if given:
        try:
            column_map = json.loads(given)
        except ValueError:
            column_map = None
        if not isinstance(column_map, dict) or not all(isinstance(v, str) for v in column_map.values()):
            abort(422, messages={"map": ['a JSON object: header → field name or "ignore"']})
        flags["column_map"] = column_map
    return flags, language


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
    for kind in ("errors", "warnings", "notes"):
        for issue, out in zip(getattr(report, kind), body[kind], strict=True):
            message = catalog().message(issue.message, "en")
            out["code"], out["params"] = message.code, message.params
            if "value" in out:
                out["value_named"] = catalog().names_value(issue.message, out["value"])
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
        ``skip_invalid`` and some row is left to import; ``dry_run`` checks the same way and writes nothing
        (200 when clean). Each error names the sheet, the Excel row, the column header and the rejected value.
        Re-importing the same ledger writes no ledger entries.
        """
        report, shown, _data = _run(files, query)
        if report.status == "rejected" or (report.dry_run and report.refused):
            return _rejected(report, shown)
        return _report_body(report, shown), 200 if report.dry_run else 201

    @blp.response(200, LedgerImportOut(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """Imports recorded, newest first (administrators see all, others their own)."""
        return list_imports(db.session, current_actor())


@blp.route("/import-profiles")
class ImportProfiles(MethodView):
    @blp.response(200, ProfileOut(many=True))
    def get(self):
        """Saved column mappings; one applies by itself to a sheet whose header row it was made for."""
        current_actor()
        return [_profile_out(rule) for rule in list_profiles(db.session)]

    @blp.arguments(ProfileIn)
    @blp.response(201, ProfileOut)
    def post(self, body: dict):
        """Save (or replace) a column mapping under a name, for the header rows of a report's sheets."""
        mapping = checked_mapping(body["mapping"])
        save_profile(db.session, current_actor(), body["name"], mapping, body["header_signatures"])
        return _profile_out(get_profile(db.session, body["name"])), 201


def _profile_out(rule: ProfileRule) -> dict:
    return {"name": rule.name, "mapping": rule.mapping, "header_signatures": sorted(rule.header_signatures)}


class ReviewEntryOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(REVIEW_KINDS)})
    subject = fields.String(metadata={"description": "the warehouse or item code it is about"})
    detail = MessageField(metadata={"description": "in the request's language"})
    rows = fields.Method("_rows", metadata={"description": "[[sheet, row], …] where the file says it"})
    status = fields.String(metadata={"enum": ["open", "confirmed", "corrected"]})
    resolution = fields.String(metadata={"description": "the code a correction pointed the stock to"})
    resolved_by = fields.String()

    def _rows(self, entry) -> list:
        return json.loads(entry.rows)


class ReviewCorrection(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the warehouse (new warehouse) or item (new item, fuzzy match) it really is"},
    )


ImportReviewOut = Schema.from_dict(
    {kind: fields.List(fields.Nested(ReviewEntryOut)) for kind in REVIEW_KINDS}, name="ImportReviewOut"
)


@blp.route("/imports/<id:import_id>/review")
class ImportReview(MethodView):
    @blp.response(200, ImportReviewOut)
    def get(self, import_id: int):
        """What the import decided on its own, grouped by kind, each entry with the rows it came from."""
        return review_list(db.session, current_actor(), import_id)


@blp.route("/imports/<id:import_id>/review/<id:entry_id>/confirm")
class ImportReviewConfirm(MethodView):
    @blp.response(200, ReviewEntryOut)
    def post(self, import_id: int, entry_id: int):
        """The import decided well: the entry is closed (409 when it already was)."""
        return confirm_review(db.session, current_actor(), import_id, entry_id)


@blp.route("/imports/<id:import_id>/review/<id:entry_id>/correct")
class ImportReviewCorrect(MethodView):
    @blp.arguments(ReviewCorrection)
    @blp.response(200, ReviewEntryOut)
    def post(self, body: dict, import_id: int, entry_id: int):
        """The import decided wrong: its stock moves to the warehouse or item named, by ledger movements."""
        return correct_review(db.session, current_actor(), import_id, entry_id, body["code"])


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
    response = problem(422, INVALID_LEDGER, errors=errors, shown_detail=shown.summary())
    body = response.get_json()
    body["report"] = ImportReportOut().dump(_report_body(report, shown))
    response.set_data(current_app.json.dumps(body))
    return response
