"""Issuing from an expired batch: refused unless the caller says ``allow_expired`` and why; the ledger records it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from inventory.catalogue import get_item
from inventory.clock import business_today
from inventory.errors import Conflict, ValidationFailed
from inventory.stock import issue_stock, receive_stock
from tests.api.helpers import API, assert_problem, table_snapshot

YESTERDAY = business_today() - dt.timedelta(days=1)


@pytest.fixture
def expired_line(client, new_warehouse, receive):
    new_warehouse("WH-A")
    return receive("WH-A", 100, batch="OLD", production_date="2020-01-01", expiry_date=YESTERDAY.isoformat())[
        "stock_line_id"
    ]


def test_issue_from_an_expired_batch_is_a_409_naming_allow_expired_and_writes_nothing(client, expired_line):
    before = table_snapshot()
    response = client.post(f"{API}/stock-lines/{expired_line}/issues", json={"quantity": 10, "reason": "drill"})
    problem = assert_problem(response, 409, "allow_expired")
    assert YESTERDAY.isoformat() in problem["detail"]
    assert table_snapshot() == before


def test_allow_expired_without_a_reason_is_a_422_naming_reason(client, expired_line):
    before = table_snapshot()
    response = client.post(f"{API}/stock-lines/{expired_line}/issues", json={"quantity": 10, "allow_expired": True})
    assert_problem(response, 422, "reason")
    assert table_snapshot() == before


def test_allow_expired_with_a_reason_issues_and_the_ledger_entry_says_so(client, expired_line):
    response = client.post(
        f"{API}/stock-lines/{expired_line}/issues",
        json={"quantity": 10, "allow_expired": True, "reason": "used for a drill, not a response"},
    )
    assert response.status_code == 201, response.get_json()
    movement = response.get_json()
    assert Decimal(str(movement["quantity_after"])) == Decimal(90)
    assert movement["reason"] == f"allow_expired: batch expired {YESTERDAY}: used for a drill, not a response"


def test_a_batch_expiring_today_is_still_issued_without_allow_expired(client, new_warehouse, receive):
    new_warehouse("WH-A")
    line = receive("WH-A", 100, batch="TODAY", production_date="2020-01-01", expiry_date=business_today().isoformat())
    response = client.post(f"{API}/stock-lines/{line['stock_line_id']}/issues", json={"quantity": 1})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == ""


def test_the_service_refuses_an_expired_issue_without_allow_expired_and_a_reason(session, make_warehouse):
    movement = receive_stock(
        session,
        warehouse=make_warehouse(),
        item=get_item(session, "PD-001"),
        quantity=5,
        batch="OLD",
        production_date=dt.date(2020, 1, 1),
        expiry_date=YESTERDAY,
        actor="tester",
    )
    line = movement.stock_line
    with pytest.raises(Conflict) as refused:
        issue_stock(session, line=line, quantity=1, actor="tester", reason="why not")
    assert refused.value.field == "allow_expired"
    with pytest.raises(ValidationFailed) as no_reason:
        issue_stock(session, line=line, quantity=1, actor="tester", allow_expired=True)
    assert no_reason.value.field == "reason"
    issued = issue_stock(session, line=line, quantity=1, actor="tester", allow_expired=True, reason="disposal")
    assert issued.reason == f"allow_expired: batch expired {YESTERDAY}: disposal"
    assert line.quantity == Decimal(4)
