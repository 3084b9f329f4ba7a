"""What a workbook's XML says that its cells do not (``importers.workbook.SheetMarks``): rows hidden in the file,
and formulas with no saved value.

Counties hide the rows they no longer use (old stock, the example) or filter the sheet: a hidden row is imported like
any other, and the report names the hidden rows. A ledger written by a script may hold formulas nobody calculated:
python-calamine reads them as empty, so the row would say its quantity is missing; the cell is named instead.
"""

from __future__ import annotations

import io
import re
import struct
import time
import zipfile

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import select

from importers.workbook import SCAN_CHUNK_BYTES, _PartScan
from importers.xls_records import xls_sheets
from inventory.models import StockLine, Warehouse
from tests.importers.conftest import HEADER, in_chinese, ledger_row, xlsx
from tests.importers.xls_corpus import biff_workbook, compound_file, dimensions, label, number_cell, record

QUANTITY = HEADER.index("数量") + 1  # the quantity's column, from 1: G


def ledger(rows: int = 6, hidden: tuple[int, ...] = (), formulas: dict[int, str] | None = None) -> bytes:
    """A ledger of ``rows`` stock rows under its header (rows 2 on), with these Excel rows hidden and these
    quantity cells holding a formula (openpyxl writes a formula without its value: ``<f>…</f><v />``)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(HEADER)
    for number in range(rows):
        sheet.append(ledger_row("W-1", "活性炭", 7, 批次=f"B{number}"))
    for number, formula in (formulas or {}).items():
        sheet.cell(row=number, column=QUANTITY).value = formula
    for number in hidden:
        sheet.row_dimensions[number].hidden = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewritten(data: bytes, change, workbook=None) -> bytes:
    """The workbook with its first sheet's XML changed by ``change`` (bytes → bytes), and its workbook part by
    ``workbook``."""
    changes = {"xl/worksheets/sheet1.xml": change, "xl/workbook.xml": workbook or (lambda xml: xml)}
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            part = source.read(member)
            target.writestr(member, changes.get(member.filename, lambda xml: xml)(part))
    return out.getvalue()


def test_hidden_rows_are_imported_and_the_report_names_them(run_import):
    report = run_import(ledger(rows=7, hidden=(1, 4, 5, 6, 8)), dry_run=True)

    assert report.status == "validated", report.errors
    assert report.counts["lines_created"] == 7  # hidden or not, every row is read
    (warning,) = [issue for issue in report.warnings if "hidden" in issue.message]
    # the hidden header row is no ledger row: it is not named
    assert warning.message == (
        "sheet '台账' rows 4-6, 8 are hidden in the file (hidden, or filtered out); they were read like every other "
        "row: delete them from the sheet if they should not be imported"
    )
    assert (warning.sheet, warning.row) == ("台账", 4)
    assert in_chinese(warning.message).startswith("工作表“台账”第 4-6, 8 行在文件中是隐藏的")


def test_hidden_rows_of_an_xls_are_named_as_an_xlsx_s(run_import):
    """An Excel 97-2003 workbook says a row is hidden in its ROW record (option flag fDyZero)."""

    def row_record(row: int, hidden: bool) -> bytes:  # rw, first and last column + 1, height, 2 reserved, flags, xf
        return record(0x0208, struct.pack("<HHHHHHHH", row, 0, len(HEADER), 255, 0, 0, 0x20 if hidden else 0, 15))

    def cells(row: int, values: list) -> bytes:
        written = [
            label(row, column, value) if isinstance(value, str) else number_cell(row, column, value)
            for column, value in enumerate(values)
            if value is not None
        ]
        return b"".join(written)

    rows = [HEADER] + [ledger_row("W-1", "活性炭", 7, 批次=f"B{number}") for number in range(4)]
    records = dimensions(0, len(rows), 0, len(HEADER))
    records += b"".join(row_record(number, hidden=number in (2, 3)) for number in range(len(rows)))
    records += b"".join(cells(number, values) for number, values in enumerate(rows))
    report = run_import(compound_file(biff_workbook([("台账", records)])), file_name="ledger.xls", dry_run=True)

    assert report.status == "validated", report.errors
    assert report.counts["lines_created"] == 4
    (warning,) = [issue for issue in report.warnings if "hidden" in issue.message]
    assert warning.message.startswith("sheet '台账' rows 3-4 are hidden in the file") and warning.row == 3


def test_hidden_columns_are_read_and_the_report_names_them(run_import):
    """A county hides the columns it does not print (batch, dates) or an old count beside the new one: read like
    every other column, as hidden rows are, and said; an unmapped hidden column and a visible file say nothing."""

    def build(book: openpyxl.Workbook) -> None:
        sheet = book.active
        sheet.title = "台账"
        sheet.append([*HEADER, "旧数量"])
        sheet.append([*ledger_row("W-1", "活性炭", 7), 3])
        for letter in ("G", "H", "K"):  # 数量, 批次 and the unmapped 旧数量
            sheet.column_dimensions[letter].hidden = True

    report = run_import(xlsx(build), dry_run=True)

    assert report.status == "validated" and report.counts["lines_created"] == 1, report.errors
    (warning,) = [issue for issue in report.warnings if "hidden" in issue.message]
    assert warning.message == (
        "sheet '台账' columns G (数量), H (批次) are hidden in the file; they were read like every other column: "
        "delete them from the sheet if they should not be imported"
    )
    assert (warning.sheet, warning.row) == ("台账", 1)
    assert in_chinese(warning.message).startswith("工作表“台账”的 G (数量), H (批次) 列在文件中是隐藏的")
    plain = run_import(ledger(rows=2), dry_run=True)
    assert not [issue for issue in plain.warnings if "hidden" in issue.message]


def test_hidden_columns_of_an_xls_are_named_as_an_xlsx_s(run_import):
    """An Excel 97-2003 workbook says a column is hidden in its COLINFO record (option flag fHidden)."""
    rows = [HEADER, ledger_row("W-1", "活性炭", 7)]
    records = dimensions(0, len(rows), 0, len(HEADER))
    # first and last column (from 0), width, format, options (fHidden), reserved: 数量 (G) alone hidden
    records += record(0x007D, struct.pack("<HHHHHH", 6, 6, 2000, 15, 0x0001, 0))
    for number, values in enumerate(rows):
        for column, value in enumerate(values):
            if value is not None:
                records += (
                    label(number, column, value) if isinstance(value, str) else number_cell(number, column, value)
                )
    report = run_import(compound_file(biff_workbook([("台账", records)])), file_name="ledger.xls", dry_run=True)

    assert report.status == "validated", report.errors
    (warning,) = [issue for issue in report.warnings if "hidden" in issue.message]
    assert warning.message.startswith("sheet '台账' columns G (数量) are hidden in the file")


def test_a_hidden_sheet_is_imported_and_the_report_names_it(run_import):
    """A county hides the sheet it no longer uses rather than delete it: read like the others, and said."""

    def build(book: openpyxl.Workbook) -> None:
        for title, hidden, batch in (("台账", False, "B1"), ("旧台账", True, "B2"), ("下拉选项", True, None)):
            sheet = book.create_sheet(title)
            sheet.sheet_state = "hidden" if hidden else "visible"
            if batch is None:  # the template's lists for drop-downs: no ledger header, skipped as before
                sheet.append(["政府储备", "企业储备"])
                continue
            sheet.append(HEADER)
            sheet.append(ledger_row("W-1", "活性炭", 7, 批次=batch))
        book.remove(book.active)

    report = run_import(xlsx(build), dry_run=True)

    assert report.status == "validated" and report.counts["lines_created"] == 2, report.errors
    said = [(issue.sheet, issue.row, issue.message) for issue in report.warnings if "hidden" in issue.message]
    message = (
        "sheet '旧台账' is hidden in the file; it was read like the other sheets: delete it, or its table, if it "
        "should not be imported"
    )
    assert said == [("旧台账", 1, message)]
    assert in_chinese(message).startswith("工作表“旧台账”在文件中是隐藏的")


def moved(data: bytes, name: str, target: str) -> bytes:
    """The workbook with its sheet part moved to the zip member ``name``, its relationship saying ``target``."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as moved_to:
        for member in source.infolist():
            part = source.read(member)
            if member.filename == "xl/_rels/workbook.xml.rels":  # openpyxl writes the absolute /xl/worksheets/…
                part = part.replace(b'Target="/xl/worksheets/sheet1.xml"', f'Target="{target}"'.encode())
            moved_to.writestr(name if member.filename == "xl/worksheets/sheet1.xml" else member.filename, part)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("xl/worksheets/sheet1.xml", "/xl/worksheets/sheet1.xml"),  # openpyxl's
        ("xl/worksheets/sheet1.xml", "worksheets/sheet1.xml"),  # Excel's
        ("/sheets/sheet1.xml", "//sheets/sheet1.xml"),  # calamine takes one "/" off
        ("xl/worksheets/sheet&#49;.xml", "worksheets/sheet&#49;.xml"),  # calamine reads no entity in a target
        ("xl/worksheets/sheet&amp;1.xml", "worksheets/sheet&amp;1.xml"),
    ],
)
def test_hidden_rows_are_named_wherever_the_relationship_puts_the_sheet(run_import, name, target):
    """The scan finds a sheet's marks at the part python-calamine reads for it, by the relationship's target as
    calamine resolves it (``_relationship_targets``)."""
    report = run_import(moved(ledger(rows=7, hidden=(4, 5)), name, target), dry_run=True)

    assert report.status == "validated" and report.counts["lines_created"] == 7, report.errors
    said = [(issue.sheet, issue.row) for issue in report.warnings if "hidden" in issue.message]
    assert said == [("台账", 4)]


def prefixed(data: bytes, rels: bytes, workbook: bytes, sheet_id: bytes) -> bytes:
    """The workbook with its relationships' tags and its sheet tags under these namespace prefixes, and the sheet's
    ``r:id`` under ``sheet_id`` (calamine reads each tag by its name after the prefix, and a sheet's ``…:id`` under
    any prefix)."""
    changes = {
        "xl/_rels/workbook.xml.rels": lambda xml: (
            xml.replace(b"<Relationships xmlns=", b"<" + rels + b":Relationships xmlns:" + rels + b"=")
            .replace(b"<Relationship ", b"<" + rels + b":Relationship ")
            .replace(b"</Relationships>", b"</" + rels + b":Relationships>")
        ),
        "xl/workbook.xml": lambda xml: (
            xml.replace(b"<sheet ", b"<" + workbook + b":sheet ")
            .replace(b' r:id="', b" " + sheet_id + b':id="')
            .replace(b"xmlns:r=", b"xmlns:" + sheet_id + b"=")
        ),
    }
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member, changes.get(member.filename, lambda xml: xml)(source.read(member)))
    return out.getvalue()


@pytest.mark.parametrize(
    ("rels", "workbook", "sheet_id"),
    [
        (b"x", b"x", b"rel"),  # an :id under a prefix other than r: or relationships: lost the marks
        (b"a-b", b"a.b", b"r"),  # a prefix that is no word lost them too
        ("é".encode(), b"x", "é".encode()),
    ],
)
def test_the_marks_are_named_whatever_prefixes_the_workbook_s_tags_take(run_import, rels, workbook, sheet_id):
    report = run_import(prefixed(ledger(rows=7, hidden=(4, 5)), rels, workbook, sheet_id), dry_run=True)

    assert report.status == "validated" and report.counts["lines_created"] == 7, report.errors
    said = [(issue.sheet, issue.row) for issue in report.warnings if "hidden" in issue.message]
    assert said == [("台账", 4)]


def test_hidden_blank_rows_and_a_file_without_hidden_rows_say_nothing(run_import):
    def blank_rows_hidden(xml: bytes) -> bytes:  # two empty rows, hidden, after the data (a filter's leftovers)
        return xml.replace(b"</sheetData>", b'<row r="20" hidden="1"/><row r="21" hidden="true"></row></sheetData>')

    for data in (ledger(), rewritten(ledger(), blank_rows_hidden)):
        report = run_import(data, dry_run=True)
        assert report.status == "validated", report.errors
        assert not [issue for issue in report.warnings if "hidden" in issue.message]


def test_a_formula_without_a_saved_value_rejects_its_row_naming_the_cell(run_import):
    report = run_import(ledger(formulas={3: "=2*3", 5: "=SUM(1,2)"}), dry_run=True, skip_invalid=True)

    said = [(issue.cell, issue.message) for issue in report.errors]
    advice = "has no saved value (the file was written by a program that does not calculate): open the file in "
    advice += "Excel or WPS and save it again"
    assert said == [("G3", f"the formula in G3 {advice}"), ("G5", f"the formula in G5 {advice}")]
    assert report.counts["lines_created"] == 4  # not "quantity missing", and never a 0 counted
    assert in_chinese(said[0][1]).startswith("G3 中的公式没有保存计算结果")


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="G3"><f>2*3</f></c>',  # no value at all (SheetJS, POI)
        b'<c r="G3" s="0"><f>2*3</f><v></v></c>',
        b'<c r="G3"><f t="shared" ref="G3:G4" si="0">2*3</f><v/></c>',
        b'<c r="G3"><f t="shared" si="0"/></c>',  # a cell sharing the formula of another
    ],
)
def test_every_form_of_a_formula_without_a_value_is_found(run_import, cell):
    def put(xml: bytes) -> bytes:
        changed = re.sub(rb'<c r="G3".*?</c>', cell, xml, count=1)
        assert changed != xml
        return changed

    report = run_import(rewritten(ledger(), put), dry_run=True)

    assert [(issue.cell, issue.message[:21]) for issue in report.errors] == [("G3", "the formula in G3 has")]


def scripted(formula_rows: dict[int, str], calculate_on_opening: bool = True) -> bytes:
    """A ledger written by xlsxwriter, which saves 0 for a formula it is not given the value of, and asks the
    spreadsheet to calculate the workbook when it opens it (``fullCalcOnLoad``); without, as Excel saves it."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("台账")
    sheet.write_row(0, 0, HEADER)
    for number in range(2, 6):
        sheet.write_row(number - 1, 0, ledger_row("W-1", "活性炭", 7, 批次=f"B{number}"))
    for number, formula in formula_rows.items():
        sheet.write_formula(number - 1, QUANTITY - 1, formula)
    book.close()
    if calculate_on_opening:
        return out.getvalue()
    return rewritten(out.getvalue(), lambda xml: xml, workbook=lambda xml: xml.replace(b' fullCalcOnLoad="1"', b""))


def test_a_formula_a_script_saved_as_0_is_not_counted_as_0(run_import):
    """xlsxwriter's 0 in a workbook that asks to be calculated is no count (it would zero a stock line)."""
    report = run_import(scripted({3: "=2*3"}), dry_run=True)

    assert [(issue.cell, issue.message[:21]) for issue in report.errors] == [("G3", "the formula in G3 has")]

    saved_by_excel = run_import(scripted({3: "=2*3"}, calculate_on_opening=False), dry_run=True)

    assert saved_by_excel.status == "validated" and not saved_by_excel.errors, saved_by_excel.errors


def test_a_formula_whose_saved_result_is_empty_text_is_no_missing_value(run_import):
    """=IF(x="","",…) saved by Excel or LibreOffice: <c t="str"><f>…</f><v></v></c>, an empty text saved, in a
    workbook that does not ask to be calculated (the review found this refused as a formula without a value)."""

    def empty_text(xml: bytes) -> bytes:  # the batch (H, a ledger column) of row 3: none, by a formula
        changed = re.sub(rb'<c r="H3".*?</c>', b'<c r="H3" t="str"><f>IF(A3="","",A3)</f><v></v></c>', xml, count=1)
        assert changed != xml
        return changed

    report = run_import(rewritten(ledger(), empty_text), dry_run=True)

    assert report.status == "validated" and not report.errors, report.errors


def test_a_formula_with_its_saved_value_is_read_as_that_value(run_import):
    def computed(xml: bytes) -> bytes:  # as Excel or WPS saves it
        return xml.replace(b"<f>2*3</f><v />", b"<f>2*3</f><v>6</v>")

    report = run_import(rewritten(ledger(formulas={3: "=2*3"}), computed), dry_run=True)

    assert report.status == "validated" and not report.errors, report.errors


def test_the_scan_finds_the_marks_wherever_the_chunks_are_cut():
    xml = (
        b'<worksheet><sheetFormatPr defaultRowHeight="15"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        b'<row r="2" spans="1:3" hidden="1" ht="0"><c r="A2"><v>2</v></c></row>'
        b'<x:row r="3" hidden=\'true\'><c r="B3"><f>A1+A2</f></c><c r="AB3"><f t="shared" si="0"/></c></x:row>'
        b'<row r="4" hidden="0"><c r="C4"><f>1</f><v>1</v></c><c r="D4" t="str"><f>"x"</f><v>x</v></c></row>'
        b'<row r="5"><c r="E5"><f>1</f><v /></c><x:c r="F5"><x:f>1</x:f></x:c><c r="G5"><f>A1-1</f><v>0</v></c>'
        b'<c r="H5"><f>A1-1</f><v>0.5</v></c></row></sheetData><cols><col min="1" max="1" hidden="1"/></cols>'
        b"</worksheet>"
    )
    for size in range(1, len(xml) + 1):
        scan = _PartScan("sheet")
        for start in range(0, len(xml), size):
            scan.feed(xml[start : start + size])
        assert scan.seen.hidden_rows == {2, 3}, size
        assert scan.seen.uncomputed == {3: {1, 27}, 5: {4, 5}}, size
        assert scan.seen.zero_formulas == {5: {6}}, size
        assert scan.seen.hidden_columns == {(0, 0)}, size


def test_a_cell_showing_an_error_value_rejects_its_row_naming_it(run_import):
    """A VLOOKUP that found nothing shows #N/A; calamine reads such a cell as empty. A warehouse code and name of
    #N/A joined their row, silently, to the warehouse of the row above (blank warehouse cells mean "the same");
    a quantity of #DIV/0! was "missing". Each such cell in a ledger column now rejects its row, naming it."""
    cells = {
        b"A4": b'<c r="A4" t="e"><f>VLOOKUP(1,Z:Z,1,FALSE)</f><v>#N/A</v></c>',
        b"B4": b'<c r="B4" s="0" t="e"><f>VLOOKUP(1,Z:Z,2,FALSE)</f><v>#N/A</v></c>',
        b"G6": b'<c r="G6" t="e"><v>#DIV/0!</v></c>',  # an error typed as a constant
    }

    def put(xml: bytes) -> bytes:
        for reference, cell in cells.items():
            changed = re.sub(rb'<c r="' + reference + rb'".*?</c>', cell, xml, count=1)
            assert changed != xml, reference
            xml = changed
        return xml

    def other_warehouse(row: list) -> list:  # row 4 is another warehouse's stock, its code and name looked up
        return [*row[:3], "110102", *row[4:]]

    book = openpyxl.load_workbook(io.BytesIO(ledger()))
    book.active["D4"] = other_warehouse(ledger_row())[3]
    out = io.BytesIO()
    book.save(out)
    report = run_import(rewritten(out.getvalue(), put), dry_run=True, skip_invalid=True)

    said = [(issue.row, issue.cell, issue.message) for issue in report.errors]
    advice = "shows an error value (such as #N/A, #REF! or #DIV/0!), not a value: correct the formula or type the value"
    assert said == [(4, "A4", f"A4 {advice}"), (4, "B4", f"B4 {advice}"), (6, "G6", f"G6 {advice}")], said
    assert report.counts["lines_created"] == 4
    assert in_chinese(said[0][2]).startswith("A4 显示的是错误值")


def test_error_values_of_an_xls_reject_their_rows_as_an_xlsx_s(run_import):
    """An .xls keeps an error value in a BOOLERR record (its fError byte set) or as a FORMULA's saved result (type 2
    in a result ending 0xFFFF); calamine reads both as empty, as it reads an .xlsx's."""

    def cells(row: int, values: list) -> bytes:
        written = [
            label(row, column, value) if isinstance(value, str) else number_cell(row, column, value)
            for column, value in enumerate(values)
            if value is not None
        ]
        return b"".join(written)

    code, quantity = HEADER.index("仓库编码"), HEADER.index("数量")
    rows = [HEADER] + [ledger_row("W-1", "活性炭", 7, 批次=f"B{number}") for number in range(4)]
    rows[2][code] = rows[3][quantity] = None
    records = b"".join(cells(number, values) for number, values in enumerate(rows))
    records += record(0x0205, struct.pack("<HHHBB", 2, code, 0, 0x2A, 1))  # #N/A
    records += record(0x0205, struct.pack("<HHHBB", 4, len(HEADER), 0, 1, 0))  # TRUE: a boolean, no error value
    division = bytes([2, 0, 0x07, 0, 0, 0]) + b"\xff\xff"  # #DIV/0!
    records += record(0x0006, struct.pack("<HHH", 3, quantity, 0) + division + struct.pack("<HIH", 0, 0, 0))
    data = compound_file(biff_workbook([("台账", records)]))
    report = run_import(data, file_name="ledger.xls", dry_run=True)

    assert [(issue.row, issue.cell, issue.message[:23]) for issue in report.errors] == [
        (3, "A3", "A3 shows an error value"),
        (4, "G4", "G4 shows an error value"),
    ], report.errors
    assert xls_sheets(data)[0].error_cells == {3: {code}, 4: {quantity}}


def test_the_scan_finds_error_cells_wherever_the_chunks_are_cut():
    xml = (
        b'<worksheet><sheetData><row r="2"><c r="A2"><v>1</v></c><c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
        b'<row r="7"><x:c r="AC7" s="1" t=\'e\'><x:v>#N/A</x:v></x:c>'
        + '<c r="D7" t="inlineStr"><is><t>1#库</t></is></c>'.encode()  # a "No. 1" store: text, no error
        + b'<c r="E7" t="str"><f>"#"</f><v>#</v></c></row></sheetData></worksheet>'
    )
    for size in range(1, len(xml) + 1):
        scan = _PartScan("sheet")
        for start in range(0, len(xml), size):
            scan.feed(xml[start : start + size])
        assert scan.seen.error_cells == {2: {1}, 7: {28}}, size


@pytest.mark.parametrize(
    "crafted",
    [
        b"<row " * 40_000 + b' hidden="0"',
        b'<c r="A1" ' * 20_000 + b"<f>1</f><v></v>",
        b"<row hidden " * 20_000,
        b"<col " * 40_000 + b' hidden="1"',
        b"<col hidden " * 20_000,
        b'<c t="e" r="A1" ' * 20_000 + b"#",
        # one tag that never closes, its attribute repeated: each was a candidate whose tag end was looked for
        # to the window's end (160 KB: 9.5 s)
        b"#<c " + b't="e" ' * 30_000,
        b"<row " + b'hidden="1" ' * 20_000,
        b"<col " + b'hidden="1" ' * 20_000,
        b"<c " + b'r="A1" ' * 30_000 + b"<f>1</f><v></v></c>",
    ],
)
def test_a_part_of_tags_that_never_close_is_scanned_in_linear_time(crafted):
    """Each tag pattern stops at the next "<": with "[^>]*" every "<row " of a part with no ">" scanned to the
    window's end, 38 s for these 200 KB (a few KB zipped, the parser's whole CPU limit). And a tag is matched whole
    before its attributes are looked at. Loosely bounded."""
    started = time.process_time()
    scan = _PartScan("sheet")
    for start in range(0, len(crafted), SCAN_CHUNK_BYTES):  # each a chunk as the scan reads them
        scan.feed(crafted[start : start + SCAN_CHUNK_BYTES])
    assert time.process_time() - started < 2


@pytest.mark.parametrize(
    ("unread", "lines"),
    [
        ("A3", {("W-001", "B1")}),  # row 3 names W-002 by a #N/A code: row 4 is not W-001's
        ("G3", {("W-001", "B1"), ("W-001", "B3")}),  # row 3 is W-001's, only its quantity unread: row 4 is too
    ],
)
def test_the_rows_under_a_rejected_unread_row_join_only_a_warehouse_they_can_mean(session, run_import, unread, lines):
    """Warehouse cells left blank mean the warehouse above. A row rejected for an unread cell was skipped without
    forgetting the warehouse before it: the blank rows under a row naming W-002 by a #N/A code were booked, with
    ``skip_invalid`` and no word, into W-001."""

    def put(xml: bytes) -> bytes:
        cell = f'<c r="{unread}" t="e"><f>VLOOKUP(1,Z:Z,1,FALSE)</f><v>#N/A</v></c>'.encode()
        changed = re.sub(rb'<c r="' + unread.encode() + rb'".*?</c>', cell, xml, count=1)
        assert changed != xml
        return changed

    def build(book: openpyxl.Workbook) -> None:
        sheet = book.active
        sheet.title = "台账"
        sheet.append(HEADER)
        sheet.append(ledger_row("W-001"))
        if unread == "A3":
            sheet.append(ledger_row("W-002", 仓库名称="西城区库", 区县代码="110102", 批次="B2"))
        else:
            sheet.append([None] * 4 + ledger_row(批次="B2")[4:])
        sheet.append([None] * 4 + ledger_row(item="生石灰", quantity=5, 批次="B3")[4:])

    report = run_import(rewritten(xlsx(build), put), skip_invalid=True)

    assert (report.errors[0].row, report.errors[0].cell) == (3, unread)
    stocked = session.execute(select(Warehouse.code, StockLine.batch).join(StockLine.warehouse)).all()
    assert set(stocked) == lines, report.errors
    if unread == "A3":
        assert any(issue.row == 4 for issue in report.errors), report.errors
