"""A responder's job: pick the incident on the map or by county, find the nearest stock, plan."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def nearest_api(page_server):
    page_server.require("GET", "/api/v1/nearest")


def test_responder_clicks_the_map_finds_the_nearest_stock_as_list_and_markers_offline(browsing, nearest_api):
    page = browsing.page
    browsing.login("responder")
    page.wait_for_selector("#map .leaflet-control-scale-line")
    page.wait_for_selector("#tiles-offline:not([hidden])")  # the tile server is unreachable here

    page.locator("#map").click()  # the middle of China at the start
    assert page.input_value("#nearest-lat") and page.input_value("#nearest-lon")
    page.fill("#nearest-item", "活性炭")  # a name works as well as a code
    page.fill("#nearest-quantity", "5")
    page.fill("#nearest-radius", "3000")
    page.click("#nearest-form button[type=submit]")
    page.wait_for_selector("#nearest-results li")

    results = page.locator("#nearest-results li.result")
    count = results.count()
    assert count >= 1
    assert page.locator("path.stock-marker").count() == count
    assert page.locator(".leaflet-tooltip.rank-label").count() == count
    assert page.locator("path.ring").count() >= 1
    assert "3,000 公里" in page.locator(".leaflet-tooltip.ring-label").all_text_contents()
    assert page.is_visible(".leaflet-control-scale-line")
    assert "3,000" in page.text_content("#nearest-summary")
    distances = [
        float(text.split(" 公里")[0].replace(",", ""))
        for text in results.locator(".meta").all_text_contents()
        if " 公里" in text
    ]
    assert distances == sorted(distances)
    browsing.shot("results")

    results.first.locator("button.result-title").click()
    page.wait_for_selector(".leaflet-popup-content .popup")


def test_responder_picks_a_county_builds_a_plan_and_may_raise_a_call_up(browsing, nearest_api):
    page = browsing.page
    browsing.login("responder")
    page.wait_for_selector("#map .leaflet-control-scale")
    page.fill("#nearest-county", "海淀")
    page.wait_for_selector('#county-options option[value="110108"]', state="attached")
    page.fill("#nearest-county", "110108")
    page.dispatch_event("#nearest-county", "change")
    page.wait_for_selector(".incident-label")
    assert "海淀区" in page.text_content(".incident-label")

    page.fill("#nearest-item", "PD-001")
    page.fill("#nearest-quantity", "20")
    page.fill("#nearest-radius", "1000")
    page.click("#nearest-form button[type=submit]")
    page.wait_for_selector("#nearest-results li.result")
    page.click("#add-need")
    page.fill("#nearest-item", "PL-002")
    page.fill("#nearest-quantity", "100")
    page.click("#add-need")  # the item is checked against the catalogue before it joins the plan
    page.wait_for_function("() => document.querySelectorAll('#plan-needs li').length === 2")
    assert page.locator("#plan-needs li").count() == 2
    page.select_option("#plan-prefer1", "government")
    page.click("#plan-build")
    page.wait_for_selector("#plan-result table")
    needs = page.locator("#plan-result table.plan-needs tbody tr")
    assert needs.count() == 2
    assert page.locator("path.plan-marker").count() == page.locator("#plan-result .plan-warehouses > li").count()
    assert page.is_enabled("#callup")
    assert page.get_attribute("#callup", "aria-describedby") == "callup-note"
    browsing.shot("plan")


def test_a_search_without_a_location_shows_the_api_message(browsing, nearest_api):
    page = browsing.page
    browsing.console.expect(422, "/api/v1/nearest")
    browsing.login("responder")
    page.fill("#nearest-item", "PD-001")
    page.click("#nearest-form button[type=submit]")
    page.wait_for_selector("#nearest-form .field-error, #nearest-form .form-error:not([hidden])")
    assert page.text_content("#status")
