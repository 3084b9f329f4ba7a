"""RowStream writes exactly the worksheet XML xlsxwriter writes for the same cells, one call per cell."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from importers.xlsx import RowStream, neutralise, streaming_workbook, workbook_styles

AWKWARD_TEXT = [
    "仓库 A",
    "Tom & Jerry <b> \"quoted\" 'single'",
    "  leading and trailing spaces  ",
    "tab\\tinside and a line\\nbreak",
    "control \x01 and \x1f characters",
    "a literal _x0041_ escape",
    "=SUM(A1:A2)",
    "+86 10 1234",
    "-1",
    "@here",
    "emoji 🚒 and full-width ０１２",
    "\ufffe and \uffff",
    "x" * 40_000,  # past Excel's 32,767 characters: truncated the same way
    "🚒" * 20_000,  # past the limit in UTF-16 units only
    "a NUL \x00 inside",  # written as _x0000_: RowStream's row-number marker never comes from text
]
NUMBERS = [0, 1, 12.5, -3.25, 0.1, 1e20, 123456789.123456789, 2.5e-7]
DATES = [dt.date(2026, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), dt.datetime(2026, 3, 1, 12, 30)]


def _rows():
    """Rows of (kind, value, style name) cells: text, numbers with and without a format, dates, gaps."""
    rows = []
    for index, text in enumerate(AWKWARD_TEXT):
        number = NUMBERS[index % len(NUMBERS)]
        date = DATES[index % len(DATES)]
        rows.append(
            [
                ("text", text, None),
                None,
                ("text", "", None),  # empty text: no cell (the export never wrote empty text cells)
                ("number", number, "integer" if index % 2 else "decimal"),
                ("number", number, None),
                ("date", date, "date"),
                ("date", None, "date"),
            ]
        )
    rows.append([None, None, ("text", "", None)])  # a row without cells
    rows.append([("text", "last", None)])
    return rows


def _workbook(write_rows, *, book_class=None) -> dict[str, bytes]:
    """The workbook's files, unzipped: by ``streaming_workbook``, or by ``book_class`` with its options."""
    out = io.BytesIO()
    if book_class is None:
        book = streaming_workbook(out)
    else:
        book = book_class(out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    book.set_properties({"created": dt.datetime(2026, 1, 1)})
    styles = workbook_styles(book)
    sheet = book.add_worksheet("台账")
    sheet.write_string(0, 0, "title", styles["title"])
    sheet.write_string(1, 0, "header", styles["header"])
    sheet.set_row(1, 30)
    sheet.freeze_panes(2, 0)
    last = write_rows(sheet, styles)
    sheet.autofilter(1, 0, last, 6)
    book.close()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _cell_by_cell(sheet, styles) -> int:
    row = 1
    for row, cells in enumerate(_rows(), start=2):
        for column, cell in enumerate(cells):
            if cell is None or cell[1] in (None, ""):
                continue
            kind, value, style = cell
            cell_format = styles[style] if style else None
            if kind == "text":
                sheet.write_string(row, column, neutralise(value), cell_format)
            elif kind == "number":
                sheet.write_number(row, column, value, cell_format)
            else:
                sheet.write_datetime(row, column, value, cell_format)
    return row


def _streamed(sheet, styles) -> int:
    stream = RowStream(sheet, 2, 7)
    row = 1
    for row, cells in enumerate(_rows(), start=2):
        made = []
        for column, cell in enumerate(cells):
            if cell is None:
                made.append(b"")
                continue
            kind, value, style = cell
            cell_format = styles[style] if style else None
            if kind == "text":
                made.append(stream.text(column, value))
            elif kind == "number":
                made.append(stream.number(column, value, cell_format))
            else:
                made.append(stream.date(column, value, cell_format))
        stream.write(row, made)
    stream.finish()
    return row


def test_the_streamed_rows_are_byte_for_byte_what_xlsxwriter_writes_cell_by_cell():
    import xlsxwriter

    # The reference is xlsxwriter's own workbook: streaming_workbook zips the same files its own way.
    reference, streamed = _workbook(_cell_by_cell, book_class=xlsxwriter.Workbook), _workbook(_streamed)

    assert streamed.keys() == reference.keys()
    for name in reference:
        assert streamed[name] == reference[name], name


def test_the_streamed_sheet_reads_back_with_its_values():
    files = _workbook(_streamed)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue())).get_sheet_by_name("台账").to_python()

    assert rows[2][0] == "仓库 A" and rows[2][3] == 0 and rows[2][5] == dt.date(2026, 1, 1)
    assert rows[8][0] == "'=SUM(A1:A2)"  # neutralised as every exported text is
    assert rows[3][0] == AWKWARD_TEXT[1]
    assert len(rows[14][0]) == 32_767
    assert rows[-1][0] == "last"


def test_a_stream_needs_a_constant_memory_worksheet():
    import xlsxwriter

    book = xlsxwriter.Workbook(io.BytesIO())
    with pytest.raises(ValueError, match="constant_memory"):
        RowStream(book.add_worksheet(), 0, 1)
    book.close()


def test_a_row_past_excels_last_row_is_refused_not_dropped():
    book = streaming_workbook(io.BytesIO())
    sheet = book.add_worksheet()
    stream = RowStream(sheet, 0, 1)
    stream.write(1_048_575, [stream.text(0, "the last row Excel has")])
    with pytest.raises(ValueError, match="1,048,576 rows"):
        stream.write(1_048_576, [stream.text(0, "one too many")])
    stream.finish()
    book.close()


def test_rows_streamed_without_finish_are_refused_at_close_not_left_out():
    book = streaming_workbook(io.BytesIO())
    stream = RowStream(book.add_worksheet(), 0, 1)
    stream.write(0, [stream.text(0, "a row the sheet's dimension would not cover")])
    with pytest.raises(ValueError, match="finish"):
        book.close()
