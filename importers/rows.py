"""Reading a ledger's sheets into typed values: warehouses as the file describes them, and stock lines.

``LedgerReader`` turns every row into Python values (codes, labels, quantities in the catalogue's unit,
dates) and gathers the warehouse cells of all rows that name a warehouse into one ``WarehouseEntry``.
Item cells are read by ``importers.row_items`` against the catalogue's names (``catalogue.ItemNames``).
Reading changes nothing: every problem goes to the ``IssueLog`` located by sheet, row and column.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from operator import itemgetter

from importers.columns import (
    COLUMNS_BY_FIELD,
    END_MARKERS,
    EXAMPLE_MARKERS,
    FOOTER_PREFIXES,
    HEADER_INDEX,
    TOTAL_MARKERS,
    closest_field,
    fold,
    header_key,
)
from importers.outcome import ERROR, Issue, IssueLog, Source, json_value
from importers.row_items import ItemCells
from importers.values import (
    SHELF_LIFE_UNITS,
    CellError,
    as_written,
    bracket_unit,
    china_order,
    choice_words,
    is_blank,
    parse_amount,
    parse_choice,
    parse_code,
    parse_coordinates,
    parse_date,
    parse_expiry,
    parse_float,
    parse_line,
    parse_region_code,
    parse_text,
    parse_unit,
    says_no_date,
    unit_factor,
)
from importers.workbook import STOCK_SHEET, WAREHOUSE_SHEET, Column, LedgerWorkbook, SheetTable
from inventory.catalogue import ItemNames
from inventory.models import Item
from inventory.reference import Category, ReserveType, WarehouseLevel, WarehouseStatus
from inventory.regions import RegionNames, region_keys
from inventory.registration import same_value, warehouse_name_key
from inventory.unit_variants import factor_to_item, open_variant
from inventory.units import in_item_unit
from inventory.validation import remember
from inventory.warehouses import TEXT_LIMITS

# Ledger fields → the keyword the warehouse service takes.
WAREHOUSE_FIELDS = {
    "warehouse_name": "name",
    "reserve_type": "reserve_type",
    "level": "level",
    "status": "status",
    "organisation": "organisation",
    "address": "address",
    "latitude": "latitude",
    "longitude": "longitude",
    "contact_person": "contact_person",
    "contact_phone": "contact_phone",
    "notes": "notes",
}
# Ledger fields read into several warehouse fields (a coordinates cell → latitude and longitude).
COMBINED_FIELDS = ("coordinates",)
REGION_FIELDS = ("province_name", "province_code", "city_name", "city_code", "county_name", "county_code")
CHOICES = {"reserve_type": ReserveType, "level": WarehouseLevel, "status": WarehouseStatus}
# What the form above a table says of one site: an enterprise's sheet is that site; above a table that lists its
# warehouses in columns they are the details of whoever filled it in (填报人 … 联系电话), not of each warehouse.
ONE_SITE_FIELDS = frozenset(
    {"warehouse_code", "warehouse_name", "address", "latitude", "longitude", "coordinates"}
    | {"contact_person", "contact_phone"}
)


@dataclass
class WarehouseEntry:
    """A warehouse as the file describes it, gathered from every row that names it."""

    key: str
    code: str
    first: Source
    fields: dict[str, object] = field(default_factory=dict)  # ledger field → parsed value
    sources: dict[str, Source] = field(default_factory=dict)
    rows: list[LedgerRow] = field(default_factory=list)
    error: str | None = None
    fallback_county: str = ""  # the county its sheet's title names, for a warehouse that gives none
    warehouse: object = None  # the inventory.models.Warehouse, once found or registered
    conflicts: list[tuple[str, Source]] = field(default_factory=list)  # later values that differed from the first
    named_rows: int = 0  # rows whose warehouse cells name it
    bad_rows: int = 0  # of those, rows whose warehouse cells had an error (each rejected on its own)

    @property
    def wanted(self) -> bool:
        """Whether to find or register it: not when every row naming it is already rejected for its cells."""
        return self.error is None and self.bad_rows < self.named_rows

    @property
    def label(self) -> str:
        """How messages name it: its code, else its name."""
        return self.code or str(self.fields.get("warehouse_name"))


@dataclass(slots=True)
class LedgerRow:
    """One stock line as read from the workbook."""

    table: SheetTable
    row: int
    entry: WarehouseEntry | None
    item: Item | None
    new_item_key: str | None
    quantity: Decimal
    batch: str
    production_date: dt.date | None
    expiry_date: dt.date | None
    failed: bool = False
    no_expiry: bool = False  # the expiry cell says it never expires (长期, 无, /): no shelf life is counted

    def column_for(self, field_name: str | None) -> Column | None:
        """The column an error about ``field_name`` points at (a county named, not coded: its name)."""
        column = self.table.columns.get(field_name or "")
        if column is None and field_name == "county_code":
            column = self.table.columns.get("county_name")
        return column

    def value_of(self, field_name: str | None) -> object:
        """The parsed value an error is about (cells are not kept per row, to save memory)."""
        if field_name == "quantity":
            return self.quantity
        if field_name in ("batch", "production_date", "expiry_date"):
            return getattr(self, field_name)
        if field_name in ("warehouse_code", "warehouse_name") and self.entry is not None:
            return self.entry.code or self.entry.fields.get("warehouse_name")
        if field_name in ("item_name", "item_code") and self.item is not None:
            return self.item.code if field_name == "item_code" else self.item.name
        return None


def row_error(log: IssueLog, row: LedgerRow, message: str, field_name: str | None) -> None:
    """Reject a stock row, blaming the column of ``field_name``."""
    row.failed = True
    log.cell_error(row.table.name, row.row, row.column_for(field_name), row.value_of(field_name), message)


class LedgerReader:
    """Reads a workbook's tables: warehouse entries by code or name, stock rows, items to add."""

    def __init__(
        self,
        log: IssueLog,
        item_names: ItemNames,
        items: dict[int, Item],
        tick: Callable[[], None],
        reserve_type_words: Mapping[str, str] | None = None,
        places: RegionNames | None = None,
    ):
        self.log = log
        self.places = places  # to read the county a sheet's title names
        self.title_county = ""  # the current table's (``_title_county``)
        # Reserve-type words staff added (inventory.vocabulary), folded once for the whole file.
        self.choices = {name: choice_words(kind) for name, kind in CHOICES.items()}
        self.choices["reserve_type"] = choice_words(ReserveType, reserve_type_words)
        # How each warehouse column is read; a vocabulary word once per distinct cell (a few words, many rows).
        self.field_parsers = {
            name: _remembered(parser) if name in CHOICES else parser
            for name in (*WAREHOUSE_FIELDS, *REGION_FIELDS, "warehouse_code")
            for parser in [warehouse_field_parser(name, self.choices)]
        }
        # Stock counted in a unit that converts to nothing: (base item id, unit) → rows, for a unit variant.
        self.unit_variants: dict[tuple[int, str], list[LedgerRow]] = {}
        # ... and rows put in the item's existing variant for that unit, found open when the catalogue was read.
        self.in_unit_variants: dict[tuple[int, str], list[LedgerRow]] = {}
        self.factors: dict[tuple[Item, str], Decimal | None] = {}  # (item, unit written) → factor_to_item
        self.item_cells = ItemCells(log, item_names, items)
        self.tick = tick  # called once per row read, for progress
        self.entries: dict[str, WarehouseEntry] = {}
        self.rows: list[LedgerRow] = []
        self.new_items = self.item_cells.new_items
        self.data_rows = 0
        self.form: tuple[dict[str, object], dict[str, Source]] = ({}, {})  # the current table's form, parsed
        self.column_indexes: dict[str, int] = {}  # the current table's field → column index
        self.ordinary_starts: dict[tuple, bool] = {}  # first filled cells of rows ``_skippable`` let through
        self.stock_cells = cells_at([None] * len(STOCK_CELLS))  # the current table's ``STOCK_CELLS`` of a row
        # What cells read as without an error or a warning, per distinct cells: a ledger repeats them.
        self.known_dates: dict[tuple, tuple[dt.date | None, dt.date | None, bool]] = {}
        self.known_quantities: dict[tuple, tuple[Decimal, str]] = {}
        self.shelf_life_unit = ""  # the current table's expiry header's 年, 月 or 天 (有效期（月）): a number is a life

    def read(self, workbook: LedgerWorkbook, ahead_read: bool = False) -> None:
        """Every table's rows, in order; with ``ahead_read``, all but the one ``read_table`` read ahead."""
        for name in workbook.sheets_without_table():
            self.log.warn(f"sheet '{name}' was not read: no ledger header found in its first rows", sheet=name)
        for name in workbook.in_transit_sheets:
            message = f"sheet '{name}' lists stock in transit (shipped, not yet received): not imported as stock"
            self.log.note(message, sheet=name)
        for table in workbook.tables:  # import_ledger holds the cycle collector off (0.8 s of 2.3 s went to it)
            if not (ahead_read and table is workbook.ahead):
                self.read_table(workbook, table)

    def read_table(self, workbook: LedgerWorkbook, table: SheetTable) -> None:
        self._describe_table(table)
        self._read_table(workbook, table)

    # --- tables -------------------------------------------------------------------------------

    def _describe_table(self, table: SheetTable) -> None:
        self.log.report.sheets.append(
            {
                "name": table.name,
                "kind": table.kind,
                "header_row": table.header_row,
                "columns": {name: column.header for name, column in table.columns.items()},
                "unknown_columns": [header for _index, header in table.unknown_headers],
                "signature": table.signature,
                "profile": table.profile,
            }
        )
        for index, header in table.unknown_headers:
            suggestion = closest_field(header)
            message = (
                f"column '{header}' is not a ledger column and was not imported; the closest known column: "
                f"{COLUMNS_BY_FIELD[suggestion].zh} ({suggestion}); map it to a field, or ignore it"
                if suggestion
                else f"column '{header}' is not a ledger column and was not imported; map it to a field, or ignore it"
            )
            self._header_warning(
                table,
                index,
                header,
                message,
                suggestion=suggestion,
            )
        if table.hidden:  # read like the others, as hidden rows are: an old copy shows itself by rows counted twice
            self.log.warn(
                f"sheet '{table.name}' is hidden in the file; it was read like the other sheets: delete it, or its "
                "table, if it should not be imported",
                sheet=table.name,
                row=table.header_row,
            )
        if table.place_as_warehouse:
            self.log.warn(
                f"this sheet has no warehouse column (仓库编码 or 仓库名称): the places in column "
                f"'{table.columns['warehouse_name'].header}' are read as the warehouses' names",
                sheet=table.name,
                row=table.header_row,
                column=table.columns["warehouse_name"].header,
            )
        if table.hidden_columns:  # read, as hidden rows are: a hidden column is as often the real one as a leftover
            # by index: one column read as two fields (存放地点, the name and the address) is named once
            hidden = {column.index: column for column in table.columns.values() if column.index in table.hidden_columns}
            listed = ", ".join(f"{column.letter} ({column.header})" for _index, column in sorted(hidden.items()))
            self.log.warn(
                f"sheet '{table.name}' columns {listed} are hidden in the file; they were read like every other "
                "column: delete them from the sheet if they should not be imported",
                sheet=table.name,
                row=table.header_row,
            )
        for index, header, read, read_index in table.duplicate_headers:
            message = (
                f"column '{header}' means the same as column '{read}'; only the first was read"
                if read_index < index
                else f"column '{header}' means the same as column '{read}', which was read instead"
            )
            self._header_warning(table, index, header, message)
        named = {"warehouse_code", "warehouse_name"} & (set(table.columns) | set(table.form))
        if table.kind == STOCK_SHEET and "quantity" not in table.columns:
            self.log.report.add(
                Issue(
                    ERROR,
                    "this sheet lists items but has no quantity column (数量): its stock cannot be counted; "
                    "name the column 数量, or map it to quantity",
                    sheet=table.name,
                    row=table.header_row,
                )
            )
        elif table.kind == WAREHOUSE_SHEET and {"item_code", "item_name"} & set(table.columns):
            self.log.warn(
                "this sheet names items but has no quantity column (数量): it is read as a list of warehouses and "
                "its items are not counted; to count them, name the column 数量, or map it to quantity",
                sheet=table.name,
                row=table.header_row,
            )
        elif table.kind == STOCK_SHEET and not named:
            self.log.report.add(
                Issue(
                    ERROR,
                    "this sheet has no warehouse column (仓库编码 or 仓库名称): its stock cannot be placed",
                    sheet=table.name,
                    row=table.header_row,
                )
            )

    def _header_warning(
        self, table: SheetTable, index: int, header: str, message: str, suggestion: str | None = None
    ) -> None:
        self.log.warn(
            message,
            sheet=table.name,
            row=table.header_row,
            column=header,
            cell=f"{Column(index, header, '').letter}{table.header_row}",
            suggestion=suggestion,
        )

    def _read_table(self, workbook: LedgerWorkbook, table: SheetTable) -> None:
        columns = table.columns
        is_stock = table.kind == STOCK_SHEET
        # In a stock sheet 备注 is a remark on the line, not the warehouse's notes: not imported.
        warehouse_columns = [
            c
            for name, c in columns.items()
            if (name in WAREHOUSE_FIELDS or name in REGION_FIELDS or name in COMBINED_FIELDS)
            and not (is_stock and name == "notes")
        ]
        warehouse_columns += [columns[name] for name in ("warehouse_code",) if name in columns]
        identity = [columns[name].index for name in ("warehouse_code", "warehouse_name") if name in columns]
        warehouse_cells = cells_at([column.index for column in warehouse_columns])  # a row's, as a tuple
        warehouse_indexes = frozenset(column.index for column in warehouse_columns)
        mapped_indexes = sorted({column.index for column in columns.values()})
        self.column_indexes = {name: column.index for name, column in columns.items()}  # for ``_stock_row``
        self.stock_cells = cells_at([self.column_indexes.get(name) for name in STOCK_CELLS])
        self.known_quantities = {}  # a table's own: its quantity header may name a unit (数量（千克）)
        # 有效期（月）: the time unit its header names in brackets; its plain numbers are shelf lives
        expiry = columns.get("expiry_date")
        self.shelf_life_unit = bracket_unit(expiry.header, SHELF_LIFE_UNITS) if expiry is not None else ""
        self.form = self._form_values(table)
        self.title_county = self._title_county(table)
        if is_stock and not identity and not ({"warehouse_code", "warehouse_name"} & set(self.form[0])):
            return
        if is_stock and "quantity" not in columns:  # refused in _describe_table, as a whole
            return
        last_raw: tuple | None = None
        last_entry: WarehouseEntry | None = None
        blank_rows = 0
        ordinary_starts = self.ordinary_starts
        report = self.log.report
        tick = self.tick
        # An ordinary row's first cells seen again, with a mapped column among them: the row is filled and
        # ``_skippable`` lets it through (its cells are all filled, so they are ``first_filled``'s, and its verdict
        # depends on them alone); it needs no looking at.
        first_mapped = mapped_indexes[0] if mapped_indexes else FIRST_CELLS
        item_index = self.column_indexes.get("item_name") if is_stock else None
        hidden, uncomputed = table.hidden_rows, table.uncomputed  # empty for almost every file
        hidden_read: list[int] = []
        for number, cells in workbook.rows(table):
            tick()
            start = tuple(cells[:FIRST_CELLS])
            if start not in ordinary_starts or first_mapped >= len(start):
                filled = first_filled(cells)
                form = self.form
                if not filled or not _any_filled(cells, mapped_indexes, len(cells)):
                    if not (len(filled) == 1 and self._section_heading(table, number, filled[0])):
                        blank_rows += 1 if self.data_rows else 0
                    skipped = True
                else:
                    item_cell = cells[item_index] if item_index is not None and item_index < len(cells) else None
                    # a serial number and one label (一 | 污染源切断类): only the label is in a column read
                    in_columns = _count_filled(cells, mapped_indexes) if len(filled) == 2 else 0
                    skipped = self._skippable(table, number, filled, item_cell, in_columns, cells)
                if skipped:
                    if self.form is not form:  # a section heading: the rows below are their own warehouses'
                        last_raw = last_entry = None
                    continue
            if (  # 小计 in the item column (inline: asked of every stock row)
                item_index is not None
                and item_index < len(cells)
                and (item := cells[item_index]).__class__ is str
                and _is_total_word(item)
            ):
                self.log.note("a total or subtotal row: skipped", sheet=table.name, row=number)
                continue
            self.data_rows += 1
            if hidden and number in hidden:
                hidden_read.append(number)
            if uncomputed and number in uncomputed and self._uncomputed(table, number, uncomputed[number]):
                # Rows below that leave their warehouse cells blank mean this row's warehouse: one it names that is
                # not the last, or one a cell of which could not be read, is not theirs to join (refused as the
                # rows after a failed warehouse are). A group's row with only its quantity unread changes nothing.
                raw = warehouse_cells(cells)
                if not uncomputed[number].isdisjoint(warehouse_indexes) or (
                    raw != last_raw and not all(is_blank(cells[i]) for i in identity if i < len(cells))
                ):
                    last_raw = last_entry = None
                continue
            errors_before = report.errors_total
            raw = warehouse_cells(cells)
            if raw == last_raw and last_entry is not None:
                entry = last_entry
                entry.named_rows += 1
            elif all(is_blank(cells[i]) for i in identity if i < len(cells)) and last_entry is not None and is_stock:
                entry = last_entry  # warehouse cells left blank under the first row of a group: same warehouse
            else:
                cells_read = zip(warehouse_columns, raw, strict=True)
                entry = self._warehouse_row(table, number, cells_read, last_entry if is_stock else None)
                # A row whose warehouse cells failed is not remembered: the next row like it says so itself.
                failed = report.errors_total > errors_before
                if entry is not None:
                    entry.named_rows += 1
                    entry.bad_rows += failed
                last_raw, last_entry = (None, None) if failed else (raw, entry)
            if is_stock:
                self._stock_row(table, number, cells, entry, errors_before)
        if blank_rows:
            self.log.note(f"blank rows skipped: {blank_rows}", sheet=table.name)
        if hidden_read:
            # Imported, not skipped: a filter hides real stock as readily as a county hides rows it no longer uses.
            self.log.warn(
                f"sheet '{table.name}' rows {row_ranges(hidden_read)} are hidden in the file (hidden, or filtered "
                "out); they were read like every other row: delete them from the sheet if they should not be imported",
                sheet=table.name,
                row=hidden_read[0],
            )

    def _uncomputed(self, table: SheetTable, number: int, indexes: frozenset[int]) -> bool:
        """Whether a mapped cell of the row holds a formula with no saved value, or shows an error value
        (``SheetMarks``): calamine reads both as empty, so the row would say its quantity is missing, or nothing at
        all (blank warehouse cells: the warehouse above). Each such cell rejects the row."""
        found = False
        errors = table.error_cells.get(number, ())
        for column in table.columns.values():
            if column.index in indexes:
                message = (
                    f"{column.letter}{number} shows an error value (such as #N/A, #REF! or #DIV/0!), not a value: "
                    "correct the formula or type the value"
                    if column.index in errors
                    else f"the formula in {column.letter}{number} has no saved value (the file was written by a "
                    "program that does not calculate): open the file in Excel or WPS and save it again"
                )
                self.log.cell_error(table.name, number, column, None, message)
                found = True
        return found

    def _skippable(
        self,
        table: SheetTable,
        number: int,
        filled: list,
        item_cell: object = None,
        in_columns: int = 0,
        cells: list | None = None,
    ) -> bool:
        """Totals, notes under the table, the template's example and headings are not ledger rows.

        A heading holds one cell, or a serial number and a label of which only one is in a column read
        (``in_columns``: 一 | 污染源切断类 under 序号 | 物资名称); one naming a reserve type starts a section.

        ``filled`` holds the row's first few non-blank cells. The verdict depends on them alone, so cells seen
        in an ordinary row before (a ledger's province and city columns) are not examined again. ``item_cell``
        is the row's item cell (stock sheets): a note's word there (手机, 电话机, 注射器) names an item unless it
        is written as a label (注：…, 手机：…).
        """
        seen = tuple(filled)
        if seen in self.ordinary_starts:
            return False
        texts = [header_key(value) for value in filled[:3] if isinstance(value, str)]
        if any(_says_total(text) for text in texts):
            self.log.note("a total or subtotal row: skipped", sheet=table.name, row=number)
            return True
        if texts and texts[0] in EXAMPLE_MARKERS:
            self.log.note("a template example row: skipped", sheet=table.name, row=number)
            return True
        if len(filled) >= 2 and all(value.__class__ is str and header_key(value) in HEADER_INDEX for value in filled):
            self.log.note("the header row again (a second table, or a new page): skipped", sheet=table.name, row=number)
            return True
        if number <= table.header_row + 2 and _numbers_the_columns(cells or filled, _header_width(table)):
            self.log.note("the columns' numbers under the header (1, 2, 3 …): skipped", sheet=table.name, row=number)
            return True
        if any(text in END_MARKERS for text in texts):
            self.log.note("the table says it ends here (以下空白): skipped", sheet=table.name, row=number)
            return True
        # A sign-off line (制表人：… 审核人：…) fills every cell with a footer word; all() stops at the
        # first cell that is not one, so an ordinary row folds one cell at most.
        signed = all(isinstance(value, str) and fold(value).startswith(FOOTER_PREFIXES) for value in filled)
        first = filled[0]
        if signed or (
            len(filled) <= 2
            and isinstance(first, str)
            and fold(first).startswith(FOOTER_PREFIXES)
            and (first is not item_cell or _FOOTER_LABEL.match(fold(first)))
        ):
            self.log.note("a note under the table: skipped", sheet=table.name, row=number)
            return True
        if len(filled) == 1 or (
            len(filled) == 2
            and in_columns == 1
            and _is_serial(filled[0])
            and filled[1].__class__ is str
            and self._heads_a_group(filled[0], filled[1])
        ):
            if not self._section_heading(table, number, filled[-1]):
                self.log.warn(
                    f"row holds only {json_value(filled[-1])!r}: read as a heading, not imported",
                    sheet=table.name,
                    row=number,
                )
            return True
        # Remembered as validation.memoised remembers values: a bounded number, short texts only (a serial
        # number in the first column makes every row new; long texts would make a hostile file costly).
        remember(self.ordinary_starts, seen, True, *seen)
        return False

    def _heads_a_group(self, serial: object, label: str) -> bool:
        """A serial and a label head a group of rows when the serial is written as a heading's (一、, （二）) or
        the label names a category or a reserve type (1 | 污染物收集类): 2 | 帐篷 is a ledger row that lacks its
        quantity, refused as one (the review found it skipped as a heading)."""
        if not _ARABIC_SERIAL.fullmatch(str(serial).strip()):
            return True
        return self._named(label, Category) is not None or self._named(label, ReserveType) is not None

    def _named(self, text: object, vocabulary: type[Category] | type[ReserveType]) -> str | None:
        """The code ``text`` names in the vocabulary (the reserve types with the words staff added), or None."""
        try:
            return parse_choice(text, vocabulary, self.choices["reserve_type"] if vocabulary is ReserveType else None)
        except CellError:
            return None

    def _section_heading(self, table: SheetTable, number: int, label: object) -> bool:
        """A heading naming a reserve type (一、政府储备) in a table with no 储备类型 column: the rows below it,
        to the next such heading, are of that type, as a sheet named so is (``_reserve_type_of_sheet``)."""
        if "reserve_type" in table.columns or label.__class__ is not str:
            return False
        text = _SERIAL_PREFIX.sub("", parse_text(label), count=1)
        reserve_type = self._named(text, ReserveType)
        if reserve_type is None:
            return False
        values, sources = dict(self.form[0]), dict(self.form[1])
        values["reserve_type"] = reserve_type
        sources["reserve_type"] = Source(table.name, number, None, label)
        self.form = (values, sources)
        message = f"the heading gives the reserve type (储备类型) of the rows below it: {text}"
        self.log.note(message, sheet=table.name, row=number)
        return True

    # --- warehouse cells ----------------------------------------------------------------------

    def _form_values(self, table: SheetTable) -> tuple[dict[str, object], dict[str, Source]]:
        """The form above the table (fields it has no column for), parsed once; a bad value is located there."""
        values: dict[str, object] = {}
        sources: dict[str, Source] = {}
        lists_warehouses = bool({"warehouse_code", "warehouse_name"} & set(table.columns))
        not_applied: list[str] = []
        for name, given in table.form.items():
            if name in table.columns:
                continue
            if lists_warehouses and name in ONE_SITE_FIELDS:
                not_applied.append(f"{given.label} {json_value(given.value)}")
                continue
            column = Column(given.index, given.label, name)
            try:
                if name == "coordinates":
                    self._coordinates(table, given.row, column, given.value, values, sources)
                    continue
                values[name] = parse_warehouse_field(name, given.value, self.choices)
            except CellError as error:
                self.log.cell_error(table.name, given.row, column, given.value, str(error))
                continue
            sources[name] = Source(table.name, given.row, column, given.value)
        self._unswap(values, sources)
        if values:
            self.log.note(
                "the details filled in above the table apply to every row below: "
                + ", ".join(
                    dict.fromkeys(f"{source.column.header} {json_value(source.value)}" for source in sources.values())
                ),
                sheet=table.name,
            )
        if not_applied:
            self.log.note(
                "the details above the table describe one site, and this table lists its warehouses: not applied: "
                + ", ".join(not_applied),
                sheet=table.name,
            )
        reserve_type = self._reserve_type_of_sheet(table) if "reserve_type" not in values else None
        if reserve_type is not None:
            values["reserve_type"] = reserve_type
            sources["reserve_type"] = Source(table.name, table.header_row, None, table.name)
        return values, sources

    def _title_county(self, table: SheetTable) -> str:
        """The county a table's title names (东城区环境应急物资储备台账, 2024年北京市东城区…), when the table has no
        county column and the form above gives none: for its warehouses that give no county (said once)."""
        title = table.title
        if (
            title is None
            or self.places is None
            or {"county_code", "county_name"} & (set(table.columns) | set(self.form[0]))
        ):
            return ""
        text = _YEAR_PREFIX.sub("", parse_text(title.value))
        county = self.places.county_in_address(text, strict=True)
        if county and self.places.names_several_counties(text):
            county = ""  # 东城区、西城区…汇总表: no one county
        if county:
            self.log.warn(
                f"the title '{title.value}' names the county {self.places.by_code[county].name} ({county}): "
                "used for the warehouses of this sheet that give no county",
                sheet=table.name,
                row=title.row,
                value=title.value,
            )
        return county

    def _reserve_type_of_sheet(self, table: SheetTable) -> str | None:
        """The reserve type a sheet's name is (政府储备, 企业储备 …: one sheet per type), for a table with no
        储备类型 column; None for any other name."""
        if "reserve_type" in table.columns:
            return None
        reserve_type = self._named(table.name, ReserveType)
        if reserve_type is None:
            return None
        self.log.note(f"the sheet's name gives the reserve type (储备类型) of its rows: {table.name}", sheet=table.name)
        return reserve_type

    def _warehouse_row(
        self,
        table: SheetTable,
        number: int,
        raw: Iterable[tuple[Column, object]],
        previous: WarehouseEntry | None = None,
    ) -> WarehouseEntry | None:
        """Parse the warehouse cells of a row (with the form's above the table) and merge them into its entry.

        A row naming the warehouse of the row above by name alone, without its county (the name repeated or
        merged down, the county and contact given on the group's first row only), is that warehouse.
        """
        values, sources = dict(self.form[0]), dict(self.form[1])
        for column, value in raw:
            if is_blank(value):
                continue
            try:
                if column.field == "coordinates":
                    self._coordinates(table, number, column, value, values, sources)
                    continue
                values[column.field] = self.field_parsers[column.field](value)
            except CellError as error:
                self.log.cell_error(table.name, number, column, value, str(error))
                continue
            sources[column.field] = Source(table.name, number, column, value)
        self._unswap(values, sources)
        if "contact_person" in values and "contact_phone" not in values:  # rows that give both pay one test
            self._phone_in_contact(values, sources)
        code = str(values.get("warehouse_code", ""))
        name = str(values.get("warehouse_name", ""))
        if not code and not name:
            column = table.columns.get("warehouse_code") or table.columns.get("warehouse_name")
            self.log.cell_error(
                table.name, number, column, None, "the warehouse is not named: give its code (仓库编码)"
            )
            return None
        if code:
            key = f"code:{code}"
        else:
            county, name_key = _county_given(values) or self.title_county, warehouse_name_key(name)
            key = f"name:{county}:{name_key}"
            if (
                previous is not None
                and not county
                and name_key == warehouse_name_key(str(previous.fields.get("warehouse_name") or ""))
            ):
                key = previous.key
        entry = self.entries.get(key)
        if entry is None:
            entry = WarehouseEntry(key=key, code=code, first=Source(table.name, number))
            entry.fallback_county = self.title_county
            self.entries[key] = entry
        # A bad cell rejects its own row (reported above); the warehouse and its other rows stand.
        self._merge(entry, values, sources, table, number)
        return entry

    def _coordinates(
        self, table: SheetTable, number: int, column: Column, value: object, values: dict, sources: dict
    ) -> None:
        """Both coordinates from one cell; a separate latitude or longitude column still wins."""
        latitude, longitude, swapped = parse_coordinates(value)
        source = Source(table.name, number, column, value)
        for name, coordinate in (("latitude", latitude), ("longitude", longitude)):
            if name not in values:
                values[name], sources[name] = coordinate, source
        if swapped:
            self.log.warn_at(
                source,
                f"coordinates '{value}': the order does not fit China, "
                f"read as latitude {latitude}, longitude {longitude}",
                value,
            )

    def _phone_in_contact(self, values: dict, sources: dict[str, Source]) -> None:
        """A name and a phone in one 联系人 cell (张三 13800138000, 张三（0771-1234567）) with no phone given: split
        into the contact person and the phone, with a warning."""
        contact = str(values["contact_person"])
        # a name and a phone are short; the pattern's lazy name costs more the longer the text
        match = _NAME_AND_PHONE.match(contact) if len(contact) <= MAX_CONTACT_TEXT else None
        if match is None or sum(char.isdigit() for char in match.group("phone")) < 7:
            return
        person, phone = match.group("name").strip(), match.group("phone").strip()
        opening = contact[match.start("phone") - 1]
        if opening in "(（" and _CLOSED_FIRST.match(phone):  # 张三 (010)12345678: the bracket is the phone's
            phone = opening + phone
        if len(phone) > TEXT_LIMITS["contact_phone"]:  # three mobiles: the cell stays the contact, as written
            return
        source = sources["contact_person"]
        values["contact_person"], values["contact_phone"] = person, phone
        sources["contact_phone"] = source
        self.log.warn_at(
            source,
            f"contact '{json_value(source.value)}' holds a name and a phone: read as contact person {person}, "
            f"phone {phone}",
            source.value,
        )

    def _unswap(self, values: dict, sources: dict[str, Source]) -> None:
        """Latitude and longitude columns filled the wrong way round (only the other order lies in China)."""
        if "latitude" not in values or "longitude" not in values or sources["latitude"] is sources["longitude"]:
            return
        latitude, longitude, swapped = china_order(values["latitude"], values["longitude"])
        if swapped:
            values["latitude"], values["longitude"] = latitude, longitude
            self.log.warn_at(
                sources["latitude"],
                f"latitude {longitude} and longitude {latitude} are the wrong way round (judged by China's extent); "
                f"swapped: latitude {latitude}, longitude {longitude}",
                longitude,
            )

    def _merge(
        self, entry: WarehouseEntry, values: dict, sources: dict[str, Source], table: SheetTable, number: int
    ) -> None:
        """Add a row's warehouse values to its entry: the first non-empty value stands; a different one later is a
        warning (listed in ``entry.conflicts``), never a reason to reject the row."""
        for name, value in values.items():
            known = entry.fields.get(name)
            if known is None:
                entry.fields[name] = value
                entry.sources[name] = sources[name]
            elif not same_value(known, value):
                first = entry.sources[name]
                entry.conflicts.append((name, sources[name]))
                self.log.warn(
                    f"differs from '{json_value(first.value)}' given for this warehouse "
                    f"in {first.sheet} row {first.row}: the first value is kept",
                    sheet=table.name,
                    row=number,
                    column=sources[name].column.header if sources[name].column else None,
                    value=sources[name].value,
                )

    # --- stock cells --------------------------------------------------------------------------

    def _stock_row(
        self, table: SheetTable, number: int, cells: list, entry: WarehouseEntry | None, errors_before: int
    ) -> None:
        """Read a stock row; ``errors_before`` counts the errors before its warehouse cells were read."""
        code, name, raw_quantity, unit, batch, produced, expires = self.stock_cells(cells)
        cell = None  # the row's cells by field, for item cells read afresh (a new item's category, unit …)
        item = self.item_cells.known(code, name)
        new_item_key = None
        if item is None:
            cell = _cell_reader(cells, self.column_indexes)
            item, new_item_key = self.item_cells.item_for(table, number, cell)
        quantity, odd_unit = self._quantity(table, number, raw_quantity, unit, item)
        variant_key = None
        if item is not None and odd_unit:  # kept in its own unit, as a unit variant of the item: never lost
            variant = open_variant(item, odd_unit)
            self._variant_warning(table, number, item, odd_unit, variant)
            variant_key = (item.id, odd_unit)
            item = None if variant is None else self.item_cells.items.get(variant.id, variant)
        production_date, expiry_date, no_expiry = self._dates(table, number, produced, expires)
        row = LedgerRow(
            table,
            number,
            entry,
            item,
            new_item_key,
            quantity,
            parse_text(batch),
            production_date,
            expiry_date,
            self.log.report.errors_total > errors_before or entry is None,
            no_expiry,
        )
        self.rows.append(row)
        if entry is not None:
            entry.rows.append(row)
        if new_item_key is not None:
            self.new_items[new_item_key].rows.append(row)
        if variant_key is not None:
            (self.unit_variants if item is None else self.in_unit_variants).setdefault(variant_key, []).append(row)

    def _dates(self, table: SheetTable, number: int, produced: object, expires: object) -> tuple:
        """The production and expiry dates of a row's two date cells, and whether the expiry says none.

        A month alone: its first day for production, its last for expiry; a shelf life counts from production.
        What two cells read as without an error is remembered (``known_dates``): a ledger repeats its dates.
        """
        if self.shelf_life_unit and _is_plain_number(expires):  # 36 under 有效期（月）: 36 months, no date
            expires = f"{parse_text(expires).strip()}{self.shelf_life_unit}"
        keyed = produced.__class__ in _KEYED_CELLS and expires.__class__ in _KEYED_CELLS
        if keyed:
            known = self.known_dates.get((produced, expires))
            if known is not None:
                return known
        errors_before = self.log.report.errors_total
        production_date = expiry_date = None
        try:
            production_date = parse_date(produced)
        except CellError as error:
            self.log.cell_error(table.name, number, table.columns.get("production_date"), produced, str(error))
        try:
            expiry_date = parse_expiry(expires, production_date)
        except CellError as error:
            self.log.cell_error(table.name, number, table.columns.get("expiry_date"), expires, str(error))
        dates = (production_date, expiry_date, says_no_date(expires))
        if keyed and self.log.report.errors_total == errors_before:
            remember(self.known_dates, (produced, expires), dates, produced, expires)
        return dates

    def _variant_warning(self, table: SheetTable, number: int, item: Item, unit: str, variant: Item | None) -> None:
        column = table.columns.get("unit") or table.columns.get("quantity")
        kept = f"the existing unit variant {variant.code}" if variant is not None else "a new unit variant"
        self.log.warn(
            f"unit '{unit}' does not convert to the unit '{item.unit}' of {item.code} {item.name}: the stock is kept "
            f"in '{unit}' as {kept}; set the factor (1 {unit} = ? {item.unit}) to merge it",
            sheet=table.name,
            row=number,
            column=column.header if column else None,
            value=unit,
        )

    def _quantity(
        self, table: SheetTable, number: int, raw_quantity: object, raw_unit: object, item: Item | None
    ) -> tuple[Decimal, str]:
        """The row's quantity in the catalogue unit of its item (0 when it cannot be read: the row is rejected),
        and the unit as written when it converts to nothing the item knows (a unit variant's unit).

        What a quantity cell, a unit cell and an item read as without an error or a warning is remembered
        (``known_quantities``). Floats and texts only: 1 == 1.0 == True and 0.0 == -0.0 would share a key.
        """
        keyed = raw_unit.__class__ is str and (
            raw_quantity.__class__ is str or (raw_quantity.__class__ is float and raw_quantity)
        )
        if keyed:
            known = self.known_quantities.get((raw_quantity, raw_unit, item))
            if known is not None:
                return known
        report = self.log.report
        issues_before = report.errors_total + report.warnings_total
        read = self._read_quantity(table, number, raw_quantity, raw_unit, item)
        if keyed and report.errors_total + report.warnings_total == issues_before:
            remember(self.known_quantities, (raw_quantity, raw_unit, item), read, raw_quantity, raw_unit)
        return read

    def _read_quantity(
        self, table: SheetTable, number: int, raw_quantity: object, raw_unit: object, item: Item | None
    ) -> tuple[Decimal, str]:
        quantity = Decimal(0)
        quantity_column = table.columns.get("quantity")
        written_unit = ""
        pack = None
        if is_blank(raw_quantity):
            self.log.cell_error(table.name, number, quantity_column, None, "the quantity is missing (write 0 for none)")
        else:
            try:
                amount = parse_amount(raw_quantity)
                quantity, written_unit, pack = amount.number, amount.unit, amount.pack
                if quantity < 0:
                    raise CellError("a quantity cannot be negative")
                if amount.approximate:
                    self.log.warn(
                        f"quantity '{raw_quantity}' is approximate: imported as {quantity:f}",
                        sheet=table.name,
                        row=number,
                        column=quantity_column.header,
                        value=raw_quantity,
                    )
            except CellError as error:
                self.log.cell_error(table.name, number, quantity_column, raw_quantity, str(error))
        column_unit = parse_unit(raw_unit)
        # The unit written beside the number is what it counts ("500千克" under 计量单位 吨 is half a tonne).
        unit_text = written_unit or column_unit or (quantity_column.unit if quantity_column else "")
        if (
            written_unit
            and column_unit
            and unit_factor(written_unit, column_unit) != 1
            and not (pack and unit_factor(pack[1], column_unit) == 1)  # 2箱（每箱20个） under 个: counted in 个
        ):
            self.log.warn(
                f"quantity '{raw_quantity}' names the unit '{written_unit}', not the unit column's '{column_unit}': "
                f"read in '{written_unit}'",
                sheet=table.name,
                row=number,
                column=quantity_column.header if quantity_column else None,
                value=raw_quantity,
            )
        if pack is not None:  # rare: the cell gives its pack (2箱（每箱20个）)
            quantity, unit_text = self._unpacked(
                table, number, raw_quantity, (quantity, unit_text), pack, item, column_unit
            )
        if item is not None and unit_text:
            factor_key = (item, unit_text)  # the item itself, hashed by identity: no ORM attribute read per row
            factor = self.factors.get(factor_key, _NOT_READ)
            if factor is _NOT_READ:  # the families, then the item's own pack factors: once per item and unit written
                factor = self.factors[factor_key] = factor_to_item(item, unit_text)
            if factor is None:
                return quantity, unit_text
            if factor != 1:
                quantity = in_item_unit(quantity, factor)
        return quantity, ""

    def _unpacked(
        self,
        table: SheetTable,
        number: int,
        raw_quantity: object,
        read: tuple[Decimal, str],
        pack: tuple[Decimal, str],
        item: Item | None,
        column_unit: str,
    ) -> tuple[Decimal, str]:
        """A quantity written with its pack, 2箱（每箱20个）: counted in the pack's unit (40 个) when the item's unit
        (a new item's: the unit column's) is reached from that one and not from the packs' (an item counted in 个,
        no factor for 箱), as the clerk wrote it down to be counted; else read in packs (2 箱), the pack said in the
        warning. Never stored as the item's pack factor: one cell is no rule for every ledger (``set_pack_factor``
        is)."""
        (quantity, unit), (per_pack, inner) = read, pack

        def reaches_item(written: str) -> bool:
            if item is not None:
                return factor_to_item(item, written) is not None
            return bool(column_unit) and unit_factor(written, column_unit) is not None

        quantity_column = table.columns.get("quantity")
        where = {
            "sheet": table.name,
            "row": number,
            "column": quantity_column.header if quantity_column else None,
            "value": raw_quantity,  # ``IssueLog.warn`` makes a cell value JSON's
        }
        # said as written: the cell is read folded (200L's unit is l)
        pack_text = f"1 {as_written(unit, raw_quantity)} = {per_pack:f} {as_written(inner, raw_quantity, last=True)}"
        if not reaches_item(unit) and reaches_item(inner):
            counted = in_item_unit(quantity, per_pack)  # the pack a cell gives is a factor to the item's unit
            self.log.warn(
                f"quantity '{raw_quantity}' gives its pack ({pack_text}): "
                f"read as {counted.normalize():f} {as_written(inner, raw_quantity, last=True)}",
                **where,
            )
            return counted, inner
        self.log.warn(
            f"quantity '{raw_quantity}' gives its pack ({pack_text}): "
            f"read as {quantity:f} {as_written(unit, raw_quantity)}, the pack noted, not used",
            **where,
        )
        return quantity, unit


# A 联系人 cell is split only when it fits the field it came for (the pattern costs more the longer the text)
MAX_CONTACT_TEXT = TEXT_LIMITS["contact_person"]
_CLOSED_FIRST = re.compile(r"^[^()（）]*[)）]")  # a phone whose first bracket closes: (010)1234…'s area code
_YEAR_PREFIX = re.compile(r"^\s*\d{4}\s*年度?\s*")  # 2024年东城区…台账: the year before the place
# A contact cell holding a name, then its phone(s): 张三 13800138000, 张三（0771-1234567）, 张三 电话：138….
_NAME_AND_PHONE = re.compile(
    r"^(?P<name>\D*?[^\d\s,，/、:：;；(（\-])[\s,，/、:：;；(（]*(?:(?:联系)?电话|手机|tel|phone|mobile)?[\s:：]*"
    r"(?P<phone>\+?\d[\d\s\-－—()（）/、,，;；]*\d)[)）]?$",
    re.IGNORECASE,
)
# A note's word written as a label, followed by what it says: 注：…, 填表人 张三, 联系电话:0771-… (folded: ： is :).
_FOOTER_LABEL = re.compile("(?:" + "|".join(map(re.escape, FOOTER_PREFIXES)) + r")\s*[:\s]")


def row_ranges(numbers: list[int]) -> str:
    """Row numbers in order as ranges: 12-15, 18, 20-21."""
    ranges: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(f"{start}-{previous}" if previous > start else str(start))
        if number is not None:
            start = previous = number
    return ", ".join(ranges)


def _says_total(key: str) -> bool:
    """A cell (as ``header_key`` folds it) that says its row is a total or subtotal: 合计, 小计：, total …"""
    return key in TOTAL_MARKERS or key.startswith(("合计", "总计", "小计"))


@functools.lru_cache(maxsize=4096)  # asked of every stock row's item cell: the names repeat
def _is_total_word(text: str) -> bool:
    """Whether an item cell is a total's word (小计 under a warehouse's merged cells)."""
    return _says_total(header_key(text))


def _county_given(values: dict[str, object]) -> str:
    """The county a row names (code, else name without its suffix): a name is one warehouse per county."""
    code = str(values.get("county_code") or "")
    return code or region_keys(str(values.get("county_name") or ""))[-1]


FIRST_CELLS = 4  # a row's first filled cells: enough to tell totals, notes and headings apart
# A heading's serial number (一 一、 （一） 1 1.1 (2)) and the same before its words (一、政府储备 → 政府储备).
_ARABIC_SERIAL = re.compile(r"\d+(?:[.．]\d+)*[、.．]?")  # 2, 2.1, 3、 as a data row numbers itself
_SERIAL = re.compile(r"[（(]?(?:[一二三四五六七八九十百]+|\d+(?:[.．]\d+)*)[)）]?[、.．]?")
# before words the serial must end in a bracket or a mark (一、政府储备, （二）企业储备): 一次性手套 keeps its 一
_SERIAL_PREFIX = re.compile("^" + _SERIAL.pattern + r"(?<=[)）、.．])\s*")


def _is_serial(value: object) -> bool:
    return value.__class__ in (int, float) or (value.__class__ is str and _SERIAL.fullmatch(value.strip()) is not None)


_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _is_plain_number(value: object) -> bool:
    if value.__class__ in (int, float):
        return True
    return value.__class__ is str and _PLAIN_NUMBER.fullmatch(fold(value)) is not None


def _numbers_the_columns(cells: list, width: int) -> bool:
    """Every filled cell counting 1, 2, 3 … from the first (or (1), (2) …, 甲, 乙, 丙 …) across at least half the
    header's columns: a printed form's row numbering its columns (栏次), not a data row of numbers
    (1 | 2 | 3 | 4 | 活性炭 | 吨: the review found one skipped when only its first cells were looked at)."""
    filled = [value for value in cells if not is_blank(value)]
    if len(filled) < max(3, (width + 1) // 2):
        return False
    texts = [fold(parse_text(value)).strip("() ") for value in filled]
    if all(text in _STEMS for text in texts):
        return _STEMS_IN_ORDER.startswith("".join(texts))
    if not all(text.isdecimal() for text in texts):
        return False
    numbers = [int(text) for text in texts]
    return numbers[0] == 1 and all(after == before + 1 for before, after in pairwise(numbers))


def _header_width(table: SheetTable) -> int:
    """How many columns the header names (read, or not)."""
    return len(table.columns) + len(table.unknown_headers) + len(table.duplicate_headers)


_STEMS_IN_ORDER = "甲乙丙丁戊己庚辛壬癸"  # the heavenly stems number a form's descriptive columns
_STEMS = frozenset(_STEMS_IN_ORDER)


def _count_filled(cells: list, indexes: list[int]) -> int:
    width = len(cells)
    return sum(1 for index in indexes if index < width and not is_blank(cells[index]))


_NOT_READ = object()
# Cell types whose equal values read the same (1 == 1.0 == True: bool is left out), for the reader's memos.
_KEYED_CELLS = frozenset({str, float, int, dt.date, dt.datetime})
STOCK_CELLS = ("item_code", "item_name", "quantity", "unit", "batch", "production_date", "expiry_date")


def _cell_reader(cells: list, indexes: Mapping[str, int]) -> Callable[[str], object]:
    """A row's cell by field name; an unmapped column reads as empty, like one past the row's end."""
    width = len(cells)

    def cell(name: str) -> object:
        index = indexes.get(name, width)
        return cells[index] if index < width else ""

    return cell


def cells_at(indexes: list[int | None]) -> Callable[[list], tuple]:
    """A function giving a row's cells at ``indexes`` as a tuple, "" for a None index (an unmapped column) or one
    past the row's end: taken in C, the row padded only when it is too short or a column is unmapped."""
    if not indexes:
        return lambda cells: ()
    reach = max((index for index in indexes if index is not None), default=-1)
    take = itemgetter(*(-1 if index is None else index for index in indexes))  # -1: the padding ""
    complete = None not in indexes
    single = len(indexes) == 1  # itemgetter of one index gives the cell, not a tuple

    def taken(cells: list) -> tuple:
        width = len(cells)
        if not (complete and width > reach):
            cells = cells + [""] * max(1, reach + 2 - width)
        return (take(cells),) if single else take(cells)

    return taken


def _any_filled(cells: list, indexes: list[int], width: int) -> bool:
    """Whether any of the cells at ``indexes`` holds something (a loop: this runs for every row)."""
    for index in indexes:  # noqa: SIM110 - any() over a generator costs more, 126,000 times
        if index < width and not is_blank(cells[index]):
            return True
    return False


def first_filled(cells: list, wanted: int = FIRST_CELLS) -> list:
    """The first ``wanted`` non-blank cells of a row: enough to tell totals, notes and headings apart."""
    filled = []
    for value in cells:
        if value != "" and value is not None and not (value.__class__ is str and value.isspace()):
            filled.append(value)
            if len(filled) == wanted:
                break
    return filled


def parse_warehouse_field(name: str, value: object, choices: Mapping[str, Mapping[str, str]] | None = None) -> object:
    return warehouse_field_parser(name, choices)(value)


def warehouse_field_parser(
    name: str, choices: Mapping[str, Mapping[str, str]] | None = None
) -> Callable[[object], object]:
    """How a warehouse field's cell is read (``choices``: the import's words for the vocabularies)."""
    if name == "warehouse_code":
        return parse_code
    if name in CHOICES:
        return functools.partial(parse_choice, enum_class=CHOICES[name], words=(choices or {}).get(name))
    if name in ("latitude", "longitude"):
        return parse_float
    if name in ("county_code", "city_code", "province_code"):
        return parse_region_code
    return parse_line


def _remembered(parse: Callable[[object], object]) -> Callable[[object], object]:
    """``parse`` remembering what each cell read as without an error (``_KEYED_CELLS`` only; ``remember``'s bounds)."""
    known: dict[object, object] = {}

    def read(value: object) -> object:
        if value.__class__ not in _KEYED_CELLS:
            return parse(value)
        found = known.get(value, _NOT_READ)
        if found is _NOT_READ:
            found = parse(value)  # a CellError leaves nothing behind: each row says it
            remember(known, value, found, value)
        return found

    return read
