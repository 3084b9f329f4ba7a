"""Stock and the ledger over HTTP: receipts, issues, transfers, adjustments, stocktakes, and reading them back."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from inventory.access import Principal
from inventory.callups import raise_callup
from inventory.geo import Incident, Point
from inventory.nearest import NeedRequest
from inventory.reference import Role
from tests.api.helpers import API, assert_problem, table_snapshot

RESPONDER = Principal("rita", Role.RESPONDER)

MOVEMENT_FIELDS = {
    "id",
    "stock_line_id",
    "warehouse_code",
    "item_code",
    "batch",
    "kind",
    "delta",
    "quantity_after",
    "actor",
    "reason",
    "reference",
    "transfer_key",
    "occurred_at",
}
STOCK_LINE_FIELDS = {
    "id",
    "warehouse_code",
    "warehouse_name",
    "item_code",
    "item_name",
    "category",
    "unit",
    "batch",
    "quantity",
    "production_date",
    "expiry_date",
    "updated_at",
}

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")


def exact(response) -> dict | list:
    """The body with every JSON number read as a Decimal: a quantity sent as a string would stay a str."""
    return json.loads(response.get_data(as_text=True), parse_float=Decimal, parse_int=Decimal)


def line_quantity(client, line_id: int) -> Decimal:
    response = client.get(f"{API}/stock-lines/{line_id}")
    assert response.status_code == 200, response.get_json()
    return exact(response)["quantity"]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [row["id"] for row in response.get_json()]


@pytest.fixture
def stocked(new_warehouse, receive):
    """WH-A holds 100 of PD-001 batch B1 (produced 2026-01-01); returns the line id."""
    new_warehouse("WH-A")
    return receive("WH-A", 100, batch="B1", production_date="2026-01-01")["stock_line_id"]


# --- receipts ------------------------------------------------------------------------------------


def test_receipt_is_201_and_returns_the_movement_with_numeric_quantities(client, new_warehouse):
    new_warehouse("WH-A")
    body = {
        "warehouse_code": "WH-A",
        "item_code": "PD-001",
        "quantity": "12.5",
        "batch": "2026-01",
        "production_date": "2026-01-10",
        "reason": "annual purchase",
        "reference": "PO-1",
    }

    response = client.post(f"{API}/receipts", json=body)

    assert response.status_code == 201
    movement = exact(response)
    assert set(movement) >= MOVEMENT_FIELDS
    assert (movement["kind"], movement["delta"], movement["quantity_after"]) == (
        "receipt",
        Decimal("12.5"),
        Decimal("12.5"),
    )
    assert (movement["warehouse_code"], movement["item_code"], movement["batch"]) == ("WH-A", "PD-001", "2026-01")
    assert (movement["reason"], movement["reference"], movement["transfer_key"]) == ("annual purchase", "PO-1", None)
    assert isinstance(movement["actor"], str) and movement["actor"]  # who made the request
    assert dt.datetime.fromisoformat(movement["occurred_at"]).utcoffset() == dt.timedelta(0)


def test_receipt_creates_the_line_with_expiry_from_the_items_shelf_life(client, new_warehouse, receive):
    new_warehouse("WH-A")
    line_id = receive("WH-A", "12.5", batch="2026-01", production_date="2026-01-10")["stock_line_id"]

    response = client.get(f"{API}/stock-lines/{line_id}")

    assert response.status_code == 200
    line = exact(response)
    assert set(line) >= STOCK_LINE_FIELDS
    assert line["quantity"] == Decimal("12.5")
    assert (line["warehouse_code"], line["item_code"], line["item_name"], line["unit"]) == (
        "WH-A",
        "PD-001",
        "活性炭",
        "吨",
    )
    assert line["category"] == "pollutant_degradation"
    # Activated carbon keeps 1825 days.
    assert (line["production_date"], line["expiry_date"]) == (
        "2026-01-10",
        str(dt.date(2026, 1, 10) + dt.timedelta(1825)),
    )


def test_second_receipt_of_the_same_batch_adds_to_the_same_line(client, stocked, receive):
    again = receive("WH-A", "0.5", batch="B1")
    assert again["stock_line_id"] == stocked
    assert again["quantity_after"] == 100.5
    assert line_quantity(client, stocked) == Decimal("100.5")
    assert table_snapshot()["counts"]["stock_line"] == 1


def test_receipt_of_another_batch_opens_another_line(client, stocked, receive):
    other = receive("WH-A", 1, batch="B2")["stock_line_id"]
    assert other != stocked
    assert table_snapshot()["counts"]["stock_line"] == 2


def test_receipt_without_batch_or_dates_is_accepted(client, new_warehouse, receive):
    new_warehouse("WH-A")
    movement = receive("WH-A", 3, item_code="SC-001", batch="")
    line = client.get(f"{API}/stock-lines/{movement['stock_line_id']}").get_json()
    assert (line["batch"], line["production_date"], line["expiry_date"]) == ("", None, None)


def test_the_largest_single_receipt_is_accepted_exactly(client, new_warehouse, receive):
    new_warehouse("WH-A")
    movement = receive("WH-A", "999999999999.999")
    assert exact(client.get(f"{API}/stock-lines/{movement['stock_line_id']}"))["quantity"] == Decimal(
        "999999999999.999"
    )


def test_a_line_never_grows_past_the_largest_exact_quantity(client, new_warehouse, receive):
    """Quantities stay below 1e12 (15 significant digits), so every one is exact as a JSON number."""
    new_warehouse("WH-A")
    line_id = receive("WH-A", "999999999999.999")["stock_line_id"]
    refused = client.post(
        f"{API}/receipts", json={"warehouse_code": "WH-A", "item_code": "PD-001", "batch": "B1", "quantity": "0.001"}
    )
    assert refused.status_code == 422
    assert "at most" in refused.get_json()["errors"]["quantity"][0]
    assert line_quantity(client, line_id) == Decimal("999999999999.999")


# --- issues --------------------------------------------------------------------------------------


def test_issue_is_201_and_reduces_the_line(client, stocked):
    response = client.post(f"{API}/stock-lines/{stocked}/issues", json={"quantity": 30, "reason": "spill drill"})

    assert response.status_code == 201
    movement = exact(response)
    assert (movement["kind"], movement["delta"], movement["quantity_after"]) == ("issue", Decimal(-30), Decimal(70))
    assert movement["reason"] == "spill drill"
    assert line_quantity(client, stocked) == Decimal(70)


def test_issue_of_everything_leaves_an_empty_line(client, stocked):
    response = client.post(f"{API}/stock-lines/{stocked}/issues", json={"quantity": "100.000"})
    assert exact(response)["quantity_after"] == Decimal(0)
    assert line_quantity(client, stocked) == Decimal(0)


def test_issue_beyond_the_stock_is_a_409_insufficient_stock_problem_and_writes_nothing(client, stocked):
    before = table_snapshot()

    response = client.post(f"{API}/stock-lines/{stocked}/issues", json={"quantity": "100.001"})

    problem = assert_problem(response, 409, "quantity")
    assert problem["title"] == "Insufficient stock"
    assert problem["type"] == "/api/v1/docs#problem-insufficient-stock"
    assert "100.001" in problem["detail"]
    assert table_snapshot() == before


def test_decimal_arithmetic_is_exact_over_http(client, new_warehouse, receive):
    new_warehouse("WH-A")
    line = receive("WH-A", "0.3")["stock_line_id"]
    for quantity in ("0.1", 0.2):
        assert client.post(f"{API}/stock-lines/{line}/issues", json={"quantity": quantity}).status_code == 201
    assert line_quantity(client, line) == Decimal(0)
    assert_problem(client.post(f"{API}/stock-lines/{line}/issues", json={"quantity": "0.001"}), 409, "quantity")


# --- transfers -----------------------------------------------------------------------------------


def test_transfer_is_201_with_two_linked_entries_and_opens_the_batch_in_the_target(client, stocked, new_warehouse):
    new_warehouse("WH-B", county_code="440305", latitude=22.52, longitude=113.92)

    response = client.post(
        f"{API}/stock-lines/{stocked}/transfers", json={"to_warehouse_code": "WH-B", "quantity": 20, "reference": "T-1"}
    )

    assert response.status_code == 201
    transfer = exact(response)
    out, into = transfer["out"], transfer["into"]
    assert set(out) >= MOVEMENT_FIELDS and set(into) >= MOVEMENT_FIELDS
    assert (out["kind"], out["delta"], out["quantity_after"], out["warehouse_code"]) == (
        "transfer_out",
        Decimal(-20),
        Decimal(80),
        "WH-A",
    )
    assert (into["kind"], into["delta"], into["quantity_after"], into["warehouse_code"]) == (
        "transfer_in",
        Decimal(20),
        Decimal(20),
        "WH-B",
    )
    assert out["transfer_key"] == into["transfer_key"] and len(out["transfer_key"]) == 36
    assert out["reference"] == into["reference"] == "T-1"
    source = client.get(f"{API}/stock-lines/{stocked}").get_json()
    target = client.get(f"{API}/stock-lines/{into['stock_line_id']}").get_json()
    assert (target["item_code"], target["batch"]) == ("PD-001", "B1")
    assert (target["production_date"], target["expiry_date"]) == (source["production_date"], source["expiry_date"])
    assert (source["quantity"], target["quantity"]) == (80, 20)


def test_transfer_into_an_existing_batch_adds_to_it(client, stocked, new_warehouse, receive):
    new_warehouse("WH-B")
    target = receive("WH-B", 5, batch="B1", production_date="2026-01-01")["stock_line_id"]

    into = client.post(f"{API}/stock-lines/{stocked}/transfers", json={"to_warehouse_code": "WH-B", "quantity": 1})

    assert into.status_code == 201
    assert into.get_json()["into"]["stock_line_id"] == target
    assert line_quantity(client, target) == Decimal(6)


def test_transfer_beyond_the_stock_is_409_and_opens_no_line_in_the_target(client, stocked, new_warehouse):
    new_warehouse("WH-B")
    before = table_snapshot()

    response = client.post(
        f"{API}/stock-lines/{stocked}/transfers", json={"to_warehouse_code": "WH-B", "quantity": 101}
    )

    assert_problem(response, 409, "quantity")
    assert table_snapshot() == before


# --- adjustments and stocktakes ------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "after"), [("-3", "97"), ("1.5", "101.5"), (-100, "0")])
def test_adjustment_is_201_and_applies_a_signed_delta_with_its_reason(client, stocked, delta, after):
    response = client.post(f"{API}/stock-lines/{stocked}/adjustments", json={"delta": delta, "reason": "water damage"})

    assert response.status_code == 201
    movement = exact(response)
    assert (movement["kind"], movement["delta"], movement["quantity_after"]) == (
        "adjustment",
        Decimal(delta),
        Decimal(after),
    )
    assert movement["reason"] == "water damage"
    assert line_quantity(client, stocked) == Decimal(after)


def test_stocktake_is_201_sets_the_count_and_records_the_difference(client, stocked):
    response = client.post(f"{API}/stock-lines/{stocked}/stocktakes", json={"counted_quantity": "97.25"})

    assert response.status_code == 201
    movement = exact(response)
    assert (movement["kind"], movement["delta"], movement["quantity_after"]) == (
        "stocktake",
        Decimal("-2.75"),
        Decimal("97.25"),
    )
    assert line_quantity(client, stocked) == Decimal("97.25")


def test_stocktake_that_agrees_records_a_zero_entry(client, stocked):
    response = client.post(f"{API}/stock-lines/{stocked}/stocktakes", json={"counted_quantity": 100})
    assert response.status_code == 201
    assert (exact(response)["delta"], exact(response)["quantity_after"]) == (Decimal(0), Decimal(100))
    assert table_snapshot()["counts"]["movement"] == 2


def test_stocktake_may_count_zero_and_may_count_more_than_recorded(client, stocked):
    found = client.post(f"{API}/stock-lines/{stocked}/stocktakes", json={"counted_quantity": 120})
    assert exact(found)["delta"] == Decimal(20)
    gone = client.post(f"{API}/stock-lines/{stocked}/stocktakes", json={"counted_quantity": 0})
    assert (exact(gone)["delta"], exact(gone)["quantity_after"]) == (Decimal(-120), Decimal(0))


# --- GET /stock-lines ----------------------------------------------------------------------------


@pytest.fixture
def lines(client, new_warehouse, receive):
    """Named stock line ids over two warehouses, one of them emptied."""
    new_warehouse("WH-A", county_code="110101")
    new_warehouse("WH-B", county_code="440305", latitude=22.52, longitude=113.92)
    made = {
        "A-carbon": receive("WH-A", 100, batch="B1", production_date="2026-01-01"),  # expires 2030-12-31
        "A-lime": receive("WH-A", 5, item_code="PD-002", batch="B2", production_date="2026-01-01"),  # 2027-01-01
        "A-airbag": receive("WH-A", 3, item_code="SC-001", batch=""),  # no dates
        "B-carbon": receive("WH-B", 20, batch="B1", production_date="2026-01-01"),
        "B-soda": receive("WH-B", 1, item_code="PD-004", batch="B9"),
    }
    named = {name: movement["stock_line_id"] for name, movement in made.items()}
    assert client.post(f"{API}/stock-lines/{named['B-soda']}/issues", json={"quantity": 1}).status_code == 201
    return named


STOCK_LINE_FILTERS = [
    ({}, ["A-carbon", "A-lime", "A-airbag", "B-carbon"]),
    ({"include_empty": "true"}, ["A-carbon", "A-lime", "A-airbag", "B-carbon", "B-soda"]),
    ({"warehouse": "WH-B"}, ["B-carbon"]),
    ({"warehouse": "WH-B", "include_empty": "true"}, ["B-carbon", "B-soda"]),
    ({"item": "PD-001"}, ["A-carbon", "B-carbon"]),
    ({"item": "活性炭"}, ["A-carbon", "B-carbon"]),  # a name or alias, as everywhere an item is named
    ({"item": "activated carbon"}, ["A-carbon", "B-carbon"]),
    ({"category": "pollutant_degradation"}, ["A-carbon", "A-lime", "B-carbon"]),
    ({"category": "source_cutoff"}, ["A-airbag"]),
    ({"region": "110000"}, ["A-carbon", "A-lime", "A-airbag"]),
    ({"region": "440300"}, ["B-carbon"]),
    ({"region": "440305", "item": "PD-001"}, ["B-carbon"]),
    ({"batch": "B1"}, ["A-carbon", "B-carbon"]),
    ({"batch": ""}, ["A-airbag"]),
    ({"expiring_before": "2027-06-01"}, ["A-lime"]),
    ({"expiring_before": "2031-01-01"}, ["A-carbon", "A-lime", "B-carbon"]),
    ({"expiring_before": "2027-01-01"}, []),  # strictly before
]


def test_stock_lines_list_filters(client, lines, subtests):
    for query, expected in STOCK_LINE_FILTERS:
        with subtests.test(**query):
            assert ids(client.get(f"{API}/stock-lines", query_string=query)) == [lines[name] for name in expected]


@pytest.mark.parametrize("path", ["/stock-lines", "/warehouses", "/movements"])
def test_an_item_filter_naming_no_item_is_404_not_an_empty_list(client, lines, path):
    """An empty list would say the item is nowhere; the filter names an item the catalogue does not know."""
    response = client.get(f"{API}{path}", query_string={"item": "NO-SUCH"})
    assert response.status_code == 404 and "item" in response.get_json()["errors"], response.get_json()
    by_name = client.get(f"{API}{path}", query_string={"item": "生石灰"})
    assert by_name.status_code == 200 and by_name.get_json()
    assert by_name.get_json() == client.get(f"{API}{path}", query_string={"item": "PD-002"}).get_json()


def test_stock_lines_list_rows_carry_the_warehouse_and_item(client, lines):
    rows = exact(client.get(f"{API}/stock-lines?item=PD-002"))
    assert len(rows) == 1
    assert set(rows[0]) >= STOCK_LINE_FIELDS
    assert (rows[0]["warehouse_code"], rows[0]["item_name"], rows[0]["quantity"], rows[0]["expiry_date"]) == (
        "WH-A",
        "生石灰",
        Decimal(5),
        "2027-01-01",
    )


def test_stock_lines_list_is_paginated(client, lines):
    response = client.get(f"{API}/stock-lines?page_size=3&page=2")
    assert ids(response) == [lines["B-carbon"]]
    assert json.loads(response.headers["X-Pagination"])["total"] == 4


BAD_STOCK_LINE_FILTERS = [
    ({"region": "999999"}, "region"),
    ({"category": "weapons"}, "category"),
    ({"expiring_before": "soon"}, "expiring_before"),
    ({"include_empty": "perhaps"}, "include_empty"),
]


def test_stock_lines_list_with_a_bad_filter_is_422_naming_it(client, subtests):
    for query, field in BAD_STOCK_LINE_FILTERS:
        with subtests.test(**query):
            assert_problem(client.get(f"{API}/stock-lines", query_string=query), 422, field)


def test_stock_line_unknown_is_404_naming_stock_line_id(client):
    assert_problem(client.get(f"{API}/stock-lines/424242"), 404, "stock_line_id")


# --- GET /stock-lines/<id>?as_of=… ---------------------------------------------------------------


@pytest.fixture
def history(client, stocked):
    """The line of ``stocked`` after an issue of 30 and a stocktake at 60: its movements, oldest first."""
    assert client.post(f"{API}/stock-lines/{stocked}/issues", json={"quantity": 30}).status_code == 201
    assert client.post(f"{API}/stock-lines/{stocked}/stocktakes", json={"counted_quantity": 60}).status_code == 201
    return client.get(f"{API}/stock-lines/{stocked}/movements").get_json()


def test_stock_line_as_of_gives_the_quantity_at_that_moment(client, stocked, history):
    moments = [
        (dt.datetime.fromisoformat(history[0]["occurred_at"]) - dt.timedelta(days=1), Decimal(0)),
        (dt.datetime.fromisoformat(history[0]["occurred_at"]), Decimal(100)),
        (dt.datetime.fromisoformat(history[1]["occurred_at"]), Decimal(70)),
        # The same instant as the last entry, written in Beijing time.
        (dt.datetime.fromisoformat(history[2]["occurred_at"]).astimezone(dt.timezone(dt.timedelta(hours=8))), 60),
    ]
    for moment, expected in moments:
        response = client.get(f"{API}/stock-lines/{stocked}", query_string={"as_of": moment.isoformat()})
        assert response.status_code == 200, response.get_data(as_text=True)
        line = exact(response)
        assert STOCK_LINE_FIELDS | {"as_of", "quantity_as_of"} <= set(line)
        assert (line["quantity_as_of"], line["quantity"]) == (Decimal(expected), Decimal(60))
        assert dt.datetime.fromisoformat(line["as_of"]) == moment
        assert (line["warehouse_code"], line["item_code"]) == ("WH-A", "PD-001")


def test_stock_line_as_of_must_be_an_aware_iso_datetime(client, stocked, subtests):
    for as_of in ("2026-01-01T00:00:00", "yesterday", "2026-13-01T00:00:00+00:00"):
        with subtests.test(as_of=as_of):
            assert_problem(client.get(f"{API}/stock-lines/{stocked}", query_string={"as_of": as_of}), 422, "as_of")


# --- ledger history ------------------------------------------------------------------------------


def test_stock_line_movements_are_its_history_oldest_first(client, stocked, new_warehouse):
    new_warehouse("WH-B")
    steps = [
        ("issues", {"quantity": 30}),
        ("adjustments", {"delta": "1.5", "reason": "found a sack"}),
        ("transfers", {"to_warehouse_code": "WH-B", "quantity": "11.5"}),
        ("stocktakes", {"counted_quantity": 59}),
    ]
    for path, body in steps:
        assert client.post(f"{API}/stock-lines/{stocked}/{path}", json=body).status_code == 201

    response = client.get(f"{API}/stock-lines/{stocked}/movements")

    assert response.status_code == 200
    history = exact(response)
    assert [m["kind"] for m in history] == ["receipt", "issue", "adjustment", "transfer_out", "stocktake"]
    assert [m["delta"] for m in history] == [Decimal(n) for n in ("100", "-30", "1.5", "-11.5", "-1")]
    assert [m["quantity_after"] for m in history] == [Decimal(n) for n in ("100", "70", "71.5", "60", "59")]
    assert {m["stock_line_id"] for m in history} == {stocked}
    assert [m["id"] for m in history] == sorted(m["id"] for m in history)
    assert sum(m["delta"] for m in history) == line_quantity(client, stocked)
    assert json.loads(response.headers["X-Pagination"])["total"] == 5


def test_stock_line_movements_of_an_unknown_line_is_404(client):
    assert_problem(client.get(f"{API}/stock-lines/424242/movements"), 404, "stock_line_id")


# --- GET /movements ------------------------------------------------------------------------------


@pytest.fixture
def ledger(client, new_warehouse, receive):
    """Receipts into two warehouses, an issue and a transfer: the movements, oldest first."""
    new_warehouse("WH-A")
    new_warehouse("WH-B")
    carbon = receive("WH-A", 50, reference="PO-1")["stock_line_id"]
    receive("WH-B", 5, item_code="PD-002", reference="PO-2")
    client.post(f"{API}/stock-lines/{carbon}/issues", json={"quantity": 10, "reference": "ISS-1"})
    client.post(f"{API}/stock-lines/{carbon}/transfers", json={"to_warehouse_code": "WH-B", "quantity": 5})
    movements = client.get(f"{API}/movements").get_json()
    assert len(movements) == 5
    return movements


def kinds(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.get_json()
    return [(m["kind"], m["warehouse_code"], m["item_code"]) for m in response.get_json()]


MOVEMENT_FILTERS = [
    (
        {},
        [
            ("receipt", "WH-A", "PD-001"),
            ("receipt", "WH-B", "PD-002"),
            ("issue", "WH-A", "PD-001"),
            ("transfer_out", "WH-A", "PD-001"),
            ("transfer_in", "WH-B", "PD-001"),
        ],
    ),
    (
        {"warehouse": "WH-A"},
        [("receipt", "WH-A", "PD-001"), ("issue", "WH-A", "PD-001"), ("transfer_out", "WH-A", "PD-001")],
    ),
    ({"warehouse": "WH-B", "item": "PD-001"}, [("transfer_in", "WH-B", "PD-001")]),
    ({"item": "PD-002"}, [("receipt", "WH-B", "PD-002")]),
    ({"kind": "receipt"}, [("receipt", "WH-A", "PD-001"), ("receipt", "WH-B", "PD-002")]),
    ({"kind": "transfer_in"}, [("transfer_in", "WH-B", "PD-001")]),
    ({"reference": "ISS-1"}, [("issue", "WH-A", "PD-001")]),
    ({"reference": "PO-1", "kind": "issue"}, []),
]


def test_movements_filters(client, ledger, subtests):
    for query, expected in MOVEMENT_FILTERS:
        with subtests.test(**query):
            assert kinds(client.get(f"{API}/movements", query_string=query)) == expected


def test_movements_since_and_until_are_inclusive_time_bounds(client, ledger):
    second, fourth = (dt.datetime.fromisoformat(ledger[n]["occurred_at"]) for n in (1, 3))

    window = client.get(f"{API}/movements", query_string={"since": second.isoformat(), "until": fourth.isoformat()})
    in_beijing_time = client.get(
        f"{API}/movements", query_string={"since": second.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()}
    )

    assert [m["id"] for m in window.get_json()] == [m["id"] for m in ledger[1:4]]
    assert [m["id"] for m in in_beijing_time.get_json()] == [m["id"] for m in ledger[1:]]


BAD_MOVEMENT_FILTERS = [
    ({"since": "2026-01-01T00:00:00"}, "since"),
    ({"until": "tomorrow"}, "until"),
    ({"kind": "theft"}, "kind"),
]


def test_movements_with_a_bad_filter_is_422_naming_it(client, subtests):
    for query, field in BAD_MOVEMENT_FILTERS:
        with subtests.test(**query):
            assert_problem(client.get(f"{API}/movements", query_string=query), 422, field)


def test_a_stock_line_shows_on_hand_reserved_available_and_the_call_ups_holding_it(client, session, stocked_line):
    line = stocked_line("38.8", warehouse=None)
    needs = [NeedRequest(item="PD-001", quantity=Decimal(30))]
    callup = raise_callup(
        session, RESPONDER, incident_name="化工厂泄漏", incident=Incident(Point(39.93, 116.42)), needs=needs
    )
    session.commit()

    body = client.get(f"{API}/stock-lines/{line.id}").json
    assert (body["quantity"], body["reserved"], body["available"]) == (38.8, 30.0, 8.8)
    assert body["held_by"] == [
        {"callup_code": callup.code, "incident_name": "化工厂泄漏", "line_id": callup.lines[0].id, "quantity": 30.0}
    ]
    listed = client.get(f"{API}/stock-lines", query_string={"warehouse": line.warehouse.code}).json
    assert [(row["reserved"], row["available"]) for row in listed] == [(30.0, 8.8)]
    refused = client.post(f"{API}/stock-lines/{line.id}/issues", json={"quantity": 20})
    assert refused.status_code == 409 and "8.8" in refused.json["detail"]


def test_every_movement_answer_built_directly_is_the_output_schema_dump(app, client, stocked, new_warehouse):
    """The writes skip marshmallow's dump for speed; MovementOut and TransferOut stay the contract, to the byte
    (a reason in Chinese, a reference and none, a transfer key and none, a fractional quantity)."""
    from api.extensions import db
    from api.schemas.registry import MovementOut, TransferOut
    from inventory.models import Movement

    new_warehouse("WH-B", county_code="440305", latitude=22.52, longitude=113.92)
    line = f"{API}/stock-lines/{stocked}"
    answers = [
        client.post(
            f"{API}/receipts",
            json={
                "warehouse_code": "WH-A",
                "item_code": "PD-001",
                "batch": "B1",
                "quantity": "2.5",
                "reason": "洪水补充",
                "reference": "R-1",
            },
        ),
        client.post(f"{line}/issues", json={"quantity": 1}),
        client.post(f"{line}/adjustments", json={"delta": "-0.5", "reason": "损坏"}),
        client.post(f"{line}/stocktakes", json={"counted_quantity": 100}),
        client.post(f"{line}/transfers", json={"to_warehouse_code": "WH-B", "quantity": 3, "reference": "T-1"}),
    ]
    for response in answers:
        assert response.status_code == 201 and response.mimetype == "application/json", response.get_json()
        body = response.get_json()
        if "out" in body:
            movements = {part: db.session.get(Movement, body[part]["id"]) for part in ("out", "into")}
            dumped = TransferOut().dump(movements)
        else:
            dumped = MovementOut().dump(db.session.get(Movement, body["id"]))
        assert body == dumped
        assert response.data == app.json.response(dumped).get_data()
