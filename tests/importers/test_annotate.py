"""The error workbook: the person's own file with an issues column, small files edited, large ones rebuilt."""

from __future__ import annotations

import io

import openpyxl
import pytest

from importers import annotate
from importers.annotate import CHECK_HEADER, ISSUES_SHEET, annotate_workbook
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows

BAD = sheet_of_rows([["标题"], HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "=1+1x")])


@pytest.mark.parametrize("large", [False, True], ids=["edited-in-place", "rebuilt"])
def test_issues_land_beside_the_rows_they_are_about(session, run_import, monkeypatch, large):
    if large:
        monkeypatch.setattr(annotate, "EDIT_IN_PLACE_MAX_BYTES", 0)
    report = run_import(BAD, dry_run=True)

    book = openpyxl.load_workbook(io.BytesIO(annotate_workbook(BAD, report)))

    sheet = book["台账"]
    assert sheet["K2"].value == CHECK_HEADER
    assert sheet["K4"].value.startswith("错误: [数量]")
    assert sheet["G3"].value == 7 and sheet["A1"].value == "标题"
    listing = book[ISSUES_SHEET]
    assert "refused" not in listing["A1"].value and "checked" in listing["A1"].value
    assert [listing.cell(row=3, column=column).value for column in (2, 3, 4)] == ["台账", 4, "G4"]


def test_a_corrected_error_workbook_imports_cleanly(session, run_import):
    report = run_import(BAD, dry_run=True)
    book = openpyxl.load_workbook(io.BytesIO(annotate_workbook(BAD, report)))
    book["台账"]["G4"] = 2
    fixed = io.BytesIO()
    book.save(fixed)

    again = run_import(fixed.getvalue())

    assert again.status == "imported" and again.errors == []
    assert not [warning for warning in again.warnings if warning.column == CHECK_HEADER]


def test_progress_is_reported_while_reading(session, run_import):
    seen: list[tuple[int, int]] = []

    run_import(BAD, dry_run=True, progress=lambda done, total: seen.append((done, total)))

    assert seen and seen[-1][0] == seen[-1][1] == 2


def test_an_xls_comes_back_as_an_xlsx_rebuilt_from_its_values_with_its_issues(session, run_import):
    """openpyxl cannot edit an Excel 97-2003 file: it is rebuilt as .xlsx, as any file openpyxl cannot edit."""
    from tests.importers.field_corpus import one_bad_row_alone
    from tests.importers.xls_corpus import xls_of

    book, xls = one_bad_row_alone(), xls_of("one_bad_row_alone")
    report = run_import(xls, file_name="ledger.xls", dry_run=True, skip_invalid=True)
    assert {(issue.sheet, issue.row) for issue in report.errors} == book.bad

    annotated = openpyxl.load_workbook(io.BytesIO(annotate_workbook(xls, report)))

    for sheet_name, row in book.bad:
        sheet = annotated[sheet_name]
        [check] = [cell for line in sheet.iter_rows() for cell in line if cell.value == CHECK_HEADER]
        assert sheet.cell(row=row, column=check.column).value.startswith("错误"), (sheet_name, row)
    listing = annotated[ISSUES_SHEET]
    listed = {(listing.cell(row=row, column=2).value, listing.cell(row=row, column=3).value) for row in range(3, 60)}
    assert book.bad <= listed


def test_a_workbook_whose_merged_ranges_cover_millions_of_cells_is_rebuilt_not_edited(session, run_import, monkeypatch):
    """openpyxl makes an object of every cell a merged range covers: 2,000 ranges over one another across a
    header row (a 6 KB file, 33 million cells covered) held the edit to its CPU limit (413). Such a file is
    rebuilt from its values, as a large one is; a file with ordinary merges is still edited in place."""
    from importers import limits
    from tests.importers.test_hostile_workbooks import merged_across_the_header

    monkeypatch.setattr(limits, "PARSE_CPU_SECONDS", 3)
    data = merged_across_the_header(2_000)
    report = run_import(data, dry_run=True)

    annotated = openpyxl.load_workbook(io.BytesIO(annotate_workbook(data, report)))

    assert not annotated["台账"].merged_cells.ranges  # rebuilt from the values
    assert ISSUES_SHEET in annotated.sheetnames and annotated["台账"]["B2"].value == HEADER[1]
    merged = sheet_of_rows([["仓库信息"], HEADER, ledger_row("W-1", "活性炭", 7)])
    book = openpyxl.load_workbook(io.BytesIO(merged))
    book.active.merge_cells("A1:D1")
    edited = io.BytesIO()
    book.save(edited)
    again = openpyxl.load_workbook(
        io.BytesIO(annotate_workbook(edited.getvalue(), run_import(edited.getvalue(), dry_run=True)))
    )
    assert [str(cells) for cells in again["台账"].merged_cells.ranges] == ["A1:D1"]  # edited in place
