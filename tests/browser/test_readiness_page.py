"""Readiness on the page: a manager's expiring / expired batches, a responder's coverage-gap map layer."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import urllib.parse
import urllib.request
import uuid

import openpyxl
import pytest

pytestmark = pytest.mark.slow

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


class ApiSession:
    """The API as one demo account, by cookie session and CSRF token, apart from the browser."""

    def __init__(self, server, role: str) -> None:
        self.server = server
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        username = f"demo-{role}"
        body = self.call("POST", "/auth/login", {"username": username, "password": server.passwords[username]})
        self.csrf = body["csrf_token"]

    def call(self, method: str, path: str, body: dict | None = None, **query):
        url = self.server.url("/api/v1" + path) + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method != "GET" and getattr(self, "csrf", None):
            headers["X-CSRF-Token"] = self.csrf
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture
def soon_expiring_batch(page_server):
    """A batch at one of the demo manager's warehouses that expires in five days (unique per test)."""
    api = ApiSession(page_server, "manager")
    warehouse = api.call("GET", "/page/my-warehouses")[0]
    batch = f"EXP-{uuid.uuid4().hex[:8]}"
    api.call(
        "POST",
        "/receipts",
        {
            "warehouse_code": warehouse["code"],
            "item_code": "PD-001",
            "quantity": "7",
            "batch": batch,
            "expiry_date": (dt.date.today() + dt.timedelta(days=5)).isoformat(),
            "reason": "browser test: expiring soon",
        },
    )
    return {"batch": batch, "warehouse": warehouse}


def test_manager_sees_expiring_and_expired_batches_and_downloads_the_same_query(
    browsing, soon_expiring_batch, tmp_path
):
    page = browsing.page
    batch, warehouse = soon_expiring_batch["batch"], soon_expiring_batch["warehouse"]
    browsing.login("manager")
    page.wait_for_selector("#expiring-panel:not([hidden]) #expiring-list table")
    assert page.input_value("#expiring-days") == "30"
    assert page.get_attribute("#expiring-summary", "aria-live") == "polite"
    assert "我的仓库" in page.text_content("#expiring-summary")

    row = page.locator("#expiring-list tbody tr", has_text=batch)
    assert row.count() == 1
    assert row.get_attribute("class") == "expiring"
    days_left = int(row.get_attribute("data-days-left"))
    assert 4 <= days_left <= 6  # the business date (Asia/Shanghai) may be a day off the test's
    cells = [cell.text_content() for cell in row.locator("td").all()]
    assert cells[0] == f"临期剩 {days_left} 天"
    assert warehouse["name"] in cells[2] and warehouse["code"] in cells[2]
    assert "PD-001" in cells[3] and cells[4] == batch and cells[5].startswith("7 ")
    # Expired batches, if any in the manager's warehouses, are marked in words as well as colour.
    for expired in page.locator("#expiring-list tr.expired").all():
        assert expired.locator(".badge.expired").text_content() == "已过期"
        assert expired.locator(".days-left").text_content().startswith("已过期 ")
        assert int(expired.get_attribute("data-days-left")) < 0
    browsing.shot("expiring")

    # Seven days still holds the batch; the download is the same query.
    page.select_option("#expiring-days", "7")
    page.wait_for_function("() => document.querySelector('#expiring-summary').textContent.includes('7 天')")
    assert page.locator("#expiring-list tbody tr", has_text=batch).count() == 1
    href = page.get_attribute("#expiring-download", "href")
    assert "/api/v1/reports/expiring.xlsx?" in href and "within_days=7" in href and "lang=zh" in href
    with page.expect_download() as download:
        page.click("#expiring-download")
    name = download.value.suggested_filename
    assert name.endswith(".xlsx")
    saved = tmp_path / "expiring.xlsx"
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).worksheets[0]
    assert any(batch in [str(value) for value in row if value is not None] for row in sheet.iter_rows(values_only=True))

    # English labels, keyboard: the days selector is reachable and the table is a focusable region.
    page.click("#lang-toggle")
    page.wait_for_function("() => document.querySelector('#expiring-heading').textContent === 'Expiring / expired'")
    assert f"{days_left} days left" in page.locator("#expiring-list tbody tr", has_text=batch).text_content()
    page.focus("#expiring-days")
    page.keyboard.press("ArrowDown")  # 7 → 30 days, and the list reloads
    page.wait_for_function("() => document.querySelector('#expiring-summary').textContent.includes('30 days')")
    assert page.get_attribute("#expiring-list .table-wrap", "tabindex") == "0"
    browsing.shot("expiring-en")


@pytest.mark.parametrize("browsing", [PHONE], indirect=True)
def test_expiring_panel_fits_a_phone(browsing, soon_expiring_batch):
    page = browsing.page
    browsing.login("manager")
    page.wait_for_selector("#expiring-list table")
    assert page.evaluate(OVERFLOW) <= 0
    browsing.shot("expiring-phone")


def test_responder_draws_the_coverage_gap_layer_offline_with_the_province_summary(browsing, page_server, tmp_path):
    page = browsing.page
    browsing.login("responder")
    page.wait_for_selector("#map .leaflet-control-scale-line")
    page.wait_for_selector("#tiles-offline:not([hidden])")
    page.wait_for_selector('#coverage-province option[value="110000"]', state="attached")
    assert page.input_value("#coverage-radius") == "100"
    assert page.is_disabled("#coverage-show") and page.is_hidden("#coverage-download")

    query = {"item": "PD-001", "radius_km": "50", "province": "110000"}
    api = ApiSession(page_server, "responder").call("GET", "/reports/coverage", **query)
    assert api["counties_uncovered"] >= 1  # the small demo data leaves Beijing's outskirts uncovered at 50 km

    page.fill("#coverage-item", "PD-001")
    page.fill("#coverage-radius", "50")
    page.select_option("#coverage-province", "110000")
    page.click("#coverage-form button[type=submit]")
    page.wait_for_selector("#coverage-result table")
    markers = page.locator("path.coverage-marker")
    assert markers.count() == api["counties_uncovered"]
    summary = page.text_content("#coverage-summary")
    assert f"{api['counties_uncovered']} 个没有覆盖" in summary and "50 公里" in summary
    rows = page.locator("#coverage-result tbody tr")
    beijing = page.locator('#coverage-result tr[data-province="110000"] td').all_text_contents()
    assert rows.count() >= 1
    assert beijing[0] == "北京市" and beijing[2] == str(api["counties_uncovered"])

    # The tooltip names the county, its province and the nearest usable stock.
    first = api["uncovered"][0]
    markers.first.dispatch_event("mouseover")
    tooltip = page.wait_for_selector(".leaflet-tooltip.coverage-label")
    text = tooltip.text_content()
    assert "北京市" in text and ("公里" in text or "全国都没有可用库存" in text)
    assert any(gap["name"] in text for gap in api["uncovered"]), (text, first)
    browsing.shot("coverage")

    # Hide and show the layer with the keyboard.
    page.focus("#coverage-show")
    page.keyboard.press("Space")
    assert not page.is_checked("#coverage-show")
    assert page.locator("path.coverage-marker").count() == 0
    page.keyboard.press("Space")
    assert page.locator("path.coverage-marker").count() == api["counties_uncovered"]

    href = page.get_attribute("#coverage-download", "href")
    assert "/api/v1/reports/coverage.xlsx?" in href and "radius_km=50" in href and "province=110000" in href
    with page.expect_download() as download:
        page.click("#coverage-download")
    assert download.value.suggested_filename.endswith(".xlsx")

    # The whole country: one marker per uncovered county, as many as the API counts.
    national = ApiSession(page_server, "responder").call("GET", "/reports/coverage", item="PD-001", radius_km="50")
    page.select_option("#coverage-province", "")
    page.click("#coverage-form button[type=submit]")
    page.wait_for_function(
        "(n) => document.querySelectorAll('path.coverage-marker').length === n", arg=national["counties_uncovered"]
    )
    browsing.shot("coverage-national")

    # A radius that is no number: refused beside the field, and the last answer goes with it (its table, markers and
    # download stood under the error, its summary cleared, as if they answered the form).
    browsing.console.expect(422, "/api/v1/reports/coverage")
    page.fill("#coverage-radius", "abc")
    page.click("#coverage-form button[type=submit]")
    page.wait_for_selector("#coverage-form .field-error")
    assert page.locator("#coverage-result table").count() == 0
    assert page.locator("path.coverage-marker").count() == 0
    assert page.is_hidden("#coverage-download")


def test_a_coverage_query_without_item_or_category_shows_the_api_message(browsing):
    page = browsing.page
    browsing.console.expect(422, "/api/v1/reports/coverage")
    browsing.login("responder")
    page.wait_for_selector("#map .leaflet-control-scale-line")
    page.click("#coverage-form button[type=submit]")
    page.wait_for_selector("#coverage-form .field-error, #coverage-form .form-error:not([hidden])")
    assert page.locator("path.coverage-marker").count() == 0


def test_the_expiring_list_follows_the_managers_own_receipt_and_issue(browsing, soon_expiring_batch):
    """A receipt of a batch expiring in days, or an issue emptying one, left the list above as it was until
    刷新: the batch received was missing, the one issued out still listed with its old quantity."""
    page = browsing.page
    batch, warehouse = soon_expiring_batch["batch"], soon_expiring_batch["warehouse"]
    browsing.login("manager")
    listed = page.locator("#expiring-list tbody tr", has_text=batch)
    listed.wait_for()
    page.click(f".warehouse-button[data-code='{warehouse['code']}']")
    row = page.locator("#stock-lines tbody tr", has_text=batch)
    row.locator("button[data-action=move]").click()
    page.fill("#move-quantity", "7")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("#history-panel:not([hidden]) table")
    listed.wait_for(state="detached")  # nothing of it left on hand

    received = f"EXP-{uuid.uuid4().hex[:8]}"
    page.click("#receipt-open")
    page.fill("#receipt-item", "PD-001")
    page.fill("#receipt-quantity", "2")
    page.fill("#receipt-batch", received)
    page.fill("#receipt-expiry", (dt.date.today() + dt.timedelta(days=6)).isoformat())
    page.click("#receipt-form button[type=submit]")
    page.locator("#expiring-list tbody tr", has_text=received).wait_for()
