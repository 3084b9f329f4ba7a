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

Step 2 is ``importers.rows`` (cells to typed values); warehouses are found, updated or registered with
defaults by ``inventory.registration.find_or_register_warehouses``; this module calls the services in
order and words what they say as located issues (``importers.outcome.IssueLog``).

An unknown item is added to the catalogue when its row gives a name, a category and a unit (it gets the
row's item code, or ``X-`` and a hash of its name); otherwise the row is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from importers.columns import CHINA_LATITUDE, CHINA_LONGITUDE, COLUMNS_BY_FIELD, checked_mapping
from importers.limits import MAX_NEW_ITEMS
from importers.outcome import MAX_LISTED_ISSUES, ImportReport, IssueLog, json_value
from importers.rows import REGION_FIELDS, WAREHOUSE_FIELDS, LedgerReader, LedgerRow, WarehouseEntry, row_error
from importers.workbook import AheadUndone, HeaderMapping, LedgerWorkbook, open_ledger_workbook
from inventory.access import Actor, as_principal
from inventory.catalogue import ItemNames, create_item, item_key, item_names
from inventory.db import without_cycle_collection
from inventory.errors import DomainError
from inventory.import_profiles import get_profile, list_profiles, save_profile
from inventory.import_review import DETAIL_CONFLICT, NEW_ITEM, NEW_WAREHOUSE, UNIT_VARIANT, record_review
from inventory.imports import StockCount, plan_stock_counts, previous_import, record_import, write_stock_counts
from inventory.models import Item, LedgerImport, Region, Warehouse
from inventory.regions import PlaceGiven, region_names
from inventory.registration import (
    WarehouseOutcome,
    WarehouseResolution,
    WarehouseWanted,
    find_or_register_warehouses,
)
from inventory.system_texts import LEDGER_IMPORT
from inventory.unit_variants import factor_to_item, hold_item_units, unit_variant_for
from inventory.units import in_item_unit
from inventory.validation import check_text, text_limit
from inventory.vocabulary import reserve_type_words

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 2_000

# A service's field name → the ledger column to blame.
SERVICE_FIELD_COLUMNS = {
    "code": "warehouse_code",
    "name": "warehouse_name",
    "counted_quantity": "quantity",
    "county_code": "county_code",
}
# The catalogue service's fields, by the ledger column that gives them.
ITEM_FIELD_COLUMNS = {"code": "item_code", "name": "item_name", "specification": "specification", "unit": "unit"}


def _in_column_words(error: DomainError, field_name: str) -> str:
    """A service's message about one of its fields, in the ledger's words: the field named by its column header
    (``name is longer than 200 characters`` → ``仓库名称 is longer …``: ``DomainError.said_of``), a required one
    with where to give it."""
    spec = COLUMNS_BY_FIELD.get(field_name)
    if spec is None:
        return error.message
    if error.missing:
        return f"nothing given for {spec.zh}: fill in its column, or write {spec.zh}：… above the table"
    return error.said_of(spec.zh)


_RECORDED_COUNTS = (
    "warehouses_created",
    "warehouses_updated",
    "items_created",
    "lines_created",
    "lines_changed",
    "lines_unchanged",
)


def import_ledger(
    session: Session,
    data: bytes,
    *,
    file_name: str,
    actor: Actor,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    column_map: dict[str, str] | None = None,
    profile: str | None = None,
) -> ImportReport:
    """Validate a ledger workbook and, unless ``dry_run`` or it has errors, apply it as stocktakes.

    ``column_map`` (header as written → field, or ``ignore``) says what unknown columns hold; with ``profile``
    it is also saved under that name, and ``profile`` alone applies a saved one. Without either, a saved
    profile made for a sheet's header row applies by itself.

    Raises ``ValidationFailed`` (field ``file``) for a file that is not a safe, readable workbook with a
    ledger in it (``map`` or ``profile`` for a bad mapping); every problem inside the ledger is in the
    returned report instead.
    """
    # The name is stored and shown: it obeys the rules of every other text (no control characters).
    file_name = check_text(file_name, "file", max_length=text_limit(LedgerImport.file_name), required=True)
    fingerprint = _Fingerprint(session, data)
    username = as_principal(actor).username  # before the child starts: nothing raises between it and its ``try``
    explicit = checked_mapping(column_map or {})
    if profile and not explicit:
        explicit = get_profile(session, profile).mapping
    mapping = HeaderMapping(explicit=explicit, profiles=() if explicit else tuple(list_profiles(session)))
    lookups = _Lookups(session)
    # A large file is hashed and its lookups loaded while the parsing child scans and loads it (the importer
    # only waits then), and its warehouses are read and registered ahead while the child loads the stock sheet;
    # a small file opens in less time than they take, and may well be refused.
    large = len(data) >= LOAD_WHILE_OPENING_FROM
    if not large:
        fingerprint.take()

    def while_opening() -> None:
        fingerprint.take()
        if not lookups.loaded:
            lookups.load_while_opening()

    workbook = open_ledger_workbook(data, mapping, meanwhile=while_opening if large else None, warehouses_ahead=large)
    try:
        while True:  # twice at most: a workbook read in order is never undone
            report = ImportReport(
                file_name=file_name,
                sha256=fingerprint.sha256,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                actor=username,
            )
            if (earlier := fingerprint.earlier) is not None:
                report.previous_import = {
                    "import_id": earlier.id,
                    "imported_at": earlier.imported_at.isoformat(),
                    "actor": earlier.actor,
                }
            savepoint = session.begin_nested()
            try:
                with without_cycle_collection():  # after the fork: the parsing child keeps its collector
                    _LedgerImport(session, actor, report, progress, lookups).run(workbook)
            except AheadUndone:
                savepoint.rollback()
                # read again from the start, in the workbook's order: from the same parse if the child undid
                # the reading ahead, else (the importer did) from the file opened again, in what is left of the wait
                if not workbook.read_in_order():
                    workbook.close()
                    workbook = open_ledger_workbook(data, mapping, waited=workbook.child.waited)
                continue
            except BaseException:
                savepoint.rollback()
                raise
            break
    finally:
        workbook.close()  # the parsing child is stopped whatever happened
    report.put_in_row_order()
    if report.status == "imported":
        savepoint.commit()
    else:
        savepoint.rollback()
    if profile and column_map:  # saved whatever became of the rows: the mapping is what the person chose
        signatures = [sheet["signature"] for sheet in report.sheets]
        save_profile(session, actor, profile, explicit, signatures)
        report.profile_saved = profile
    return report


# From this many warehouses named in a file, and stored, on, holding every region object pays (``_Lookups``).
HOLD_REGIONS_FROM = 500
# From this size on, a file takes the parsing child longer to open (0.15 s a MiB) than the lookups take to load.
LOAD_WHILE_OPENING_FROM = 1 << 20


class _Fingerprint:
    """The upload's sha256, and the import of the same bytes before if any: taken once (``take``), while a large
    file opens (hashing 14 MiB takes ~0.04 s the parsing child need not wait for)."""

    def __init__(self, session: Session, data: bytes) -> None:
        self.session = session
        self.data = data
        self.sha256 = ""
        self.earlier: LedgerImport | None = None

    def take(self) -> None:
        if not self.sha256:
            self.sha256 = hashlib.sha256(self.data).hexdigest()
            self.earlier = previous_import(self.session, self.sha256)


class _Lookups:
    """What reading and registering look up whatever the file holds: the catalogue, its names, the reserve-type
    words, this worker's region names, and (for many warehouses) every region object."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.loaded = False
        self.regions: list[Region] | None = None
        self.stored: int | None = None  # warehouses in the database, once counted

    def load(self) -> None:
        session = self.session
        self.items: dict[int, Item] = {item.id: item for item in session.scalars(select(Item))}
        self.item_names: ItemNames = item_names(session)
        self.reserve_type_words: dict[str, str] = reserve_type_words(session)
        region_names(session)  # this worker's copy, read once, for registering
        self.loaded = True

    def load_while_opening(self) -> None:
        """``load``, and the regions held if the database has many warehouses (a large file names many)."""
        self.load()
        self.hold_regions()

    def hold_regions(self) -> None:
        """Every region object held, so the identity map keeps them: each stored warehouse loaded with its county
        joined in then finds its region there instead of building it again. Only where many are stored: loading
        all 3,219 costs ~0.03-0.1 s, and warehouses registered anew are loaded without their county."""
        if self.stored is None:
            self.stored = self.session.scalar(select(func.count()).select_from(Warehouse)) or 0
            if self.stored >= HOLD_REGIONS_FROM:
                self.regions = list(self.session.scalars(select(Region)).unique())


class _LedgerImport:
    """One run of the import: rows read, then warehouses, items and stock through the services, then reported."""

    def __init__(
        self, session: Session, actor: Actor, report: ImportReport, progress: Progress | None, lookups: _Lookups
    ) -> None:
        self.session = session
        self.lookups = lookups
        self.actor = actor
        self.report = report
        self.log = IssueLog(report)
        self.progress = progress
        self.done = 0
        self.total = 0
        self.code_made: set[int] = set()  # warehouses registered under a code made for them

    def run(self, workbook: LedgerWorkbook) -> None:
        lookups = self.lookups
        if not lookups.loaded:
            lookups.load()
        reader = LedgerReader(
            self.log,
            lookups.item_names,
            lookups.items,
            self._row_read,
            lookups.reserve_type_words,
            region_names(self.session),
        )
        try:
            self._apply(reader, workbook)
        finally:
            # Each warehouse entry lists its rows and each row names its entry: unlinked here, the 126,000 rows,
            # their entries and sources are freed at once by reference counting, not by a collection walking
            # them after ``import_ledger`` switches the collector back on (~0.2 s).
            for entry in reader.entries.values():
                entry.rows = []

    def _apply(self, reader: LedgerReader, workbook: LedgerWorkbook) -> None:
        """Read every row, then register, plan, write and record."""
        ahead = self._register_ahead(reader, workbook) if workbook.ahead is not None else None
        self.total = sum(table.height for table in workbook.tables)
        reader.read(workbook, ahead_read=ahead is not None)
        workbook.close()
        self._tick(force=True)
        if len(reader.entries) >= HOLD_REGIONS_FROM:
            # more than a small file's warehouses save (the hostile-file and fuzz tests import hundreds of them)
            self.lookups.hold_regions()
        registered = self._resolve_warehouses(reader.entries, ahead)
        self.registered = registered
        self._create_items(reader)
        counts = self._stock_counts(reader.rows)
        warehouses = {entry.warehouse.id: entry.warehouse for entry in reader.entries.values() if entry.warehouse}
        plan = plan_stock_counts(self.session, self.actor, counts, warehouses, registered=frozenset(registered))
        for key, error in plan.errors:
            row_error(
                self.log, reader.rows[key], error.message, SERVICE_FIELD_COLUMNS.get(error.field or "", error.field)
            )
        report = self.report
        report.rows = reader.data_rows
        report.rows_rejected = len(self.log.rejected)
        report.counts.update(
            lines_created=plan.new_lines,
            lines_changed=plan.changed_lines,
            lines_unchanged=plan.unchanged,
        )
        if report.dry_run:
            report.status = "validated"
            return
        if report.refused:
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
            reason=LEDGER_IMPORT.text(file=report.file_name),
        )
        self._gather_review(reader)
        sheets = {name: place for place, name in enumerate(dict.fromkeys(row.table.name for row in reader.rows))}
        for entry in report.review.values():  # each entry's rows in the file's order, as the report lists them
            entry.rows.sort(key=lambda where: (sheets.get(where[0], len(sheets)), where[1]))
        record_review(self.session, record.id, list(report.review.values()))
        report.status = "imported"
        report.import_id = record.id
        report.reference = record.reference

    def _gather_review(self, reader: LedgerReader) -> None:
        """The warehouses registered, the items added and the details that differed, with their rows."""
        for entry in reader.entries.values():
            warehouse = entry.warehouse
            if warehouse is None:
                continue
            if warehouse.id in self.registered:  # its rows listed only then (a re-import registers none)
                rows = [(row.table.name, row.row) for row in entry.rows if not row.failed] or [
                    (entry.first.sheet, entry.first.row)
                ]
                # by the warehouse, not the entry: rows naming it only by name may share a code another row gives
                how = "a code made for it" if warehouse.id in self.code_made else "the code in the file"
                self.log.review_rows(NEW_WAREHOUSE, warehouse.code, f"{warehouse.name}: registered with {how}", rows)
            for name, source in entry.conflicts:
                first = entry.sources[name]
                detail = (
                    f"{warehouse.name} {source.column.header if source.column else name}: "
                    f"'{json_value(first.value)}' kept, '{json_value(source.value)}' also given"
                )
                self.log.review(DETAIL_CONFLICT, warehouse.code, detail, source.sheet, source.row)
        for new in reader.new_items.values():
            if new.item is not None:
                # a category inferred from the name says what to confirm; else what was added
                detail = (
                    new.review
                    or f"{new.item.name}: added to the catalogue ({new.item.category.label_zh}, {new.item.unit})"
                )
                for row in new.rows:
                    if not row.failed:
                        self.log.review(NEW_ITEM, new.item.code, detail, row.table.name, row.row)
        items = reader.item_cells.items
        for (item_id, unit), rows in reader.unit_variants.items():
            base = items[item_id]
            for row in rows:
                if not row.failed and row.item is not None:
                    detail = (
                        f"'{unit}' does not convert to the unit '{base.unit}' of {base.code} {base.name}: the stock "
                        f"is kept apart in '{unit}'; set the factor (1 {unit} = ? {base.unit}) to merge it"
                    )
                    self.log.review(UNIT_VARIANT, row.item.code, detail, row.table.name, row.row)

    def _row_read(self) -> None:
        self.done += 1
        self._tick()

    def _tick(self, force: bool = False) -> None:
        if self.progress is not None and (force or self.done % PROGRESS_EVERY == 0):
            self.progress(self.done, max(self.total, self.done))

    # --- warehouses ---------------------------------------------------------------------------

    def _register_ahead(self, reader: LedgerReader, workbook: LedgerWorkbook) -> _RegisteredAhead:
        """The warehouse table read ahead (``open_ledger_workbook``): its rows read, and its warehouses found or
        registered in a savepoint, while the parsing child loads the other sheets; then every table received.

        Kept only if the whole file wants exactly these warehouses (``_resolve_warehouses``): the registration
        is then the one reading every row first would have made. Raises ``AheadUndone`` where the report
        could differ: the table is not the first after all, or the issues listed are full before the sheets
        skipped are noted (they are noted first otherwise)."""
        progress, self.progress = self.progress, None  # no tick before the total is known: a bar takes the first
        try:
            reader.read_table(workbook, workbook.ahead)
        finally:
            self.progress = progress
        if len(reader.entries) >= HOLD_REGIONS_FROM:
            self.lookups.hold_regions()
        wanted = _all_wanted(reader.entries)
        savepoint = self.session.begin_nested()
        resolution = find_or_register_warehouses(self.session, self.actor, wanted, region_names(self.session))
        described = [(entry, entry.code, dict(entry.fields)) for entry in reader.entries.values() if entry.wanted]
        workbook.receive_tables()
        report = self.report
        # Read in order, the sheets skipped and in transit are noted before any table's issues: the lists kept
        # (``MAX_LISTED_ISSUES``) differ as soon as the two together overflow one.
        if (
            len(report.warnings) + len(workbook.sheets_without_table()) > MAX_LISTED_ISSUES
            or len(report.notes) + len(workbook.in_transit_sheets) > MAX_LISTED_ISSUES
        ):
            raise AheadUndone(workbook.ahead.name if workbook.ahead else "")
        return _RegisteredAhead(described, resolution, savepoint)

    def _resolve_warehouses(self, entries: dict[str, WarehouseEntry], ahead: _RegisteredAhead | None) -> set[int]:
        """Find, update or register every warehouse the file names; the ids of those registered."""
        if ahead is not None and ahead.still_wanted(entries):
            ahead.savepoint.commit()
            resolution = ahead.resolution
        else:
            if ahead is not None:  # the stock rows named more warehouses, or said more of them: register anew
                ahead.savepoint.rollback()
                # Registered by a Core insert and loaded, they are not expired by the rollback; SQLite gives
                # their ids again, and the new registration's load would find them with the values read ahead.
                for outcome in ahead.resolution.registered:
                    if outcome.warehouse in self.session:
                        self.session.expunge(outcome.warehouse)
            wanted = _all_wanted(entries)
            resolution = find_or_register_warehouses(self.session, self.actor, wanted, region_names(self.session))
        refused = {str(outcome.key) for outcome in resolution.refused}
        for outcome in resolution.outcomes:
            entry = entries[str(outcome.key)]
            failed = str(outcome.key) in refused or outcome.error is not None
            if not (failed and outcome.generated):  # a code generated for a warehouse never registered names nothing
                entry.code = outcome.code
            self._report_defaults(entry, outcome, refused=failed)
            if outcome.new:
                continue  # registered or refused below, in bulk
            if outcome.error is not None:
                self._entry_error(entry, outcome.error)
            else:
                entry.warehouse = outcome.warehouse
                self._check_coordinate(entry, outcome.warehouse)
        for outcome in resolution.registered:
            entry = entries[str(outcome.key)]
            entry.warehouse = outcome.warehouse
            self._check_coordinate(entry, outcome.warehouse)
        for outcome in resolution.refused:
            self._entry_error(entries[str(outcome.key)], outcome.error)
        self._reject_rows_of_refused(entries)
        self.report.counts.update(warehouses_created=len(resolution.registered), warehouses_updated=resolution.updated)
        self.code_made = {outcome.warehouse.id for outcome in resolution.registered if outcome.generated}
        return {outcome.warehouse.id for outcome in resolution.registered}

    def _report_defaults(self, entry: WarehouseEntry, outcome: WarehouseOutcome, refused: bool = False) -> None:
        """Warn about a county name the code contradicts, and (unless it was ``refused``) about what registration
        filled in."""
        if outcome.county_named is not None:
            county_name = entry.fields["county_name"]
            self.log.warn_at(
                entry.sources["county_name"],
                f"county code {entry.fields['county_code']} is {outcome.county_named}, not {county_name!r}; "
                "the code was used",
                value=county_name,
            )
        if refused:
            return
        if outcome.generated:
            self.log.warn(
                f"warehouse '{entry.fields.get('warehouse_name')}' has no code and is not registered: registered "
                f"as {outcome.code} (county code and a sequence number)",
                sheet=entry.first.sheet,
                row=entry.first.row,
            )
        if outcome.kept:
            sources = [entry.sources.get(name) for name in outcome.kept]
            columns = ", ".join(
                source.column.header if source is not None and source.column is not None else name
                for source, name in zip(sources, outcome.kept, strict=True)
            )
            self.log.warn(
                f"warehouse {entry.label}: {columns} differ from the registry and were kept as registered: only "
                "provincial staff may change a warehouse's details",
                sheet=entry.first.sheet,
                row=entry.first.row,
            )
        for defaulted in outcome.defaulted:
            if defaulted.field == "level":
                message = f"warehouse {entry.label}: no level (仓库级别) given; registered as county level (县级)"
            elif defaulted.field == "county":
                message = (
                    f"warehouse {entry.label} gives no county and its address names none: placed by its coordinates "
                    f"in the nearest county, {defaulted.place}"
                )
            else:
                message = f"warehouse {entry.label}: no coordinates given; the centre of {defaulted.place} was used"
            self.log.warn(message, sheet=entry.first.sheet, row=entry.first.row)

    def _check_coordinate(self, entry: WarehouseEntry, warehouse: Warehouse) -> None:
        latitude, longitude = warehouse.latitude, warehouse.longitude
        if CHINA_LATITUDE[0] <= latitude <= CHINA_LATITUDE[1] and CHINA_LONGITUDE[0] <= longitude <= CHINA_LONGITUDE[1]:
            return
        hint = " (latitude and longitude look swapped)" if CHINA_LATITUDE[0] <= longitude <= CHINA_LATITUDE[1] else ""
        self.log.warn_at(
            entry.sources.get("latitude") or entry.first,
            f"warehouse {warehouse.code} at ({latitude}, {longitude}) is outside China{hint}",
            value=latitude,
        )

    def _entry_error(self, entry: WarehouseEntry, error: DomainError) -> None:
        field_name = SERVICE_FIELD_COLUMNS.get(error.field or "", error.field or "")
        if field_name == "county_code" and "county_code" not in entry.sources:
            field_name = "county_name" if "county_name" in entry.sources else "city_name"
        # A field the sheet has no column for (no 所在区县 at all) is blamed on the cell that names the warehouse:
        # the row alone (entry.first) points at no column, and the report's 列 would be blank.
        source = (
            entry.sources.get(field_name)
            or entry.sources.get("warehouse_code")
            or entry.sources.get("warehouse_name")
            or entry.first
        )
        message = _in_column_words(error, field_name)
        self.log.source_error(source, field_name, f"warehouse {entry.label}: {message}")
        entry.error = f"warehouse {entry.label} was refused: {message}"

    def _reject_rows_of_refused(self, entries: dict[str, WarehouseEntry]) -> None:
        """A refused warehouse takes its stock rows with it (each rejected once)."""
        for entry in entries.values():
            if entry.error is not None:
                for row in entry.rows:
                    if (row.table.name, row.row) in self.log.rejected:
                        row.failed = True
                    elif not row.failed:
                        row_error(self.log, row, entry.error, "warehouse_code")

    # --- items and stock ----------------------------------------------------------------------

    def _create_items(self, reader: LedgerReader) -> None:
        created = 0
        # An item named only on rows already refused is not added: the catalogue keeps no word of a refused row
        # (a header repeated further down would add 物资名称, counted in 计量单位).
        wanted = [new for new in reader.new_items.values() if not all(row.failed for row in new.rows)]
        for tried, new in enumerate(wanted):
            if tried >= MAX_NEW_ITEMS:
                message = (
                    f"item {new.fields['name']!r} is not in the catalogue, and one import adds at most {MAX_NEW_ITEMS} "
                    "items (MAX_NEW_ITEMS): check the item column, or add the items to the catalogue first"
                )
                for row in new.rows:
                    row_error(self.log, row, message, "item_name")
                continue
            refused: DomainError | None = None
            try:
                with self.session.begin_nested():
                    new.item = create_item(self.session, self.actor, **new.fields)
                created += 1
                self.log.warn_at(
                    new.source, f"item {new.fields['name']!r} was not in the catalogue: added as {new.fields['code']}"
                )
            except IntegrityError:  # its code was taken after create_item looked
                new.item = self._added_meanwhile(new.fields)
                if new.item is None:
                    raise
            except DomainError as error:  # e.g. its code in use, taken after this import read the catalogue
                new.item = self._added_meanwhile(new.fields)
                refused = error if new.item is None else None
            if refused is not None:
                said = _in_column_words(refused, ITEM_FIELD_COLUMNS.get(refused.field or "", ""))
                message = f"item {new.fields['name']!r} cannot be added to the catalogue: {said}"
                for row in new.rows:
                    row_error(self.log, row, message, "item_name")
                continue
            for row in new.rows:
                row.item = new.item
        self.report.counts["items_created"] = created
        self._create_unit_variants(reader)

    def _added_meanwhile(self, fields: dict) -> Item | None:
        """The same item, added by an import committed since this one read the catalogue (PostgreSQL: two
        provinces' imports naming one new item at once): its code comes from its name, so it is the one this
        import wanted to add; its stock goes there instead of the whole import failing on the code."""
        item = self.session.scalar(select(Item).where(Item.code == fields["code"]))
        return item if item is not None and item_key(item.name) == item_key(fields["name"]) else None

    def _create_unit_variants(self, reader: LedgerReader) -> None:
        """Stock counted in a unit that converts to nothing goes to the item's unit variant (added if new).

        The items' units are held to the commit and read again first (``hold_item_units``): a factor set since the
        file was read (its variant merged) makes the stock the item's, converted, not the merged variant's.
        """
        items = reader.item_cells.items
        odd_units = {**reader.in_unit_variants, **reader.unit_variants}
        odd_units = {key: rows for key, rows in odd_units.items() if not all(row.failed for row in rows)}
        if not odd_units:
            return
        hold_item_units(self.session, [item_id for item_id, _unit in odd_units])
        for key, rows in odd_units.items():
            item_id, unit = key
            item = items[item_id]
            factor = factor_to_item(item, unit)
            if factor is not None:  # set meanwhile: the stock is the item's, as if the factor had been read
                reader.unit_variants.pop(key, None)
                for row in rows:
                    if row.failed:  # refused already: neither converted nor told of the factor
                        continue
                    row.item, row.quantity = item, in_item_unit(row.quantity, factor)
                    column = row.column_for("unit") or row.column_for("quantity")
                    self.log.warn(
                        f"the factor 1 {unit} = {factor.normalize():f} {item.unit} was set for {item.code} "
                        f"{item.name} while this file was imported: the quantity in '{unit}' is counted in "
                        f"'{item.unit}'",
                        sheet=row.table.name,
                        row=row.row,
                        column=column.header if column else None,
                        value=unit,
                    )
                continue
            if key not in reader.unit_variants:
                continue  # its variant, found when the file was read, is still open (no factor: not merged)
            try:
                with self.session.begin_nested():
                    variant = unit_variant_for(self.session, self.actor, item, unit)
            except DomainError as error:
                for row in rows:
                    row_error(self.log, row, f"the unit variant cannot be added: {error.message}", "unit")
                continue
            self.report.counts["unit_variants_created"] = self.report.counts.get("unit_variants_created", 0) + 1
            for row in rows:
                row.item = variant

    def _stock_counts(self, rows: list[LedgerRow]) -> list[StockCount]:
        """The counts to plan, keyed by their row's index in ``rows``; a batch counted twice in the file is an
        error on the second."""
        counts: list[StockCount] = []
        first_row: dict[tuple[int, int, str], LedgerRow] = {}
        first = first_row.setdefault
        # Each item's id read once from its ORM object (hashed by identity), and each warehouse's once per run of
        # its rows, not through the instrumented attribute on every row (126,000 rows).
        item_ids: dict[Item, int] = {}
        last_entry = warehouse_id = None
        for index, row in enumerate(rows):
            item, entry = row.item, row.entry
            if row.failed or item is None or entry is None or (warehouse := entry.warehouse) is None:
                continue
            if entry is not last_entry:
                last_entry, warehouse_id = entry, warehouse.id
            item_id = item_ids.get(item)
            if item_id is None:
                item_id = item_ids[item] = item.id
            key = (warehouse_id, item_id, row.batch)
            earlier = first(key, row)
            if earlier is not row:
                # Two messages, not "batch (none)": a parameter is shown as written, in English too under zh.
                which = f"batch {row.batch} of" if row.batch else "with no batch at"
                row_error(
                    self.log,
                    row,
                    f"{row.item.name} {which} {row.entry.warehouse.code} is already counted "
                    f"in {earlier.table.name} row {earlier.row}",
                    "batch" if "batch" in row.table.columns else "item_name",
                )
                continue
            counts.append(  # ``_make`` of a tuple: no keyword-taking ``__new__`` (built faster)
                StockCount._make(
                    (
                        index,
                        warehouse_id,
                        item_id,
                        row.batch,
                        row.quantity,
                        row.production_date,
                        row.expiry_date,
                        row.no_expiry,
                    )
                )
            )
        return counts


@dataclass
class _RegisteredAhead:
    """The warehouses of the table read ahead, registered in ``savepoint`` as ``described`` then: each entry
    wanted, with its code and fields (what ``_wanted`` reads besides the entry's key)."""

    described: list[tuple[WarehouseEntry, str, dict[str, object]]]
    resolution: WarehouseResolution
    savepoint: SessionTransaction

    def still_wanted(self, entries: dict[str, WarehouseEntry]) -> bool:
        """Whether the whole file wants exactly the warehouses registered ahead, described the same."""
        wanted = [entry for entry in entries.values() if entry.wanted]
        return len(wanted) == len(self.described) and all(
            entry is then and entry.code == code and entry.fields == fields
            for entry, (then, code, fields) in zip(wanted, self.described, strict=True)
        )


def _all_wanted(entries: dict[str, WarehouseEntry]) -> list[WarehouseWanted]:
    return [_wanted(entry) for entry in entries.values() if entry.wanted]


def _wanted(entry: WarehouseEntry) -> WarehouseWanted:
    """What the registration service needs to know of a warehouse the file describes."""
    given = entry.fields
    return WarehouseWanted(
        key=entry.key,
        code=entry.code,
        name=str(given.get("warehouse_name", "")),
        fields={WAREHOUSE_FIELDS[name]: value for name, value in given.items() if name in WAREHOUSE_FIELDS},
        place=PlaceGiven(**{name: str(given.get(name) or "") for name in REGION_FIELDS}),
        fallback_county=entry.fallback_county,
    )
