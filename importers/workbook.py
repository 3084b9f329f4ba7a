"""Opening an uploaded workbook safely and finding the ledger tables in it.

The file is checked as a zip before any XML is parsed (declared sizes and compression ratio, so a
decompression bomb is refused unopened). Everything after that runs in a child process with a memory and
CPU cap (``importers.sandbox``): each part's XML is scanned as it is decompressed (no DTD; each sheet's
declared and actual used range, and the number of cells, within ``importers.limits``), then the workbook
is read with python-calamine: a Rust reader that is ten times faster than openpyxl, exposes merged ranges,
returns cached formula values without evaluating anything, and does not expand XML entities. The child
sends the tables it found, then their rows in chunks as the import reads them.

Over 400 lines on purpose: the zip check, the child's scan and the table finder share one threat model
(see docs/security.md), and are reviewed together.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import re
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    SheetVisibleEnum,
    WorksheetNotFound,
    XmlError,
)

from importers.columns import (
    COLUMNS_BY_FIELD,
    GROUP_SUFFIXES,
    HEADER_INDEX,
    IN_TRANSIT_HEADERS,
    IN_TRANSIT_SHEETS,
    PLACE_HEADERS,
    SKIPPED_SHEETS,
    YIELDING_HEADERS,
    closest_field,
    header_key,
)
from importers.limits import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_COMPRESSION_RATIO,
    MAX_HIDDEN_COLUMN_SPANS,
    MAX_RELATIONSHIPS_BYTES,
    MAX_ROWS,
    MAX_SHEET_AREA,
    MAX_UNCOMPRESSED_BYTES,
    MAX_WORKBOOK_TEXT,
    MAX_XLS_AREA,
    MAX_XLS_FORMULA_WORK,
    MAX_ZIP_MEMBERS,
    WorkbookTooLarge,
)
from importers.sandbox import Child, Send, unreadable
from importers.values import KNOWN_UNITS, bracket_unit, is_blank, is_known_unit, parse_text
from importers.xls_records import Damaged, Encrypted, NoWorkbookStream, declared_area, note_cell, xls_sheets
from importers.xlsx_strings import (
    ShownText,
    StringLengths,
    StringsReader,
    is_shared_strings,
    part_name,
    shared_marks,
)
from inventory.errors import ValidationFailed
from inventory.validation import printable

ROWS_PER_MESSAGE = 1_000  # rows the parsing child sends at a time
SHARED_TEXTS = 50_000  # distinct texts the parsing child remembers to send as one object (a few MB at most)
SCAN_CHUNK_BYTES = 1 << 20
HEADER_SEARCH_ROWS = 30  # titles and notes above the header: people rarely write more than a few rows
MIN_HEADER_MATCHES = 2

WAREHOUSE_SHEET = "warehouses"
STOCK_SHEET = "stock"

log = logging.getLogger(__name__)


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
    duplicate_headers: list[tuple[int, str, str, int]] = field(default_factory=list)
    height: int = 0
    # The label–value form above an enterprise's table (单位名称：…, 地址 | …): field → what was read, applied to
    # every row of a table that lacks the field's column.
    form: dict[str, FormValue] = field(default_factory=dict)
    signature: str = ""  # the header row's words (``header_signature``): how a profile recognises it
    profile: str | None = None  # the saved profile whose mapping was applied by itself
    hidden: bool = False  # the sheet is hidden in the file (calamine's sheets_metadata says so)
    title: FormValue | None = None  # the title above the table (东城区环境应急物资储备台账), if any
    place_as_warehouse: bool = False  # no warehouse column: its 存放地点 names the warehouses (``_place_names_it``)
    # What the file says of its rows and cells that calamine does not (``SheetMarks``), under the header.
    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()  # the mapped columns (0-based) hidden in the file
    uncomputed: dict[int, frozenset[int]] = field(default_factory=dict)  # error cells among them
    error_cells: dict[int, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class HeaderMapping:
    """What the person said about headers: ``explicit`` (header key → field, "" to ignore) for this file, or
    the saved profiles, one of which applies by itself to a sheet whose header row it was made for."""

    explicit: dict[str, str] = field(default_factory=dict)
    profiles: tuple = ()  # inventory.import_profiles.ProfileRule


@dataclass(frozen=True)
class FormValue:
    """A value given once above the table, next to (or after the colon of) its label."""

    value: object
    row: int  # 1-based
    index: int  # 0-based column of the value
    label: str


@dataclass
class LedgerWorkbook:
    """The ledger tables of an uploaded workbook (warehouses first), their rows read from the parsing child.

    ``rows`` is read table by table in the order of ``tables`` (a table left unread is skipped); ``close``
    stops the child.
    """

    tables: list[SheetTable]
    skipped_sheets: list[str]
    child: Child
    in_transit_sheets: list[str] = field(default_factory=list)  # the export's 在途 sheet: never stock
    position: int = 0  # the table whose rows the child is sending
    # The warehouse table read ahead (``open_ledger_workbook``): ``tables`` holds it alone until
    # ``receive_tables``.
    ahead: SheetTable | None = None
    undone: bool = False  # the child said the table read ahead is not the first: it sends every table again

    def close(self) -> None:
        self.child.close()

    def sheets_without_table(self) -> list[str]:
        """The sheets skipped for having no ledger header (not those skipped by name, a summary or a note)."""
        return [name for name in self.skipped_sheets if header_key(name) not in SKIPPED_SHEETS]

    def receive_tables(self) -> None:
        """After the table read ahead: every table (that one first), and the sheets skipped; ``AheadUndone``
        if that table is not the first after all (then ``read_in_order``). Rows of it left unread are passed
        over."""
        while True:
            message = self._received()
            if message[0] == "undone":
                self.undone = True
                raise AheadUndone(self.ahead.name if self.ahead else "")
            if message[0] == "tables":
                break
        _kind, tables, self.skipped_sheets, self.in_transit_sheets = message  # type: ignore[misc]
        self.tables = [self.ahead, *tables[1:]]  # the very object the reader knows, as ``rows`` finds it by
        self.position = max(self.position, 1)

    def read_in_order(self) -> bool:
        """After ``AheadUndone``: if the child undid the reading ahead itself, this workbook becomes the one
        opened without reading ahead (every table, each one's rows to come from the first row; the same parse,
        so the same wait) and True; False if the child has gone on (the importer undid it: open the file
        again)."""
        if not self.undone:
            return False
        _kind, self.tables, self.skipped_sheets, self.in_transit_sheets = self._received()  # type: ignore[misc]
        self.ahead, self.position, self.undone = None, 0, False
        return True

    def _received(self) -> tuple:
        message = self.child.receive()
        if message is None:
            raise RuntimeError("the parsing child ended without sending the tables")
        return message  # type: ignore[return-value]

    def rows(self, table: SheetTable) -> Iterator[tuple[int, list]]:
        """(Excel row number, cells by absolute column) for every row under the header, merges filled."""
        index = next(position for position, known in enumerate(self.tables) if known is table)
        if index < self.position:
            raise RuntimeError(f"the rows of {table.name!r} were already passed: read tables in order")
        while True:
            message = self.child.receive()
            if message is None:
                return
            kind, position, rows = message  # type: ignore[misc]
            self.position = position
            if position > index:
                raise RuntimeError("the parsing child ran ahead of the tables")
            if position < index:
                continue
            if kind == "end":
                self.position = index + 1
                return
            yield from rows


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# An Excel 97-2003 workbook (.xls), as many county offices still save their ledgers: an OLE2 compound file of
# BIFF records, which python-calamine reads as it reads .xlsx. Nothing in it is compressed and there is no XML:
# the parsing child scans its records instead (``check_xls_sheets``), before calamine loads every sheet of it at
# once; each sheet it loads is also held to MAX_SHEET_AREA before a row is read (``_within_area``).
XLS_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_xls(data: bytes) -> bool:
    return data.startswith(XLS_SIGNATURE)


def not_a_workbook() -> ValidationFailed:
    return ValidationFailed("the file is not an Excel workbook (save it as Excel Workbook *.xlsx)", field="file")


def password_refusal() -> ValidationFailed:
    """A workbook with a password to open, which the record scan finds (``check_xls_sheets``): an .xlsx encrypted
    whole is a compound file holding it as its ``EncryptedPackage`` stream, an .xls's records are (FILEPASS)."""
    return ValidationFailed(
        "the workbook has a password to open: remove the password, save it, and upload it again", field="file"
    )


def check_workbook(data: bytes) -> None:
    """Refuse anything that is not a plain .xlsx zip or an .xls compound file, before a single byte of a sheet is
    parsed (whether an .xls holds a workbook, or one with a password to open, the parsing child finds out)."""
    if is_xls(data):
        return  # a compound file: its directory and records are read by the parsing child (a password there too)
    if not data.startswith(b"PK\x03\x04"):
        raise not_a_workbook()
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


def check_sheets(data: bytes) -> dict[str, SheetMarks]:
    """Scan every XML part as it decompresses, before a reader loads it: no DTD, sheets within the limits.
    Returns what the scan saw of each part that calamine does not tell (``SheetMarks``), by ``part_name``.

    Each sheet's declared used range (``<dimension ref=…>``) and its actual one (the last row number of each
    stretch of XML and the widest column letters) must stay under ``MAX_SHEET_AREA`` cells, the cells
    written (``<c`` elements) under ``MAX_CELLS`` in all, and the text the shared-string cells show (each its own
    copy of its string, in calamine) under ``MAX_WORKBOOK_TEXT``. Cheap: ~0.4 s for a national ledger (0.45 s saved
    with shared strings, as Excel saves it: their count is numpy's, a window of cells at once).

    Cells are first counted from above (every ``<c``: one pass over the XML where ``<c `` and ``<c>`` take
    two); only a workbook whose count from above passes ``MAX_CELLS`` is scanned again counting them exactly,
    so every verdict, and the first one given, is the exact count's. The shared strings are read first
    (``importers.xlsx_strings``); the text is counted exactly as the sheets stream by only when their sizes
    times the longest string could pass the limit, else bounded from above (the ``"s"`` the sheets write times
    the longest string: a zip may hold more than it declares), and counted exactly afterwards if that passes.
    """
    marks: dict[str, SheetMarks] = {}
    bound = _scan_parts(data, False, marks)
    if bound is None:
        marks.clear()
        bound = _scan_parts(data, True, marks)
    if bound is not None and bound > MAX_WORKBOOK_TEXT:
        text = shared_text(data)
        if text > MAX_WORKBOOK_TEXT:
            raise too_much_text(text)
    return marks


def _scan_parts(data: bytes, exact_cells: bool, seen: dict[str, SheetMarks]) -> int | None:
    """``check_sheets``' pass: a bound on the characters shared-string cells show (0 once counted exactly), or
    None, without a verdict, once cells counted from above pass ``MAX_CELLS``. Each part's marks go to ``seen``."""
    cells = marks = text = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = xml_parts(archive)
        members.sort(key=lambda member: not is_shared_strings(member.filename))  # the strings first
        written = sum(member.file_size for member in members if not is_shared_strings(member.filename))
        lengths: StringLengths | None = None
        counted = False  # the text counted exactly as the sheets stream by
        for member in members:
            strings = StringsReader() if is_shared_strings(member.filename) else None
            shown = ShownText(lengths) if strings is None and counted and lengths is not None else None
            scan = _PartScan(member.filename, exact_cells, lengths is not None and shown is None)
            _read_part(archive, member, scan, strings or shown)
            scan.finish()
            if (
                scan.seen.hidden_rows
                or scan.seen.hidden_columns
                or scan.seen.uncomputed
                or scan.seen.zero_formulas
                or scan.seen.error_cells
            ):
                seen[part_name(member.filename)] = scan.seen
            if strings is not None:
                read = strings.finish()
                lengths = read if lengths is None else lengths.merged(read)
                # a shared-string cell takes 16 bytes at least (<c t="s"><v>0</v>); a guess only: the "s" counted
                # otherwise bound the text all the same
                counted = written // 16 * lengths.longest > MAX_WORKBOOK_TEXT
            elif shown is not None:
                text += shown.finish()
                if text > MAX_WORKBOOK_TEXT:
                    raise too_much_text(text)
            cells += scan.cells
            marks += scan.marks
            if cells > MAX_CELLS:
                if not exact_cells:
                    return None
                raise too_many_cells()
    return marks * lengths.longest if lengths is not None else 0


_RELATIONSHIPS = "xl/_rels/workbook.xml.rels"
_WORKBOOK = "xl/workbook.xml"
# A tag's namespace prefix, if any, as calamine's XML reader takes it off: whatever comes before the name's first ":"
# (a-b:, a.b:, é: as well as x:). With "\w+:" a relationship written <a-b:Relationship …> was not seen, and the part
# it named went unscanned while calamine read it.
_PREFIX = rb"(?:[^\s<>/:][^\s<>:]*:)?"
# a tag's attributes may hold ">" (and "<", which XML forbids there) inside their quotes: the alternatives are
# disjoint at their first byte, so a tag that never ends is still given up in one pass
_RELATIONSHIP_TAG = re.compile(rb"<" + _PREFIX + rb"""Relationship\s(?:[^<>"']|"[^"]*"|'[^']*')*>""")
_SHEET_TAG = re.compile(rb"<" + _PREFIX + rb"""sheet\s(?:[^<>"']|"[^"]*"|'[^']*')*>""")
# Every Target= anywhere in the relationships, in or out of a tag this module recognises: the parts to scan are
# chosen from these (``xml_parts``), so no reading of a tag the scan gets wrong leaves a part calamine reads unscanned.
_TARGET = re.compile(rb"""\bTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _relationship_targets(relationships: bytes) -> dict[str, str]:
    """The workbook's relationships, each Id's target as the ``part_name`` python-calamine opens for it: a target
    starting with "/" from the package's root (one "/" taken off), any other relative to the workbook's folder
    ``xl/``, as OOXML says; both taken as written, as calamine takes them (no entity read, no ".." folded: a
    target calamine cannot open refuses its workbook there, so no sheet is read from elsewhere). A later Id
    replaces an earlier one, as in calamine's map."""
    targets: dict[str, str] = {}
    for tag in _RELATIONSHIP_TAG.findall(relationships):
        target = _attribute(tag, rb"Target", as_written=True)
        if target is not None:
            key = _attribute(tag, rb"Id", as_written=True) or ""
            targets[key] = part_name(target[1:] if target.startswith("/") else "xl/" + target)
    return targets


def _targets_anywhere(relationships: bytes) -> set[str]:
    """Every part any ``Target=`` in the relationships may name, read every way calamine or OOXML might read it (as
    written and with its entities read; from the package's root, one "/" or every "/" taken off, and relative to
    ``xl/``): a superset of ``_relationship_targets``' values, to choose the parts to scan from."""
    named: set[str] = set()
    for quoted, single in _TARGET.findall(relationships):
        written = (quoted or single).decode("utf-8", "replace")
        for target in {written, html.unescape(written)}:
            named.update(part_name(name) for name in (target, target[1:], target.lstrip("/"), "xl/" + target))
    return named


def xml_parts(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The parts python-calamine may read as XML: each .xml, .rels or .vml part, its name in any case (calamine
    finds a part by its name in any case, and a backslash as a slash), and each part the workbook's relationships
    name, whatever its name (calamine opens a sheet at the path its relationship gives: a sheet named
    sheet1.XML or sheet1.dat was read unscanned)."""
    members = archive.infolist()
    named: set[str] = set()
    for member in members:
        if part_name(member.filename) != _RELATIONSHIPS:
            continue
        if member.file_size > MAX_RELATIONSHIPS_BYTES:
            return members
        try:
            relationships = archive.read(member)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise damaged(member.filename, str(exc)) from exc
        named.update(_targets_anywhere(relationships))
    return [
        m
        for m in members
        if part_name(m.filename).endswith((".xml", ".rels", ".vml")) or part_name(m.filename) in named
    ]


def _attribute(tag: bytes, name: bytes, as_written: bool = False) -> str | None:
    """An attribute's value in one tag (``name`` a regex: ``[^\\s=:]+:id`` for any prefix), its entities read unless
    ``as_written`` (calamine reads a relationship's Id and Target, and a sheet's r:id, as written)."""
    found = re.search(rb"\s" + name + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag)
    if found is None:
        return None
    value = (found.group(1) or found.group(2) or b"").decode("utf-8", "replace")
    return value if as_written else html.unescape(value)


def sheet_marks(data: bytes, marks: dict[str, SheetMarks]) -> dict[str, SheetMarks]:
    """``check_sheets``' marks by sheet name (as calamine names it), through the workbook's sheets and their
    relationships, as calamine finds each sheet's part. Read only when there are marks (a scanned workbook). In a
    workbook that asks to be calculated when opened, a formula saved as 0 was never calculated: ``uncomputed``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {part_name(member.filename): member for member in archive.infolist()}
        try:
            workbook = archive.read(members[_WORKBOOK])
            relationships = archive.read(members[_RELATIONSHIPS]) if _RELATIONSHIPS in members else b""
        except (KeyError, zipfile.BadZipFile, EOFError, OSError, ValueError):
            return {}  # calamine says what is wrong with the workbook
    if _CALCULATE_ON_OPENING.search(workbook):
        for seen in marks.values():
            for number, columns in seen.zero_formulas.items():
                seen.uncomputed.setdefault(number, set()).update(columns)
    targets = _relationship_targets(relationships)
    found: dict[str, SheetMarks] = {}
    for tag in _SHEET_TAG.findall(workbook):
        name, key = _attribute(tag, rb"name"), _attribute(tag, rb"[^\s=:]+:id", as_written=True)
        if name is not None and key in targets and targets[key] in marks:
            found[name] = marks[targets[key]]
    return found


def shared_text(data: bytes) -> int:
    """The characters the shared-string cells of an .xlsx show, each its string's (``importers.xlsx_strings``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = xml_parts(archive)
        lengths = None
        for member in members:
            if is_shared_strings(member.filename):
                strings = StringsReader()
                _read_part(archive, member, strings)
                read = strings.finish()
                lengths = read if lengths is None else lengths.merged(read)
        if lengths is None:
            return 0
        text = 0
        for member in members:
            if not is_shared_strings(member.filename):
                shown = ShownText(lengths)
                _read_part(archive, member, shown)
                text += shown.finish()
        return text


class _Reader(Protocol):
    def feed(self, chunk: bytes) -> None: ...


def _read_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo, *readers: _Reader | None) -> None:
    """One part's chunks fed to each reader (None: none). A part the zip cannot give, or a reader cannot take (a
    number past what ``int`` reads: ValueError), is a damaged workbook."""
    feeds = [reader.feed for reader in readers if reader is not None]
    try:
        with archive.open(member) as part:
            while chunk := part.read(SCAN_CHUNK_BYTES):
                for feed in feeds:
                    feed(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise damaged(member.filename, str(exc)) from exc


def too_much_text(text: int) -> WorkbookTooLarge:
    """Shared strings shown by more cells than calamine can copy: an .xlsx's ``t="s"`` cells, an .xls's LABELSST."""
    return WorkbookTooLarge(
        f"the cells of this workbook show {text:,} characters of text, over the limit of {MAX_WORKBOOK_TEXT:,} "
        "(MAX_WORKBOOK_TEXT)"
    )


def damaged(part: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"the workbook is damaged (part {part}: {reason})", field="file")


def too_many_cells() -> WorkbookTooLarge:
    return WorkbookTooLarge(f"the workbook has more than {MAX_CELLS:,} cells, the limit (MAX_CELLS)")


def check_xls_sheets(data: bytes) -> dict[str, SheetMarks]:
    """An .xls's records scanned before calamine loads them (``importers.xls_records``), with the limits and
    the words of ``check_sheets``: each sheet's declared (DIMENSIONS) and actual used range under
    ``MAX_SHEET_AREA``, the cells written under ``MAX_CELLS``; and, because calamine holds every sheet of an .xls
    at once, all sheets' used ranges together under ``MAX_XLS_AREA``, what writing out their formulas costs it
    under ``MAX_XLS_FORMULA_WORK`` and the text their cells hold under ``MAX_WORKBOOK_TEXT``. Broken records or sector
    chains (which calamine would trip on, or go round forever) are a damaged workbook. Returns the rows each sheet
    hides (``SheetMarks``; an .xls saves every formula's value), by sheet name."""
    try:
        sheets = xls_sheets(data)
    except NoWorkbookStream:
        raise not_a_workbook() from None
    except Encrypted:
        raise password_refusal() from None
    except Damaged as damage:
        raise damaged(printable(damage.part), damage.reason) from damage
    cells = area = work = text = 0
    for sheet in sheets:
        name = printable(sheet.name)
        if sheet.declared is not None:
            first_row, end_row, first_column, end_column = sheet.declared
            declared = f"{column_letter(first_column)}{first_row + 1}:{column_letter(end_column - 1)}{end_row}"
            _check_area(name, end_row - first_row, end_column - first_column, declared)
        _check_area(name, sheet.rows, max(sheet.columns, 1))
        cells += sheet.cells
        if cells > MAX_CELLS:
            raise too_many_cells()
        area += max(declared_area(sheet), sheet.rows * sheet.columns)
        work += sheet.formula_work
        text += sheet.shared_text
    if text > MAX_WORKBOOK_TEXT:
        raise too_much_text(text)
    if work > MAX_XLS_FORMULA_WORK:
        raise WorkbookTooLarge(
            f"the formulas of this .xls workbook would take {work:,} bytes of text moved to read, over the limit of "
            f"{MAX_XLS_FORMULA_WORK:,} (MAX_XLS_FORMULA_WORK)"
        )
    if area > MAX_XLS_AREA:
        raise WorkbookTooLarge(
            f"the sheets of this .xls workbook have used ranges of {area:,} cells together, over the limit of "
            f"{MAX_XLS_AREA:,} (MAX_XLS_AREA)"
        )
    return {
        sheet.name: SheetMarks(
            hidden_rows=sheet.hidden_rows, hidden_columns=sheet.hidden_columns, error_cells=sheet.error_cells
        )
        for sheet in sheets
        if sheet.hidden_rows or sheet.hidden_columns or sheet.error_cells
    }


@dataclass
class SheetMarks:
    """What a sheet's file says that python-calamine's cells do not (the scan of its XML, an .xls's ROW, COLINFO,
    BOOLERR and FORMULA records): the rows hidden in the file (hidden, or filtered out: ``<row hidden="1">``), the
    columns hidden, and the cells holding a formula with no saved value (a workbook written by a program that
    computes nothing: calamine reads them as empty), row → 0-based columns.
    ``zero_formulas``: formulas saved as 0, which are ``uncomputed`` too in a workbook that asks to be calculated
    when opened (``sheet_marks``): xlsxwriter writes 0 for every formula it is not given the value of.
    ``error_cells``: cells showing an error value (``t="e"``: #N/A of a VLOOKUP that found nothing, #REF!, #DIV/0!),
    which calamine also reads as empty: a warehouse code of #N/A read so joined its row to the warehouse above.
    """

    hidden_rows: set[int] = field(default_factory=set)
    # Columns hidden in the file (``<col min=… max=… hidden="1">``, an .xls's COLINFO): (first, last), 0-based
    hidden_columns: set[tuple[int, int]] = field(default_factory=set)
    uncomputed: dict[int, set[int]] = field(default_factory=dict)
    zero_formulas: dict[int, set[int]] = field(default_factory=dict)
    error_cells: dict[int, set[int]] = field(default_factory=dict)
    hidden: bool = False  # the whole sheet, as calamine tells (``_read_workbook``)


# Both are rare, so looked for only in a chunk holding a marker of them: first a letter each needs, which most
# chunks of a ledger lack (a search at memchr speed: 13 ms for the national template's 122 MB stock sheet, where a
# longer marker took 65-100 ms), then the attribute, or an end a formula cell without a value has (</f></c>,
# <f …/></c>, <v/></c>, <v></v>), or xlsxwriter's 0.
_HIDDEN_LETTER, _HIDDEN_MARKER = b"d", b"hidden="
_FORMULA_LETTER, _BARE_MARKERS = b"f", (b"f></c>", b"/></c>", b"<v></v>", b"f><v>0</v></c>")
# A tag is matched whole in one possessive pass ("[^<>]*+>"), its attributes then looked at in the match: a pattern
# that found an attribute and then looked for the tag's end rescanned the rest of the tag for each attribute that
# might be the one (a crafted tag of 't="e" ' repeated with no end: 160 KB took 9.5 s, quadratic).
_ROW_TAG = re.compile(rb"<" + _PREFIX + rb"row\s[^<>]*+>")
_HIDDEN = re.compile(rb"""\bhidden\s*=\s*["'](?:1|true)["']""")
_ROW_ATTRIBUTE = re.compile(rb"""\br\s*=\s*["'](\d+)["']""")
_COLUMN_TAG = re.compile(rb"<" + _PREFIX + rb"col\s[^<>]*+>")
_COLUMN_SPAN = (re.compile(rb"""\bmin\s*=\s*["'](\d+)["']"""), re.compile(rb"""\bmax\s*=\s*["'](\d+)["']"""))
_BARE_FORMULA = re.compile(
    rb"(<" + _PREFIX + rb"c\s[^<>]*+>)\s*"
    rb"<" + _PREFIX + rb"""f\b[^<>]*?(?:/>|>[^<]*</""" + _PREFIX + rb"""f>)\s*"""
    rb"(<" + _PREFIX + rb"v\s*/>|<" + _PREFIX + rb"v>\s*(0?)\s*</" + _PREFIX + rb"v>)?\s*</" + _PREFIX + rb"c>"
)
# A cell showing an error value: its tag says t="e" (Excel writes the value, #N/A, #REF!…, in <v>). Every error value
# begins with "#", rare in a sheet's XML (text is in the shared strings), so only a chunk holding one is searched.
_ERROR_LETTER, _ERROR_MARKERS = b"#", (b'"e"', b"'e'")  # then the attribute's value (a text "1#库" has none)
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c\s[^<>]*+>")
_ERROR_TYPE = re.compile(rb"""\bt\s*=\s*["']e["']""")
_CELL_REFERENCE = re.compile(rb"""\br\s*=\s*["']([A-Za-z]{1,3})(\d+)["']""")
# A formula whose result is text keeps it in <v>, empty for "" (=IF(A2="","",…), Excel and LibreOffice write
# <c t="str"><f>…</f><v></v></c>): a saved value, not a missing one.
_TEXT_RESULT = re.compile(rb"""\bt\s*=\s*["']str["']""")
# A workbook that asks to be calculated when opened (xlsxwriter and openpyxl write it; Excel and WPS save without).
_CALCULATE_ON_OPENING = re.compile(rb"<" + _PREFIX + rb"""calcPr\s[^<>]*?\bfullCalcOnLoad\s*=\s*["'](?:1|true)["']""")
# The marks' tag patterns stop at the next "<" as well as ">": with "[^>]*" a crafted part of "<row " repeated and no
# ">" had each start scan to the window's end (200 KB: 38 s, quadratic).
_CARRY = 2048  # bytes of a chunk kept for the next: a row tag or a formula cell cut by the seam is found whole


_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\s[^<>]*?ref=\"([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?\"")
# Matched only where "<row " is (the last of a chunk): a prefixed row tag is left to the parse child's memory cap
# (docs/security.md, "Uploaded workbooks"), as a cell's "r" after its other attributes is.
_ROW_NUMBER = re.compile(rb'<row\s[^<>]*?\br="(\d+)"')
_WIDE_CELL = re.compile(rb'<c r="([A-Z]{2,})')  # columns past Z: rare in a ledger, so few matches to handle
_TAIL = 16  # bytes of the last chunk looked at again with the next: markers split between two chunks


class _PartScan:
    """What one XML part shows as it streams by: DTDs, its used range, its cells (``exact_cells``, or an
    upper bound).

    Each chunk is looked at as if after the last ``_TAIL`` bytes of the one before (the window), without
    joining them into one copy: a marker in the window but not in the chunk must start in those bytes.
    """

    def __init__(self, name: str, exact_cells: bool = True, count_marks: bool = False) -> None:
        self.name = name
        self.exact_cells = exact_cells
        self.count_marks = count_marks  # the workbook has shared strings: count what may show one
        self.marks = 0
        self.head = b""
        self.tail = b""
        self.cells = 0
        self.last_row = 0
        self.last_column = 0
        self.seen = SheetMarks()
        self.carry = b""

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < 4096:
            self.head += chunk[:4096]
        tail = self.tail
        # "!" is rare in a sheet and found by memchr: the DTD markers are looked for only around one
        if (b"!" in chunk or b"!" in tail) and _declares_dtd(tail + chunk):
            raise ValidationFailed(
                f"part {self.name} declares a DTD, which Excel never writes; refused",
                field="file",
            )
        if self.count_marks:
            self.marks += shared_marks(tail, chunk)
        if self.exact_cells:
            self.cells += chunk.count(b"<c ") + chunk.count(b"<c>")
        else:
            self.cells += chunk.count(b"<c")
        at = chunk.rfind(b"<row ")
        if at >= 0:
            match = _ROW_NUMBER.match(chunk, at)
        else:  # a row tag, if any, begins in the tail
            window = tail + chunk
            at = window.rfind(b"<row ")
            match = _ROW_NUMBER.match(window, at) if at >= 0 else None
        if match:
            self.last_row = max(self.last_row, int(match.group(1)))
        wide = set(_WIDE_CELL.findall(chunk))
        seam = tail + chunk[: 2 * _TAIL]
        for split in _WIDE_CELL.finditer(seam):  # a cell begun in the tail
            if split.start() >= len(tail):
                break
            if split.end() == len(seam):  # its letters may go on: match them in the whole window
                split = _WIDE_CELL.match(tail + chunk, split.start()) or split
            wide.add(split.group(1))
        for letters in wide:
            self.last_column = max(self.last_column, _column_number(letters))
        self._look_for_marks(chunk)
        self.tail = chunk[-_TAIL:]
        self._check(self.last_row, max(self.last_column, 1), "")

    def _look_for_marks(self, chunk: bytes) -> None:
        """Hidden rows and formulas without a value, in the chunk after the last ``_CARRY`` bytes read before it
        (``carry``: a tag or a cell the seam cut, or a marker seen there whose tag ends in this chunk; what is found
        twice is kept once, in sets). At most ``MAX_ROWS`` rows of each kind are kept (a sheet of more is refused
        anyway): a crafted part of bare formulas or hidden rows costs no more memory than that."""
        carry, seen = self.carry, self.seen
        seam = carry + chunk[:_CARRY]
        hidden = (_HIDDEN_LETTER in chunk or _HIDDEN_LETTER in seam) and (
            _HIDDEN_MARKER in chunk or _HIDDEN_MARKER in seam
        )
        bare = (_FORMULA_LETTER in chunk or _FORMULA_LETTER in seam) and any(
            marker in chunk or marker in seam for marker in _BARE_MARKERS
        )
        errors = (_ERROR_LETTER in chunk or _ERROR_LETTER in seam) and any(
            marker in chunk or marker in seam for marker in _ERROR_MARKERS
        )
        if hidden or bare or errors:
            window = carry + chunk
            if hidden:
                for tag in _ROW_TAG.finditer(window):
                    if not _HIDDEN.search(tag.group()):
                        continue
                    number = _ROW_ATTRIBUTE.search(tag.group())
                    # a row without its number (Excel always writes it) is not named
                    if number and len(seen.hidden_rows) < MAX_ROWS:
                        seen.hidden_rows.add(int(number.group(1)))
                for tag in _COLUMN_TAG.finditer(window):  # in <cols>, before the rows: a sheet's first chunk
                    if not _HIDDEN.search(tag.group()):
                        continue
                    first, last = (span.search(tag.group()) for span in _COLUMN_SPAN)
                    span = (int(first.group(1)) - 1, int(last.group(1)) - 1) if first and last else None
                    if span and len(seen.hidden_columns) < MAX_HIDDEN_COLUMN_SPANS:
                        seen.hidden_columns.add(span)
            if bare:
                for cell in _BARE_FORMULA.finditer(window):
                    tag, value, zero = cell.groups()
                    reference = _CELL_REFERENCE.search(tag)
                    if reference is None or (value is not None and _TEXT_RESULT.search(tag)):
                        continue  # a cell without its place (Excel always writes it); a text result saved, "" too
                    letters, number = reference.groups()
                    note_cell(seen.zero_formulas if zero else seen.uncomputed, int(number), _column_number(letters) - 1)
            if errors:
                for tag in _CELL_TAG.finditer(window):
                    if not _ERROR_TYPE.search(tag.group()):
                        continue
                    reference = _CELL_REFERENCE.search(tag.group())
                    if reference:
                        letters, number = reference.groups()
                        note_cell(seen.error_cells, int(number), _column_number(letters) - 1)
        self.carry = chunk[-_CARRY:] if len(chunk) >= _CARRY else (carry + chunk)[-_CARRY:]

    def finish(self) -> None:
        match = _DIMENSION.search(self.head)
        if match:
            first_column, first_row, last_column, last_row = (group or b"" for group in match.groups())
            if last_column or last_row:
                rows = int(last_row or 1_048_576) - int(first_row or 1) + 1
                columns = _column_number(last_column or b"XFD") - _column_number(first_column or b"A") + 1
                self._check(rows, columns, match.group(0).split(b"ref=")[1].decode("ascii", "replace"))

    def _check(self, rows: int, columns: int, declared: str) -> None:  # the plain scan of the tests calls it too
        _check_area(self.name, rows, columns, declared)


def _check_area(part: str, rows: int, columns: int, declared: str = "") -> None:
    """A sheet's used range (declared, or its cells' extent) held to ``MAX_SHEET_AREA``."""
    area = max(rows, 0) * max(columns, 0)
    if area <= MAX_SHEET_AREA:
        return
    said = f"declares the used range {declared}" if declared else f"has cells out to row {rows:,}, column {columns}"
    raise WorkbookTooLarge(
        f"sheet part {part} {said}: {area:,} cells, over the limit of {MAX_SHEET_AREA:,} (MAX_SHEET_AREA)"
    )


def _within_area(sheet: CalamineSheet) -> None:
    """A sheet loaded without the scan (an .xls) held to the scan's area limit, by the extent of its cells."""
    if sheet.end is not None:  # the last cell's row and column, from 0
        _check_area(printable(sheet.name), sheet.end[0] + 1, sheet.end[1] + 1)


def _declares_dtd(window: bytes) -> bool:
    return b"<!DOCTYPE" in window or b"<!ENTITY" in window


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def open_ledger_workbook(
    data: bytes,
    mapping: HeaderMapping | None = None,
    meanwhile: Callable[[], object] | None = None,
    warehouses_ahead: bool = False,
    waited: float = 0.0,
) -> LedgerWorkbook:
    """Check the file, then read it in a child process: the tables found now, their rows as they are read.

    ``meanwhile`` runs here while the child scans and loads the file (seconds for a national ledger): work
    the caller needs whatever the file holds. It sees nothing of the file.

    With ``warehouses_ahead``, a sheet named as a warehouse list (``WAREHOUSES_AHEAD_NAMES``) is loaded before
    the others, and if it holds the workbook's first table, a warehouse table, the workbook opens with that
    table alone (``ahead``): its rows can be read, and its warehouses registered, while the child loads the
    rest (a national ledger's stock sheet: ~1.5 s). ``receive_tables`` then gives the others. ``waited``: the
    seconds an earlier opening of the same upload waited (``Child``)."""
    check_workbook(data)
    mapping = mapping or HeaderMapping()
    child = Child(lambda send: _read_workbook(data, send, mapping, warehouses_ahead), waited)
    try:
        if meanwhile is not None:
            meanwhile()
        message = child.receive()
    except BaseException:
        child.close()
        raise
    kind, *found = message  # type: ignore[misc]
    if kind == "ahead":
        return LedgerWorkbook(tables=found, skipped_sheets=[], child=child, ahead=found[0])
    tables, skipped, in_transit = found
    return LedgerWorkbook(tables=tables, skipped_sheets=skipped, child=child, in_transit_sheets=in_transit)


# Sheet names (``header_key``) that say a sheet lists warehouses (the export's 储备库, the template's 储备库表):
# loaded first when the caller reads warehouses ahead. Only an order: what a sheet holds is still its header's.
WAREHOUSES_AHEAD_NAMES = ("储备库", "仓库", "warehouse")
# The most rows a warehouse table read ahead may have: a national ledger lists ~7,600 warehouses.
MAX_WAREHOUSES_AHEAD = 20_000


class AheadUndone(Exception):
    """The warehouse table read ahead is not the workbook's first table after all: open it again without."""


def _read_workbook(data: bytes, send: Send, mapping: HeaderMapping, warehouses_ahead: bool = False) -> None:
    """In the parsing child: scan, open, find the tables, then send every table's rows in chunks.

    Reading warehouses ahead (``open_ledger_workbook``), a warehouse table found in a sheet named as one is
    sent, then its rows, before the other sheets are loaded; then the tables (the same as without) and the
    others' rows. If that table is not the first of them, ``undone`` comes before the tables, and every table's
    rows follow them, that one's again: what the reading in order is sent."""
    scanned = not is_xls(data)
    marks: dict[str, SheetMarks] = {}
    if scanned:
        marks = check_sheets(data)
        marks = sheet_marks(data, marks) if marks else {}
    else:
        marks = check_xls_sheets(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise _unopened(data, exc) from exc
    # Excel never names two sheets alike; calamine gives one sheet's cells for both names (an .xls: the last's).
    # A sheet is named in the report as ``printable`` shows its name (an .xls's may hold control characters):
    # two names shown alike are two names alike.
    names = [printable(name) for name in book.sheet_names]
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise unreadable(f"two sheets are named '{twice}'")
    hidden = {sheet.name for sheet in book.sheets_metadata if sheet.visible != SheetVisibleEnum.Visible}
    marks = {name: marks.get(name) or SheetMarks() for name in hidden} | marks
    for name in hidden:
        marks[name].hidden = True
    ahead, found = _send_warehouses_ahead(book, send, mapping, scanned, marks) if warehouses_ahead else (None, {})
    tables: list[SheetTable] = []
    skipped: list[str] = []
    in_transit: list[str] = []
    sheets: dict[str, CalamineSheet] = {}
    for name in book.sheet_names:
        shipments, sheet, table = found.pop(name, None) or _what_sheet_holds(book, name, mapping, scanned, marks)
        if shipments:
            in_transit.append(printable(name))
        elif table is None:
            if sheet is None:  # a sheet with cells but no ledger header: said; an empty one is not
                skipped.append(printable(name))
        else:
            tables.append(table)
            if sheet is not None:
                sheets[table.name] = sheet
    if not tables:
        raise ValidationFailed(
            "no sheet has a ledger header: a row naming at least the item (物资名称 or 物资编码) and the "
            "quantity (数量), or a warehouse list (仓库编码, 仓库名称 …); download the template for an example",
            field="file",
        )
    rows = sum(table.height for table in tables)
    if rows > MAX_ROWS:
        raise WorkbookTooLarge(f"the workbook has {rows} rows; at most {MAX_ROWS} are imported at once (MAX_ROWS)")
    tables.sort(key=lambda table: table.kind != WAREHOUSE_SHEET)
    if ahead is not None and tables[0] is not ahead:
        # Read in order after all, by this same parse (one parse, one wait): every table, its rows again.
        send(("undone",))
        ahead = None
    elif ahead is not None:
        del sheets[ahead.name]  # its rows were sent
    send(("tables", tables, skipped, in_transit))
    for position, table in enumerate(tables):
        if table is not ahead:
            _send_rows(sheets.pop(table.name), table, position, send)


# Read from memory, python-calamine says only "Cannot detect file format" of an .xls it cannot open (it tries each
# format and keeps no reason); read from a file named .xls, it says why. A password (FILEPASS) and a compound file
# with no Workbook stream never reach it: the record scan refused them (``check_xls_sheets``).
def _unopened(data: bytes, error: Exception) -> ValidationFailed:
    """Why python-calamine could not open ``data``, in words the person can act on."""
    if is_xls(data):
        try:
            with tempfile.NamedTemporaryFile(suffix=".xls") as copy:
                copy.write(data)
                copy.flush()
                CalamineWorkbook.from_path(copy.name).close()
        except (CalamineError, ValueError) as exc:
            error = exc  # the .xls reader's own reason (a broken sector chain, a record cut short …)
        except OSError:
            pass  # no room for the copy: the reason given is the first one
    return unreadable(str(error))


SheetHolds = tuple[bool, CalamineSheet | None, SheetTable | None]


def _sheet_fault(error: Exception) -> str:
    """Why calamine could not load a sheet it listed: its own words are one word (XmlError('worksheet')) or the
    sheet's name again (WorksheetNotFound('台账')), which told the person nothing, in English or not at all."""
    if isinstance(error, WorksheetNotFound):
        return "the file does not hold the sheet's part"
    if isinstance(error, XmlError):
        return "the sheet's XML is damaged"
    log.warning("calamine could not load a sheet: %r", error)  # its own words, for whoever reads the log
    return "the sheet's XML is damaged"


def _what_sheet_holds(
    book: CalamineWorkbook, name: str, mapping: HeaderMapping, scanned: bool, marks: dict[str, SheetMarks]
) -> SheetHolds:
    """(whether it lists stock in transit, the sheet loaded if it holds a table or is empty, the table): a sheet
    named as skipped or in transit is not loaded; one that is let go as soon as it is known to hold no table. A sheet
    the scan did not see (``scanned``: an .xls) is held to the scan's area limit once loaded. The table takes
    the scan's marks of the rows under its header (``sheet_marks``)."""
    key = header_key(name)
    if key in IN_TRANSIT_SHEETS:
        return True, None, None
    if key in SKIPPED_SHEETS:
        return False, None, None
    try:
        sheet = book.get_sheet_by_name(name)
    except (CalamineError, ValueError) as exc:
        raise ValidationFailed(f"sheet '{printable(name)}' cannot be read: {_sheet_fault(exc)}", field="file") from exc
    if not scanned:
        _within_area(sheet)
    if sheet.start is None:  # empty (Sheet2 and Sheet3 of a new workbook): kept, it holds nothing, to pass quietly
        return False, sheet, None
    if _lists_shipments(sheet):
        return True, None, None  # the in-transit sheet renamed: its shipment-code column gives it away
    table = find_table(sheet, mapping)
    seen = marks.get(name)
    if table is not None and seen is not None:
        table.hidden = seen.hidden
        table.hidden_rows = frozenset(number for number in seen.hidden_rows if number > table.header_row)
        table.hidden_columns = frozenset(
            column.index
            for column in table.columns.values()
            if any(first <= column.index <= last for first, last in seen.hidden_columns)
        )
        # a cell without a value and one showing an error reject their row alike (one test per row: ``uncomputed``)
        unread = {number: set(columns) for number, columns in seen.uncomputed.items() if number > table.header_row}
        for number, columns in seen.error_cells.items():
            if number > table.header_row:
                unread.setdefault(number, set()).update(columns)
        table.uncomputed = {number: frozenset(columns) for number, columns in unread.items()}
        table.error_cells = {
            number: frozenset(columns) for number, columns in seen.error_cells.items() if number > table.header_row
        }
    return False, (sheet if table is not None else None), table


def _send_warehouses_ahead(
    book: CalamineWorkbook, send: Send, mapping: HeaderMapping, scanned: bool, marks: dict[str, SheetMarks]
) -> tuple[SheetTable | None, dict[str, SheetHolds]]:
    """The first sheet named as a warehouse list, read: if it holds a warehouse table of at most
    ``MAX_WAREHOUSES_AHEAD`` rows, that table is sent as ``ahead``, then its rows. Also what it holds, so it is
    not loaded again (a table is kept, as the reading in order keeps every table until it is sent). A sheet that
    cannot be read is left to the reading in order, which says so where it would have."""
    for name in book.sheet_names:
        if not any(word in header_key(name) for word in WAREHOUSES_AHEAD_NAMES):
            continue
        try:
            holds = _what_sheet_holds(book, name, mapping, scanned, marks)
        except ValidationFailed:
            return None, {}
        sheet, table = holds[1], holds[2]
        if sheet is None or table is None or table.kind != WAREHOUSE_SHEET or table.height > MAX_WAREHOUSES_AHEAD:
            return None, {name: holds}
        send(("ahead", table))
        _send_rows(sheet, table, 0, send)
        return table, {name: holds}  # the sheet kept: its rows are sent again if the reading is undone
    return None, {}


def _send_rows(sheet: CalamineSheet, table: SheetTable, position: int, send: Send) -> None:
    """A table's rows under its header, in chunks, then its end."""
    chunk: list[tuple[int, list]] = []
    texts: dict[str, str] = {}
    for number, cells in _sheet_rows(sheet):
        if number > table.header_row:
            chunk.append((number, _bounded(cells, texts)))
            if len(chunk) == ROWS_PER_MESSAGE:
                send(("rows", position, chunk))
                chunk = []
                if len(texts) > SHARED_TEXTS:
                    texts.clear()
    send(("rows", position, chunk))
    send(("end", position, []))


def _bounded(cells: list, texts: dict[str, str]) -> list:
    """A row with text longer than ``MAX_CELL_CHARS`` cut to that plus one (still too long for any field), and
    each text the very object of the same text in an earlier row (``texts``): a ledger repeats its names and
    codes on every row, so pickle sends each once per message, and the reader unpickles one object, whose
    hash its lookups compute once."""
    for index, value in enumerate(cells):
        if value.__class__ is str:
            if len(value) > MAX_CELL_CHARS:
                value = value[: MAX_CELL_CHARS + 1]
            cells[index] = texts.setdefault(value, value)
    return cells


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
    # Column → the ranges over it still to fill, (last row, value) in the order they began: the first one still
    # running fills a blank cell. A range whose top cell is blank fills nothing and is not kept. By column, so
    # that a row costs its own cells however many ranges overlap (Excel never overlaps them; a crafted sheet
    # with 20,000 over one column held the parse to its CPU limit).
    active: dict[int, deque[tuple[int, object]]] = {}
    # python-calamine 0.9 yields rows from row 1 but columns from the first used one (pinned; tested).
    for number, values in enumerate(sheet.iter_rows()):
        cells = [""] * first_column + values if first_column else values
        if number in merges:
            for bottom, left, _right in merges.pop(number):
                if left < len(cells) and not is_blank(cells[left]):
                    active.setdefault(left, deque()).append((bottom, cells[left]))
        if active:
            for column, running in list(active.items()):
                while running and running[0][0] < number:
                    running.popleft()  # ended on an earlier row
                if not running:
                    del active[column]
                elif column < len(cells) and is_blank(cells[column]):
                    cells[column] = running[0][1]
        yield number + 1, cells


def _lists_shipments(sheet: CalamineSheet) -> bool:
    """A shipment-code header (发运单号) in the first rows: the export's in-transit sheet, whatever its name."""
    if sheet.start is None:
        return False
    for number, (_, cells) in enumerate(_sheet_rows(sheet)):
        if number >= HEADER_SEARCH_ROWS:
            return False
        if any(isinstance(cell, str) and header_key(cell) in IN_TRANSIT_HEADERS for cell in cells):
            return True
    return False


def find_table(sheet: CalamineSheet, mapping: HeaderMapping | None = None) -> SheetTable | None:
    """Score the first rows against the known headers; the best row with two or more matches is the header.

    The person's mapping counts as known headers; without one, a saved profile made for the header row found
    is applied to it.
    """
    if sheet.start is None:
        return None
    mapping = mapping or HeaderMapping()
    name = printable(sheet.name)
    head: list[tuple[int, list]] = []
    for number, cells in _sheet_rows(sheet):
        head.append((number, cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    groups = _typed_group_headers(head, _group_headers(sheet, head))
    best: SheetTable | None = None
    best_score = MIN_HEADER_MATCHES - 1
    header_cells: dict[int, list] = {}  # a header row's cells, with the first level's under a second level
    for position, (number, cells) in enumerate(head):
        above = groups.get(number - 1, {}) if position else {}
        whole = _second_level(cells, head[position - 1][1], above) if position else None
        header_cells[number] = whole or cells
        table = _map_header(name, number, header_cells[number], above, mapping.explicit)
        score = len(table.columns)
        # A second level as good as the first is the header: it says which column is which (数量 over 应储 | 实储).
        second_level = whole is not None and score == best_score and best is not None and best.header_row == number - 1
        if score > best_score or second_level:
            best, best_score = table, score
            best.signature = header_signature(header_cells[number])
    if best is not None and not mapping.explicit:
        profile = next((p for p in mapping.profiles if best.signature in p.header_signatures), None)
        if profile is not None:
            cells = header_cells[best.header_row]
            above = groups.get(best.header_row - 1, {})
            signature = best.signature
            best = _map_header(name, best.header_row, cells, above, profile.mapping)
            best.signature, best.profile = signature, profile.name
    if best is None:
        return None
    fields = set(best.columns)
    items, named = fields & {"item_code", "item_name"}, fields & {"warehouse_code", "warehouse_name"}
    if items and ("quantity" in fields or (named and (fields & _STOCK_ONLY or not fields & _WAREHOUSE_DETAIL))):
        # items with a unit, batch or dates but no quantity (a count under a header not known): refused as such
        best.kind = STOCK_SHEET
    elif named and len(fields & _WAREHOUSE_DETAIL) >= 1:
        best.kind = WAREHOUSE_SHEET  # a directory of warehouses; a column of what they hold is warned about
    else:
        return None
    _unit_under_quantity_header(sheet, best, header_cells[best.header_row], head)
    best.height = max(0, (sheet.end[0] + 1 if sheet.end else 0) - best.header_row)
    above = [(number, cells) for number, cells in head if number < best.header_row]
    best.form = _form_above(above)
    best.title = _title_above(above)
    _place_names_it(best)
    return best


def _title_above(head: list[tuple[int, list]]) -> FormValue | None:
    """The first row above the header holding one text and nothing else, no label (东城区环境应急物资储备台账,
    typed over the table or merged across it): the sheet's title. An 附件2 / 附表1 row above it (the document the
    sheet is attached to) is no title."""
    for number, cells in head:
        filled = [(index, cell) for index, cell in enumerate(cells) if not is_blank(cell)]
        if len(filled) != 1 or filled[0][1].__class__ is not str:
            continue
        text = filled[0][1]
        if not _LABEL_SEPARATORS.search(text) and not _ANNEX.match(text):
            return FormValue(text, number, filled[0][0], "")
    return None


_ANNEX = re.compile(r"^\s*附\s*[件表录]\s*[\d一二三四五六七八九十]*\s*$")


def _place_names_it(table: SheetTable) -> None:
    """A stock table with no warehouse column (仓库编码, 仓库名称, nor one in the form above) whose place column is
    a 存放地点 / 储备地点: the place is the warehouse, read as its name too (and still as its address). Not when a
    column the import does not know looks like a warehouse column (所在仓库): that is the warehouse, unread, and
    the sheet is refused naming it, never its shelf places (A区3排) registered as warehouses."""
    named = {"warehouse_code", "warehouse_name"}
    place = table.columns.get("address")
    if (
        table.kind != STOCK_SHEET
        or place is None
        or named & set(table.columns)
        or named & set(table.form)
        or header_key(place.header) not in PLACE_HEADERS
        or any(closest_field(header) in named for _index, header in table.unknown_headers)
    ):
        return
    table.columns["warehouse_name"] = Column(index=place.index, header=place.header, field="warehouse_name")
    table.place_as_warehouse = True


def _unit_under_quantity_header(
    sheet: CalamineSheet, table: SheetTable, header: list, head: list[tuple[int, list]]
) -> None:
    """数量 merged over two columns, the number and then its unit (200 | 袋): the second column is the unit.

    The unit column has no header of its own there; unread, 500 | 公斤 of an item counted in 吨 would be 500 吨.
    数量 not merged but centred over both (the next header cell blank) is the same when that column's first
    rows under the header (of ``head``, the sheet's first rows) hold units and nothing else.
    """
    quantity = table.columns.get("quantity")
    if quantity is None or "unit" in table.columns:
        return
    row = table.header_row - 1  # calamine counts rows from 0
    after = quantity.index + 1
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        if left == quantity.index and right == after and top <= row <= bottom:
            table.columns["unit"] = Column(index=right, header=quantity.header, field="unit")
            return
    if after < len(header) and not is_blank(header[after]):
        return
    written = [parse_text(cells[after]) for number, cells in head if number > table.header_row and after < len(cells)]
    written = [text for text in written if text]
    if written and all(is_known_unit(text) for text in written):
        table.columns["unit"] = Column(index=after, header=quantity.header, field="unit")


_FORM_FIELDS = {spec.field for spec in COLUMNS_BY_FIELD.values() if spec.part in ("warehouse", "region")}
_LABEL_SEPARATORS = re.compile(r"[:：]")


def _form_above(head: list[tuple[int, list]]) -> dict[str, FormValue]:
    """Label–value pairs above the header: ``单位名称：某公司`` in one cell, or a label and the next filled cell.

    Only labels naming a warehouse or region field count (a title or 填报单位 is not one). Without a
    warehouse name, the unit's name (单位名称) names the site: an enterprise's sheet is one site.
    """
    form: dict[str, FormValue] = {}
    for number, cells in head:
        index = 0
        while index < len(cells):
            text = parse_text(cells[index])
            label, value, value_index = text, None, index
            if text and _LABEL_SEPARATORS.search(text):
                label, value = (part.strip() for part in _LABEL_SEPARATORS.split(text, maxsplit=1))
            if text and not value:
                value_index = next((j for j in range(index + 1, len(cells)) if not is_blank(cells[j])), -1)
                value = cells[value_index] if value_index >= 0 else None
            field_name = _match_header(label, "") if label else None
            is_pair = field_name in _FORM_FIELDS and not is_blank(value) and field_name not in form
            # a label next to another label is a header row's cells, not a form line
            if is_pair and (value_index == index or _match_header(parse_text(value), "") is None):
                form[field_name] = FormValue(value, number, value_index, label)
                index = max(index, value_index)
            index += 1
    if "warehouse_name" not in form and "organisation" in form:
        form["warehouse_name"] = form["organisation"]
    return form


# Columns only a stock ledger has: with items and no quantity, the sheet is a ledger whose count is unnamed.
_STOCK_ONLY = frozenset({"unit", "batch", "production_date", "expiry_date"})
_WAREHOUSE_DETAIL = {spec.field for spec in COLUMNS_BY_FIELD.values() if spec.part in ("warehouse", "region")} - {
    "warehouse_code",
    "warehouse_name",
}


def _group_headers(sheet: CalamineSheet, head: list[tuple[int, list]]) -> dict[int, dict[int, str]]:
    """Text of horizontally merged cells (group headers such as 仓库信息) by row and covered column."""
    by_row = {number: cells for number, cells in head}
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        if right > left and top == bottom and top + 1 in by_row:
            cells = by_row[top + 1]
            text = parse_text(cells[left]) if left < len(cells) else ""
            if text:
                spans.setdefault(top + 1, []).append((left, right, text))
    return {number: _painted(row_spans) for number, row_spans in spans.items()}


def _second_level(cells: list, first: list, groups: dict[int, str]) -> list | None:
    """A header's second row under its first (``first``, whose group headers over the columns are ``groups``):
    the row with the first row's headers where it is blank, or None when it is no second level (a cell it adds
    stands under no group). 物资信息 over 名称 | 单位 | 数量 beside 储备库名称, 所在区县 … of the first row, the
    second row blank beneath those (not merged down): the whole header is both rows."""
    own = [
        index
        for index, cell in enumerate(cells)
        if not is_blank(cell) and (index >= len(first) or cell != first[index])
    ]
    if not own or any(index not in groups for index in own):
        return None
    whole = list(cells) + [""] * max(0, len(first) - len(cells))
    for index, cell in enumerate(first):
        if is_blank(whole[index]) and not is_blank(cell) and _match_header(parse_text(cell), "") is not None:
            whole[index] = cell
    return whole


def _typed_group_headers(head: list[tuple[int, list]], merged: dict[int, dict[int, str]]) -> dict[int, dict[int, str]]:
    """``merged`` (``_group_headers``) with the group headers typed in their first cell only, the cells after it
    left blank (centred across the selection, or unmerged): such a text covers the blank cells up to the next
    filled one, as far as the row below has headers (储备库 over 名称 | 所在区县 is 储备库名称, not the item's
    名称). A merged range wins over it."""
    by_row = {number: cells for number, cells in head}
    groups = {number: dict(columns) for number, columns in merged.items()}
    for number, cells in head:
        below = by_row.get(number + 1)
        last_below = next((i for i in range(len(below) - 1, -1, -1) if not is_blank(below[i])), -1) if below else -1
        filled = [index for index in range(min(len(cells), last_below + 1)) if not is_blank(cells[index])]
        for position, left in enumerate(filled):
            right = filled[position + 1] - 1 if position + 1 < len(filled) else last_below
            text = parse_text(cells[left])
            if right > left and text:
                row = groups.setdefault(number, {})
                for column in range(left, right + 1):
                    row.setdefault(column, text)
    return groups


def _painted(spans: list[tuple[int, int, str]]) -> dict[int, str]:
    """Column → the text of the last span (left, right, text) over it. Painted last span first, each column once:
    ``following`` skips the columns painted already (Excel never overlaps merged ranges; 20,000 crafted ones
    across 16,384 columns each cost minutes painted one by one)."""
    painted: dict[int, str] = {}
    following: dict[int, int] = {}  # a painted column → a column after it, maybe unpainted

    def unpainted_from(column: int) -> int:
        start = column
        while column in following:
            column = following[column]
        while start in following and following[start] != column:  # shorten the way for the next search
            following[start], start = column, following[start]
        return column

    for left, right, text in reversed(spans):
        column = unpainted_from(left)
        while column <= right:
            painted[column] = text
            following[column] = column + 1
            column = unpainted_from(column + 1)
    return painted


def header_signature(cells: list) -> str:
    """The words of a header row, compared as headers are (width, spaces, brackets): a profile's key to it."""
    words = "\x1f".join(header_key(cell) for cell in cells if not is_blank(cell))
    return hashlib.sha256(words.encode()).hexdigest()[:32]


def _map_header(
    sheet: str, number: int, cells: list, above: dict[int, str], mapped: dict[str, str] | None = None
) -> SheetTable:
    """The columns a header row names; ``mapped`` (header key → field, "" to ignore) is asked first."""
    columns: dict[str, Column] = {}
    unknown: list[tuple[int, str]] = []
    duplicates: list[tuple[int, str, str, int]] = []  # (index, header) of a column not read, and of the one read
    for index, cell in enumerate(cells):
        header = parse_text(cell)
        if not header:
            continue
        key = header_key(header)
        field_name = mapped[key] if mapped and key in mapped else _match_header(header, above.get(index, ""))
        if field_name is None:
            unknown.append((index, header))
        elif field_name == "":
            continue
        elif field_name in columns:
            kept = columns[field_name]
            if header_key(kept.header) in YIELDING_HEADERS and key not in YIELDING_HEADERS:
                columns[field_name] = Column(
                    index=index, header=header, field=field_name, unit=bracket_unit(header, KNOWN_UNITS)
                )
                duplicates.append((kept.index, kept.header, header, index))
            else:
                duplicates.append((index, header, kept.header, kept.index))
        else:
            columns[field_name] = Column(
                index=index, header=header, field=field_name, unit=bracket_unit(header, KNOWN_UNITS)
            )
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
