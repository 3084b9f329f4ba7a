"""Provincial staff and a county's ledger: map an unknown column, check again, import, then the review list."""

from __future__ import annotations

import openpyxl
import pytest

pytestmark = pytest.mark.slow


def test_an_unknown_column_is_mapped_on_the_page_and_the_import_is_reviewed(browsing, page_server, tmp_path):
    page_server.require("POST", "/api/v1/imports")
    page_server.require("GET", "/api/v1/imports/1/review")
    page = browsing.page
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "县表"
    sheet.append(["仓库名称", "所在区县", "储备类型", "货品", "计量单位", "数量"])
    sheet.append(["东城区字段测试库", "东城区", "政府储备", "活性炭", "吨", 3])
    path = tmp_path / "县表.xlsx"
    book.save(path)
    browsing.login("provincial")

    page.set_input_files("#import-file", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report .column-mapping select[data-header='货品']")
    page.select_option("#import-report select[data-header='货品']", "item_name")
    page.click("#import-report .column-mapping button:not(.secondary)")
    page.wait_for_function("() => !document.querySelector('#import-report .column-mapping')")
    page.wait_for_selector("#import-report .badge.ok")
    page.click("#import-commit")
    page.wait_for_selector("#import-report .import-review li")
    review = page.text_content("#import-report .import-review")
    assert "新登记的仓库" in review and "县表!2" in review
    page.click("#import-report .import-review li button.secondary")
    confirmed = "() => document.querySelector('#import-report .import-review').textContent.includes('已确认')"
    page.wait_for_function(confirmed)
    browsing.shot("reviewed")


def test_an_unknown_warehouse_without_a_county_is_named_once_and_its_column_shown(browsing, tmp_path):
    """A sheet with no 所在区县 and no 仓库编码 column: the report row read "仓库 不存在的仓库：仓库“不存在的仓库”
    尚未登记…" with 列 blank. It names the warehouse once and points at the cell that names it."""
    page = browsing.page
    browsing.console.expect(422, "/api/v1/imports")  # a dry run that finds errors answers 422 with the report
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "县表"
    sheet.append(["仓库名称", "储备类型", "物资名称", "计量单位", "数量"])
    sheet.append(["不存在的仓库", "政府储备", "活性炭", "吨", 3])
    path = tmp_path / "无区县.xlsx"
    book.save(path)
    browsing.login("provincial")

    page.set_input_files("#import-file", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report tbody tr.issue-error")
    row = page.locator("#import-report tbody tr.issue-error").first
    cells = [cell.text_content() for cell in row.locator("td").all()]
    assert cells[:4] == ["县表", "2", "仓库名称", "错误"], cells
    assert cells[4].count("不存在的仓库") == 1, cells[4]
    assert "尚未登记" in cells[4] and "所在区县" in cells[4]
    assert page.is_disabled("#import-commit")


def test_a_short_value_found_in_the_message_s_words_is_still_shown_beside_it(browsing, tmp_path):
    """The report left out the value read when the message contained it anywhere: 联系人 "1" of a warehouse that
    row 2 gave as "张12" vanished beside "与县表第2行为此仓库填写的“张12”不同". It is left out only where the message
    names that value itself (the server says so: value_named)."""
    page = browsing.page
    browsing.console.expect(422, "/api/v1/imports")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "县表"
    sheet.append(["仓库编码", "仓库名称", "所在区县", "联系人", "储备类型", "物资名称", "计量单位", "数量"])
    sheet.append(["VAL-W1", "值测试仓", "东城区", "张12", "政府储备", "活性炭", "吨", 5])
    sheet.append(["VAL-W1", "值测试仓", "东城区", "1", "政府储备", "吸油毡", "张", 3])
    sheet.append(["", "未登记的值测试仓", "", "王五", "政府储备", "活性炭", "吨", 1])
    path = tmp_path / "值.xlsx"
    book.save(path)
    browsing.login("provincial")

    page.set_input_files("#import-file", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report tbody tr.issue-error")
    rows = {
        tuple(cells[:3]): cells[4]
        for row in page.locator("#import-report tbody tr").all()
        for cells in [[cell.text_content() for cell in row.locator("td").all()]]
    }
    differs = rows[("县表", "3", "联系人")]
    assert "张12" in differs
    assert page.locator("#import-report tbody tr", has_text="张12").locator(".code").text_content() == "1"
    unknown = rows[("县表", "4", "仓库名称")]
    assert unknown.count("未登记的值测试仓") == 1, unknown  # named by the message: not again after it
