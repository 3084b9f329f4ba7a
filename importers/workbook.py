"""Opening an uploaded workbook safely and finding the ledger tables in it.

The file is checked as a zip before any XML is parsed (declared sizes and compression ratio, so a
decompression bomb is refused unopened), then read with python-calamine: a Rust reader that is ten times
faster than openpyxl, exposes merged ranges, returns cached formula results without evaluating anything,
and does not expand XML entities.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from importers.columns import COLUMNS_BY_FIELD, GROUP_SUFFIXES, HEADER_INDEX, SKIPPED_SHEETS, header_key
from importers.values import is_blank, is_known_unit, parse_text
from inventory.errors import ValidationFailed

MAX_ROWS = 200_000  # data rows in one file: a national ledger is ~126,000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024  # what the zip may expand to, declared sizes summed
MAX_COMPRESSION_RATIO = 200  # XML compresses ~10-50x; a bomb compresses thousands of times
MAX_ZIP_MEMBERS = 10_000
HEADER_SEARCH_ROWS = 30  # titles and notes above the header: people rarely write more than a few rows
MIN_HEADER_MATCHES = 2

WAREHOUSE_SHEET = "warehouses"
STOCK_SHEET = "stock"


@dataclass(frozen=True)
class Column:
    """One mapped column: where it is, what its header says (for error messages), what it holds."""

    index: int  # 0-based absolute column
    header: str
    field: str
    unit: str = ""  # a unit written in the header's brackets, e.g. 数量（千克）

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass
class SheetTable:
    """A ledger table found in one sheet: its header row and the columns it maps."""

    name: str
    kind: str
    header_row: int  # 1-based, as Excel shows it
    columns: dict[str, Column]
    unknown_headers: list[tuple[int, str]] = field(default_factory=list)
    duplicate_headers: list[tuple[int, str, str]] = field(default_factory=list)
    height: int = 0


@dataclass
class LedgerWorkbook:
    """The sheets of an uploaded workbook; ``tables`` are those holding a ledger, warehouses first."""

    tables: list[SheetTable]
    skipped_sheets: list[str]
    sheets: dict[str, CalamineSheet]

    def close(self) -> None:
        """Let go of the sheets (their cells live in calamine's memory until then)."""
        self.sheets.clear()

    def rows(self, table: SheetTable) -> Iterator[tuple[int, list]]:
        """(Excel row number, cells by absolute column) for every row under the header, merges filled."""
        for number, cells in _sheet_rows(self.sheets[table.name]):
            if number > table.header_row:
                yield number, cells


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def check_xlsx(data: bytes) -> None:
    """Refuse anything that is not a plain .xlsx zip, before a single XML byte is parsed."""
    if not data.startswith(b"PK\x03\x04"):
        raise ValidationFailed("the file is not an .xlsx workbook (save it as Excel Workbook *.xlsx)", field="file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ValidationFailed("the file is not a readable .xlsx workbook (damaged zip)", field="file") from exc
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise ValidationFailed("the file is a zip but not an Excel workbook", field="file")
    if "xl/workbook.bin" in names:
        raise ValidationFailed("binary workbooks (.xlsb) are not accepted; save as .xlsx", field="file")
    if len(members) > MAX_ZIP_MEMBERS:
        raise ValidationFailed(f"the workbook has {len(members)} parts; refused as unsafe", field="file")
    declared = sum(member.file_size for member in members)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise ValidationFailed(
            f"the workbook would expand to {declared // 2**20} MiB; the limit is {MAX_UNCOMPRESSED_BYTES // 2**20} MiB",
            field="file",
        )
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
            raise ValidationFailed(
                f"part {member.filename} is compressed {member.file_size // max(member.compress_size, 1)}:1, "
                "which only a decompression bomb does; refused",
                field="file",
            )


def open_ledger_workbook(data: bytes) -> LedgerWorkbook:
    """Check the file, open it and find every sheet that holds warehouses or stock."""
    check_xlsx(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise ValidationFailed(f"the workbook cannot be read: {exc}", field="file") from exc
    tables: list[SheetTable] = []
    skipped: list[str] = []
    sheets: dict[str, CalamineSheet] = {}
    for name in book.sheet_names:
        table = None
        if header_key(name) not in SKIPPED_SHEETS:
            try:
                sheet = book.get_sheet_by_name(name)
            except (CalamineError, ValueError) as exc:
                raise ValidationFailed(f"sheet {name!r} cannot be read: {exc}", field="file") from exc
            table = find_table(sheet)
        if table is None:
            skipped.append(name)
        else:
            tables.append(table)
            sheets[name] = sheet
    if not tables:
        raise ValidationFailed(
            "no sheet has a ledger header: a row naming at least the item (物资名称 or 物资编码) and the "
            "quantity (数量), or a warehouse list (仓库编码, 仓库名称 …); download the template for an example",
            field="file",
        )
    rows = sum(table.height for table in tables)
    if rows > MAX_ROWS:
        raise ValidationFailed(f"the workbook has {rows} rows; at most {MAX_ROWS} are imported at once", field="file")
    tables.sort(key=lambda table: table.kind != WAREHOUSE_SHEET)
    return LedgerWorkbook(tables=tables, skipped_sheets=skipped, sheets=sheets)


def _sheet_rows(sheet: CalamineSheet) -> Iterator[tuple[int, list]]:
    """Rows of a sheet by Excel row number with vertically merged cells filled from their top cell.

    A ledger merges the warehouse cells down over its stock rows; each of those rows means that value.
    Horizontal merges are left alone (their value belongs to the first column).
    """
    start = sheet.start
    if start is None:
        return
    first_column = start[1]
    merges: dict[int, list[tuple[int, int, int]]] = {}
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        if bottom > top:
            merges.setdefault(top, []).append((bottom, left, right))
    active: list[tuple[int, int, object]] = []  # (last row, column, value)
    # python-calamine 0.9 yields rows from row 1 but columns from the first used one (pinned; tested).
    for number, values in enumerate(sheet.iter_rows()):
        cells = [""] * first_column + values if first_column else values
        if number in merges:
            for bottom, left, _right in merges.pop(number):
                if left < len(cells):
                    active.append((bottom, left, cells[left]))
        if active:
            for _bottom, column, value in active:
                if column < len(cells) and is_blank(cells[column]):
                    cells[column] = value
            active = [entry for entry in active if entry[0] > number]
        yield number + 1, cells


def find_table(sheet: CalamineSheet) -> SheetTable | None:
    """Score the first rows against the known headers; the best row with two or more matches is the header."""
    if sheet.start is None:
        return None
    name = sheet.name
    head: list[tuple[int, list]] = []
    for number, cells in _sheet_rows(sheet):
        head.append((number, cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    groups = _group_headers(sheet, head)
    best: SheetTable | None = None
    best_score = MIN_HEADER_MATCHES - 1
    for position, (number, cells) in enumerate(head):
        above = groups.get(number - 1, {}) if position else {}
        table = _map_header(name, number, cells, above)
        score = len(table.columns)
        if score > best_score:
            best, best_score = table, score
    if best is None:
        return None
    fields = set(best.columns)
    if "quantity" in fields and fields & {"item_code", "item_name"}:
        best.kind = STOCK_SHEET
    elif fields & {"warehouse_code", "warehouse_name"} and len(fields & _WAREHOUSE_DETAIL) >= 1:
        best.kind = WAREHOUSE_SHEET
    else:
        return None
    best.height = max(0, (sheet.end[0] + 1 if sheet.end else 0) - best.header_row)
    return best


_WAREHOUSE_DETAIL = {spec.field for spec in COLUMNS_BY_FIELD.values() if spec.part in ("warehouse", "region")} - {
    "warehouse_code",
    "warehouse_name",
}


def _group_headers(sheet: CalamineSheet, head: list[tuple[int, list]]) -> dict[int, dict[int, str]]:
    """Text of horizontally merged cells (group headers such as 仓库信息) by row and covered column."""
    by_row = {number: cells for number, cells in head}
    groups: dict[int, dict[int, str]] = {}
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        if right > left and top == bottom and top + 1 in by_row:
            cells = by_row[top + 1]
            text = parse_text(cells[left]) if left < len(cells) else ""
            if text:
                for column in range(left, right + 1):
                    groups.setdefault(top + 1, {})[column] = text
    return groups


def _map_header(sheet: str, number: int, cells: list, above: dict[int, str]) -> SheetTable:
    columns: dict[str, Column] = {}
    unknown: list[tuple[int, str]] = []
    duplicates: list[tuple[int, str, str]] = []
    for index, cell in enumerate(cells):
        header = parse_text(cell)
        if not header:
            continue
        field_name = _match_header(header, above.get(index, ""))
        if field_name is None:
            unknown.append((index, header))
        elif field_name == "":
            continue
        elif field_name in columns:
            duplicates.append((index, header, columns[field_name].header))
        else:
            columns[field_name] = Column(index=index, header=header, field=field_name, unit=_header_unit(header))
    return SheetTable(
        name=sheet,
        kind="",
        header_row=number,
        columns=columns,
        unknown_headers=unknown,
        duplicate_headers=duplicates,
    )


def _match_header(header: str, group: str) -> str | None:
    """The field a header names ("" for a known column to ignore), or None if unknown.

    Under a group header, the group's stem is tried first ("仓库信息" over "名称" → 仓库名称); then the
    header alone; then each part of a bilingual header ("仓库编码 / Warehouse code").
    """
    candidates = []
    if group:
        stem = header_key(group)
        for suffix in GROUP_SUFFIXES:
            stem = stem.removesuffix(header_key(suffix))
        candidates.append(stem + header_key(header))
    candidates.append(header_key(header))
    for separator in ("\n", "/", "|"):
        if separator in header:
            candidates.extend(header_key(part) for part in header.split(separator))
    for key in candidates:
        if key in HEADER_INDEX:
            return HEADER_INDEX[key]
    return None


def _header_unit(header: str) -> str:
    from importers.columns import bracket_notes

    for note in bracket_notes(header):
        if is_known_unit(note):
            return note
    return ""
