"""``export_ledger``: the stock of a region as a workbook a provincial officer can hand on as it is.

Four sheets: a summary (stock lines by category and reserve type, quantities by item and reserve type,
stock by county), the ledger (one row per stock line, with its warehouse and the province, city and county
names and codes), the warehouse registry, and the stock in transit (在途: shipment lines on the road from or
to the region's warehouses, from ``inventory.shipments.in_transit_lines``; out of the ledger's quantities,
and skipped by an import). Headers come from ``importers.columns``, so an exported
ledger imports back unchanged. Written with xlsxwriter in constant-memory mode: rows stream to disk as
they are written, so a national ledger (126,000 lines) needs neither minutes nor gigabytes.

Over 400 lines because the sheets share one streaming pass (the summary is tallied while the ledger
rows are written); each sheet has its own functions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from operator import itemgetter
from typing import IO, Any

from sqlalchemy import BigInteger, Select, String, select, type_coerce
from sqlalchemy.orm import Session

from importers.columns import COLUMNS_BY_FIELD, SHIPMENT_CODE_HEADER
from importers.xlsx import WIDTHS, RowStream, enum_label, neutralise, streaming_workbook, workbook_styles
from inventory.access import Actor, require_region_in_scope
from inventory.clock import BUSINESS_TIMEZONE, business_today
from inventory.db import without_cycle_collection
from inventory.demo import demo_note
from inventory.models import Item, Quantity, Region, StockLine, Warehouse
from inventory.reference import LANGUAGES, Category, ReserveType, ShipmentKind, WarehouseLevel, WarehouseStatus
from inventory.regions import region_filter
from inventory.shipments import in_transit_lines

STORED_QUANTITY = Quantity()  # turns the stored thousandths the ledger query reads into quantities
FETCH_ROWS = 5_000

LEDGER_FIELDS = (
    "province_name",
    "province_code",
    "city_name",
    "city_code",
    "county_name",
    "county_code",
    "warehouse_code",
    "warehouse_name",
    "reserve_type",
    "item_code",
    "item_name",
    "category",
    "specification",
    "unit",
    "batch",
    "quantity",
    "production_date",
    "expiry_date",
)
WAREHOUSE_FIELDS = (
    "warehouse_code",
    "warehouse_name",
    "reserve_type",
    "level",
    "status",
    "organisation",
    "province_name",
    "province_code",
    "city_name",
    "city_code",
    "county_name",
    "county_code",
    "address",
    "longitude",
    "latitude",
    "contact_person",
    "contact_phone",
    "notes",
)
TEXT = {
    "zh": {
        "summary": "汇总",
        "ledger": "台账",
        "warehouses": "储备库",
        "title": "环境应急物资储备台账",
        "all": "全国",
        "as_of": "截至",
        "scope": "范围",
        "totals": "合计",
        "lines": "库存条目",
        "warehouse_count": "储备库数量",
        "items": "物资种类",
        "by_category": "按物资类别和储备类型（库存条目数）",
        "by_item": "按物资和储备类型（数量）",
        "by_county": "按区县",
        "in_transit": "在途",
        "yes": "是",
    },
    "en": {
        "summary": "Summary",
        "ledger": "Ledger",
        "warehouses": "Warehouses",
        "title": "Environmental emergency materials ledger",
        "all": "China",
        "as_of": "as of",
        "scope": "Scope",
        "totals": "Total",
        "lines": "Stock lines",
        "warehouse_count": "Warehouses",
        "items": "Items",
        "by_category": "Stock lines by category and reserve type",
        "by_item": "Quantity by item and reserve type",
        "by_county": "By county",
        "in_transit": "In transit",
        "yes": "yes",
    },
}

# The in-transit sheet's columns: (zh, en, width); the first is the header an import recognises it by.
IN_TRANSIT_COLUMNS = (
    (*SHIPMENT_CODE_HEADER, 20),
    ("类型", "Kind", 10),
    ("发出", "From", 14),
    ("到达/事件", "To / incident", 18),
    (COLUMNS_BY_FIELD["item_code"].zh, COLUMNS_BY_FIELD["item_code"].en, WIDTHS["item_code"]),
    (COLUMNS_BY_FIELD["item_name"].zh, COLUMNS_BY_FIELD["item_name"].en, WIDTHS["item_name"]),
    (COLUMNS_BY_FIELD["unit"].zh, COLUMNS_BY_FIELD["unit"].en, WIDTHS["unit"]),
    (COLUMNS_BY_FIELD["batch"].zh, COLUMNS_BY_FIELD["batch"].en, WIDTHS["batch"]),
    ("在途数量", "Quantity in transit", 12),
    ("出发时间", "Departed", 17),
    ("预计到达", "ETA", 17),
    ("逾期", "Overdue", 6),
)


@dataclass(frozen=True)
class ExportResult:
    rows: int
    warehouses: int
    region: str | None
    file_name: str
    in_transit: int = 0  # shipment lines on the road, on the in-transit sheet


def export_file_name(region: str | None, lang: str, today: dt.date) -> str:
    stem = "环境应急物资台账" if lang == "zh" else "emergency-materials-ledger"
    return f"{stem}-{region or 'all'}-{today:%Y%m%d}.xlsx"


def export_ledger(
    session: Session,
    out: str | IO[bytes],
    *,
    actor: Actor,
    region: str | None = None,
    lang: str = "zh",
    today: dt.date | None = None,
) -> ExportResult:
    """Write the ledger of ``region`` (a province, city or county code; None for all) to ``out``.

    Provincial staff are clipped to their province (``require_region_in_scope``).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang is one of {', '.join(LANGUAGES)}")
    region = require_region_in_scope(actor, region or None)
    where = region_filter(session, region) if region else None
    today = today or business_today()
    regions = {code: name for code, name in session.execute(select(Region.code, Region.name))}
    words = TEXT[lang]
    book = streaming_workbook(out)
    styles = workbook_styles(book)
    summary = book.add_worksheet(words["summary"])
    ledger = book.add_worksheet(words["ledger"])
    registry = book.add_worksheet(words["warehouses"])
    on_the_road = book.add_worksheet(words["in_transit"])
    scope = f"{regions.get(region, region)}（{region}）" if region else words["all"]
    title = f"{words['title']} — {scope} — {words['as_of']} {today:%Y-%m-%d}"
    if note := demo_note(session, lang):
        title += f" — {note}"

    tallies = _Tallies()
    with without_cycle_collection():
        rows = _write_ledger(session, ledger, styles, where, regions, lang, title, tallies)
        warehouses = _write_registry(session, registry, styles, where, regions, lang, title)
        tallies.settle()
    _write_summary(summary, styles, tallies, regions, lang, title, words)
    in_transit = _write_in_transit(session, on_the_road, styles, where, lang, f"{words['in_transit']} — {title}")
    book.close()
    return ExportResult(
        rows=rows,
        warehouses=warehouses,
        region=region,
        file_name=export_file_name(region, lang, today),
        in_transit=in_transit,
    )


def _header(sheet, styles: dict, fields: tuple[str, ...], lang: str, title: str) -> None:
    sheet.write_string(0, 0, title, styles["title"])
    for column, name in enumerate(fields):
        spec = COLUMNS_BY_FIELD[name]
        sheet.write_string(1, column, spec.zh if lang == "zh" else spec.en, styles["header"])
        sheet.set_column(column, column, WIDTHS.get(name, 12))
    sheet.set_row(1, 30)
    sheet.freeze_panes(2, 0)


def _write_ledger(session, sheet, styles, where, regions, lang, title, tallies: _Tallies) -> int:
    """One row per stock line, its cells made once per place and warehouse, item, batch, quantity and
    date (``_Cells``: thousands of rows repeat each), the rows as plain tuples from the database
    (``_ledger_lines``); the summary's tallies are taken a batch of rows at a time."""
    _header(sheet, styles, LEDGER_FIELDS, lang, title)
    stream = RowStream(sheet, 2, len(LEDGER_FIELDS))
    text, number, date = stream.text, stream.number, stream.date
    integer, decimal, date_style = styles["integer"], styles["decimal"], styles["date"]
    reserve_labels = {member.value: enum_label(member, ReserveType, lang) for member in ReserveType}
    category_labels = {member.value: enum_label(member, Category, lang) for member in Category}
    column = {name: index for index, name in enumerate(LEDGER_FIELDS)}.__getitem__

    def warehouse_cells(key: tuple) -> bytes:  # the place's names and codes, the warehouse's code, name, reserve
        province, city, county, code, name, reserve = key
        return b"".join(
            (
                text(column("province_name"), regions.get(province, "")),
                text(column("province_code"), province),
                text(column("city_name"), regions.get(city, "")),
                text(column("city_code"), city),
                text(column("county_name"), regions.get(county, "")),
                text(column("county_code"), county),
                text(column("warehouse_code"), code),
                text(column("warehouse_name"), name),
                text(column("reserve_type"), reserve_labels[reserve]),
            )
        )

    def item_cells(key: tuple) -> bytes:
        code, name, category, specification, unit = key
        return b"".join(
            (
                text(column("item_code"), code),
                text(column("item_name"), name),
                text(column("category"), category_labels[category]),
                text(column("specification"), specification),
                text(column("unit"), unit),
            )
        )

    def quantity_cell(stored: int) -> bytes:
        amount = STORED_QUANTITY.process_result_value(stored, None)
        return number(column("quantity"), float(amount), integer if amount == amount.to_integral_value() else decimal)

    warehouses, items = _Cells(warehouse_cells), _Cells(item_cells)
    batches = _Cells(partial(text, column("batch")))
    quantities = _Cells(quantity_cell)
    produced_cells = _Cells(partial(date, column("production_date"), cell_format=date_style))
    expiry_cells = _Cells(partial(date, column("expiry_date"), cell_format=date_style))
    write = stream.write
    row = 1
    for records in session.connection().execute(_ledger_lines(where)).partitions():
        for record in records:
            (
                province,
                city,
                county,
                code,
                name,
                reserve,
                item_code,
                item_name,
                category,
                spec,
                unit,
                batch,
                stored,
                produced,
                expires,
            ) = record
            row += 1
            write(
                row,
                (
                    warehouses[province, city, county, code, name, reserve],
                    items[item_code, item_name, category, spec, unit],
                    batches[batch],
                    quantities[stored],
                    produced_cells[produced],
                    expiry_cells[expires],
                ),
            )
        tallies.add(records)
    stream.finish()
    sheet.autofilter(1, 0, max(row, 1), len(LEDGER_FIELDS) - 1)
    return row - 1


class _Cells(dict):
    """Cells made once and kept: ``cells[key]`` is ``make(key)``, made the first time it is asked for.

    Bounded like ``RowStream``'s texts: past ``RowStream.CACHE_LIMIT`` keys it starts again."""

    def __init__(self, make: Callable[[Any], bytes]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key) -> bytes:
        if len(self) >= RowStream.CACHE_LIMIT:
            self.clear()
        cells = self[key] = self.make(key)
        return cells


def _ledger_lines(where) -> Select:
    """Every line holding stock (in ``where``), ordered by place, warehouse, item and batch; streamed.

    Reference codes come as their stored text and quantities as stored thousandths (``Quantity``):
    converted once per distinct value by the caller instead of once per row.
    """
    stmt = (
        select(
            Warehouse.province_code,
            Warehouse.city_code,
            Warehouse.county_code,
            Warehouse.code,
            Warehouse.name,
            type_coerce(Warehouse.reserve_type, String),
            Item.code,
            Item.name,
            type_coerce(Item.category, String),
            Item.specification,
            Item.unit,
            StockLine.batch,
            type_coerce(StockLine.quantity, BigInteger),
            StockLine.production_date,
            StockLine.expiry_date,
        )
        .join(StockLine.warehouse)
        .join(StockLine.item)
        .where(StockLine.quantity > 0)
        .order_by(Warehouse.province_code, Warehouse.city_code, Warehouse.county_code, Warehouse.code)
        .order_by(Item.code, StockLine.batch)
        .execution_options(yield_per=FETCH_ROWS)
    )  # the summary's tallies pick columns by position (``_COUNTY`` and the others)
    return stmt if where is None else stmt.where(where)


def _write_registry(session, sheet, styles, where, regions, lang, title) -> int:
    """One row per warehouse, in ``WAREHOUSE_FIELDS`` order."""
    _header(sheet, styles, WAREHOUSE_FIELDS, lang, title)
    stream = RowStream(sheet, 2, len(WAREHOUSE_FIELDS))
    text, number, coordinate = stream.text, stream.number, styles["coordinate"]
    reserves = {member: enum_label(member, ReserveType, lang) for member in ReserveType}
    levels = {member: enum_label(member, WarehouseLevel, lang) for member in WarehouseLevel}
    statuses = {member: enum_label(member, WarehouseStatus, lang) for member in WarehouseStatus}
    stmt = select(
        Warehouse.code,
        Warehouse.name,
        Warehouse.reserve_type,
        Warehouse.level,
        Warehouse.status,
        Warehouse.organisation,
        Warehouse.province_code,
        Warehouse.city_code,
        Warehouse.county_code,
        Warehouse.address,
        Warehouse.longitude,
        Warehouse.latitude,
        Warehouse.contact_person,
        Warehouse.contact_phone,
        Warehouse.notes,
    ).order_by(Warehouse.province_code, Warehouse.city_code, Warehouse.county_code, Warehouse.code)
    if where is not None:
        stmt = stmt.where(where)
    row = 1
    for record in session.connection().execute(stmt.execution_options(yield_per=FETCH_ROWS)):
        (code, name, reserve, level, status, organisation, province, city, county) = record[:9]
        address, longitude, latitude, person, phone, notes = record[9:]
        row += 1
        values = (
            code,
            name,
            reserves[reserve],
            levels[level],
            statuses[status],
            organisation,
            regions.get(province, ""),
            province,
            regions.get(city, ""),
            city,
            regions.get(county, ""),
            county,
            address,
        )
        stream.write(
            row,
            (
                *map(text, range(13), values),
                number(13, longitude, coordinate),
                number(14, latitude, coordinate),
                text(15, person),
                text(16, phone),
                text(17, notes),
            ),
        )
    stream.finish()
    sheet.autofilter(1, 0, max(row, 1), len(WAREHOUSE_FIELDS) - 1)
    return row - 1


def _write_in_transit(session, sheet, styles, where, lang, title) -> int:
    """Shipment lines on the road from or to the region's warehouses: stock out of every on hand above."""
    sheet.write_string(0, 0, title, styles["title"])
    for column, (zh, en, width) in enumerate(IN_TRANSIT_COLUMNS):
        sheet.write_string(1, column, zh if lang == "zh" else en, styles["header"])
        sheet.set_column(column, column, width)
    sheet.set_row(1, 30)
    sheet.freeze_panes(2, 0)
    yes = TEXT[lang]["yes"]
    row = 1
    for line in in_transit_lines(session, where):
        row += 1
        sheet.write_string(row, 0, line.shipment_code)
        sheet.write_string(row, 1, enum_label(line.kind, ShipmentKind, lang))
        sheet.write_string(row, 2, neutralise(line.origin))
        sheet.write_string(row, 3, neutralise(line.destination))
        sheet.write_string(row, 4, neutralise(line.item_code))
        sheet.write_string(row, 5, neutralise(line.item_name))
        sheet.write_string(row, 6, neutralise(line.unit))
        if line.batch:
            sheet.write_string(row, 7, neutralise(line.batch))
        quantity = line.quantity
        sheet.write_number(
            row, 8, float(quantity), styles["integer" if quantity == quantity.to_integral() else "decimal"]
        )
        for column, moment in ((9, line.departed_at), (10, line.eta)):
            if moment is not None:
                sheet.write_string(row, column, f"{moment.astimezone(BUSINESS_TIMEZONE):%Y-%m-%d %H:%M}")
        if line.overdue:
            sheet.write_string(row, 11, yes)
    sheet.autofilter(1, 0, max(row, 1), len(IN_TRANSIT_COLUMNS) - 1)
    return row - 1


# Columns of the ledger query's rows (``_ledger_lines``) the summary counts by.
_COUNTY = itemgetter(0, 1, 2)  # (province, city, county) codes
_COUNTY_WAREHOUSE = itemgetter(0, 1, 2, 3)
_COUNTY_ITEM = itemgetter(0, 1, 2, 6)
_CATEGORY_RESERVE = itemgetter(8, 5)
_ITEM_RESERVE = itemgetter(6, 7, 10, 5)  # item code, name, unit, reserve type
_STORED = itemgetter(12)


class _Tallies:
    """The summary's figures, gathered while the ledger rows stream past."""

    def __init__(self) -> None:
        self.lines_by_category: Counter[tuple[Category, ReserveType]] = Counter()
        self.quantity_by_item: dict[tuple[str, str, str], dict[ReserveType, Decimal]] = {}
        # keyed by (province, city, county) codes
        self.lines_by_county: Counter[tuple[str, str, str]] = Counter()
        self.warehouses_by_county: Counter[tuple[str, str, str]] = Counter()
        self.items_by_county: Counter[tuple[str, str, str]] = Counter()
        # While the lines come: (province, city, county, warehouse or item code) seen; stored thousandths
        # by (item code, name, unit, reserve type).
        self.county_warehouses: set[tuple[str, str, str, str]] = set()
        self.county_items: set[tuple[str, str, str, str]] = set()
        self.stored_by_item: dict[tuple[str, str, str, str], int] = {}

    def add(self, records: Sequence[tuple]) -> None:
        """Stock lines as ``_ledger_lines`` gives them: reserve type and category as stored codes, the
        quantity in stored thousandths. Counted a batch at a time (``Counter.update`` and ``set.update``
        count in C), the quantities summed in one plain loop."""
        self.lines_by_category.update(map(_CATEGORY_RESERVE, records))
        self.lines_by_county.update(map(_COUNTY, records))
        self.county_warehouses.update(map(_COUNTY_WAREHOUSE, records))
        self.county_items.update(map(_COUNTY_ITEM, records))
        stored_by = self.stored_by_item
        for key, stored in zip(map(_ITEM_RESERVE, records), map(_STORED, records), strict=True):
            stored_by[key] = stored_by.get(key, 0) + stored

    def settle(self) -> None:
        """Once every line is in: the stored codes as their members, the thousandths as quantities."""
        self.lines_by_category = Counter(
            {(Category(category), ReserveType(reserve)): n for (category, reserve), n in self.lines_by_category.items()}
        )
        for (code, name, unit, reserve), stored in self.stored_by_item.items():
            amounts = self.quantity_by_item.setdefault((code, name, unit), {})
            amounts[ReserveType(reserve)] = STORED_QUANTITY.process_result_value(stored, None)
        self.warehouses_by_county = Counter(map(_COUNTY, self.county_warehouses))
        self.items_by_county = Counter(map(_COUNTY, self.county_items))
        self.county_warehouses, self.county_items, self.stored_by_item = set(), set(), {}


def _write_summary(sheet, styles, tallies: _Tallies, regions, lang, title, words) -> None:
    sheet.write_string(0, 0, title, styles["title"])
    reserves = list(ReserveType)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 2, 14)
    sheet.set_column(3, 3 + len(reserves), 16)
    total_lines = sum(tallies.lines_by_county.values())
    total_warehouses = sum(tallies.warehouses_by_county.values())
    sheet.write_string(1, 0, words["lines"])
    sheet.write_number(1, 1, total_lines, styles["integer"])
    sheet.write_string(2, 0, words["warehouse_count"])
    sheet.write_number(2, 1, total_warehouses, styles["integer"])
    row = _summary_by_category(sheet, styles, tallies, lang, words, 4)
    row = _summary_by_item(sheet, styles, tallies, lang, words, row + 2)
    _summary_by_county(sheet, styles, tallies, regions, lang, words, row + 2)


def _summary_by_category(sheet, styles, tallies: _Tallies, lang, words, row: int) -> int:
    """Stock lines by category and reserve type, with totals; returns the last row written."""
    reserves = list(ReserveType)
    sheet.write_string(row, 0, words["by_category"], styles["section"])
    row += 1
    reserve_headers = [enum_label(member, ReserveType, lang) for member in reserves]
    for column, text in enumerate([_field_header("category", lang), *reserve_headers]):
        sheet.write_string(row, column, text, styles["header"])
    sheet.write_string(row, len(reserves) + 1, words["totals"], styles["header"])
    for category in Category:
        counts = [tallies.lines_by_category.get((category, reserve), 0) for reserve in reserves]
        row += 1
        sheet.write_string(row, 0, enum_label(category, Category, lang))
        for column, count in enumerate([*counts, sum(counts)], start=1):
            sheet.write_number(row, column, count, styles["integer"])
    row += 1
    sheet.write_string(row, 0, words["totals"], styles["total"])
    for column, reserve in enumerate(reserves, start=1):
        count = sum(n for (_c, r), n in tallies.lines_by_category.items() if r is reserve)
        sheet.write_number(row, column, count, styles["total"])
    sheet.write_number(row, len(reserves) + 1, sum(tallies.lines_by_county.values()), styles["total"])
    return row


def _summary_by_item(sheet, styles, tallies: _Tallies, lang, words, row: int) -> int:
    """Quantity of each item by reserve type, with its total; returns the last row written."""
    reserves = list(ReserveType)
    sheet.write_string(row, 0, words["by_item"], styles["section"])
    row += 1
    headers = [_field_header(name, lang) for name in ("item_name", "item_code", "unit")]
    headers += [enum_label(member, ReserveType, lang) for member in reserves]
    for column, text in enumerate([*headers, words["totals"]]):
        sheet.write_string(row, column, text, styles["header"])
    for (item_code, item_name, unit), by_reserve in sorted(tallies.quantity_by_item.items()):
        row += 1
        sheet.write_string(row, 0, neutralise(item_name))
        sheet.write_string(row, 1, neutralise(item_code))
        sheet.write_string(row, 2, neutralise(unit))
        amounts = [by_reserve.get(reserve, Decimal(0)) for reserve in reserves]
        for column, amount in enumerate([*amounts, sum(amounts, Decimal(0))], start=3):
            sheet.write_number(row, column, float(amount), styles["decimal"])
    return row


def _summary_by_county(sheet, styles, tallies: _Tallies, regions, lang, words, row: int) -> None:
    """Warehouses, lines and items per county: the sheet's last rows, streamed (``RowStream``; a national
    ledger has some 2,800 counties)."""
    sheet.write_string(row, 0, words["by_county"], styles["section"])
    row += 1
    county_headers = [
        _field_header("province_name", lang),
        _field_header("city_name", lang),
        _field_header("county_name", lang),
        _field_header("county_code", lang),
        words["warehouse_count"],
        words["lines"],
        words["items"],
    ]
    for column, header in enumerate(county_headers):
        sheet.write_string(row, column, header, styles["header"])
    stream = RowStream(sheet, row + 1, len(county_headers))
    text, number, integer = stream.text, stream.number, styles["integer"]
    for place in sorted(tallies.lines_by_county):
        province, city, county = place
        row += 1
        stream.write(
            row,
            (
                text(0, regions.get(province, "")),
                text(1, regions.get(city, "")),
                text(2, regions.get(county, "")),
                text(3, county),
                number(4, tallies.warehouses_by_county[place], integer),
                number(5, tallies.lines_by_county[place], integer),
                number(6, tallies.items_by_county[place], integer),
            ),
        )
    stream.finish()


def _field_header(name: str, lang: str) -> str:
    spec = COLUMNS_BY_FIELD[name]
    return spec.zh if lang == "zh" else spec.en
