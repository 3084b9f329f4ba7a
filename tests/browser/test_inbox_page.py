"""The inbox on the page: a manager's unread badge for a call-up line waiting at their warehouse, marking it
read, and opting in to email for that event."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.test_readiness_page import ApiSession

pytestmark = pytest.mark.slow


def raise_at_the_managers_warehouse(page_server) -> tuple[dict, ApiSession]:
    """A call-up raised by the demo responder at the demo manager's first warehouse (distance 0, one unit)."""
    manager = ApiSession(page_server, "manager")
    warehouse = manager.call("GET", "/page/my-warehouses")[0]
    today = dt.date.today().isoformat()
    lines = manager.call("GET", "/stock-lines", warehouse=warehouse["code"], page_size=500)
    line = next(
        one for one in lines if one["available"] >= 1 and (one["expiry_date"] is None or one["expiry_date"] > today)
    )
    responder = ApiSession(page_server, "responder")
    incident = f"收件箱测试 {uuid.uuid4().hex[:6]}"
    body = {
        "incident_name": incident,
        "lat": warehouse["latitude"],
        "lon": warehouse["longitude"],
        "radius_km": 1,
        "needs": [{"item": line["item_code"], "quantity": 1}],
    }
    order = responder.call("POST", "/callups", body)
    assert any(one["warehouse_code"] == warehouse["code"] for one in order["lines"]), order
    return {"order": order, "warehouse": warehouse, "incident": incident}, responder


@pytest.fixture
def waiting_callup(page_server):
    raised, responder = raise_at_the_managers_warehouse(page_server)
    yield raised
    responder.call("POST", f"/callups/{raised['order']['code']}/cancel", {"reason": "browser test done"})


def test_manager_reads_the_waiting_line_in_the_inbox_and_opts_in_to_email(browsing, waiting_callup):
    page = browsing.page
    code = waiting_callup["order"]["code"]
    browsing.login("manager")
    page.wait_for_selector("#inbox-toggle:not([hidden]) #inbox-badge:not([hidden])")
    unread = int(page.text_content("#inbox-badge"))
    assert unread >= 1
    assert page.get_attribute("#inbox-toggle", "aria-label") == f"通知（{unread} 条未读）"

    page.click("#inbox-toggle")
    item = page.locator("#inbox-list li.inbox-item.unread", has_text=code)
    item.wait_for()
    assert waiting_callup["warehouse"]["name"] in item.locator(".inbox-title").text_content()
    assert page.get_attribute("#inbox-toggle", "aria-expanded") == "true"
    browsing.shot("inbox")
    item.locator("button").click()
    page.wait_for_selector(f"#inbox-list li.inbox-item:not(.unread):has-text('{code}')")
    page.wait_for_function(
        "(n) => document.querySelector('#inbox-badge').hidden || document.querySelector('#inbox-badge').textContent"
        " === String(n)",
        arg=unread - 1,
    )

    # Settings: opting in to email without an address is refused next to the field; with one it is saved.
    page.click(".inbox-settings summary")
    page.fill("#inbox-email", "")
    page.check("input[name=subscriptions][value='callup_line_waiting:email']")
    browsing.console.expect(422, "/api/v1/notifications/settings")
    page.click("#inbox-settings-form button[type=submit]")
    page.wait_for_selector("#inbox-settings-form .field-error, #inbox-settings-form .form-error:not([hidden])")
    page.fill("#inbox-email", "manager@example.org")
    page.click("#inbox-settings-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#inbox-settings-status').textContent === '已保存'")
    assert page.is_checked("input[name=subscriptions][value='callup_line_waiting:email']")
    browsing.shot("inbox-settings")

    # English, and closing returns focus to the header button.
    page.click("#lang-toggle")
    page.wait_for_function("() => document.querySelector('#inbox-heading').textContent === 'Inbox'")
    assert "waiting at" in page.locator("#inbox-list li.inbox-item", has_text=code).text_content()
    page.click("#inbox-close")
    assert page.is_hidden("#inbox-panel")
    assert page.evaluate("() => document.activeElement.id") == "inbox-toggle"


def test_a_notification_listed_before_the_settings_came_names_its_kind_in_words(browsing, waiting_callup):
    """With /notifications answered before /notifications/settings, each item said "callup_line_waiting"."""
    page = browsing.page
    code = waiting_callup["order"]["code"]
    browsing.login("manager")
    settings_came = []

    def late_settings(route):
        page.wait_for_selector(f"#inbox-list li.inbox-item:has-text('{code}')")  # the list first
        settings_came.append(True)
        route.continue_()

    page.route("**/api/v1/notifications/settings", late_settings)
    page.click("#inbox-toggle")
    page.wait_for_selector("#inbox-subscriptions input", state="attached")
    meta = page.locator("#inbox-list li.inbox-item", has_text=code).locator(".meta").text_content()
    assert settings_came and "callup_line_waiting" not in meta and "调用" in meta, meta


def test_a_line_waiting_after_the_page_opened_shows_in_the_queue_with_the_next_poll(browsing, page_server):
    """The queue said "没有待处理的调用" for as long as the page stayed open, while the badge counted the new line."""
    page = browsing.page
    page.clock.install()
    browsing.login("manager")
    page.wait_for_selector("#queue-panel:not([hidden]) #queue-list :is(p, table)")
    raised, responder = raise_at_the_managers_warehouse(page_server)
    code = raised["order"]["code"]
    try:
        assert page.locator(f"#queue-list tr[data-callup='{code}']").count() == 0
        page.clock.run_for(61_000)  # the inbox's poll (a minute)
        page.wait_for_selector(f"#queue-list tr[data-callup='{code}']")
    finally:
        responder.call("POST", f"/callups/{code}/cancel", {"reason": "browser test done"})


@pytest.mark.parametrize("browsing", [{"viewport": {"width": 390, "height": 844}, "is_mobile": True}], indirect=True)
def test_a_responders_open_call_up_shows_the_dispatch_with_the_next_poll(browsing, page_server):
    """The order said 已预留 after the warehouse had dispatched it, until the responder pressed 刷新."""
    page = browsing.page
    page.clock.install()
    raised, _ = raise_at_the_managers_warehouse(page_server)
    code = raised["order"]["code"]
    browsing.login("responder")
    page.click(f"#mine-list [data-code='{code}'] button")
    page.wait_for_selector(f"#callup-detail:not([hidden]) #callup-title:has-text('{code}')")
    badge = page.locator("#callup-body .badge", has_text="已预留")
    assert badge.count() == 1

    line = raised["order"]["lines"][0]
    ApiSession(page_server, "manager").call("POST", f"/callup-lines/{line['id']}/dispatch", {})
    page.clock.run_for(61_000)  # the inbox's poll (a minute)
    page.locator("#callup-body .badge", has_text="已发运").wait_for()
    assert badge.count() == 0
    assert code in page.text_content("#status")  # said in the status line too


def test_cancelling_a_call_up_dispatched_meanwhile_shows_it_as_it_is_now(browsing, page_server):
    """The 409 was shown under the cancel form while the order above still said 调用中 and 已预留."""
    page = browsing.page
    browsing.console.expect(409, "/cancel")
    raised, _ = raise_at_the_managers_warehouse(page_server)
    code = raised["order"]["code"]
    browsing.login("responder")
    page.click(f"#mine-list [data-code='{code}'] button")
    page.wait_for_selector('#callup-state[data-status="open"]')
    page.click("#callup-cancel-open")
    page.fill("#callup-cancel-reason", "事件已处置")

    for line in raised["order"]["lines"]:  # meanwhile the warehouse sends everything
        ApiSession(page_server, "manager").call("POST", f"/callup-lines/{line['id']}/dispatch", {})
    page.click("#callup-cancel-form button[type=submit]")
    page.wait_for_selector('#callup-state[data-status="completed"]')
    assert page.locator("#callup-body .badge", has_text="已预留").count() == 0
    assert page.is_hidden("#callup-cancel-form") and page.is_hidden("#callup-cancel-open")
    assert "已完成" in page.text_content("#status")  # what happened instead, in the status line
    browsing.shot("completed-meanwhile")


def test_a_call_up_raised_elsewhere_shows_its_reservation_in_the_open_warehouses_stock_with_the_next_poll(
    browsing, page_server
):
    """The queue showed the new line with the next poll, but the open warehouse's table below it went on saying
    the stock that line reserved was free, until the manager left the view and came back."""
    page = browsing.page
    page.clock.install()
    browsing.login("manager")
    page.wait_for_selector(".warehouse-button")
    page.click(".warehouse-button >> nth=0")
    page.wait_for_selector("#stock-lines table")
    raised, responder = raise_at_the_managers_warehouse(page_server)
    order = raised["order"]
    [line] = [one for one in order["lines"] if one["warehouse_code"] == raised["warehouse"]["code"]]
    available = f"#stock-lines tr[data-line-id='{line['stock_line_id']}'] td.available"
    try:
        page.wait_for_selector(available)  # the warehouse's lines were on screen before the call-up
        before = page.text_content(available)
        page.clock.run_for(61_000)  # the inbox's poll (a minute)
        page.wait_for_selector(f"#queue-list tr[data-callup='{order['code']}']")
        page.wait_for_function(
            "([cell, before]) => document.querySelector(cell)?.textContent !== before", arg=[available, before]
        )
    finally:
        responder.call("POST", f"/callups/{order['code']}/cancel", {"reason": "browser test done"})
