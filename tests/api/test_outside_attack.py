"""What an outside check of the running API found (s27), each refusal read as the API answers by default: in
Chinese, naming the field, with nothing written."""

from __future__ import annotations

import re

import pytest

from tests.api.helpers import API, assert_problem, table_snapshot

LATIN_WORD = re.compile(r"[A-Za-z_]{4,}")  # a Chinese text may quote codes (CU-…, PD-001), never English words


@pytest.fixture(autouse=True)
def chinese_by_default(app):
    """The shipped default: answers in Chinese without Accept-Language (the suite otherwise reads English)."""
    app.config["DEFAULT_LANGUAGE"] = "zh-CN"


def chinese_only(problem: dict) -> str:
    """The problem's detail, checked to be Chinese throughout (codes and numbers aside)."""
    detail = problem["detail"]
    assert problem["code"] != "unlisted", problem
    assert not LATIN_WORD.search(re.sub(r"'[^']*'|[A-Z]+-[\w-]+", "", detail)), detail
    return detail


def dispatched_shipment(client_for, make_warehouse, stocked_line, session):
    """A call-up line of 10 dispatched as one shipment to the incident site: the requester and the shipment."""
    stocked_line(20, warehouse=make_warehouse("SRC", latitude=39.95, longitude=116.40))
    responder = client_for("responder", username="rita")
    order = responder.post(
        f"{API}/callups",
        json={"incident_name": "泄漏", "lat": 39.90, "lon": 116.40, "needs": [{"item": "PD-001", "quantity": 10}]},
    )
    assert order.status_code == 201, order.json
    manager = client_for("manager", warehouse_codes=["SRC"])
    shipped = manager.post(f"{API}/shipments", json={"line_ids": [order.json["lines"][0]["id"]]})
    assert shipped.status_code == 201, shipped.json
    return responder, shipped.json


def test_a_receipt_listing_one_shipment_line_twice_is_refused(client_for, make_warehouse, stocked_line, session):
    responder, shipment = dispatched_shipment(client_for, make_warehouse, stocked_line, session)
    line = shipment["lines"][0]["id"]
    before = table_snapshot(("shipment", "shipment_line", "movement"))
    # Two outcomes for one line (all arrived; all lost): the last one used to win without a word.
    both = [{"id": line, "received": 10}, {"id": line, "received": 0, "reason": "翻车"}]
    refused = responder.post(f"{API}/shipments/{shipment['code']}/receive", json={"lines": both})
    problem = assert_problem(refused, 422, "lines[1].id")
    assert problem["code"] == "arrival_line_twice" and "出现了两次" in chinese_only(problem)
    assert table_snapshot(("shipment", "shipment_line", "movement")) == before
    received = responder.post(f"{API}/shipments/{shipment['code']}/receive", json={"lines": both[:1]})
    assert received.status_code == 200 and received.json["lines"][0]["received"] == 10.0
