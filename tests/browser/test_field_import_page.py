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
