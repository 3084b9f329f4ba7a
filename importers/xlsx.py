"""What every workbook this project writes shares: the media type, formats, widths and the formula guard.

The ledger export, the annotated upload and the report workbooks all write with xlsxwriter through
``streaming_workbook`` and ``workbook_styles``, and pass every text cell through ``neutralise``. The
ledger export's big sheets stream their rows through ``RowStream``: the very XML xlsxwriter writes for
them, a row at a time, without xlsxwriter's per-cell work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from importers.values import FORMULA_TRIGGERS
from inventory.reference import LabelledEnum

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
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


def streaming_workbook(out: str | IO[bytes]) -> xlsxwriter.Workbook:
    """A workbook in constant-memory mode (rows stream to disk, in order) that writes text as text, never
    as a number or a formula."""
    return xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )


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


def enum_label(member: LabelledEnum | str, enum_class: type[LabelledEnum], lang: str) -> str:
    """A reference code (reserve type, category, …) as its label in the workbook's language."""
    member = enum_class(member)
    return member.label_zh if lang == "zh" else member.label_en


class RowStream:
    """Rows of a constant-memory worksheet written as the XML xlsxwriter 3.3 itself writes for them.

    xlsxwriter spends most of an export in its per-cell path (argument checks, a cell tuple, a format
    lookup, escaping every string again); a national ledger repeats a few thousand distinct strings
    126,000 times. Here each distinct text is neutralised and escaped once (cached), and a row is one
    ``write`` of ready fragments. The output is byte for byte what ``write_string``/``write_number``/
    ``write_datetime`` give (``tests/importers/test_row_stream.py`` compares them), which is why this
    uses xlsxwriter's own escaping helpers and its row-data file handle (requirements pin xlsxwriter).

    Use: ``RowStream(sheet, first_row, columns)`` once the header rows are written, then
    ``write(row, fragments)`` with rows in increasing order, one fragment (``text``/``number``/``date``)
    or None per column, then ``finish``. Nothing else may be written to the sheet's cells in between.
    """

    CACHE_LIMIT = 200_000  # distinct texts kept escaped; past it the cache starts again (memory stays bounded)

    def __init__(self, sheet: Worksheet, first_row: int, columns: int) -> None:
        if not sheet.constant_memory:
            raise ValueError("RowStream writes into constant_memory worksheets only")
        sheet._write_single_row(first_row)  # the header rows xlsxwriter still holds go out first, as it would
        self.sheet = sheet
        self.fh = sheet.fh
        self.columns = [xl_col_to_name(column) for column in range(columns)]
        self.last_row: int | None = None
        self.first_column, self.last_column = columns, -1
        self._texts: dict[str, str | None] = {}
        self._dates: dict[tuple, str] = {}
        self._escape = sheet._escape_data
        self._control = sheet._escape_control_characters

    def text(self, value: str | None) -> str | None:
        """A text cell (neutralised: see ``neutralise``); None (no cell) for None or empty text."""
        fragment = self._texts.get(value)
        if fragment is None and value:
            fragment = self._texts[value] = self._text_fragment(value)
            if len(self._texts) > self.CACHE_LIMIT:
                self._texts = {}
        return fragment

    def _text_fragment(self, value: str) -> str:
        string = neutralise(value)
        limit = self.sheet.xls_strmax  # xlsxwriter truncates longer text the same way
        if len(string) > limit // 2 and _utf16_len(string) > limit:
            string = _utf16_truncate(string, limit)
        string = self._control(string)
        space = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
        return f' t="inlineStr"><is><t{space}>{self._escape(string)}</t></is></c>'

    @staticmethod
    def number(value: float, cell_format: Format | None = None) -> str:
        style = f' s="{cell_format._get_xf_index()}"' if cell_format is not None else ""
        return f"{style}><v>{value:.16G}</v></c>"

    def date(self, value, cell_format: Format) -> str | None:
        """A date or datetime cell with ``cell_format``; None for None."""
        if value is None:
            return None
        key = (value, cell_format)
        fragment = self._dates.get(key)
        if fragment is None:
            fragment = self._dates[key] = self.number(self.sheet._convert_date_time(value), cell_format)
        return fragment

    def write(self, row: int, fragments: Sequence[str | None]) -> None:
        """Row ``row`` (0-based), its cells from column A on; rows in increasing order."""
        if row >= self.sheet.xls_rowmax:  # xlsxwriter would drop the cells silently: say so instead
            raise ValueError(f"a worksheet holds at most {self.sheet.xls_rowmax:,} rows")
        number = row + 1
        cells = [
            f'<c r="{column}{number}"{fragment}'
            for column, fragment in zip(self.columns, fragments, strict=False)
            if fragment is not None
        ]
        if not cells:  # xlsxwriter writes no <row> for a row without cells
            return
        self.fh.write(f'<row r="{number}">{"".join(cells)}</row>')
        self.last_row = row
        # The sheet's dimension spans the columns written; look only while a row could widen it.
        if self.first_column > 0 or len(fragments) - 1 > self.last_column:
            written = [column for column, fragment in enumerate(fragments) if fragment is not None]
            self.first_column = min(self.first_column, written[0])
            self.last_column = max(self.last_column, written[-1])

    def finish(self) -> None:
        """Tell the worksheet how far its data goes (its dimension, the autofilter range are computed from it)."""
        sheet = self.sheet
        if self.last_row is not None:
            sheet._check_dimensions(self.last_row, self.first_column)
            sheet._check_dimensions(self.last_row, self.last_column)
            # The rows are written: xlsxwriter must neither write them nor accept cells above them again.
            sheet.previous_row = self.last_row + 1
