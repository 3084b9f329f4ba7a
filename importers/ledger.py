"""``import_ledger``: one workbook in, one transaction, every problem located by row and column.

The API and the CLI both call ``import_ledger``; it never commits. It works inside a savepoint that it
releases only for a real import without errors (or with ``skip_invalid``); a dry run or a refused file
rolls the savepoint back, so the caller's commit writes nothing.

How a workbook is read (see ``importers.columns`` for the words):
1. every sheet's header row is found by scoring its first rows against the known headers; a sheet naming
   an item and a quantity is a stock sheet, one naming warehouses only is a warehouse sheet;
2. each row is parsed cell by cell (text numbers, dates in any usual form, labels in Chinese or English,
   units), collecting every error rather than stopping at the first;
3. warehouses and new catalogue items go through the inventory services (``update_warehouse``,
   ``create_item``, and ``register_warehouses``: ``create_warehouse``'s rules in one INSERT), so they
   obey exactly the API's rules and permissions;
4. the stock lines are planned and written in bulk by ``inventory.imports`` as stocktake entries.

An unknown item is added to the catalogue when its row gives a name, a category and a unit (it gets the
row's item code, or ``X-`` and a hash of its name); otherwise the row is reported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from importers.columns import (
    CHINA_LATITUDE,
    CHINA_LONGITUDE,
    EXAMPLE_MARKERS,
    FOOTER_PREFIXES,
    SKIPPED_SHEETS,
    TOTAL_MARKERS,
    fold,
    header_key,
)
from importers.outcome import ERROR, WARNING, ImportReport, Issue, json_value
from importers.values import (
    CellError,
    canonical_unit,
    is_blank,
    parse_choice,
    parse_code,
    parse_date,
    parse_float,
    parse_number,
    parse_region_code,
    parse_text,
    unit_factor,
)
from importers.workbook import STOCK_SHEET, Column, LedgerWorkbook, SheetTable, open_ledger_workbook
from inventory.access import Actor, as_principal
from inventory.catalogue import create_item, item_key, item_names
from inventory.db import chunks
from inventory.errors import DomainError, ValidationFailed
from inventory.imports import (
    NewWarehouse,
    StockCount,
    plan_stock_counts,
    previous_import,
    record_import,
    register_warehouses,
    write_stock_counts,
)
from inventory.models import Item, Region, Warehouse
from inventory.reference import Category, ReserveType, WarehouseLevel, WarehouseStatus
from inventory.regions import names_agree, region_names
from inventory.warehouses import update_warehouse

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 2_000

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
REGION_FIELDS = ("province_name", "province_code", "city_name", "city_code", "county_name", "county_code")
# A service's field name → the ledger column to blame.
SERVICE_FIELD_COLUMNS = {
    "code": "warehouse_code",
    "name": "warehouse_name",
    "counted_quantity": "quantity",
    "county_code": "county_code",
}
CHOICES = {"reserve_type": ReserveType, "level": WarehouseLevel, "status": WarehouseStatus}


@dataclass(slots=True)
class Source:
    """Where a value was read: for error messages and the annotated workbook."""

    sheet: str
    row: int
    column: Column | None = None
    value: object = None


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
    warehouse: Warehouse | None = None


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


@dataclass
class NewItem:
    fields: dict[str, object]
    source: Source
    rows: list[LedgerRow] = field(default_factory=list)
    item: Item | None = None


def import_ledger(
    session: Session,
    data: bytes,
    *,
    file_name: str,
    actor: Actor,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate a ledger workbook and, unless ``dry_run`` or it has errors, apply it as stocktakes.

    Raises ``ValidationFailed`` (field ``file``) for a file that is not a safe, readable workbook with a
    ledger in it; every problem inside the ledger is in the returned report instead.
    """
    report = ImportReport(
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        actor=as_principal(actor).username,
    )
    earlier = previous_import(session, report.sha256)
    if earlier is not None:
        report.previous_import = {
            "import_id": earlier.id,
            "imported_at": earlier.imported_at.isoformat(),
            "actor": earlier.actor,
        }
    workbook = open_ledger_workbook(data)
    savepoint = session.begin_nested()
    try:
        _LedgerImport(session, actor, report, progress).run(workbook)
    except BaseException:
        savepoint.rollback()
        raise
    finally:
        workbook.close()  # the parsing child is stopped whatever happened
    if report.status == "imported":
        savepoint.commit()
    else:
        savepoint.rollback()
    return report


class _LedgerImport:
    """One run of the import: lookups loaded once, rows read, then services and bulk writes."""

    def __init__(self, session: Session, actor: Actor, report: ImportReport, progress: Progress | None) -> None:
        self.session = session
        self.actor = actor
        self.report = report
        self.progress = progress
        self.entries: dict[str, WarehouseEntry] = {}
        self.rows: list[LedgerRow] = []
        self.rejected: set[tuple[str, int]] = set()
        self.new_items: dict[str, NewItem] = {}
        self.items: dict[int, Item] = {}
        self.done = 0
        self.total = 0
        self.data_rows = 0
        self.registered: set[int] = set()

    # --- the whole run ------------------------------------------------------------------------

    def run(self, workbook: LedgerWorkbook) -> None:
        self._load_lookups()
        self.total = sum(table.height for table in workbook.tables)
        for name in workbook.skipped_sheets:
            if header_key(name) not in SKIPPED_SHEETS:
                self._warn(f"sheet {name!r} was not read: no ledger header found in its first rows", sheet=name)
        for table in workbook.tables:
            self._describe_table(table)
            self._read_table(workbook, table)
        workbook.close()
        self._tick(force=True)
        self._resolve_warehouses()
        self._create_items()
        counts, by_key = self._stock_counts()
        warehouses = {entry.warehouse.id: entry.warehouse for entry in self.entries.values() if entry.warehouse}
        plan = plan_stock_counts(self.session, self.actor, counts, warehouses, registered=frozenset(self.registered))
        for key, error in plan.errors:
            row = by_key[key]
            self._row_error(row, error.message, SERVICE_FIELD_COLUMNS.get(error.field or "", error.field))
        report = self.report
        report.rows = self.data_rows
        report.rows_rejected = len(self.rejected)
        report.counts.update(
            lines_created=plan.new_lines,
            lines_changed=plan.changed_lines,
            lines_unchanged=plan.unchanged,
        )
        if report.dry_run:
            report.status = "validated"
            return
        if report.has_errors and not report.skip_invalid:
            report.status = "rejected"
            return
        record = record_import(
            self.session,
            self.actor,
            file_name=report.file_name,
            sha256=report.sha256,
            skip_invalid=report.skip_invalid,
            rows=report.rows,
            rows_rejected=report.rows_rejected,
            warnings=report.warnings_total,
            **{key: report.counts.get(key, 0) for key in _RECORDED_COUNTS},
        )
        write_stock_counts(
            self.session,
            plan,
            actor=self.actor,
            reference=record.reference,
            reason=f"台账导入 ledger import {report.file_name}",
        )
        report.status = "imported"
        report.import_id = record.id
        report.reference = record.reference

    def _tick(self, force: bool = False) -> None:
        if self.progress is not None and (force or self.done % PROGRESS_EVERY == 0):
            self.progress(self.done, max(self.total, self.done))

    # --- lookups ------------------------------------------------------------------------------

    def _load_lookups(self) -> None:
        self.item_names = item_names(self.session)
        self.items = {item.id: item for item in self.session.scalars(select(Item))}
        # Held, so the identity map keeps them: the warehouse service then finds each region without a query.
        self.region_objects = list(self.session.scalars(select(Region)).unique())
        self.places = region_names(self.session)

    # --- reading ------------------------------------------------------------------------------

    def _describe_table(self, table: SheetTable) -> None:
        self.report.sheets.append(
            {
                "name": table.name,
                "kind": table.kind,
                "header_row": table.header_row,
                "columns": {name: column.header for name, column in table.columns.items()},
            }
        )
        for index, header in table.unknown_headers:
            self._warn(
                f"column {header!r} is not a ledger column and was not imported",
                sheet=table.name,
                row=table.header_row,
                column=header,
                cell=f"{Column(index, header, '').letter}{table.header_row}",
            )
        for index, header, first in table.duplicate_headers:
            self._warn(
                f"column {header!r} means the same as column {first!r}; only the first was read",
                sheet=table.name,
                row=table.header_row,
                column=header,
                cell=f"{Column(index, header, '').letter}{table.header_row}",
            )
        if table.kind == STOCK_SHEET and not ({"warehouse_code", "warehouse_name"} & set(table.columns)):
            self.report.add(
                Issue(
                    ERROR,
                    "this sheet has no warehouse column (仓库编码 or 仓库名称): its stock cannot be placed",
                    sheet=table.name,
                    row=table.header_row,
                )
            )

    def _read_table(self, workbook: LedgerWorkbook, table: SheetTable) -> None:
        columns = table.columns
        is_stock = table.kind == STOCK_SHEET
        # In a stock sheet 备注 is a remark on the line, not the warehouse's notes: not imported.
        warehouse_columns = [
            c
            for name, c in columns.items()
            if (name in WAREHOUSE_FIELDS or name in REGION_FIELDS) and not (is_stock and name == "notes")
        ]
        warehouse_columns += [columns[name] for name in ("warehouse_code",) if name in columns]
        identity = [columns[name].index for name in ("warehouse_code", "warehouse_name") if name in columns]
        warehouse_indexes = [column.index for column in warehouse_columns]
        mapped_indexes = sorted({column.index for column in columns.values()})
        if is_stock and not identity:
            return
        last_raw: tuple | None = None
        last_entry: WarehouseEntry | None = None
        for number, cells in workbook.rows(table):
            self.done += 1
            self._tick()
            width = len(cells)
            filled = _first_filled(cells)
            if not filled or not any(not is_blank(cells[i]) for i in mapped_indexes if i < width):
                continue
            if self._skippable(table, number, filled):
                continue
            self.data_rows += 1
            raw = tuple(cells[i] if i < width else "" for i in warehouse_indexes)
            if raw == last_raw:
                entry = last_entry
            elif all(is_blank(cells[i]) for i in identity if i < width) and last_entry is not None and is_stock:
                entry = last_entry  # warehouse cells left blank under the first row of a group: same warehouse
            else:
                entry = self._warehouse_row(table, number, dict(zip(warehouse_columns, raw, strict=True)))
                last_raw, last_entry = raw, entry
            if is_stock:
                self._stock_row(table, number, cells, entry)

    def _skippable(self, table: SheetTable, number: int, filled: list) -> bool:
        """Totals, notes under the table, the template's example and one-cell headings are not ledger rows.

        ``filled`` holds the row's first few non-blank cells.
        """
        texts = [header_key(value) for value in filled[:3] if isinstance(value, str)]
        if any(text in TOTAL_MARKERS or text.startswith(("合计", "总计", "小计")) for text in texts):
            return True
        if texts and texts[0] in EXAMPLE_MARKERS:
            return True
        first = fold(str(filled[0])) if filled else ""
        if len(filled) <= 2 and isinstance(filled[0], str) and first.startswith(FOOTER_PREFIXES):
            return True
        if len(filled) == 1:
            self._warn(
                f"row holds only {json_value(filled[0])!r}: read as a heading, not imported",
                sheet=table.name,
                row=number,
            )
            return True
        return False

    def _warehouse_row(self, table: SheetTable, number: int, raw: dict[Column, object]) -> WarehouseEntry | None:
        """Parse the warehouse cells of a row and merge them into the warehouse's entry."""
        values: dict[str, object] = {}
        sources: dict[str, Source] = {}
        failed = False
        for column, value in raw.items():
            if is_blank(value):
                continue
            try:
                values[column.field] = _parse_warehouse_field(column.field, value)
            except CellError as error:
                self._cell_error(table, number, column, value, str(error))
                failed = True
                continue
            sources[column.field] = Source(table.name, number, column, value)
        code = str(values.get("warehouse_code", ""))
        name = str(values.get("warehouse_name", ""))
        if not code and not name:
            column = table.columns.get("warehouse_code") or table.columns.get("warehouse_name")
            self._cell_error(table, number, column, None, "the warehouse is not named: give its code (仓库编码)")
            return None
        key = f"code:{code}" if code else f"name:{fold(name)}"
        entry = self.entries.get(key)
        if entry is None:
            entry = WarehouseEntry(key=key, code=code, first=Source(table.name, number))
            self.entries[key] = entry
        for name_, value in values.items():
            known = entry.fields.get(name_)
            if known is None:
                entry.fields[name_] = value
                entry.sources[name_] = sources[name_]
            elif not _same(known, value):
                first = entry.sources[name_]
                self._cell_error(
                    table,
                    number,
                    sources[name_].column,
                    sources[name_].value,
                    f"differs from {json_value(first.value)!r} given for this warehouse "
                    f"in {first.sheet} row {first.row}",
                )
                failed = True
        if failed and entry.error is None:
            entry.error = f"warehouse {code or name} has errors (see {table.name} row {number})"
        return entry

    def _stock_row(self, table: SheetTable, number: int, cells: list, entry: WarehouseEntry | None) -> None:
        columns = table.columns
        width = len(cells)

        def cell(name: str) -> object:
            column = columns.get(name)
            return cells[column.index] if column is not None and column.index < width else ""

        errors_before = self.report.errors_total
        item, new_item_key = self._item_for(table, number, cell)
        quantity = Decimal(0)
        quantity_column = columns.get("quantity")
        raw_quantity = cell("quantity")
        written_unit = ""
        if is_blank(raw_quantity):
            self._cell_error(table, number, quantity_column, None, "the quantity is missing (write 0 for none)")
        else:
            try:
                quantity, written_unit = parse_number(raw_quantity)
                if quantity < 0:
                    raise CellError("a quantity cannot be negative")
            except CellError as error:
                self._cell_error(table, number, quantity_column, raw_quantity, str(error))
        unit_text = parse_text(cell("unit")) or written_unit or (quantity_column.unit if quantity_column else "")
        if item is not None and unit_text:
            factor = unit_factor(unit_text, item.unit)
            if factor is None:
                self._cell_error(
                    table,
                    number,
                    columns.get("unit") or quantity_column,
                    unit_text,
                    f"unit {unit_text!r} does not convert to {item.unit!r}, the catalogue unit of {item.name}",
                )
            elif factor != 1:
                quantity = quantity * factor
        dates: dict[str, dt.date | None] = {}
        for name in ("production_date", "expiry_date"):
            value = cell(name)
            try:
                dates[name] = parse_date(value)
            except CellError as error:
                self._cell_error(table, number, columns.get(name), value, str(error))
                dates[name] = None
        row = LedgerRow(
            table=table,
            row=number,
            entry=entry,
            item=item,
            new_item_key=new_item_key,
            quantity=quantity,
            batch=parse_text(cell("batch")),
            production_date=dates["production_date"],
            expiry_date=dates["expiry_date"],
            failed=self.report.errors_total > errors_before or entry is None,
        )
        self.rows.append(row)
        if entry is not None:
            entry.rows.append(row)
        if new_item_key is not None:
            self.new_items[new_item_key].rows.append(row)

    def _catalogue_item(self, text: str | None) -> Item | None:
        """The one catalogue item ``text`` names (code, name or alias; catalogue.ItemNames decides)."""
        found = self.item_names.candidates(text) if text else []
        return self.items.get(found[0].id) if len(found) == 1 else None

    def _item_for(
        self, table: SheetTable, number: int, cell: Callable[[str], object]
    ) -> tuple[Item | None, str | None]:
        """The catalogue item a row names by code, name or alias; or the key of an item to add."""
        code, name = parse_code(cell("item_code")), parse_text(cell("item_name"))
        by_code = self._catalogue_item(code)
        by_name = self._catalogue_item(name)
        if by_code is None and by_name is None and len(self.item_names.candidates(name or "")) > 1:
            try:
                self.item_names.resolve(name, "item_name")
            except ValidationFailed as several:  # a name several catalogue items share
                self._cell_error(table, number, table.columns.get("item_name"), name, several.message)
                return None, None
        item = by_code or by_name
        if item is not None:
            if code and name and by_code is not by_name:
                said = f"the code {code} is {by_code.name}" if by_code else f"the code {code} is not in the catalogue"
                self._warn(
                    f"{said} but the name says {name!r}; {item.code} {item.name} was used",
                    sheet=table.name,
                    row=number,
                    column=table.columns["item_name"].header,
                    value=name,
                )
            return item, None
        column = table.columns.get("item_code") if code else table.columns.get("item_name")
        if not code and not name:
            self._cell_error(table, number, table.columns.get("item_name") or column, None, "the item is missing")
            return None, None
        category, unit = cell("category"), parse_text(cell("unit"))
        if not name or is_blank(category) or not unit:
            self._cell_error(
                table,
                number,
                column,
                code or name,
                f"unknown item {code or name!r}: use a catalogue code, name or alias, or give its name, "
                "category (物资类别) and unit (计量单位) to add it to the catalogue",
            )
            return None, None
        key = item_key(name)
        if key not in self.new_items:
            try:
                category_code = parse_choice(category, Category)
            except CellError as error:
                self._cell_error(table, number, table.columns.get("category"), category, str(error))
                return None, None
            canonical = canonical_unit(unit)
            self.new_items[key] = NewItem(
                fields={
                    "code": code or "X-" + hashlib.sha256(key.encode()).hexdigest()[:8].upper(),
                    "name": name,
                    "category": category_code,
                    "unit": "个" if canonical == "pcs" else canonical,
                    "specification": parse_text(cell("specification")),
                },
                source=Source(table.name, number, column, code or name),
            )
        return None, key

    # --- warehouses and items through the services --------------------------------------------

    def _resolve_warehouses(self) -> None:
        codes = [entry.code for entry in self.entries.values() if entry.code]
        names = [str(entry.fields.get("warehouse_name")) for entry in self.entries.values() if not entry.code]
        existing: dict[str, Warehouse] = {}
        for chunk in chunks(codes):
            existing.update(
                (w.code, w) for w in self.session.scalars(select(Warehouse).where(Warehouse.code.in_(chunk)))
            )
        by_name: dict[str, list[Warehouse]] = {}
        for chunk in chunks(names):
            for warehouse in self.session.scalars(select(Warehouse).where(Warehouse.name.in_(chunk))):
                by_name.setdefault(fold(warehouse.name), []).append(warehouse)
        updated = 0
        pending: list[NewWarehouse] = []
        for entry in self.entries.values():
            if entry.error is not None:
                continue
            try:
                warehouse = existing.get(entry.code) if entry.code else self._by_name(entry, by_name)
                fields = self._service_fields(entry, new=warehouse is None)
                if warehouse is None:
                    if not entry.code:
                        raise DomainError(
                            f"warehouse {entry.fields.get('warehouse_name')!r} is not registered: give its code "
                            "(仓库编码) to register it",
                            field="code",
                        )
                    pending.append(NewWarehouse(key=entry.key, code=entry.code, fields=fields))
                    continue
                changes = {name: value for name, value in fields.items() if not _same(getattr(warehouse, name), value)}
                if changes:
                    with self.session.begin_nested():  # a refused update leaves no half-changed object behind
                        warehouse = update_warehouse(self.session, self.actor, warehouse.code, **changes)
                    updated += 1
                entry.warehouse = warehouse
                self._check_coordinate(entry, warehouse)
            except DomainError as error:
                self._entry_error(entry, error)
        registered, refused = register_warehouses(self.session, self.actor, pending)
        for key, warehouse in registered.items():
            entry = self.entries[str(key)]
            entry.warehouse = warehouse
            self.registered.add(warehouse.id)
            self._check_coordinate(entry, warehouse)
        for key, error in refused:
            self._entry_error(self.entries[str(key)], error)
        for entry in self.entries.values():
            if entry.error is not None:
                for row in entry.rows:
                    if (row.table.name, row.row) in self.rejected:
                        row.failed = True
                    elif not row.failed:
                        self._row_error(row, entry.error, "warehouse_code")
        self.report.counts.update(warehouses_created=len(registered), warehouses_updated=updated)

    def _by_name(self, entry: WarehouseEntry, by_name: dict[str, list[Warehouse]]) -> Warehouse | None:
        found = by_name.get(fold(str(entry.fields.get("warehouse_name", ""))), [])
        if len(found) > 1:
            raise DomainError(
                f"{len(found)} warehouses are called {entry.fields.get('warehouse_name')!r}: give the code (仓库编码)",
                field="name",
            )
        if found:
            entry.code = found[0].code
        return found[0] if found else None

    def _service_fields(self, entry: WarehouseEntry, *, new: bool) -> dict[str, object]:
        """The keyword arguments for create/update_warehouse; the region from codes or names."""
        fields = {WAREHOUSE_FIELDS[name]: value for name, value in entry.fields.items() if name in WAREHOUSE_FIELDS}
        county = self._county_code(entry)
        if county:
            fields["county_code"] = county
            if (
                county not in self.places.by_code
            ):  # said first: without it no county centre can stand in for coordinates
                raise ValidationFailed(f"unknown region code {county!r}", field="county_code")
        if new:
            if "level" not in fields:
                fields["level"] = WarehouseLevel.COUNTY.value
                self._warn(
                    f"warehouse {entry.code}: no level (仓库级别) given; registered as county level (县级)",
                    sheet=entry.first.sheet,
                    row=entry.first.row,
                )
            if ("latitude" not in fields or "longitude" not in fields) and county in self.places.by_code:
                place = self.places.by_code[county]
                fields.setdefault("latitude", place.latitude)
                fields.setdefault("longitude", place.longitude)
                self._warn(
                    f"warehouse {entry.code}: no coordinates given; the centre of {place.name} was used",
                    sheet=entry.first.sheet,
                    row=entry.first.row,
                )
        return fields

    def _county_code(self, entry: WarehouseEntry) -> str:
        """The county-level code: given, or found from the province / city / county names."""
        given = entry.fields
        code = str(given.get("county_code") or "")
        county_name = str(given.get("county_name") or "")
        if code:
            if (
                county_name
                and code in self.places.by_code
                and not names_agree(county_name, self.places.by_code[code].name)
            ):
                source = entry.sources["county_name"]
                self._warn(
                    f"county code {code} is {self.places.by_code[code].name}, not {county_name!r}; the code was used",
                    sheet=source.sheet,
                    row=source.row,
                    column=source.column.header if source.column else None,
                    value=county_name,
                )
            return code
        city_name = str(given.get("city_name") or "")
        if not county_name and not city_name:
            return ""
        province_name = str(given.get("province_name") or "")
        candidates = self.places.places_named(
            county_name,
            city_name,
            province_name,
            city_code=str(given.get("city_code") or ""),
            province_code=str(given.get("province_code") or ""),
        )
        field_name = "county_name" if county_name else "city_name"
        if len(candidates) == 1:
            return candidates[0]
        words = " ".join(filter(None, (province_name, city_name, county_name)))
        problem = "no county-level unit is called" if not candidates else f"{len(candidates)} places are called"
        raise DomainError(
            f"{problem} {words!r}: give the county code (区县代码), or the province and city names", field=field_name
        )

    def _check_coordinate(self, entry: WarehouseEntry, warehouse: Warehouse) -> None:
        latitude, longitude = warehouse.latitude, warehouse.longitude
        if CHINA_LATITUDE[0] <= latitude <= CHINA_LATITUDE[1] and CHINA_LONGITUDE[0] <= longitude <= CHINA_LONGITUDE[1]:
            return
        source = entry.sources.get("latitude") or entry.first
        hint = " (latitude and longitude look swapped)" if CHINA_LATITUDE[0] <= longitude <= CHINA_LATITUDE[1] else ""
        self._warn(
            f"warehouse {warehouse.code} at ({latitude}, {longitude}) is outside China{hint}",
            sheet=source.sheet,
            row=source.row,
            column=source.column.header if source.column else None,
            value=latitude,
        )

    def _create_items(self) -> None:
        created = 0
        for new in self.new_items.values():
            try:
                with self.session.begin_nested():
                    new.item = create_item(self.session, self.actor, **new.fields)
                created += 1
                self._warn(
                    f"item {new.fields['name']!r} was not in the catalogue: added as {new.fields['code']}",
                    sheet=new.source.sheet,
                    row=new.source.row,
                    column=new.source.column.header if new.source.column else None,
                )
            except DomainError as error:
                message = f"item {new.fields['name']!r} cannot be added to the catalogue: {error.message}"
                for row in new.rows:
                    self._row_error(row, message, "item_name")
                continue
            for row in new.rows:
                row.item = new.item
        self.report.counts["items_created"] = created

    def _stock_counts(self) -> tuple[list[StockCount], dict[int, LedgerRow]]:
        counts: list[StockCount] = []
        by_key: dict[int, LedgerRow] = {}
        first_row: dict[tuple[int, int, str], LedgerRow] = {}
        for index, row in enumerate(self.rows):
            if row.failed or row.item is None or row.entry is None or row.entry.warehouse is None:
                continue
            key = (row.entry.warehouse.id, row.item.id, row.batch)
            if key in first_row:
                earlier = first_row[key]
                self._row_error(
                    row,
                    f"{row.item.name} batch {row.batch or '(none)'} of {row.entry.warehouse.code} is already counted "
                    f"in {earlier.table.name} row {earlier.row}",
                    "batch" if "batch" in row.table.columns else "item_name",
                )
                continue
            first_row[key] = row
            by_key[index] = row
            counts.append(
                StockCount(
                    key=index,
                    warehouse_id=row.entry.warehouse.id,
                    item_id=row.item.id,
                    batch=row.batch,
                    counted=row.quantity,
                    production_date=row.production_date,
                    expiry_date=row.expiry_date,
                )
            )
        return counts, by_key

    # --- reporting ----------------------------------------------------------------------------

    def _warn(self, message: str, **where: object) -> None:
        self.report.add(Issue(WARNING, message, **where))  # type: ignore[arg-type]

    def _cell_error(self, table: SheetTable, number: int, column: Column | None, value: object, message: str) -> None:
        self.rejected.add((table.name, number))
        self.report.add(
            Issue(
                ERROR,
                message,
                sheet=table.name,
                row=number,
                column=column.header if column else None,
                cell=f"{column.letter}{number}" if column else None,
                field=column.field if column else None,
                value=json_value(value),
            )
        )

    def _row_error(self, row: LedgerRow, message: str, field_name: str | None) -> None:
        row.failed = True
        column = row.table.columns.get(field_name or "")
        if column is None and field_name == "county_code":
            column = row.table.columns.get("county_name")
        self._cell_error(row.table, row.row, column, _row_value(row, field_name), message)

    def _entry_error(self, entry: WarehouseEntry, error: DomainError) -> None:
        field_name = SERVICE_FIELD_COLUMNS.get(error.field or "", error.field or "")
        if field_name == "county_code" and "county_code" not in entry.sources:
            field_name = "county_name" if "county_name" in entry.sources else "city_name"
        source = entry.sources.get(field_name) or entry.sources.get("warehouse_code") or entry.first
        self.rejected.add((source.sheet, source.row))
        self.report.add(
            Issue(
                ERROR,
                f"warehouse {entry.code or entry.fields.get('warehouse_name')}: {error.message}",
                sheet=source.sheet,
                row=source.row,
                column=source.column.header if source.column else None,
                cell=f"{source.column.letter}{source.row}" if source.column else None,
                field=field_name or None,
                value=json_value(source.value),
            )
        )
        entry.error = f"warehouse {entry.code or entry.fields.get('warehouse_name')} was refused: {error.message}"


_RECORDED_COUNTS = (
    "warehouses_created",
    "warehouses_updated",
    "items_created",
    "lines_created",
    "lines_changed",
    "lines_unchanged",
)


def _first_filled(cells: list, wanted: int = 4) -> list:
    """The first ``wanted`` non-blank cells of a row: enough to tell totals, notes and headings apart."""
    filled = []
    for value in cells:
        if value != "" and value is not None and not (value.__class__ is str and value.isspace()):
            filled.append(value)
            if len(filled) == wanted:
                break
    return filled


def _row_value(row: LedgerRow, field_name: str | None) -> object:
    """The parsed value a row-level error is about (cells are not kept per row, to save memory)."""
    if field_name == "quantity":
        return row.quantity
    if field_name in ("batch", "production_date", "expiry_date"):
        return getattr(row, field_name)
    if field_name in ("warehouse_code", "warehouse_name") and row.entry is not None:
        return row.entry.code or row.entry.fields.get("warehouse_name")
    if field_name in ("item_name", "item_code") and row.item is not None:
        return row.item.code if field_name == "item_code" else row.item.name
    return None


def _parse_warehouse_field(name: str, value: object) -> object:
    if name == "warehouse_code":
        return parse_code(value)
    if name in CHOICES:
        return parse_choice(value, CHOICES[name])
    if name in ("latitude", "longitude"):
        return parse_float(value)
    if name in ("county_code", "city_code", "province_code"):
        return parse_region_code(value)
    return parse_text(value)


def _same(current: object, given: object) -> bool:
    """Whether a stored value equals a value read from the file (enums by code, floats to 1e-7 degrees)."""
    if isinstance(current, float) or isinstance(given, float):
        try:
            return abs(float(current) - float(given)) < 1e-7  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    current = getattr(current, "value", current)
    return (current or "") == (given or "")
