"""Readiness reports: expiry, reserve quotas against holdings, coverage gaps and dashboard figures.

Each report is JSON (lists paginated) and an Excel download at the same path with ``.xlsx`` taking the
same parameters plus ``lang``. The views parse, call the service, and shape the answer; the
``*_from`` helpers of ``api.service_calls`` turn loaded arguments into the service call, so the CLI runs
the very same thing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO

from flask import Response
from flask.views import MethodView
from flask_smorest import Page
from marshmallow import RAISE
from sqlalchemy.orm import Session

from api.downloads import send_download
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.reports import (
    CoverageOut,
    CoverageQuery,
    CoverageWorkbookQuery,
    DashboardOut,
    DashboardQuery,
    DashboardWorkbookQuery,
    ExpiringLineOut,
    ExpiringQuery,
    ExpiringWorkbookQuery,
    QuotaReportQuery,
    QuotaReportWorkbookQuery,
    QuotaStatusOut,
)
from api.service_calls import coverage_from, dashboard_from, expiring_from, quotas_from
from importers import report_workbooks as workbooks
from importers.xlsx import XLSX
from inventory.access import Actor, as_principal
from inventory.clock import business_today
from inventory.demo import demo_note
from inventory.models import Region
from inventory.reference import Role
from inventory.reports.common import ReportRows
from inventory.reports.coverage import CoverageReport
from inventory.reports.dashboard import Dashboard
from inventory.reports.expiry import ExpiringLine
from inventory.reports.shortfall import QuotaStatus

blp = Blueprint("reports", __name__, description="Readiness: expiry, reserve quotas, coverage gaps, dashboard figures")
WORKBOOK_RESPONSE = {200: {"description": "the report as an Excel workbook", "content": {XLSX: {}}}}


class ReportRowsPage(SelectPage):
    """Counts and slices a report's select in the database, then makes each row a record."""

    @property
    def statement(self):
        return self.collection.statement

    @property
    def items(self) -> list:
        statement = self.collection.statement.offset(self.page_params.first_item).limit(self.page_params.page_size)
        return [self.collection.record(row) for row in db.session.execute(statement)]


def download_scope(session: Session, region: str | None, lang: str, actor: Actor | None = None) -> tuple[str, str]:
    """What a download covers, as title text and as file-name part: the region asked for, else the
    caller's own scope (a provincial's province, a manager's warehouses), else the country."""
    principal = as_principal(actor) if actor is not None else None
    if not region and principal is not None and principal.role is Role.PROVINCIAL:
        region = principal.province_code
    if region:
        found = session.get(Region, region)
        return (f"{found.name}（{region}）" if found else region), region
    if principal is not None and principal.role is Role.MANAGER:
        words = f"{principal.username} 的仓库" if lang == "zh" else f"warehouses of {principal.username}"
        return words, principal.username
    return ("全国" if lang == "zh" else "China"), "all"


def send_workbook(write: Callable[[IO[bytes]], None], download_name: str, readable: str) -> Response:
    out = io.BytesIO()
    write(out)
    out.seek(0)
    return send_download(out, XLSX, download_name, readable)


def send_report_workbook(
    names: tuple[str, str],
    region: str | None,
    lang: str,
    write: Callable[[IO[bytes], str], None],
    actor: Actor | None = None,
) -> Response:
    """A report as a download: ``write(out, scope)``; its scope in the title and the (zh, en) file name."""
    scope, part = download_scope(db.session, region, lang, actor)
    if note := demo_note(db.session, lang):
        scope += f" — {note}"  # in the title of every sheet
    name = workbooks.file_name(*names, part, lang, business_today())
    return send_workbook(lambda out: write(out, scope), name, names[1])


@blp.route("/reports/expiring")
class ExpiringReport(MethodView):
    @blp.arguments(ExpiringQuery, location="query")
    @blp.response(200, ExpiringLineOut(many=True))
    @blp.paginate(ReportRowsPage)
    def get(self, args: dict) -> ReportRows[ExpiringLine]:
        """Batches on hand that have expired or expire within `within_days` (default 30), first expiry first.

        `days_left` is negative once expired; expiry today is 0 (still usable). Every warehouse counts,
        active or not. Managers see their assigned warehouses, provincial staff their province (a region
        or warehouse outside it is 403), everyone else the whole country.
        """
        return expiring_from(db.session, current_actor(), args)


@blp.route("/reports/expiring.xlsx")
class ExpiringWorkbook(MethodView):
    @blp.arguments(ExpiringWorkbookQuery, location="query", unknown=RAISE)
    @blp.doc(responses=WORKBOOK_RESPONSE)
    def get(self, args: dict) -> Response:
        """The expiry report as a workbook: one row per batch, the ledger's headers, days left and expired."""
        actor, lang, today = current_actor(), args["lang"], business_today()
        rows = expiring_from(db.session, actor, args)
        dumps = (ExpiringLineOut().dump(line) for line in rows.stream(db.session))

        def write(out: IO[bytes], scope: str) -> None:
            workbooks.expiring_workbook(
                out, dumps, scope=scope, within_days=args["within_days"], lang=lang, today=today
            )

        return send_report_workbook(("临期过期物资", "expiring-stock"), args.get("region"), lang, write, actor)


@blp.route("/reports/quotas")
class QuotaReport(MethodView):
    @blp.arguments(QuotaReportQuery, location="query")
    @blp.response(200, QuotaStatusOut(many=True))
    @blp.paginate(Page)
    def get(self, args: dict) -> list[QuotaStatus]:
        """Every reserve quota (in the region) against what is held, with the shortfall.

        Held = on hand, reserved included, in unexpired batches of active warehouses (a call-up's
        reservation is still in the reserve until dispatched). A category quota adds up every item of the
        category (`units` lists the units added). `below` is held < minimum: a quota met exactly is not
        below. Provincial staff see their province's quotas; managers those of their warehouses and the
        regions those sit in.
        """
        return quotas_from(db.session, current_actor(), args)


@blp.route("/reports/quotas.xlsx")
class QuotaWorkbook(MethodView):
    @blp.arguments(QuotaReportWorkbookQuery, location="query", unknown=RAISE)
    @blp.doc(responses=WORKBOOK_RESPONSE)
    def get(self, args: dict) -> Response:
        """The quota report as a workbook: one row per quota with minimum, held, shortfall."""
        actor, lang, today = current_actor(), args["lang"], business_today()
        dumps = QuotaStatusOut(many=True).dump(quotas_from(db.session, actor, args))

        def write(out: IO[bytes], scope: str) -> None:
            workbooks.quota_workbook(out, dumps, scope=scope, lang=lang, today=today)

        return send_report_workbook(("储备定额", "reserve-quotas"), args.get("region"), lang, write, actor)


@blp.route("/reports/coverage")
class CoverageReportView(MethodView):
    @blp.arguments(CoverageQuery, location="query", unknown=RAISE)
    @blp.response(200, CoverageOut)
    def get(self, args: dict) -> CoverageReport:
        """County-level places with no usable stock of an item or category within `radius_km` (default 100).

        Usable: available (on hand minus reserved) in unexpired batches of active warehouses; with
        `min_quantity` (an item only) a warehouse counts when it alone holds that much. Within is ≤ the
        geodesic (WGS-84) distance: a county exactly at the radius is covered. Each uncovered place comes
        with its coordinate and the distance to the nearest usable stock (null: none in the country).
        Counties are the 2,843 county-level units plus the 4 prefecture cities without counties. Readable by
        every role for the whole country.
        """
        return coverage_from(db.session, args)


@blp.route("/reports/coverage.xlsx")
class CoverageWorkbook(MethodView):
    @blp.arguments(CoverageWorkbookQuery, location="query", unknown=RAISE)
    @blp.doc(responses=WORKBOOK_RESPONSE)
    def get(self, args: dict) -> Response:
        """The coverage report as a workbook: the uncovered places, and counties per province."""
        lang = args["lang"]
        report = CoverageOut().dump(coverage_from(db.session, args))

        def write(out: IO[bytes], scope: str) -> None:
            workbooks.coverage_workbook(out, report, scope=scope, lang=lang)

        return send_report_workbook(("储备覆盖缺口", "coverage-gaps"), args.get("province"), lang, write)


@blp.route("/reports/dashboard")
class DashboardReport(MethodView):
    @blp.arguments(DashboardQuery, location="query", unknown=RAISE)
    @blp.response(200, DashboardOut)
    def get(self, args: dict) -> Dashboard:
        """A region's figures per child region: the country's provinces, a province's cities, a city's counties.

        Active warehouses by reserve type; stock lines by category (and by reserve type) and quantities per
        item — never summed across items, whose units differ. Stock counts every line holding something,
        whatever the warehouse's status or the batch's expiry, so the totals are the ledger's; expired
        lines are counted too. Readable by every role for the whole country.
        """
        return dashboard_from(db.session, args)


@blp.route("/reports/dashboard.xlsx")
class DashboardWorkbook(MethodView):
    @blp.arguments(DashboardWorkbookQuery, location="query", unknown=RAISE)
    @blp.doc(responses=WORKBOOK_RESPONSE)
    def get(self, args: dict) -> Response:
        """The dashboard as a workbook: an overview row per region (and the total), and quantities per item."""
        lang = args["lang"]
        dashboard = DashboardOut().dump(dashboard_from(db.session, args))

        def write(out: IO[bytes], scope: str) -> None:
            workbooks.dashboard_workbook(out, dashboard, scope=scope, lang=lang)

        return send_report_workbook(("储备概况", "reserves-dashboard"), args.get("region"), lang, write)
