"""The API documents page: a problem body's `type` opens it at that problem's entry."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_problem_type_opens_the_documents_page_at_its_entry(browsing):
    page = browsing.page
    problem = page.request.get(browsing.server.url("/api/v1/no-such-thing")).json()
    assert problem["type"] == "/api/v1/docs#problem-not-found"
    page.goto(browsing.server.url(problem["type"]))
    page.wait_for_selector("#swagger-ui-container .information-container")  # the interface drawn above it
    entry = page.locator("#problem-not-found")
    assert "404 Not Found" in entry.text_content() and "未找到" in entry.text_content()
    # The browser went to the anchor by itself, and it stayed in view once the interface was drawn above it.
    box = entry.bounding_box()
    # -1: the browser may stop a fraction of a pixel short (the viewport declaration makes y -0.19 on this one)
    assert page.evaluate("window.scrollY") > 0 and -1 <= box["y"] < page.viewport_size["height"], box


@pytest.mark.parametrize("browsing", [{"viewport": {"width": 390, "height": 844}, "is_mobile": True}], indirect=True)
def test_on_a_phone_a_problem_type_opens_the_documents_page_at_its_entry(browsing):
    """Without a viewport declaration a phone laid the page out 980 pixels wide, zoomed out, and stayed at the
    top: the entry a problem's `type` names was a screen-full of tiny Swagger below."""
    page = browsing.page
    page.goto(browsing.server.url("/api/v1/docs#problem-insufficient-stock"))
    page.wait_for_selector("#swagger-ui-container .information-container")
    box = page.locator("#problem-insufficient-stock").bounding_box()
    assert -1 <= box["y"] < page.viewport_size["height"], box  # a fraction of a pixel short, as above
    assert page.evaluate("document.documentElement.clientWidth") == 390
