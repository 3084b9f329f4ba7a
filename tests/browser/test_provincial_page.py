"""Provincial staff: export a ledger, upload one with errors (report table), then a clean import."""

from __future__ import annotations

import openpyxl
import pytest

pytestmark = pytest.mark.slow

QUANTITY_HEADERS = {"数量", "Quantity"}


@pytest.fixture
def ledger_api(page_server):
    page_server.require("POST", "/api/v1/imports")
    page_server.require("GET", "/api/v1/exports/ledger.xlsx")


def _break_quantities(source, target) -> list[int]:
    """A copy of an exported ledger with two bad quantities; returns their Excel rows."""
    workbook = openpyxl.load_workbook(source)
    for sheet in workbook.worksheets:
        for header_row in sheet.iter_rows(min_row=1, max_row=5):
            columns = [cell.column for cell in header_row if str(cell.value or "").strip() in QUANTITY_HEADERS]
            if columns:
                first = header_row[0].row + 1
                sheet.cell(row=first, column=columns[0]).value = "lots"
                sheet.cell(row=first + 1, column=columns[0]).value = -5
                workbook.save(target)
                return [first, first + 1]
    raise AssertionError("no quantity column in the exported ledger")


def test_provincial_exports_then_sees_upload_errors_as_a_table_then_imports_cleanly(browsing, ledger_api, tmp_path):
    page = browsing.page
    browsing.console.expect(422, "/api/v1/imports")  # a dry run with errors answers 422 (docs/security.md)
    browsing.login("provincial")
    assert page.is_visible("#view-ledgers")

    with page.expect_download() as template:
        page.click("#template-link")
    assert template.value.suggested_filename.endswith(".xlsx")

    page.fill("#export-region", "北京市")  # a name: the page finds its code
    with page.expect_download() as export:
        page.click("#export-form button[type=submit]")
    exported = tmp_path / export.value.suggested_filename
    export.value.save_as(exported)
    assert "110000" in exported.name and exported.stat().st_size > 1000
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('.xlsx')")

    broken = tmp_path / "broken.xlsx"
    bad_rows = _break_quantities(exported, broken)
    page.set_input_files("#import-file", str(broken))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report table")
    rows = page.locator("#import-report tbody tr")
    assert rows.count() >= 2
    reported = [[cell.text_content() for cell in row.locator("td").all()] for row in rows.all()]
    assert {int(row[1]) for row in reported if row[3] == "错误"} >= set(bad_rows)
    assert all(row[2] in QUANTITY_HEADERS for row in reported if row[3] == "错误")
    assert page.is_disabled("#import-commit")
    browsing.shot("errors")

    page.set_input_files("#import-file", str(exported))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report .badge.ok")
    assert page.locator("#import-report tbody tr.issue-error").count() == 0
    assert page.is_enabled("#import-commit")
    page.click("#import-commit")
    page.wait_for_function("() => document.querySelector('#import-report').textContent.includes('IMPORT-')")
    # The report and the status line are updated one after the other: wait for the status, never assume it.
    page.wait_for_function("() => document.querySelector('#status').textContent === '已导入。'")
    assert page.text_content("#status") == "已导入。"
    assert page.is_disabled("#import-commit")  # a new file must be checked first
    browsing.shot("imported")


def test_export_outside_the_province_is_refused_next_to_the_field(browsing, ledger_api):
    page = browsing.page
    browsing.console.expect(403, "/api/v1/exports/ledger.xlsx")
    browsing.login("provincial")
    page.fill("#export-region", "440000")
    page.click("#export-form button[type=submit]")
    error = page.wait_for_selector("#export-form .field-error, #export-form .form-error:not([hidden])")
    assert "440000" in error.text_content() or "province" in error.text_content()


@pytest.mark.parametrize("browsing", [{"viewport": {"width": 390, "height": 844}, "is_mobile": True}], indirect=True)
def test_a_file_refused_unread_does_not_keep_the_last_files_report_on_screen(browsing, ledger_api, tmp_path):
    """After a checked file with errors, a second file refused before it was read (no ledger header) showed its
    error above the first file's report, titled with the first file's name: read as the second file's."""
    page = browsing.page
    browsing.console.expect(422, "/api/v1/imports")
    browsing.login("provincial")
    first = tmp_path / "first.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["物资名称", "数量"])
    workbook.active.append(["活性炭", -5])
    workbook.save(first)
    page.set_input_files("#import-file", str(first))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report table")
    assert "first.xlsx" in page.text_content("#import-report")

    second = tmp_path / "second.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    workbook.save(second)
    page.set_input_files("#import-file", str(second))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-form .field-error")
    assert "表头" in page.text_content("#import-form .field-error")
    assert "first.xlsx" not in page.text_content("#import-report")
    assert page.locator("#import-report table").count() == 0
