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


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("browsing", [PHONE], indirect=True)
def test_a_responders_failures_read_in_chinese_without_the_apis_field_names(browsing, nearest_api):
    """The status line said "Network error: Failed to fetch" offline, "Bad Gateway: Bad Gateway" behind a
    failing proxy, "输入有误: radius_km: …" for a bad radius and, once the session had ended elsewhere, the
    API's "需要登录：请提供 Bearer 令牌或登录会话" over the page's own "登录已过期，请重新登录"."""
    page = browsing.page
    for status in (401, 422, 502):
        browsing.console.expect(status, "/api/v1/")
    browsing.responder_at_the_map()
    search = "#nearest-form button[type=submit]"

    def status_after_search() -> str:
        page.evaluate("document.querySelector('#status').textContent = ''")
        page.click(search)
        page.wait_for_function("() => document.querySelector('#status').textContent !== ''")
        return page.text_content("#status")

    page.route("**/api/v1/nearest?**", lambda route: route.abort("internetdisconnected"))
    assert status_after_search() == "无法连接服务器: 请检查网络连接后重试"
    browsing.console.errors = [error for error in browsing.console.errors if "ERR_INTERNET_DISCONNECTED" not in error]
    page.unroute("**/api/v1/nearest?**")
    page.route(
        "**/api/v1/nearest?**",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>"),
    )
    assert status_after_search() == "出错了: 服务器暂时无法处理请求（HTTP 502），请稍后重试"
    page.unroute("**/api/v1/nearest?**")

    page.fill("#nearest-radius", "-5")
    assert status_after_search() == "输入有误: 须大于 0 且小于等于 3000。"
    assert page.text_content("#nearest-form .field-error") == "须大于 0 且小于等于 3000。"
    page.fill("#nearest-radius", "1000")
    browsing.shot("field-error")

    other_tab = page.context.new_page()  # the same browser logs out in another tab
    other_tab.goto(browsing.server.url("/"))
    other_tab.click("#logout")
    other_tab.wait_for_selector("#view-login:not([hidden])")
    other_tab.close()
    assert status_after_search() == "登录已过期，请重新登录"
    page.wait_for_timeout(300)  # the search's own failure comes after the page said so: it must not replace it
    assert page.text_content("#status") == "登录已过期，请重新登录"
    assert page.is_visible("#view-login")
    browsing.shot("session-ended")


def test_an_answer_on_screen_follows_the_stock_taken_elsewhere(browsing, nearest_api, page_server):
    """A list answered at 03:00 went on saying the stock was there after a manager issued it: the page asks the
    same question (and the plan *Raise call-up* would raise) again every minute while it is shown, and when the
    tab is shown again."""
    import uuid

    from tests.browser.test_readiness_page import ApiSession

    manager = ApiSession(page_server, "manager")
    warehouse = manager.call("GET", "/page/my-warehouses")[0]
    batch = f"NOW-{uuid.uuid4().hex[:8]}"
    receipt = {"warehouse_code": warehouse["code"], "item_code": "PD-001", "quantity": "7", "batch": batch}
    manager.call("POST", "/receipts", {**receipt, "reason": "browser test: taken elsewhere"})
    [line] = manager.call("GET", "/stock-lines", warehouse=warehouse["code"], batch=batch)
    page = browsing.page
    page.clock.install()
    browsing.login("responder")
    page.wait_for_selector("#map .leaflet-control-scale")
    page.fill("#nearest-lat", str(warehouse["latitude"]))
    page.fill("#nearest-lon", str(warehouse["longitude"]))
    page.fill("#nearest-item", "PD-001")
    page.fill("#nearest-quantity", "1000000")  # more than the warehouse holds: the plan draws on every batch
    page.fill("#nearest-radius", "1")
    page.click("#nearest-form button[type=submit]")
    result = page.locator(f"#nearest-results li.result[data-code='{warehouse['code']}']")
    result.wait_for()
    assert f"{batch} · 7 " in result.text_content()
    asked = page.text_content("#nearest-summary .question")
    page.click("#add-need")
    page.wait_for_selector("#plan-needs li")
    page.click("#plan-build")
    page.wait_for_selector("#plan-result table")
    planned = page.text_content("#plan-result")

    manager.call("POST", f"/stock-lines/{line['id']}/issues", {"quantity": "3", "reason": "browser test"})
    page.clock.run_for(61_000)  # a minute on screen
    page.wait_for_function(
        "([code, text]) => document.querySelector(`#nearest-results li.result[data-code='${code}']`)"
        "?.textContent.includes(text)",
        arg=[warehouse["code"], f"{batch} · 4 "],
    )
    assert page.text_content("#nearest-summary .question") != asked  # says when it was asked again
    page.wait_for_function("(before) => document.querySelector('#plan-result').textContent !== before", arg=planned)
    assert page.is_enabled("#callup")

    manager.call("POST", f"/stock-lines/{line['id']}/issues", {"quantity": "4", "reason": "browser test"})
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back on this tab
    page.wait_for_function(
        "([code, batch]) => !document.querySelector(`#nearest-results li.result[data-code='${code}']`)"
        "?.textContent.includes(batch)",
        arg=[warehouse["code"], batch],
    )


@pytest.mark.parametrize("browsing", [PHONE], indirect=True)
def test_back_on_the_tab_after_the_session_expired_the_login_comes_once_then_the_answer_again(browsing, nearest_api):
    """Back on the tab after the session had expired, the map asked its answer again beside the session check:
    the re-ask met the expired session (a 401 in the console, the check's words raced by the refusal's), and
    after logging in the form had lost what it asked (item, quantity): the responder had to type it again."""
    page = browsing.page
    browsing.responder_at_the_map()
    page.fill("#nearest-quantity", "5")
    page.click("#nearest-form button[type=submit]")
    page.wait_for_selector("#nearest-results li.result")
    page.wait_for_selector("#item-options option", state="attached")  # the item typed was suggested before
    asked = page.locator("#nearest-results li.result").count()
    nearest_asked: list[str] = []
    page.on("request", lambda request: nearest_asked.append(request.url) if "/api/v1/nearest" in request.url else None)
    statuses = page.evaluate_handle(
        """() => { const seen = []; const status = document.querySelector('#status');
        new MutationObserver(() => seen.push(status.textContent)).observe(status, {childList: true, subtree: true,
        characterData: true}); return seen; }"""
    )
    page.context.clear_cookies()  # the session ended while the tab was hidden
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back on this tab
    page.wait_for_selector("#view-login:not([hidden])")
    page.wait_for_timeout(300)
    assert nearest_asked == []  # not asked as nobody: the check came first (a 401 would fail the console check)
    assert [text for text in statuses.json_value() if text] == ["登录已过期，请重新登录"]

    page.fill("#login-username", "demo-responder")
    page.fill("#login-password", browsing.server.passwords["demo-responder"])
    with page.expect_response("**/api/v1/nearest?**"):
        page.click("#login-form button[type=submit]")
    page.wait_for_function(f"() => document.querySelectorAll('#nearest-results li.result').length === {asked}")
    assert len(nearest_asked) == 1 and "quantity=5" in nearest_asked[0] and "item=PD-001" in nearest_asked[0]
    assert page.input_value("#nearest-item") == "PD-001" and page.input_value("#nearest-quantity") == "5"
    browsing.shot("asked-again")

    page.click("#logout")  # a login that ends by the user's own choice: the next one starts clean
    page.wait_for_selector("#view-login:not([hidden])")
    browsing.login("responder")
    page.wait_for_selector("#map .leaflet-control-scale")
    assert page.input_value("#nearest-item") == "" and page.locator("#nearest-results li.result").count() == 0


def test_after_raising_a_call_up_the_answer_on_screen_counts_what_it_reserved(browsing, nearest_api, playwright_api):
    """Right after *Raise call-up* the list went on offering as available the stock the call-up had just reserved,
    until the minute's re-ask."""
    import uuid

    from tests.browser.test_callups_page import Api

    admin = Api(playwright_api, browsing.server, "admin")
    suffix = uuid.uuid4().hex[:8].upper()
    item = admin.post(
        "/items", {"code": f"RSV-{suffix}", "name": f"预留后测试 {suffix}", "category": "other", "unit": "件"}
    )
    warehouse = admin.post(
        "/warehouses",
        {
            "code": f"RSV-{suffix}",
            "name": f"预留后测试库 {suffix}",
            "reserve_type": "enterprise",
            "county_code": "110101",
            "latitude": 39.905,
            "longitude": 116.405,
            "level": "county",
        },
    )
    admin.post(
        "/receipts", {"warehouse_code": warehouse["code"], "item_code": item["code"], "quantity": 10, "batch": "B1"}
    )
    admin.close()
    page = browsing.page
    browsing.responder_at_the_map(item=item["code"], radius_km="5")
    page.fill("#nearest-quantity", "3")
    page.click("#nearest-form button[type=submit]")
    result = page.locator(f"#nearest-results li.result[data-code='{warehouse['code']}']")
    result.wait_for()
    assert "B1 · 10 " in result.text_content()
    page.click("#add-need")
    page.wait_for_selector("#plan-needs li")
    page.click("#plan-build")
    page.wait_for_selector("#plan-result table")
    page.click("#callup")
    page.fill("#callup-incident", f"预留后 {suffix}")
    page.click("#callup-submit")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('已发起调用')")
    page.wait_for_function(
        "([code, text]) => document.querySelector(`#nearest-results li.result[data-code='${code}']`)"
        "?.textContent.includes(text)",
        arg=[warehouse["code"], "B1 · 7 "],
    )


def test_the_incidents_pin_shows_without_the_maps_stylesheet(browsing, nearest_api):
    """When the map's stylesheet had not come (a failed request on a poor line), Leaflet guessed its marker
    images' folder from the stylesheet's link and dropped its slash (/static/vendor/leaflet-1.9.4marker-icon.png:
    404): the incident's pin stayed a broken image for the whole visit. The page names the folder itself."""
    import json

    page = browsing.page
    draft = {"lat": "39.9", "lon": "116.4", "county": "", "radius": "", "prefer1": "", "prefer2": "", "needs": []}
    page.add_init_script(f"localStorage.setItem('emi.plan-draft.demo-responder', {json.dumps(json.dumps(draft))})")
    page.route("**/leaflet-1.9.4/leaflet.css", lambda route: route.abort())
    browsing.login("responder")
    pin = page.locator("#map img.leaflet-marker-icon")
    pin.wait_for(state="attached")
    page.wait_for_function("() => document.querySelector('#map img.leaflet-marker-icon').complete")
    assert pin.get_attribute("src").endswith("/leaflet-1.9.4/images/marker-icon.png")
    assert page.evaluate("document.querySelector('#map img.leaflet-marker-icon').naturalWidth") > 0
    # The stylesheet's own failure, provoked here, is the one console error expected.
    browsing.console.errors = [error for error in browsing.console.errors if "leaflet.css" not in error]


def test_after_raising_a_call_up_its_markers_stay_on_top_of_the_answer_asked_again(
    browsing, nearest_api, playwright_api
):
    """The raise clears the answer's markers and draws the call-up's (C1…); the answer is asked again at once (it
    counted the reserved stock as available). When that re-ask came back after the call-up was drawn, it drew the
    answer's markers and rings back, over C1: the warehouse's own call-up marker could not be tapped."""
    import uuid

    from tests.browser.test_callups_page import Api

    admin = Api(playwright_api, browsing.server, "admin")
    suffix = uuid.uuid4().hex[:8].upper()
    item = admin.post(
        "/items", {"code": f"TOP-{suffix}", "name": f"置顶测试 {suffix}", "category": "other", "unit": "件"}
    )
    warehouse = admin.post(
        "/warehouses",
        {
            "code": f"TOP-{suffix}",
            "name": f"置顶测试库 {suffix}",
            "reserve_type": "enterprise",
            "county_code": "110101",
            "latitude": 39.905,
            "longitude": 116.405,
            "level": "county",
        },
    )
    admin.post("/receipts", {"warehouse_code": warehouse["code"], "item_code": item["code"], "quantity": 10})
    admin.close()
    page = browsing.page
    browsing.responder_at_the_map(item=item["code"], radius_km="5")
    page.fill("#nearest-quantity", "3")
    page.click("#nearest-form button[type=submit]")
    page.locator(f"#nearest-results li.result[data-code='{warehouse['code']}']").wait_for()
    page.click("#add-need")
    page.wait_for_selector("#plan-needs li")
    page.click("#plan-build")
    page.wait_for_selector("#plan-result table")
    page.click("#callup")
    page.fill("#callup-incident", f"置顶 {suffix}")
    # The re-ask is held until the call-up is drawn: the order the two answers arrive in is the network's.
    held = []
    page.route("**/api/v1/nearest?**", lambda route: held.append(route))
    page.click("#callup-submit")
    page.locator("path.callup-marker").first.wait_for(state="attached")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    page.unroute("**/api/v1/nearest?**")
    page.wait_for_function(
        "([code, text]) => document.querySelector(`#nearest-results li.result[data-code='${code}']`)"
        "?.textContent.includes(text)",
        arg=[warehouse["code"], " · 7 "],
    )
    page.wait_for_timeout(200)  # the answer's redraw, if it comes, follows the list
    assert page.locator("path.stock-marker").count() == 0  # what the raise cleared stays cleared
    top_at_c1 = """() => {
        document.getElementById('map').scrollIntoView({ block: 'center' });
        const box = document.querySelector('path.callup-marker').getBoundingClientRect();
        return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2).getAttribute('class');
    }"""
    assert "callup-marker" in page.evaluate(top_at_c1)
    # Asked anew, the answer's markers come back, under the call-up's: C1 is still the one tapped.
    page.click("#nearest-form button[type=submit]")
    page.locator("path.stock-marker").first.wait_for(state="attached")
    assert "callup-marker" in page.evaluate(top_at_c1)


def test_a_refusal_that_comes_after_the_question_changed_is_not_shown_for_it(browsing, nearest_api):
    """The same for a refusal: a search with a bad radius on its way while the radius was corrected: its field error
    and "search failed" stood under the corrected form."""
    page = browsing.page
    browsing.console.expect(422, "/api/v1/nearest")
    browsing.responder_at_the_map()
    held = []
    page.route("**/api/v1/nearest?**", lambda route: held.append(route))
    page.fill("#nearest-radius", "-5")
    page.click("#nearest-form button[type=submit]")
    while not held:
        page.wait_for_timeout(50)
    page.fill("#nearest-radius", "500")  # meanwhile, the question is corrected
    held[0].continue_()
    page.unroute("**/api/v1/nearest?**")
    page.wait_for_function("() => !document.querySelector('#nearest-results').hasAttribute('aria-busy')")
    assert page.locator("#nearest-form .field-error").count() == 0
    assert page.get_attribute("#nearest-radius", "aria-invalid") != "true"
    assert page.text_content("#nearest-summary") == "查找条件已改动：原结果已清除，请重新查找。"


def test_an_answer_that_comes_after_the_question_changed_is_not_shown_for_it(browsing, nearest_api):
    """A search on its way while the responder changed the radius: its answer came and stood under the changed form
    (and was asked again every minute) as if it answered it."""
    page = browsing.page
    browsing.responder_at_the_map()
    held = []
    page.route("**/api/v1/nearest?**", lambda route: held.append(route))
    page.click("#nearest-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#nearest-results').hasAttribute('aria-busy')")
    while not held:
        page.wait_for_timeout(50)
    page.fill("#nearest-radius", "500")  # meanwhile, the question changes
    held[0].continue_()
    page.unroute("**/api/v1/nearest?**")
    page.wait_for_function("() => !document.querySelector('#nearest-results').hasAttribute('aria-busy')")
    assert page.locator("#nearest-results li.result").count() == 0
    assert page.locator("path.stock-marker").count() == 0
    assert page.text_content("#nearest-summary") == "查找条件已改动：原结果已清除，请重新查找。"

    page.click("#nearest-form button[type=submit]")  # asked as it reads now: answered
    page.wait_for_selector("#nearest-results li.result")
    assert "500 公里内" in page.text_content("#nearest-summary")


@pytest.mark.parametrize("browsing", [PHONE], indirect=True)
def test_on_a_phone_what_a_responder_taps_is_at_least_44_px_tall(browsing, nearest_api):
    """A warehouse's phone number was a 19 px line to hit with a finger, a reserve type's checkbox 18 px in a 24 px
    label, a result's title 30 px; the header's 通知 / English / 退出 35 px, the views' buttons, the inputs and selects
    40 px, the footer's "API 文档" 16 px, the map's zoom buttons 30 px."""
    page = browsing.page
    browsing.responder_at_the_map()
    page.click("#nearest-form button[type=submit]")
    page.wait_for_selector("#nearest-results li.result")
    targets = page.evaluate(
        """[...document.querySelectorAll(
            '#nearest-results a[href^="tel:"], #nearest-results button.result-title, #nearest-types label.check, '
            + 'header button, #views-nav button, #nearest-form input:not([type=checkbox]):not([type=radio]), '
            + '#nearest-form select, #nearest-form button, .footer a, #map .leaflet-bar a')]
            .filter((node) => node.getClientRects().length)
            .map((node) => [node.id || node.textContent.trim(), node.getBoundingClientRect().height])"""
    )
    assert len(targets) > 15 and all(height >= 44 for _, height in targets), targets
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"


def test_a_message_naming_a_group_of_checkboxes_says_the_group_s_legend(browsing, nearest_api):
    """showFormErrors says a field as its label does; a box of a group is labelled by its own choice (政府储备), so a
    message about the group names it by the group's legend."""
    page = browsing.page
    browsing.console.expect(422, "/api/v1/nearest")
    browsing.responder_at_the_map()
    refusal = {
        "title": "输入无效",
        "status": 422,
        "code": "required",
        "detail": "reserve_types 为必填项",
        "errors": {"reserve_types": ["reserve_types 为必填项"]},
        "error_codes": {"reserve_types": [{"code": "required", "params": {"field": "reserve_types"}}]},
    }
    page.route("**/api/v1/nearest?**", lambda route: route.fulfill(status=422, json=refusal))
    page.click("#nearest-form button[type=submit]")
    error = page.wait_for_selector("#nearest-types .field-error")
    assert error.text_content() == "储备类型为必填项"
