"""Issue 14: a page a responder can trust at 3 a.m. — never stale, a map that means something without
tiles, suggestions the way people type, results in view on a phone, and axe-core clean in every state."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import TILE_BASE

pytestmark = pytest.mark.slow

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

OVERLAPPING_LABELS = """() => {
  const boxes = [...document.querySelectorAll('#map .leaflet-tooltip, #map .base-label')]
    .filter((node) => getComputedStyle(node).visibility !== 'hidden')
    .map((node) => [node.textContent, node.getBoundingClientRect()])
    .filter(([, box]) => box.width && box.height);
  const pairs = [];
  boxes.forEach(([a, boxA], i) => boxes.slice(i + 1).forEach(([b, boxB]) => {
    const apart = boxA.right - 1 <= boxB.left || boxB.right - 1 <= boxA.left
      || boxA.bottom - 1 <= boxB.top || boxB.bottom - 1 <= boxA.top;
    if (!apart) pairs.push(`${a} × ${b}`);
  }));
  return pairs;
}"""


def search(page, *, item="活性炭", quantity="5", county=None, radius="3000"):
    if county:
        page.fill("#nearest-county", county)
    page.fill("#nearest-item", item)
    page.fill("#nearest-quantity", quantity)
    page.fill("#nearest-radius", radius)
    page.click("#nearest-form button[type=submit]")


def open_map(browsing, role="responder"):
    browsing.login(role)
    page = browsing.page
    if role != "responder":
        page.click('#views-nav button[data-view="map"]')
    page.wait_for_selector("#map .leaflet-control-scale-line")
    return page


def test_a_failed_search_clears_the_last_answer_and_the_list_says_what_it_answers(browsing):
    page = open_map(browsing)
    browsing.console.expect(404, "/api/v1/nearest")
    assert_accessible(page, "map view, nothing searched")
    search(page, county="110108")
    page.wait_for_selector("#nearest-results li.result")
    summary = page.text_content("#nearest-summary")
    for part in ("活性炭", "PD-001", "海淀区", "3,000 公里内", "查询"):
        assert part in summary
    assert page.locator("path.stock-marker").count() > 0
    assert page.evaluate(OVERLAPPING_LABELS) == []
    assert_accessible(page, "results listed")
    browsing.shot("answered")

    # The same question elsewhere, failing: nothing of the last answer stays on screen.
    search(page, item="不存在的物资XYZ", county="440305")
    page.wait_for_selector("#status[data-kind=error]")
    page.wait_for_function("() => !document.querySelector('#nearest-results [aria-busy]')")
    assert page.locator("#nearest-results li").count() == 0
    assert page.locator("path.stock-marker").count() == 0
    assert page.locator("path.ring").count() == 0
    assert "查找失败" in page.text_content("#nearest-summary")
    assert_accessible(page, "failed search")
    browsing.shot("failed")

    # A success afterwards does not keep the error in the status line.
    search(page, county="110108")
    page.wait_for_selector("#nearest-results li.result")
    assert page.get_attribute("#status", "data-kind") != "error"

    # Changing the question clears the answer rather than leaving it under another question.
    page.fill("#nearest-radius", "50")
    assert page.locator("#nearest-results li").count() == 0
    assert "已改动" in page.text_content("#nearest-summary")


def test_a_plan_for_another_place_cannot_be_raised_and_honours_the_reserve_types(browsing):
    page = open_map(browsing)
    page.fill("#nearest-county", "110108")
    page.check('#nearest-types input[value="government"]')
    search(page, county="110108")
    page.wait_for_selector("#nearest-results li.result")
    page.click("#add-need")
    page.wait_for_selector("#plan-needs li:not(.hint)")
    with page.expect_request("**/api/v1/plans") as sent:
        page.click("#plan-build")
    assert json.loads(sent.value.post_data)["reserve_types"] == ["government"]
    page.wait_for_selector("#plan-result table")
    types = page.locator("#plan-result .plan-warehouses > li .meta").all_text_contents()
    assert types and all("政府储备" in text for text in types)
    assert page.is_enabled("#callup")
    assert page.evaluate(OVERLAPPING_LABELS) == []  # "P1" never sits on "1"
    assert_accessible(page, "plan built")

    page.fill("#nearest-county", "440305")
    page.dispatch_event("#nearest-county", "change")
    # The pin moves with the form (a code typed without picking a suggestion too).
    page.wait_for_function("() => document.querySelector('.incident-label')?.textContent.includes('南山区')")
    assert page.is_disabled("#callup")
    assert "事发地点" in page.text_content("#callup-note")
    assert_accessible(page, "plan stale")
    browsing.shot("plan-moved")


def test_the_plan_draft_survives_a_reload_and_a_new_login(browsing):
    page = open_map(browsing)
    page.fill("#nearest-county", "110108")
    page.fill("#nearest-item", "PD-001")
    page.fill("#nearest-quantity", "12")
    page.click("#add-need")
    page.wait_for_selector("#plan-needs li:not(.hint)")
    page.select_option("#plan-prefer1", "government")

    page.reload()
    page.wait_for_selector("#plan-needs li:not(.hint)")
    assert "PD-001" in page.text_content("#plan-needs") and "12" in page.text_content("#plan-needs")
    assert page.input_value("#nearest-county") == "110108"
    assert page.input_value("#plan-prefer1") == "government"

    page.click("#logout")
    page.wait_for_selector("#view-login:not([hidden])")
    open_map(browsing)
    page.wait_for_selector("#plan-needs li:not(.hint)")
    assert "PD-001" in page.text_content("#plan-needs")
    page.click("#logout")
    page.wait_for_selector("#view-login:not([hidden])")
    open_map(browsing, "admin")  # another account starts with its own (empty) draft
    assert page.locator("#plan-needs li.hint").count() == 1


def test_needs_are_checked_as_they_are_typed(browsing):
    page = open_map(browsing)
    page.fill("#nearest-quantity", "-5")
    page.wait_for_selector("#nearest-quantity-check")
    assert "大于零" in page.text_content("#nearest-quantity-check")
    assert page.get_attribute("#nearest-quantity", "aria-invalid") == "true"
    assert_accessible(page, "quantity refused")
    page.fill("#nearest-quantity", "5")
    page.wait_for_selector("#nearest-quantity-check", state="detached")

    page.fill("#nearest-item", "活性碳")  # the common typo is not an item, but its guess is offered
    page.click("#add-need")
    page.wait_for_selector("#nearest-item-check")
    assert "活性炭" in page.text_content("#nearest-item-check")
    assert page.locator("#plan-needs li.hint").count() == 1  # nothing joined the plan
    assert_accessible(page, "item refused")


def test_items_by_typo_and_pinyin_and_counties_with_their_city(browsing):
    page = open_map(browsing)
    for typed in ("活性碳", "hxt"):
        page.fill("#nearest-item", typed)
        page.wait_for_selector('#item-options option[value="PD-001"]', state="attached")
        page.fill("#nearest-item", "")
        page.evaluate("() => document.getElementById('item-options').replaceChildren()")
    page.fill("#nearest-county", "鼓楼区")
    page.wait_for_function("() => document.querySelectorAll('#county-options option').length >= 4")
    labels = page.eval_on_selector_all("#county-options option", "nodes => nodes.map(n => n.textContent)")
    assert "鼓楼区 · 南京市 · 江苏省" in labels
    assert len(set(labels)) == len(labels)


def test_the_map_draws_our_own_base_layer_when_tiles_fail(browsing):
    page = open_map(browsing)  # the tile server is unreachable here: every tile request is refused
    page.wait_for_selector("#tiles-offline:not([hidden])")
    page.wait_for_selector(".base-label.province")
    names = page.locator(".base-label.province").all_text_contents()
    assert "北京市" in names and len(names) >= 31
    assert page.locator("#map canvas").count() >= 1  # the county points
    assert page.evaluate(OVERLAPPING_LABELS) == []
    assert_accessible(page, "offline base layer")
    browsing.shot("base-layer")


def test_the_map_draws_our_own_base_layer_when_tiles_hang(browsing):
    page = browsing.page
    page.route(f"{TILE_BASE}**", lambda route: None)  # never answered: a network that drops the request
    started = time.monotonic()
    open_map(browsing)
    page.wait_for_selector(".base-label.province", timeout=15_000)
    assert page.is_visible("#tiles-offline")
    assert time.monotonic() - started < 12


def test_a_manager_sees_on_hand_reserved_with_its_call_ups_and_available(browsing, playwright_api):
    server = browsing.server
    api = playwright_api.request.new_context(base_url=server.url())
    try:

        def login(role):
            answer = api.post(
                "/api/v1/auth/login", data={"username": f"demo-{role}", "password": server.passwords[f"demo-{role}"]}
            )
            assert answer.ok, answer.text()
            return answer.json()["csrf_token"]

        login("manager")
        warehouse = api.get("/api/v1/page/my-warehouses").json()[0]
        lines = api.get("/api/v1/stock-lines", params={"warehouse": warehouse["code"]}).json()
        line = next(one for one in lines if float(one["available"]) >= 2)
        token = login("responder")
        raised = api.post(
            "/api/v1/callups",
            headers={"X-CSRF-Token": token},
            data={
                "incident_name": "演练：库存预留",
                "lat": warehouse["latitude"],
                "lon": warehouse["longitude"],
                "radius_km": 1,
                "needs": [{"item": line["item_code"], "quantity": 1}],
            },
        )
        assert raised.status == 201, raised.text()
        code = raised.json()["code"]
    finally:
        api.dispose()

    page = browsing.page
    browsing.login("manager")
    page.click(f'#warehouse-list button:has-text("{warehouse["code"]}")')
    page.wait_for_selector("#stock-lines table")
    headers = page.locator("#stock-lines thead th").all_text_contents()
    assert headers[2:5] == ["结存", "已预留", "可用"]
    held = page.locator("#stock-lines td.reserved details").first
    held.locator("summary").click()
    page.wait_for_selector(f'#stock-lines .held-by li:has-text("{code}")')
    assert_accessible(page, "stock with reservations")

    # The receipt form's item field takes a name.
    page.click("#receipt-open")
    page.fill("#receipt-item", "活性炭")
    page.fill("#receipt-quantity", "1")
    page.click("#receipt-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('已入库：活性炭 +1 吨')")
    assert page.get_attribute("#status", "data-kind") == "ok"


@pytest.mark.parametrize("browsing", [PHONE], indirect=True)
def test_on_a_phone_results_come_right_under_the_search_and_a_tap_shows_the_warehouse(browsing):
    page = open_map(browsing)
    search(page, county="110108")
    page.wait_for_selector("#nearest-results li.result")
    form = page.locator("#nearest-form").bounding_box()
    results = page.locator("#results-section").bounding_box()
    assert 0 <= results["y"] - (form["y"] + form["height"]) < 40
    page.locator("#nearest-results li.result button.result-title").nth(1).tap()
    popup = page.wait_for_selector(".leaflet-popup-content .popup")
    page.wait_for_timeout(300)
    box = popup.bounding_box()
    viewport = page.viewport_size
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert_accessible(page, "phone, popup open")
    browsing.shot("phone-popup")


def test_results_sit_beside_the_map_on_a_wide_screen(browsing):
    page = open_map(browsing)
    search(page, county="110108")
    page.wait_for_selector("#nearest-results li.result")
    map_box = page.locator("#map").bounding_box()
    results = page.locator("#results-section").bounding_box()
    assert results["x"] >= map_box["x"] + map_box["width"] - 1
    assert results["y"] < map_box["y"] + map_box["height"]
    browsing.shot("wide")
