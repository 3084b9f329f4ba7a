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
    assert page.evaluate("window.scrollY") > 0 and 0 <= box["y"] < page.viewport_size["height"], box
