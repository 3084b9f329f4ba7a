"""One incident walked on the page from call-up to settlement: an administrator opens it, raises a call-up
against an enterprise store, ships it, receives it two short, writes off what was used, returns the rest,
closes the incident, prices the material and reads (and downloads) the settlement sheet.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from tests.browser.accessibility import assert_accessible
from tests.browser.test_callups_page import Api

pytestmark = pytest.mark.slow


@pytest.fixture
def enterprise_store(playwright_api, page_server):
    """A fresh item held only by a fresh enterprise warehouse in central Beijing (10 units)."""
    admin = Api(playwright_api, page_server, "admin")
    suffix = uuid.uuid4().hex[:8].upper()
    item = admin.post(
        "/items", {"code": f"LOG-{suffix}", "name": f"物流测试吸油毡 {suffix}", "category": "other", "unit": "件"}
    )
    warehouse = admin.post(
        "/warehouses",
        {
            "code": f"ENT-{suffix}",
            "name": f"某化工企业应急库 {suffix}",
            "reserve_type": "enterprise",
            "county_code": "110101",
            "latitude": 39.91,
            "longitude": 116.41,
            "level": "county",
        },
    )
    expiry = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    admin.post(
        "/receipts",
        {
            "warehouse_code": warehouse["code"],
            "item_code": item["code"],
            "quantity": 10,
            "batch": "B1",
            "expiry_date": expiry,
        },
    )
    yield admin, item, warehouse
    admin.close()


def test_an_incident_from_call_up_to_settlement_on_the_page(browsing, enterprise_store):
    admin, item, warehouse = enterprise_store
    page = browsing.page
    browsing.login("admin")
    page.click('#views-nav button[data-view="incidents"]')
    page.wait_for_selector("#incident-new")

    name = f"页面演练 {item['code']}"
    page.fill("#incident-new [name=name]", name)
    page.select_option("#incident-new [name=incident_type]", "oil_spill")
    page.fill("#incident-new [name=county]", "北京市东城区")  # a name, as the nearest search takes it
    page.click("#incident-new button[type=submit]")
    page.wait_for_selector("#incident-title")
    assert name in page.text_content("#incident-title")
    code = page.text_content("#incident-title").split()[0]
    assert admin.get(f"/incidents/{code}")["county_code"] == "110101"

    page.fill("#incident-raise [name=item]", item["code"])
    page.fill("#incident-raise [name=quantity]", "8")
    page.select_option("#incident-raise [name=reserve_type]", "enterprise")
    page.click("#incident-raise button[type=submit]")
    page.wait_for_selector("#incident-ship:not([hidden]) input[name=line_ids]")
    page.check("#incident-ship input[name=line_ids]")
    page.fill("#incident-ship [name=carrier]", "京A12345")
    page.fill("#incident-ship [name=driver]", "王师傅")
    page.click("#incident-ship button[type=submit]")
    receive = page.locator("form[id^=receive-]")
    receive.wait_for()
    browsing.shot("in-transit")

    # Not a number: said next to the field, not as "输入有误 — lines.0.received: …" above the form.
    browsing.console.expect(422, "/receive")
    receive.locator("input[name=received_0]").fill("六")
    receive.locator("button[type=submit]").click()
    page.wait_for_selector("form[id^=receive-] .field-error")
    assert receive.locator("input[name=received_0][aria-invalid=true]").count() == 1
    assert "lines" not in receive.text_content()
    # Two short on arrival: without a reason the form names the field; with one it is delivered.
    receive.locator("input[name=received_0]").fill("6")
    receive.locator("button[type=submit]").click()
    page.wait_for_selector("form[id^=receive-] input[name=reason_0][aria-invalid=true]")
    receive.locator("input[name=reason_0]").fill("两件落水")
    receive.locator("button[type=submit]").click()
    page.wait_for_selector("form[id^=receive-]", state="detached")

    row = page.locator("#incident-lines tbody tr").first
    browsing.console.expect(422, "/consumption")
    row.locator("input").fill("五")  # went as null: "此字段不能为空（null）"
    row.locator("button.consume").click()
    page.wait_for_function("document.querySelector('#status').textContent.includes('不是数字')")
    # Beside the row too: on a phone the status line is screens above the button tapped.
    assert "不是数字" in row.locator(".field-error").text_content()
    row.locator("input").fill("5")
    row.locator("button.consume").click()
    page.wait_for_function("document.querySelector('#incident-lines tbody tr td:nth-child(6)')?.textContent === '5'")
    row = page.locator("#incident-lines tbody tr").first
    row.locator("input").fill("1")
    row.locator("button.give-back").click()
    receive_return = page.locator("form[id^=receive-]")
    receive_return.wait_for()
    receive_return.locator("button[type=submit]").click()
    page.wait_for_selector("form[id^=receive-]", state="detached")

    page.click("#incident-close")
    page.wait_for_function(f"document.querySelector('#incident-title')?.textContent.includes('{'已结束'}')")
    # Closed: nothing more may be raised, shipped, consumed, returned or closed, so nothing offers it.
    for closed_action in ("#incident-raise", "#incident-ship", "#incident-close", "button.consume", "button.give-back"):
        assert page.locator(closed_action).count() == 0, closed_action
    # Every column of the incidents list is named (the code and the open buttons had empty headers).
    headers = page.locator("#incidents-root table").first.locator("th").all_text_contents()
    assert headers == ["编号", "事件名称", "状态", "操作"]
    assert_accessible(page, "a closed incident")
    page.fill("#unit-price [name=warehouse_code]", warehouse["code"])
    page.fill("#unit-price [name=item]", item["code"])
    page.fill("#unit-price [name=price]", "250")
    page.click("#unit-price button[type=submit]")
    # Consumed 5 + lost 2 at 250 yuan.
    page.wait_for_function("document.querySelector('#settlement-total')?.textContent.endsWith('1750.00')")
    # Each event in words, not the API's codes ("raised", "short 2: …" were shown as they came).
    timeline = page.text_content("#incident-timeline")
    for event in ("创建事件", "发出", "接收", "消耗", "退回", "结束事件"):
        assert event in timeline
    # A call-up's own events in the words of the call-up's history (i18n.js callup.event.*), not a second set
    # of their own ("发起调用", "仓库发运" here against "发起", "发运" there).
    assert " · 发起 · demo-" in timeline and " · 发运 · demo-" in timeline
    assert "短少 2：两件落水" in timeline and "全部需求已安排" in timeline
    assert not re.search(r"\b(opened|raised|shipped|received|consumed|returned|closed|short|damaged)\b", timeline)
    with page.expect_download() as download:
        page.click("#settlement-download")
    assert download.value.suggested_filename.endswith(".xlsx")
    browsing.shot("settled")

    sheet = admin.get(f"/incidents/{code}/settlement")
    assert [(row["charged"], row["amount"]) for row in sheet["rows"]] == [(7.0, "1750.00")]
    stock = admin.get("/stock-lines", warehouse=warehouse["code"])
    assert [line["quantity"] for line in stock] == [3.0]  # 10 - 8 sent + 1 returned


@pytest.mark.parametrize("browsing", [{"viewport": {"width": 390, "height": 844}, "is_mobile": True}], indirect=True)
def test_a_call_up_raised_on_the_incidents_page_looks_for_stock_from_the_incidents_county(browsing, playwright_api):
    """The incident page's raise form came filled with a point in Beijing (39.9, 116.4) whatever the incident's
    county: an incident in Guangzhou drew its stock from Beijing. And "abc" as the quantity went as null: the
    API's "此字段不能为空（null）" was shown under "needs.0.quantity" instead of next to the quantity."""
    browsing.console.expect(422, "/api/v1/callups")
    admin = Api(playwright_api, browsing.server, "admin")
    suffix = uuid.uuid4().hex[:8].upper()
    item = admin.post(
        "/items", {"code": f"GZ-{suffix}", "name": f"远近测试围油栏 {suffix}", "category": "other", "unit": "米"}
    )
    stores = {}
    for name, county, lat, lon in (("北京", "110101", 39.91, 116.41), ("广州", "440106", 23.13, 113.36)):
        stores[name] = admin.post(
            "/warehouses",
            {
                "code": f"{'BJ' if name == '北京' else 'GZ'}-{suffix}",
                "name": f"{name}某企业应急库 {suffix}",
                "reserve_type": "enterprise",
                "county_code": county,
                "latitude": lat,
                "longitude": lon,
                "level": "county",
            },
        )
        admin.post("/receipts", {"warehouse_code": stores[name]["code"], "item_code": item["code"], "quantity": 10})
    page = browsing.page
    browsing.login("admin")
    page.click('#views-nav button[data-view="incidents"]')
    page.fill("#incident-new [name=name]", f"珠江油污 {suffix}")
    page.fill("#incident-new [name=county]", "440106")
    page.click("#incident-new button[type=submit]")
    page.wait_for_selector("#incident-raise")
    assert page.input_value("#incident-raise [name=county]") == "440106"

    page.fill("#incident-raise [name=item]", item["code"])
    page.fill("#incident-raise [name=quantity]", "abc")
    page.click("#incident-raise button[type=submit]")
    page.wait_for_selector("#incident-raise .field-error")
    assert "不是数字" in page.text_content("#incident-raise .field-error")
    assert page.locator("#incident-raise [name=quantity][aria-invalid=true]").count() == 1
    assert "needs" not in page.text_content("#incident-raise")

    page.fill("#incident-raise [name=quantity]", "4")
    page.click("#incident-raise button[type=submit]")
    page.wait_for_selector("#incident-ship input[name=line_ids]")
    code = page.text_content("#incident-title").split()[0]
    [callup] = admin.get(f"/incidents/{code}")["callup_codes"]
    lines = admin.get(f"/callups/{callup}")["lines"]
    assert [line["warehouse_code"] for line in lines] == [stores["广州"]["code"]]
    admin.close()


def test_incidents_past_the_first_twenty_are_reached_with_the_pager_and_none_says_so(browsing, playwright_api):
    """The list asked for the newest 20 and had no pager: an incident opened before twenty newer ones could not be
    opened from the page at all. With no incident, the list was an empty box under its heading."""
    admin = Api(playwright_api, browsing.server, "admin")
    suffix = uuid.uuid4().hex[:6]
    oldest = admin.post("/incidents", {"name": f"翻页测试 最早 {suffix}", "incident_type": "water"})
    for number in range(20):
        admin.post("/incidents", {"name": f"翻页测试 {number} {suffix}", "incident_type": "water"})
    admin.close()
    page = browsing.page
    browsing.login("admin")
    page.click('#views-nav button[data-view="incidents"]')
    page.wait_for_selector("#incidents-list table")
    assert oldest["code"] not in page.text_content("#incidents-list")
    for _ in range(10):  # other tests add incidents too: page on until it shows
        if oldest["code"] in page.text_content("#incidents-list"):
            break
        page.click("#incidents-list .pager button >> nth=1")  # 下一页
        page.wait_for_function("() => !document.querySelector('#incidents-list table[aria-busy]')")
        page.wait_for_timeout(200)
    row = page.locator("#incidents-list tr", has_text=oldest["code"])
    row.locator("button").click()
    page.wait_for_selector(f"#incident-title:has-text('{oldest['code']}')")

    page.route("**/api/v1/incidents?**", lambda route: route.fulfill(json=[]))
    page.click('#views-nav button[data-view="map"]')
    page.click('#views-nav button[data-view="incidents"]')
    page.wait_for_selector("#incidents-list p.hint")
    assert page.text_content("#incidents-list p.hint") == "暂无事件"


@pytest.mark.parametrize("browsing", [{"viewport": {"width": 390, "height": 844}, "is_mobile": True}], indirect=True)
def test_an_incident_s_lines_name_their_warehouse_and_item_and_fit_a_phone(browsing, enterprise_store):
    """The pending lines and the line accounts read "CU-… · ENT-… · LOG-…": codes only. They name the warehouse
    and the item as well, and the incident's section headings read at 390 px with nothing scrolled sideways."""
    _, item, warehouse = enterprise_store
    page = browsing.page
    browsing.login("admin")
    page.click('#views-nav button[data-view="incidents"]')
    page.fill("#incident-new [name=name]", f"手机演练 {item['code']}")
    page.fill("#incident-new [name=county]", "110101")
    page.click("#incident-new button[type=submit]")
    # The incident's county was shown as "110101" only, in the raise form's field: its name is said too.
    page.wait_for_selector("#incident-where")
    assert page.text_content("#incident-where") == "区县：东城区 · 北京市 · 北京市"
    assert page.text_content("#incident-raise .county-name") == "东城区 · 北京市 · 北京市"
    page.fill("#incident-raise [name=county]", "110102")  # another county typed: the name no longer says it
    assert page.is_hidden("#incident-raise .county-name")
    page.fill("#incident-raise [name=county]", "110101")
    page.fill("#incident-raise [name=item]", item["code"])
    page.fill("#incident-raise [name=quantity]", "3")
    page.select_option("#incident-raise [name=reserve_type]", "enterprise")
    page.click("#incident-raise button[type=submit]")
    page.wait_for_selector("#incident-ship:not([hidden]) input[name=line_ids]")
    pending = page.text_content("#incident-ship label.check")
    assert warehouse["name"] in pending and item["name"] in pending, pending
    browsing.shot("pending")
    assert f"· 3 {item['unit']}" in pending, pending  # the quantity with its unit
    page.check("#incident-ship input[name=line_ids]")
    page.click("#incident-ship button[type=submit]")
    page.wait_for_selector("#incident-lines tbody tr")
    account = page.text_content("#incident-lines tbody tr td")
    assert warehouse["name"] in account and item["name"] in account, account
    # The shipment and its receipt form name the warehouse and the item ("ENT-… → 事件现场", "LOG-… B1 · 3": codes).
    shipment = page.text_content("p.shipment")
    assert f"{warehouse['name']} → 事件现场" in shipment and warehouse["code"] not in shipment, shipment
    legend = page.text_content("form[id^=receive-] legend")
    assert legend == f"{item['name']} · B1 · 3 {item['unit']}", legend
    browsing.shot("lines")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"
    # Each section heading is body size and set off from what ends the section above it.
    headings = page.evaluate(
        """[...document.querySelectorAll('#incident-detail h4, #incident-detail h5')].map((h) => {
            const above = h.previousElementSibling || h.parentElement.previousElementSibling;
            return [h.textContent, parseFloat(getComputedStyle(h).fontSize),
                    h.getBoundingClientRect().top - above.getBoundingClientRect().bottom];
        })"""
    )
    assert {text for text, _, _ in headings} >= {"发运单", "调用明细", "结算", "补充储备", "时间线"}, headings
    assert all(size >= 16 and gap >= 12 for _, size, gap in headings), headings


def test_a_line_declined_elsewhere_leaves_the_ship_form_with_what_is_true_and_what_was_typed(
    browsing, enterprise_store
):
    """The source warehouse declined the reserved line while the ship form was open: the 409 read
    "冲突 — line_id: 调用单明细 … 已是“已拒绝”状态" above a list still offering that line, ticked."""
    admin, item, _ = enterprise_store
    browsing.console.expect(409, "/api/v1/shipments")
    page = browsing.page
    browsing.login("admin")
    page.click('#views-nav button[data-view="incidents"]')
    page.fill("#incident-new [name=name]", f"并发发运 {item['code']}")
    page.fill("#incident-new [name=county]", "110101")
    page.click("#incident-new button[type=submit]")
    page.fill("#incident-raise [name=item]", item["code"])
    page.fill("#incident-raise [name=quantity]", "2")
    page.select_option("#incident-raise [name=reserve_type]", "enterprise")
    page.click("#incident-raise button[type=submit]")
    box = page.wait_for_selector("#incident-ship:not([hidden]) input[name=line_ids]")
    line_id = box.get_attribute("value")

    admin.post(f"/callup-lines/{line_id}/decline", {"reason": "库房封闭"})  # elsewhere, meanwhile
    page.check("#incident-ship input[name=line_ids]")
    page.fill("#incident-ship [name=carrier]", "京A12345")
    page.click("#incident-ship button[type=submit]")
    page.wait_for_selector("#incident-ship .form-error:not([hidden])")
    assert page.locator(f"#incident-ship input[name=line_ids][value='{line_id}']").count() == 0
    said = page.text_content("#incident-ship .form-error")
    assert "已拒绝" in said and "line_id" not in said, said
    assert page.input_value("#incident-ship [name=carrier]") == "京A12345"


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_roles_that_may_not_open_or_close_incidents_are_not_offered_it(browsing, enterprise_store, role):
    """A viewer and a warehouse manager were offered "新建事件", "发起调用" and "结束事件", each refused with 403
    whatever they typed; a viewer the ship form and the write-off buttons as well."""
    admin, item, _ = enterprise_store
    incident = admin.post(
        "/incidents", {"name": f"只读演练 {item['code']}", "incident_type": "other", "county": "110101"}
    )
    admin.post(
        "/callups",
        {
            "incident_code": incident["code"],
            "county": "110101",
            "needs": [{"item": item["code"], "quantity": 2}],
            "reserve_type_preference": ["enterprise"],
        },
    )
    page = browsing.page
    browsing.login(role)
    page.click('#views-nav button[data-view="incidents"]')
    page.click(f"#incidents-list tr:has-text('{incident['code']}') button.link")
    page.wait_for_selector("#incident-title")
    assert page.locator("#incident-new, #incident-raise, #incident-close").count() == 0
    offered = page.locator("#incident-ship:not([hidden])").count()
    assert offered == (role == "manager"), offered  # a manager ships from their warehouses (the API checks which)
