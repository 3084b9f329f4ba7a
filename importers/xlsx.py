"""What every workbook this project writes shares: the media type, formats, widths and the formula guard.

The ledger export, the annotated upload and the report workbooks all write with xlsxwriter through
``streaming_workbook`` and ``workbook_styles``, and pass every text cell through ``neutralise``. The
ledger export's big sheets stream their rows through ``RowStream``: the very XML xlsxwriter writes for
them, a row at a time, without xlsxwriter's per-cell work.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from typing import IO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from importers.values import FORMULA_TRIGGERS
from importers.xlsx_zip import DeflatedPart, ZipWriter
from inventory.reference import LabelledEnum

# What xlsxwriter's _escape_control_characters rewrites: its "_xHHHH_" and control-character patterns
# (xmlwriter.re_control_chars_1 and _2) and the two non-characters.
_CONTROL_ESCAPES = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The characters Excel refuses in a sheet's title, each as its full-width twin, which reads the same.
_TITLE_FORBIDDEN = str.maketrans("[]:*?/\\", "［］：＊？／＼")


def sheet_title(name: str) -> str:
    """A sheet name (as the report shows it: ``inventory.validation.printable``) as a title Excel and xlsxwriter
    accept: forbidden characters full-width, no apostrophe at either end, at most 31 characters."""
    title = name.translate(_TITLE_FORBIDDEN)[:31]
    if title.startswith("'"):
        title = "’" + title[1:]
    if title.endswith("'"):
        title = title[:-1] + "’"
    return title


# Column widths of the ledger's fields, wherever a workbook has such a column.
WIDTHS = {
    "province_name": 10,
    "province_code": 8,
    "city_name": 12,
    "city_code": 8,
    "county_name": 12,
    "county_code": 8,
    "warehouse_code": 11,
    "warehouse_name": 36,
    "reserve_type": 16,
    "item_code": 9,
    "item_name": 16,
    "category": 14,
    "specification": 24,
    "unit": 6,
    "batch": 11,
    "quantity": 12,
    "production_date": 11,
    "expiry_date": 11,
    "level": 8,
    "status": 6,
    "organisation": 30,
    "address": 30,
    "longitude": 11,
    "latitude": 10,
    "contact_person": 9,
    "contact_phone": 13,
    "notes": 30,
}


def neutralise(text: str) -> str:
    """OWASP formula-injection guard: text a spreadsheet could run as a formula gets a leading "'"."""
    return "'" + text if text and text.startswith(FORMULA_TRIGGERS) else text


def streaming_workbook(out: str | IO[bytes]) -> StreamingWorkbook:
    """A workbook in constant-memory mode (rows stream to disk, in order) that writes text as text, never
    as a number or a formula."""
    return StreamingWorkbook(out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})


class StreamingWorkbook(xlsxwriter.Workbook):
    """xlsxwriter's workbook, zipped faster (``importers.xlsx_zip``): the same XML files, in the same order.

    xlsxwriter zips at zlib's default level 6 once every file is written, which costs a national
    ledger (122 MB of sheet XML) about 2 s; here the rows of a ``RowStream`` are deflated (at
    ``xlsx_zip.LEVEL``) by a worker thread while they are made, and go into the sheet's member where
    xlsxwriter's assembled XML has them (after the header rows), instead of being written to a file,
    copied into the sheet file and read back to be deflated. The rest is xlsxwriter 3.3's own ``_store_workbook``.
    """

    def __init__(self, filename, options=None) -> None:
        super().__init__(filename, options)
        self.worksheet_class = StreamingWorksheet

    def _store_workbook(self) -> None:
        # As xlsxwriter 3.3.1's Workbook._store_workbook, with the files zipped by ZipWriter.
        if not self.worksheets():
            self.add_worksheet()
        if self.worksheet_meta.activesheet == 0:
            self.worksheets_objs[0].selected = 1
            self.worksheets_objs[0].hidden = 0
        for sheet in self.worksheets():
            if sheet.index == self.worksheet_meta.activesheet:
                sheet.active = 1
        self._prepare_sst_string_data()
        self._prepare_vml()
        self._prepare_defined_names()
        self._prepare_drawings()
        self._add_chart_data()
        self._prepare_tables()
        self._prepare_metadata()
        packager = self._get_packager()
        packager._add_workbook(self)
        packager._set_tmpdir(self.tmpdir)
        packager._set_in_memory(False)
        xml_files = packager._create_package()
        # xlsxwriter names the worksheet files by position, chart sheets aside (Packager._write_worksheet_files).
        sheets = [sheet for sheet in self.worksheets() if not sheet.is_chartsheet]
        streams = {f"xl/worksheets/sheet{number}.xml": sheet.row_stream for number, sheet in enumerate(sheets, 1)}
        try:
            with contextlib.ExitStack() as closing:
                out = self.filename
                if isinstance(out, str | os.PathLike):
                    out = closing.enter_context(open(out, "wb"))
                archive = ZipWriter(out)
                for os_filename, xml_filename, _is_binary in xml_files:
                    with open(os_filename, "rb") as source:
                        stream = streams.get(xml_filename)
                        if stream is None or stream.last_row is None:
                            archive.add_file(xml_filename, source)
                        else:
                            if not stream.finished:  # the sheet's dimension would leave the rows out
                                raise ValueError("a RowStream's finish() comes before the workbook's close()")
                            xml = source.read().decode("utf-8")
                            at = xml.index("<sheetData>") + len("<sheetData>") + stream.header_length
                            archive.add_around(xml_filename, xml[:at].encode(), stream.body, xml[at:].encode())
                archive.close()
        finally:
            for os_filename, _xml_filename, _is_binary in xml_files:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os_filename)
            for sheet in sheets:
                if sheet.row_stream is not None:
                    sheet.row_stream.body.close()


def workbook_styles(book: xlsxwriter.Workbook) -> dict:
    """The shared cell formats: title, header, section, date, integer, decimal, coordinate, total, text."""
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "header": book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
        ),
        "section": book.add_format({"bold": True, "font_size": 12}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "integer": book.add_format({"num_format": "#,##0"}),
        "decimal": book.add_format({"num_format": "#,##0.0##"}),
        "coordinate": book.add_format({"num_format": "0.000000"}),
        "total": book.add_format({"bold": True, "num_format": "#,##0.###", "top": 1}),
        "text": book.add_format({"num_format": "@"}),
    }


class StreamingWorksheet(Worksheet):
    """A worksheet of a ``StreamingWorkbook``: it may hold a ``RowStream``, whose rows the workbook zips."""

    def __init__(self) -> None:
        super().__init__()
        self.row_stream: RowStream | None = None


def enum_label(member: LabelledEnum | str, enum_class: type[LabelledEnum], lang: str) -> str:
    """A reference code (reserve type, category, …) as its label in the workbook's language."""
    member = enum_class(member)
    return member.label_zh if lang == "zh" else member.label_en


class RowStream:
    """Rows of a constant-memory worksheet written as the XML xlsxwriter 3.3 itself writes for them.

    xlsxwriter spends most of an export in its per-cell path (argument checks, a cell tuple, a format
    lookup, escaping every string again); a national ledger repeats a few thousand distinct strings
    126,000 times. Here a cell is made once as UTF-8 bytes (``text``/``number``/``date``: its whole
    ``<c>`` element, the row number left as a marker) and kept by the caller, and a row is its cells
    joined, the marker replaced by the row number. The output is byte for byte what ``write_string``/
    ``write_number``/``write_datetime`` give (``tests/importers/test_row_stream.py`` compares them), which
    is why this uses xlsxwriter's own escaping helpers (requirements pin xlsxwriter). The rows are
    deflated as they come (``xlsx_zip.DeflatedPart``) and ``StreamingWorkbook`` puts them into the
    sheet's zip member.

    Use: ``RowStream(sheet, first_row, columns)`` once the header rows are written, then
    ``write(row, cells)`` with rows in increasing order, a row's cells in column order (b"" for none),
    then ``finish``. A cell counts towards the sheet's dimension when it is made: make only cells that
    are written. Nothing else may be written to the sheet's cells in between.
    """

    PENDING_ROWS = 2_000  # rows joined at once into the body file
    CACHE_LIMIT = 200_000  # distinct texts kept escaped; past it the cache starts again (memory stays bounded)
    ROW_NUMBER = b"\0"  # stands for the row number in a cell until its row is written (text never holds it:
    # xlsxwriter writes the control character U+0000 as "_x0000_")
    _EMPTY_ROW = len(b'<row r="\0"></row>')

    def __init__(self, sheet: Worksheet, first_row: int, columns: int) -> None:
        if not sheet.constant_memory:
            raise ValueError("RowStream writes into constant_memory worksheets only")
        if not isinstance(sheet, StreamingWorksheet) or sheet.row_stream is not None:
            raise ValueError("RowStream writes into a worksheet of a streaming_workbook, one stream a sheet")
        sheet._write_single_row(first_row)  # the header rows xlsxwriter still holds go out first, as it would
        # The streamed rows go in right after them when the workbook zips the sheet (whatever xlsxwriter
        # writes to the sheet after the stream comes after them).
        fh = sheet.fh
        fh.seek(0)
        self.header_length = len(fh.read())
        self.body = DeflatedPart(sheet.tmpdir)  # closed by the workbook
        self._pending: list[bytes] = []
        self.finished = False
        sheet.row_stream = self
        self.sheet = sheet
        self._references = [
            f'<c r="{xl_col_to_name(column)}'.encode() + self.ROW_NUMBER + b'"' for column in range(columns)
        ]
        self._made = [False] * columns  # the columns with a cell (the sheet's dimension)
        self._row_limit = sheet.xls_rowmax
        self.last_row: int | None = None
        self._texts: dict[str, bytes] = {}
        self._escape = sheet._escape_data
        self._control = sheet._escape_control_characters

    def text(self, column: int, value: str | None) -> bytes:
        """A text cell (neutralised: see ``neutralise``); b"" (no cell) for None or empty text."""
        if not value:
            return b""
        fragment = self._texts.get(value)
        if fragment is None:
            fragment = self._texts[value] = self._text_fragment(value)
            if len(self._texts) > self.CACHE_LIMIT:
                self._texts = {}
        self._made[column] = True
        return self._references[column] + fragment

    def _text_fragment(self, value: str) -> bytes:
        string = neutralise(value)
        limit = self.sheet.xls_strmax  # xlsxwriter truncates longer text the same way
        if len(string) > limit // 2 and _utf16_len(string) > limit:
            string = _utf16_truncate(string, limit)
        if _CONTROL_ESCAPES.search(string):  # most text has nothing xlsxwriter's two substitutions change
            string = self._control(string)
        space = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
        return f' t="inlineStr"><is><t{space}>{self._escape(string)}</t></is></c>'.encode()

    def number(self, column: int, value: float, cell_format: Format | None = None) -> bytes:
        style = f' s="{cell_format._get_xf_index()}"' if cell_format is not None else ""
        self._made[column] = True
        return self._references[column] + f"{style}><v>{value:.16G}</v></c>".encode()

    def date(self, column: int, value, cell_format: Format) -> bytes:
        """A date or datetime cell with ``cell_format``; b"" for None."""
        if value is None:
            return b""
        return self.number(column, self.sheet._convert_date_time(value), cell_format)

    def write(self, row: int, cells: Sequence[bytes]) -> None:
        """Row ``row`` (0-based): its cells, from this stream, in column order; rows in increasing order."""
        if row >= self._row_limit:  # xlsxwriter would drop the cells silently: say so instead
            raise ValueError(f"a worksheet holds at most {self._row_limit:,} rows")
        line = b"".join((b'<row r="\0">', *cells, b"</row>"))
        if len(line) == self._EMPTY_ROW:  # xlsxwriter writes no <row> for a row without cells
            return
        pending = self._pending
        pending.append(line.replace(self.ROW_NUMBER, b"%d" % (row + 1)))
        if len(pending) >= self.PENDING_ROWS:
            self.flush()
        self.last_row = row

    def flush(self) -> None:
        """The rows written so far, into the body file (UTF-8, the encoding of the sheet XML)."""
        if self._pending:
            self.body.write(b"".join(self._pending))
            self._pending = []

    def finish(self) -> None:
        """Tell the worksheet how far its data goes (its dimension, the autofilter range are computed from it)."""
        self.flush()
        self.finished = True
        sheet = self.sheet
        if self.last_row is not None:
            sheet._check_dimensions(self.last_row, self._made.index(True))
            sheet._check_dimensions(self.last_row, len(self._made) - 1 - self._made[::-1].index(True))
            # The rows are written: xlsxwriter must neither write them nor accept cells above them again.
            sheet.previous_row = self.last_row + 1
