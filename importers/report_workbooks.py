"""The readiness reports as Excel workbooks, with the ledger export's conventions.

Chinese headers (English with ``lang=en``) — the ledger's own headers wherever a column is a ledger
field — a title row, a frozen header, filters, widths, number and date formats, and text a spreadsheet
could run as a formula neutralised (``importers.xlsx``, shared with the ledger export). Rows are the
JSON dumps of the API's report schemas, so a download shows exactly the API's values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from importers.columns import COLUMNS_BY_FIELD
from importers.xlsx import WIDTHS, enum_label, neutralise, streaming_workbook, workbook_styles
from inventory.reference import Category, LabelledEnum, ReserveType, WarehouseStatus

TEXT = "text"
LABEL = "label"  # an enum code, written as its label in the workbook's language
INTEGER = "integer"
QUANTITY = "quantity"
DATE = "date"
COORDINATE = "coordinate"
FLAG = "flag"
FLAG_WORDS = {"zh": ("是", "否"), "en": ("yes", "no")}
TARGET_WORDS = {"warehouse": {"zh": "仓库", "en": "Warehouse"}, "region": {"zh": "地区", "en": "Region"}}
TOTAL_WORDS = {"zh": "合计", "en": "total"}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = TEXT
    width: int = 12
    labels: type[LabelledEnum] | None = None


@dataclass(frozen=True)
class Sheet:
    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: Iterable[dict]


def ledger_column(name: str, kind: str = TEXT, labels: type[LabelledEnum] | None = None) -> Column:
    """A column the ledger export also has: the same header and width."""
    spec = COLUMNS_BY_FIELD[name]
    return Column(name, spec.zh, spec.en, kind, WIDTHS.get(name, 12), labels)


def file_name(stem_zh: str, stem_en: str, scope: str, lang: str, today: dt.date) -> str:
    return f"{stem_zh if lang == 'zh' else stem_en}-{scope}-{today:%Y%m%d}.xlsx"


def write_workbook(out: str | IO[bytes], *, title: str, sheets: Sequence[Sheet], lang: str) -> None:
    """One sheet per part of a report: title row, header row (frozen, filtered), then the rows as they stream."""
    book = streaming_workbook(out)
    styles = workbook_styles(book)
    for sheet in sheets:
        worksheet = book.add_worksheet(sheet.zh if lang == "zh" else sheet.en)
        worksheet.write_string(0, 0, title, styles["title"])
        for number, column in enumerate(sheet.columns):
            worksheet.write_string(1, number, column.zh if lang == "zh" else column.en, styles["header"])
            worksheet.set_column(number, number, column.width)
        worksheet.set_row(1, 30)
        worksheet.freeze_panes(2, 0)
        row = 1
        for record in sheet.rows:
            row += 1
            for number, column in enumerate(sheet.columns):
                _write_cell(worksheet, row, number, column, record.get(column.key), styles, lang)
        worksheet.autofilter(1, 0, max(row, 1), len(sheet.columns) - 1)
    book.close()


def _write_cell(worksheet, row: int, number: int, column: Column, value: object, styles: dict, lang: str) -> None:
    if value is None or value == "":
        return
    if column.kind == LABEL and column.labels is not None:
        worksheet.write_string(row, number, enum_label(str(value), column.labels, lang))
    elif column.kind == FLAG:
        worksheet.write_string(row, number, FLAG_WORDS[lang][0 if value else 1])
    elif column.kind == DATE:
        worksheet.write_datetime(row, number, dt.date.fromisoformat(str(value)), styles["date"])
    elif column.kind == INTEGER:
        worksheet.write_number(row, number, value, styles["integer"])
    elif column.kind == COORDINATE:
        worksheet.write_number(row, number, value, styles["coordinate"])
    elif column.kind == QUANTITY:
        whole = float(value).is_integer()
        worksheet.write_number(row, number, value, styles["integer" if whole else "decimal"])
    else:
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        worksheet.write_string(row, number, neutralise(text))


def _title(lang: str, zh: str, en: str, scope: str, today: dt.date, *details: str) -> str:
    as_of = f"截至 {today:%Y-%m-%d}" if lang == "zh" else f"as of {today:%Y-%m-%d}"
    return " — ".join([zh if lang == "zh" else en, scope, *details, as_of])


# --- the four reports --------------------------------------------------------------------------

PLACE_COLUMNS = tuple(
    ledger_column(name)
    for name in ("province_name", "province_code", "city_name", "city_code", "county_name", "county_code")
)
EXPIRING_COLUMNS = (
    *PLACE_COLUMNS,
    ledger_column("warehouse_code"),
    ledger_column("warehouse_name"),
    ledger_column("reserve_type", LABEL, ReserveType),
    Column("warehouse_status", "仓库状态", "Warehouse status", LABEL, 9, WarehouseStatus),
    ledger_column("item_code"),
    ledger_column("item_name"),
    ledger_column("category", LABEL, Category),
    ledger_column("unit"),
    ledger_column("batch"),
    ledger_column("quantity", QUANTITY),
    Column("reserved", "已预留", "Reserved", QUANTITY, 10),
    ledger_column("production_date", DATE),
    ledger_column("expiry_date", DATE),
    Column("days_left", "剩余天数", "Days left", INTEGER, 9),
    Column("expired", "已过期", "Expired", FLAG, 8),
)


def expiring_workbook(
    out: IO[bytes], rows: Iterable[dict], *, scope: str, within_days: int, lang: str, today: dt.date
) -> None:
    window = f"{within_days} 天内到期或已过期" if lang == "zh" else f"expired or expiring within {within_days} days"
    title = _title(lang, "临期与过期物资", "Expired and expiring stock", scope, today, window)
    write_workbook(out, title=title, sheets=[Sheet("临期物资", "Expiring", EXPIRING_COLUMNS, rows)], lang=lang)


QUOTA_COLUMNS = (
    Column("province_code", "省代码", "Province code", TEXT, 8),
    Column("target_type", "对象类型", "Target type", TEXT, 10),
    Column("target_code", "对象编码", "Target code", TEXT, 11),
    Column("target_name", "对象名称", "Target", TEXT, 30),
    ledger_column("item_code"),
    ledger_column("item_name"),
    ledger_column("category", LABEL, Category),
    Column("units", "计量单位", "Units", TEXT, 8),
    Column("minimum", "最低储备量", "Minimum", QUANTITY, 12),
    Column("held", "现有储备量", "Held", QUANTITY, 12),
    Column("shortfall", "缺口", "Shortfall", QUANTITY, 12),
    Column("below", "未达标", "Below", FLAG, 8),
    ledger_column("notes"),
    Column("set_by", "设定人", "Set by", TEXT, 12),
)


def quota_workbook(out: IO[bytes], statuses: Iterable[dict], *, scope: str, lang: str, today: dt.date) -> None:
    """``statuses``: ``QuotaStatusOut`` dumps, flattened here (the quota's fields beside its figures)."""
    rows = (
        {
            **status["quota"],
            **status,
            "target_type": TARGET_WORDS[status["quota"]["target_type"]][lang],
            "notes": status["quota"]["note"],
        }
        for status in statuses
    )
    title = _title(lang, "储备定额达标情况", "Reserve quotas against holdings", scope, today)
    write_workbook(out, title=title, sheets=[Sheet("储备定额", "Quotas", QUOTA_COLUMNS, rows)], lang=lang)


GAP_COLUMNS = (
    *PLACE_COLUMNS,
    ledger_column("latitude", COORDINATE),
    ledger_column("longitude", COORDINATE),
    Column("nearest_km", "最近可用储备距离（km）", "Nearest usable stock (km)", QUANTITY, 14),
    Column("nearest_warehouse_code", "最近仓库编码", "Nearest warehouse", TEXT, 12),
)
PROVINCE_COVERAGE_COLUMNS = (
    ledger_column("province_name"),
    ledger_column("province_code"),
    Column("counties_total", "区县数", "Counties", INTEGER, 9),
    Column("counties_uncovered", "未覆盖区县数", "Uncovered", INTEGER, 11),
)


def coverage_workbook(out: IO[bytes], report: dict, *, scope: str, lang: str) -> None:
    """``report``: a ``CoverageOut`` dump."""
    item = report["item"]
    what = f"{item['name']}（{item['code']}）" if item else enum_label(report["category"], Category, lang)
    within = f"{report['radius_km']:g} km"
    if report["min_quantity"] is not None:
        within += f", ≥ {report['min_quantity']:g} {item['unit']}"
    title = _title(lang, "储备覆盖缺口", "Coverage gaps", scope, dt.date.fromisoformat(report["as_of"]), what, within)
    gaps = ({**gap, "county_name": gap["name"], "county_code": gap["code"]} for gap in report["uncovered"])
    provinces = ({**p, "province_name": p["name"], "province_code": p["code"]} for p in report["provinces"])
    sheets = [
        Sheet("未覆盖区县", "Uncovered", GAP_COLUMNS, gaps),
        Sheet("按省汇总", "By province", PROVINCE_COVERAGE_COLUMNS, provinces),
    ]
    write_workbook(out, title=title, sheets=sheets, lang=lang)


DASHBOARD_COLUMNS = (
    Column("code", "地区代码", "Region code", TEXT, 9),
    Column("name", "地区", "Region", TEXT, 14),
    Column("active_warehouses", "启用仓库数", "Active warehouses", INTEGER, 11),
    *(Column(f"warehouses:{t.value}", t.label_zh, t.label_en, INTEGER, 14) for t in ReserveType),
    Column("stock_lines", "库存条目", "Stock lines", INTEGER, 11),
    *(Column(f"lines:{c.value}", c.label_zh, c.label_en, INTEGER, 12) for c in Category),
    Column("expired_lines", "过期条目", "Expired lines", INTEGER, 10),
)
DASHBOARD_ITEM_COLUMNS = (
    Column("code", "地区代码", "Region code", TEXT, 9),
    Column("name", "地区", "Region", TEXT, 14),
    ledger_column("category", LABEL, Category),
    ledger_column("item_code"),
    ledger_column("item_name"),
    ledger_column("unit"),
    Column("stock_lines", "库存条目", "Stock lines", INTEGER, 11),
    ledger_column("quantity", QUANTITY),
)


def dashboard_workbook(out: IO[bytes], dashboard: dict, *, scope: str, lang: str) -> None:
    """``dashboard``: a ``DashboardOut`` dump; its regions, then the totals, as rows."""
    totals = dashboard["totals"]
    regions = [*dashboard["regions"], {**totals, "name": f"{totals['name']} {TOTAL_WORDS[lang]}"}]
    overview = (
        {
            **region,
            **{f"warehouses:{key}": count for key, count in region["warehouses_by_reserve_type"].items()},
            **{f"lines:{category['category']}": category["stock_lines"] for category in region["categories"]},
        }
        for region in regions
    )
    quantities = (
        {"code": region["code"], "name": region["name"], "category": category["category"], **item}
        for region in regions
        for category in region["categories"]
        for item in category["items"]
    )
    title = _title(lang, "储备概况", "Reserves at a glance", scope, dt.date.fromisoformat(dashboard["as_of"]))
    sheets = [
        Sheet("概况", "Overview", DASHBOARD_COLUMNS, overview),
        Sheet("物资数量", "Quantities", DASHBOARD_ITEM_COLUMNS, quantities),
    ]
    write_workbook(out, title=title, sheets=sheets, lang=lang)


# --- logistics (branch logistics): the settlement sheet ------------------------------------------

SETTLEMENT_COLUMNS = (
    ledger_column("warehouse_code"),
    ledger_column("warehouse_name"),
    ledger_column("reserve_type", LABEL, ReserveType),
    ledger_column("organisation"),
    ledger_column("item_code"),
    ledger_column("item_name"),
    ledger_column("unit"),
    Column("dispatched", "调出数量", "Dispatched", QUANTITY, 10),
    Column("received", "接收数量", "Received", QUANTITY, 10),
    Column("lost", "途中损失", "Lost in transit", QUANTITY, 10),
    Column("consumed", "消耗数量", "Consumed", QUANTITY, 10),
    Column("returned", "归还数量", "Returned", QUANTITY, 10),
    Column("charged", "结算数量", "Charged (consumed + lost)", QUANTITY, 12),
    Column("unit_price", "单价（元）", "Unit price (yuan)", QUANTITY, 12),
    Column("amount", "金额（元）", "Amount (yuan)", QUANTITY, 14),
)
REPLENISHMENT_COLUMNS = SETTLEMENT_COLUMNS[:-2]


def settlement_workbook(out: IO[bytes], sheet: dict, *, scope: str, lang: str, today: dt.date) -> None:
    """``sheet``: a ``SettlementOut`` dump. Paid sources with a total row, then government replenishment."""

    def amounts(row: dict) -> dict:
        return {**row, "amount": float(row["amount"]) if row["amount"] is not None else None}

    total = {"warehouse_code": TOTAL_WORDS[lang], "amount": float(sheet["total_amount"])}
    paid = [*map(amounts, sheet["rows"]), total]
    name = sheet["incident_name"]
    title = _title(lang, "应急物资调用结算单", "Settlement of emergency materials", scope, today, name)
    write_workbook(
        out,
        title=title,
        sheets=[
            Sheet("结算", "Settlement", SETTLEMENT_COLUMNS, paid),
            Sheet("补充储备", "Replenishment", REPLENISHMENT_COLUMNS, sheet["replenishment"]),
        ],
        lang=lang,
    )
