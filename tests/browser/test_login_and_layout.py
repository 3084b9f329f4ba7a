"""Login per role, the views each role gets, language, keyboard use, phone width, CSP, load time."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

VIEWS = {
    "admin": ["stock", "map", "ledgers", "incidents"],
    "provincial": ["stock", "map", "ledgers", "incidents"],
    "manager": ["stock", "map", "incidents"],
    "responder": ["stock", "map", "incidents"],
    "viewer": ["stock", "map", "incidents"],
}
LANDING = {"admin": "stock", "provincial": "ledgers", "manager": "stock", "responder": "map", "viewer": "stock"}
ROLE_LABELS_ZH = {"admin": "管理员", "provincial": "省级人员", "manager": "仓库管理员", "responder": "应急响应人员"}

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((node) => node.offsetParent !== null)
  .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute('aria-label')
                    && !(node.tagName === 'BUTTON' && node.textContent.trim()))
  .map((node) => node.outerHTML)"""


def test_each_role_logs_in_sees_its_name_role_and_views_then_logs_out(browsing):
    page = browsing.page
    for role, views in VIEWS.items():
        browsing.login(role)
        assert page.text_content("#who-name") == f"demo-{role}"
        if role in ROLE_LABELS_ZH:
            assert page.text_content("#who-role") == ROLE_LABELS_ZH[role]
        shown = page.eval_on_selector_all("#views-nav button:not([hidden])", "nodes => nodes.map(n => n.dataset.view)")
        assert shown == views
        assert page.get_attribute(f'#views-nav button[data-view="{LANDING[role]}"]', "aria-current") == "page"
        assert page.is_visible(f"#view-{LANDING[role]}")
        assert page.evaluate(UNLABELLED_CONTROLS) == []
        browsing.shot(role)
        page.click("#logout")
        page.wait_for_selector("#view-login:not([hidden])")
        assert page.is_hidden("#views-nav")


def test_wrong_password_is_shown_next_to_the_field_and_the_form_works_from_the_keyboard(browsing):
    page = browsing.page
    browsing.console.expect(401, "/api/v1/auth/login")
    page.goto(browsing.server.url("/"))
    page.wait_for_selector("#login-username:focus")
    page.keyboard.type("demo-viewer")
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    error = page.wait_for_selector("#login-form .field-error")
    # The server's message, in the page's language (api.js sends Accept-Language: zh-CN).
    assert "用户名或密码错误" in error.text_content()
    page.click("#lang-toggle")  # and in English once the page is
    page.focus("#login-password")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#login-form .field-error')?.textContent.includes('wrong')")
    page.click("#lang-toggle")
    assert page.get_attribute("#login-password", "aria-invalid") == "true"
    assert error.get_attribute("id") in page.get_attribute("#login-password", "aria-describedby")
    browsing.shot("wrong-password")
    page.fill("#login-password", browsing.server.passwords["demo-viewer"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#who:not([hidden])")
    assert page.get_attribute("#login-password", "aria-invalid") is None


def test_english_is_remembered_and_a_reload_keeps_the_login_able_to_write(browsing):
    page = browsing.page
    browsing.login("manager")
    assert page.text_content("h1") == "环境应急物资库存"
    # The browser tests' database is the small demo: the page says so (GET /page-config `demo`).
    assert page.is_visible("#demo-banner") and "演示数据" in page.text_content("#demo-banner")
    page.click("#lang-toggle")
    assert page.text_content("h1") == "Emergency materials inventory"
    assert page.text_content("#demo-banner").startswith("DEMO DATA")
    assert page.get_attribute("html", "lang") == "en"
    page.reload()
    page.wait_for_selector("#who:not([hidden])")  # the session cookie is still there
    assert page.text_content("h1") == "Emergency materials inventory"
    assert page.text_content('#views-nav button[data-view="stock"]') == "Warehouses & stock"
    # Logging out is a write: it only works if the page got the CSRF token back after the reload.
    page.click("#logout")
    page.wait_for_selector("#view-login:not([hidden])")
    assert page.text_content("#status") == "Logged out"
    page.click("#lang-toggle")
    assert page.text_content("h1") == "环境应急物资库存"


@pytest.mark.parametrize("browsing", [{"viewport": {"width": 375, "height": 740}, "is_mobile": True}], indirect=True)
def test_phone_width_has_no_sideways_scrolling_and_the_map_fits(browsing):
    page = browsing.page
    browsing.login("manager")
    page.click(".warehouse-button >> nth=0")
    page.wait_for_selector("#stock-lines table")
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    browsing.shot("stock")
    page.click('#views-nav button[data-view="map"]')
    page.wait_for_selector("#map .leaflet-control-scale")
    box = page.locator("#map").bounding_box()
    assert box["width"] <= 375 and box["height"] > 200
    assert page.evaluate(overflow) <= 0
    browsing.shot("map")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' http://127.0.0.1:9; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def test_the_page_runs_under_a_strict_content_security_policy(browsing):
    """No inline script, style or handler: a CSP that forbids them all reports no violation."""
    page = browsing.page

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    page.route(browsing.server.url("/"), with_csp)
    browsing.responder_at_the_map()
    page.click("#nearest-form button[type=submit]")
    page.wait_for_selector("#nearest-results li")
    page.wait_for_selector("path.stock-marker")
    assert not [error for error in browsing.console.errors if "Content Security Policy" in error]


def test_the_page_loads_in_under_a_second_and_fetches_no_big_list(browsing):
    page = browsing.page
    api_calls: list[str] = []
    page.on("request", lambda request: "/api/v1/" in request.url and api_calls.append(request.url))
    page.goto(browsing.server.url("/"))
    page.wait_for_selector("#view-login:not([hidden])")
    timing = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
    assert timing["loadEventEnd"] < 1000, timing
    assert sorted(url.split("/api/v1/")[1] for url in api_calls) == ["page-config", "page/session"]
    browsing.login("provincial")
    page.click('#views-nav button[data-view="stock"]')
    page.wait_for_selector(".warehouse-button")
    listed = [url for url in api_calls if "/api/v1/warehouses" in url]
    assert listed and all("page_size=20" in url for url in listed)


# Text a Chinese page may show in Latin letters: the switch to English (in English on purpose), account
# names, Leaflet's name, file types, and codes and acronyms in capitals (WH000001, LOG-1A2B, VOC); any other
# word is a leftover.
LATIN_WORDS = """() => {
  const found = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (node.parentElement.checkVisibility() && /[A-Za-z]{3,}/.test(text)) found.add(text);
  }
  for (const node of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
    for (const name of ['aria-label', 'title', 'placeholder']) {
      const value = node.getAttribute(name);
      if (value && /[A-Za-z]{3,}/.test(value)) found.add(`${name}=${value}`);
    }
  }
  return [...found];
}"""
NOT_A_LEFTOVER = re.compile(
    r"^(aria-label|title|placeholder)=|Switch to English|English|Leaflet|demo-\w+|\.xlsx"
    r"|(?<![A-Za-z0-9])[A-Z0-9][A-Z0-9-]+(?![A-Za-z0-9])"
)


def english_leftovers(page) -> list[str]:
    return [text for text in page.evaluate(LATIN_WORDS) if re.search("[A-Za-z]{3,}", NOT_A_LEFTOVER.sub("", text))]


def test_the_chinese_page_shows_no_english_on_the_map_the_stock_or_the_tab(browsing):
    """Leaflet's zoom buttons said "Zoom in"/"Zoom out" (tooltip and screen reader), its credit linked to its
    website titled in English, the demo's ledger said "demo dataset opening balance", and the tab's title
    kept its English half."""
    page = browsing.page
    browsing.login("admin")
    page.fill("#warehouse-q", "WH000001")  # a demo warehouse no other test writes to
    page.click("#warehouse-search button[type=submit]")
    page.click(".warehouse-button[data-code='WH000001']")
    page.click("#stock-lines button[data-action=history] >> nth=0")
    page.wait_for_selector("#history-table table")
    page.click('#views-nav button[data-view="map"]')
    page.wait_for_selector("#map .leaflet-control-zoom-in")
    assert page.title() == "环境应急物资库存"
    assert page.get_attribute(".leaflet-control-zoom-in", "aria-label") == "放大"
    assert page.get_attribute(".leaflet-control-zoom-out", "title") == "缩小"
    assert page.locator(".leaflet-control-attribution a").count() == 0
    for view in ("map", "stock"):
        page.click(f'#views-nav button[data-view="{view}"]')
        assert english_leftovers(page) == [], view
    page.click("#lang-toggle")
    assert page.title() == "Emergency materials inventory"
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Zoom in"
    page.click("#lang-toggle")


def _log_in_again_in_another_tab(browsing, role: str) -> None:
    tab = browsing.page.context.new_page()
    tab.goto(browsing.server.url("/"))
    tab.click("#logout")
    tab.wait_for_selector("#view-login:not([hidden])")
    tab.fill("#login-username", f"demo-{role}")
    tab.fill("#login-password", browsing.server.passwords[f"demo-{role}"])
    tab.click("#login-form button[type=submit]")
    tab.wait_for_selector("#who:not([hidden])")
    tab.close()


def test_a_login_again_in_another_tab_keeps_this_tab_writing_or_ends_it_for_another_user(browsing):
    """Every write of the first tab was refused with "使用登录会话修改数据时缺少或填错 X-CSRF-Token 请求头" once
    the user had logged in again in another tab (a new session, a token this tab never saw), until a reload;
    after another user's login there, the tab still showed the first user while it read as the second."""
    page = browsing.page
    browsing.console.expect(403, "/issues")  # each tab's first write with the old token, as the browser logs it
    browsing.login("manager")
    page.click(".warehouse-button >> nth=0")
    page.click("#stock-lines tbody tr >> nth=0 >> button[data-action=move]")

    _log_in_again_in_another_tab(browsing, "manager")
    page.fill("#move-quantity", "1")
    page.fill("#move-reason", "另一标签页重新登录之后")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("#history-table td:has-text('另一标签页重新登录之后')")
    assert page.text_content("#status").startswith("已记录")

    _log_in_again_in_another_tab(browsing, "viewer")
    page.fill("#move-quantity", "1")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("#view-login:not([hidden])")
    # not 登录已过期: the login did not expire, another user's took its place (as when back on the tab)
    assert page.text_content("#status") == "此浏览器已在其他页面以另一用户登录，请重新登录"


def test_back_on_a_tab_after_another_users_login_elsewhere_it_shows_the_login(browsing):
    """The tab kept the first user's name, views and buttons while its reads went out as the second user."""
    page = browsing.page
    browsing.login("manager")
    page.wait_for_selector(".warehouse-button")
    _log_in_again_in_another_tab(browsing, "manager")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back on this tab
    page.wait_for_timeout(300)
    assert page.is_visible("#views-nav") and page.text_content("#who-name") == "demo-manager"

    _log_in_again_in_another_tab(browsing, "viewer")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#view-login:not([hidden])")
    assert page.is_hidden("#views-nav")
    assert page.text_content("#status") == "此浏览器已在其他页面以另一用户登录，请重新登录"


def test_a_refused_token_whose_renewal_cannot_be_checked_keeps_the_login_and_says_try_again(browsing):
    """After a login again in another tab, a write's refused token sends the page to ask for the session's new
    one. When that question failed (the network, a 503) the page ended the login as "登录已过期" and lost the
    form; when the renewed write was refused again it showed the API's "X-CSRF-Token 请求头" words."""
    page = browsing.page
    browsing.console.expect(403, "/issues")
    browsing.console.expect(503, "/page/session")
    browsing.login("manager")
    page.click(".warehouse-button >> nth=0")
    page.click("#stock-lines tbody tr >> nth=0 >> button[data-action=move]")
    _log_in_again_in_another_tab(browsing, "manager")
    page.route(
        "**/api/v1/page/session",
        lambda route: route.fulfill(status=503, content_type="application/problem+json", body='{"status": 503}'),
    )
    page.fill("#move-quantity", "1")
    page.fill("#move-reason", "会话确认失败之后")
    page.click("#move-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#status').textContent.startsWith('未保存')")
    assert page.text_content("#status") == "未保存: 此页面的登录凭据需要更新，但暂时无法确认登录状态，请稍后重试"
    assert page.is_visible("#views-nav") and page.input_value("#move-reason") == "会话确认失败之后"

    page.unroute("**/api/v1/page/session")
    page.click("#move-form button[type=submit]")  # the same form, once more: the token renewed, written
    page.wait_for_selector("#history-table td:has-text('会话确认失败之后')")

    page.route(
        "**/api/v1/stock-lines/*/issues",
        lambda route: route.fulfill(
            status=403, content_type="application/problem+json", body='{"status": 403, "code": "csrf_missing"}'
        ),
    )
    page.click("#stock-lines tbody tr >> nth=0 >> button[data-action=move]")
    page.fill("#move-quantity", "1")
    page.fill("#move-reason", "再次被拒")
    page.click("#move-form button[type=submit]")
    page.wait_for_selector("#view-login:not([hidden])")
    assert page.text_content("#status") == "此页面的登录凭据未被服务器接受，请重新登录"


def test_a_page_opened_while_the_server_fails_says_what_it_answered_and_unreachable_only_when_it_did_not(browsing):
    """Opening the page while the server answered 502 (a proxy) said "无法连接服务器：服务器暂时无法处理请求（HTTP
    502）": unreachable, of a server that had answered."""
    page = browsing.page
    browsing.console.expect(502, "/api/v1/page-config")
    page.route(
        "**/api/v1/page-config",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>"),
    )
    page.goto(browsing.server.url("/"))
    page.wait_for_function("() => document.querySelector('#status').textContent !== ''")
    assert page.text_content("#status") == "出错了: 服务器暂时无法处理请求（HTTP 502），请稍后重试"
    assert page.is_visible("#view-login")

    page.unroute("**/api/v1/page-config")
    page.route("**/api/v1/page-config", lambda route: route.abort("internetdisconnected"))
    page.reload()
    page.wait_for_function("() => document.querySelector('#status').textContent !== ''")
    assert page.text_content("#status") == "无法连接服务器：请检查网络连接后重试"
    browsing.console.errors = [error for error in browsing.console.errors if "ERR_INTERNET_DISCONNECTED" not in error]
