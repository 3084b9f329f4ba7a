"""The acceptance test: every write endpoint refuses bad input with a problem naming the field, and writes nothing.

``CASES`` is the table of bad requests, per endpoint. They run against a small world: WH-A holds a
stock line, WH-B is empty, WH-C is inactive and holds stock, WH-D holds the same batch with other
dates, SC-001 was never stocked. Each row must get its 4xx status as an ``application/problem+json``
body whose ``errors`` name the field, and leave every row of every written table (counts, stock line
quantities, contents) as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.api.helpers import (
    API,
    NO_BODY,
    Raw,
    assert_problem,
    item_payload,
    send,
    table_snapshot,
    warehouse_payload,
)

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")

# Where each write endpoint is aimed by default: {line} is the stocked line of WH-A.
TARGETS = {
    "POST /warehouses": "/warehouses",
    "PATCH /warehouses/{code}": "/warehouses/WH-A",
    "DELETE /warehouses/{code}": "/warehouses/WH-A",
    "POST /items": "/items",
    "PATCH /items/{code}": "/items/SC-001",
    "DELETE /items/{code}": "/items/PD-001",
    "POST /receipts": "/receipts",
    "POST /stock-lines/{stock_line_id}/issues": "/stock-lines/{line}/issues",
    "POST /stock-lines/{stock_line_id}/transfers": "/stock-lines/{line}/transfers",
    "POST /stock-lines/{stock_line_id}/adjustments": "/stock-lines/{line}/adjustments",
    "POST /stock-lines/{stock_line_id}/stocktakes": "/stock-lines/{line}/stocktakes",
}

NOT_JSON = Raw("quantity=1&name=x", "application/x-www-form-urlencoded")
MALFORMED_JSON = Raw('{"quantity": 1,', "application/json")
JSON_LIST = [{"quantity": 1}]
LONG = "长" * 501


@dataclass(frozen=True)
class Case:
    endpoint: str
    label: str
    body: object
    status: int
    field: str
    path: str | None = None

    @property
    def method(self) -> str:
        return self.endpoint.split()[0]

    def url(self, line_id: int) -> str:
        return API + (self.path or TARGETS[self.endpoint]).format(line=line_id)


def case(endpoint: str, label: str, body: object, status: int, field: str, *, path: str | None = None):
    assert endpoint in TARGETS, endpoint
    assert 400 <= status < 500, status
    return Case(endpoint, label, body, status, field, path)


def without(body: dict, field: str) -> dict:
    return {key: value for key, value in body.items() if key != field}


WH = warehouse_payload("WH-NEW")
ITEM = item_payload("NEW-2")
RECEIPT = {"warehouse_code": "WH-A", "item_code": "PD-001", "quantity": 5, "batch": "B2"}
ISSUE = {"quantity": 1}
TRANSFER = {"to_warehouse_code": "WH-B", "quantity": 1}
ADJUSTMENT = {"delta": -1, "reason": "water damage"}
STOCKTAKE = {"counted_quantity": 90}

POST_WH = "POST /warehouses"
PATCH_WH = "PATCH /warehouses/{code}"
DELETE_WH = "DELETE /warehouses/{code}"
POST_ITEM = "POST /items"
PATCH_ITEM = "PATCH /items/{code}"
DELETE_ITEM = "DELETE /items/{code}"
RECEIPTS = "POST /receipts"
ISSUES = "POST /stock-lines/{stock_line_id}/issues"
TRANSFERS = "POST /stock-lines/{stock_line_id}/transfers"
ADJUSTMENTS = "POST /stock-lines/{stock_line_id}/adjustments"
STOCKTAKES = "POST /stock-lines/{stock_line_id}/stocktakes"

CASES = [
    # --- POST /warehouses -------------------------------------------------------------------
    *(case(POST_WH, f"missing {name}", without(WH, name), 422, name) for name in WH),
    case(POST_WH, "code with a space", {**WH, "code": "WH NEW"}, 422, "code"),
    case(POST_WH, "code starting with a dash", {**WH, "code": "-WH"}, 422, "code"),
    case(POST_WH, "code of 33 characters", {**WH, "code": "W" * 33}, 422, "code"),
    case(POST_WH, "code already in use", {**WH, "code": "WH-A"}, 409, "code"),
    case(POST_WH, "empty name", {**WH, "name": ""}, 422, "name"),
    case(POST_WH, "blank name", {**WH, "name": "   "}, 422, "name"),
    case(POST_WH, "null name", {**WH, "name": None}, 422, "name"),
    case(POST_WH, "name of 201 characters", {**WH, "name": "仓" * 201}, 422, "name"),
    case(POST_WH, "name is a number", {**WH, "name": 42}, 422, "name"),
    case(POST_WH, "latitude 90.5", {**WH, "latitude": 90.5}, 422, "latitude"),
    case(POST_WH, "latitude -91", {**WH, "latitude": -91}, 422, "latitude"),
    case(POST_WH, "longitude 180.01", {**WH, "longitude": 180.01}, 422, "longitude"),
    case(POST_WH, "latitude is text", {**WH, "latitude": "north"}, 422, "latitude"),
    case(POST_WH, "latitude is true", {**WH, "latitude": True}, 422, "latitude"),
    case(POST_WH, "latitude is a list", {**WH, "latitude": [39.9]}, 422, "latitude"),
    case(POST_WH, "latitude NaN", Raw('{"code": "WH-NEW", "latitude": NaN}'), 422, "latitude"),
    case(POST_WH, "unknown reserve_type", {**WH, "reserve_type": "military"}, 422, "reserve_type"),
    case(POST_WH, "reserve_type in the wrong case", {**WH, "reserve_type": "Government"}, 422, "reserve_type"),
    case(POST_WH, "unknown level", {**WH, "level": "village"}, 422, "level"),
    case(POST_WH, "unknown status", {**WH, "status": "closed"}, 422, "status"),
    case(POST_WH, "county_code of five digits", {**WH, "county_code": "11010"}, 422, "county_code"),
    case(POST_WH, "county_code with letters", {**WH, "county_code": "11010X"}, 422, "county_code"),
    case(POST_WH, "county_code as a number", {**WH, "county_code": 110101}, 422, "county_code"),
    case(POST_WH, "unknown county_code", {**WH, "county_code": "999999"}, 422, "county_code"),
    case(POST_WH, "county_code of a province", {**WH, "county_code": "110000"}, 422, "county_code"),
    case(POST_WH, "county_code of a city with counties", {**WH, "county_code": "440300"}, 422, "county_code"),
    case(POST_WH, "contact_phone of 33 characters", {**WH, "contact_phone": "1" * 33}, 422, "contact_phone"),
    case(POST_WH, "unknown extra field", {**WH, "capacity_m3": 500}, 422, "capacity_m3"),
    case(POST_WH, "client-chosen id", {**WH, "id": 99}, 422, "id"),
    case(POST_WH, "derived city_code", {**WH, "city_code": "110100"}, 422, "city_code"),
    case(POST_WH, "empty body", {}, 422, "code"),
    case(POST_WH, "JSON list body", [WH], 422, "_schema"),
    case(POST_WH, "form body", NOT_JSON, 422, "code"),
    case(POST_WH, "malformed JSON", MALFORMED_JSON, 400, "json"),
    case(
        POST_WH,
        "NUL character in the name",
        {**WH, "name": "仓\x00库"},
        422,
        "name",
    ),
    # --- PATCH /warehouses/{code} -----------------------------------------------------------
    case(PATCH_WH, "empty body", {}, 422, "_schema"),
    case(PATCH_WH, "form body", NOT_JSON, 422, "_schema"),
    case(PATCH_WH, "malformed JSON", MALFORMED_JSON, 400, "json"),
    case(PATCH_WH, "JSON list body", [{"name": "x"}], 422, "_schema"),
    case(PATCH_WH, "the permanent code", {"code": "WH-Z"}, 422, "code"),
    case(PATCH_WH, "derived province_code", {"province_code": "440000"}, 422, "province_code"),
    case(PATCH_WH, "unknown extra field", {"name": "新名", "colour": "red"}, 422, "colour"),
    case(PATCH_WH, "empty name", {"name": ""}, 422, "name"),
    case(PATCH_WH, "blank name", {"name": "  "}, 422, "name"),
    case(PATCH_WH, "null name", {"name": None}, 422, "name"),
    case(PATCH_WH, "latitude 91", {"latitude": 91}, 422, "latitude"),
    case(PATCH_WH, "longitude is text", {"longitude": "east"}, 422, "longitude"),
    case(PATCH_WH, "null latitude", {"latitude": None}, 422, "latitude"),
    case(PATCH_WH, "unknown status", {"status": "closed"}, 422, "status"),
    case(PATCH_WH, "unknown reserve_type", {"reserve_type": "private"}, 422, "reserve_type"),
    case(PATCH_WH, "unknown level", {"level": "township"}, 422, "level"),
    case(PATCH_WH, "county_code of seven digits", {"county_code": "1101011"}, 422, "county_code"),
    case(PATCH_WH, "unknown county_code", {"county_code": "000000"}, 422, "county_code"),
    case(PATCH_WH, "county_code of a province", {"county_code": "440000"}, 422, "county_code"),
    # The service has already changed the name when the county is refused: nothing may stick.
    case(PATCH_WH, "valid name with an unknown county", {"name": "改名", "county_code": "999999"}, 422, "county_code"),
    case(PATCH_WH, "valid name with latitude 95", {"name": "改名", "latitude": 95}, 422, "latitude"),
    case(PATCH_WH, "unknown warehouse", {"name": "x"}, 404, "code", path="/warehouses/NO-SUCH"),
    # --- DELETE /warehouses/{code} ----------------------------------------------------------
    case(DELETE_WH, "warehouse with stock lines", NO_BODY, 409, "code"),
    case(DELETE_WH, "inactive warehouse with stock lines", NO_BODY, 409, "code", path="/warehouses/WH-C"),
    case(DELETE_WH, "unknown warehouse", NO_BODY, 404, "code", path="/warehouses/NO-SUCH"),
    # --- POST /items ------------------------------------------------------------------------
    *(case(POST_ITEM, f"missing {name}", without(ITEM, name), 422, name) for name in ITEM),
    case(POST_ITEM, "code already in use", {**ITEM, "code": "PD-001"}, 409, "code"),
    case(POST_ITEM, "code with a slash", {**ITEM, "code": "PD/001"}, 422, "code"),
    case(POST_ITEM, "code is a number", {**ITEM, "code": 1}, 422, "code"),
    case(POST_ITEM, "unknown category", {**ITEM, "category": "weapons"}, 422, "category"),
    case(POST_ITEM, "category label instead of code", {**ITEM, "category": "其他"}, 422, "category"),
    case(POST_ITEM, "empty unit", {**ITEM, "unit": ""}, 422, "unit"),
    case(POST_ITEM, "blank unit", {**ITEM, "unit": "   "}, 422, "unit"),
    case(POST_ITEM, "unit of 17 characters", {**ITEM, "unit": "u" * 17}, 422, "unit"),
    case(POST_ITEM, "blank name", {**ITEM, "name": " "}, 422, "name"),
    case(POST_ITEM, "shelf life 0 days", {**ITEM, "shelf_life_days": 0}, 422, "shelf_life_days"),
    case(POST_ITEM, "shelf life -5 days", {**ITEM, "shelf_life_days": -5}, 422, "shelf_life_days"),
    case(
        POST_ITEM,
        "shelf life 1.5 days",
        {**ITEM, "shelf_life_days": 1.5},
        422,
        "shelf_life_days",
    ),
    case(POST_ITEM, "shelf life as words", {**ITEM, "shelf_life_days": "a year"}, 422, "shelf_life_days"),
    case(POST_ITEM, "shelf life of 101 years", {**ITEM, "shelf_life_days": 36501}, 422, "shelf_life_days"),
    case(POST_ITEM, "aliases as a string", {**ITEM, "aliases": "活性炭"}, 422, "aliases"),
    case(POST_ITEM, "an empty alias", {**ITEM, "aliases": ["ok", ""]}, 422, "aliases"),
    case(POST_ITEM, "a blank alias", {**ITEM, "aliases": ["ok", "   "]}, 422, "aliases"),
    case(POST_ITEM, "an alias that is a number", {**ITEM, "aliases": [7]}, 422, "aliases"),
    case(POST_ITEM, "51 aliases", {**ITEM, "aliases": [f"a{n}" for n in range(51)]}, 422, "aliases"),
    case(POST_ITEM, "alias of another item", {**ITEM, "aliases": ["新", "activated carbon"]}, 409, "aliases"),
    case(POST_ITEM, "unknown extra field", {**ITEM, "price": 3}, 422, "price"),
    case(POST_ITEM, "empty body", {}, 422, "code"),
    case(POST_ITEM, "form body", NOT_JSON, 422, "code"),
    case(POST_ITEM, "malformed JSON", MALFORMED_JSON, 400, "json"),
    case(POST_ITEM, "JSON string body", "NEW-2", 422, "_schema"),
    # --- PATCH /items/{code} ----------------------------------------------------------------
    case(PATCH_ITEM, "empty body", {}, 422, "_schema"),
    case(PATCH_ITEM, "form body", NOT_JSON, 422, "_schema"),
    case(PATCH_ITEM, "malformed JSON", MALFORMED_JSON, 400, "json"),
    case(PATCH_ITEM, "the permanent code", {"code": "NEW-9"}, 422, "code"),
    case(PATCH_ITEM, "unknown extra field", {"name": "x", "colour": "red"}, 422, "colour"),
    case(PATCH_ITEM, "empty name", {"name": ""}, 422, "name"),
    case(PATCH_ITEM, "blank name", {"name": "  "}, 422, "name"),
    case(PATCH_ITEM, "unknown category", {"category": "misc"}, 422, "category"),
    case(PATCH_ITEM, "shelf life 0 days", {"shelf_life_days": 0}, 422, "shelf_life_days"),
    case(PATCH_ITEM, "unit is a number", {"unit": 5}, 422, "unit"),
    case(PATCH_ITEM, "shelf life as words", {"shelf_life_days": "ten"}, 422, "shelf_life_days"),
    case(PATCH_ITEM, "null aliases", {"aliases": None}, 422, "aliases"),
    case(PATCH_ITEM, "alias of another item", {"aliases": ["颗粒活性炭"]}, 409, "aliases"),
    # The service has already renamed the item when the alias clash is found: nothing may stick.
    case(PATCH_ITEM, "new name with a taken alias", {"name": "改名", "aliases": ["quicklime"]}, 409, "aliases"),
    case(PATCH_ITEM, "unknown item", {"name": "x"}, 404, "code", path="/items/NO-SUCH"),
    # --- DELETE /items/{code} ---------------------------------------------------------------
    case(DELETE_ITEM, "item with stock lines", NO_BODY, 409, "code"),
    case(DELETE_ITEM, "unknown item", NO_BODY, 404, "code", path="/items/NO-SUCH"),
    case(DELETE_ITEM, "code in the wrong case", NO_BODY, 404, "code", path="/items/sc-001"),
    # --- POST /receipts ---------------------------------------------------------------------
    *(case(RECEIPTS, f"missing {name}", without(RECEIPT, name), 422, name) for name in RECEIPT if name != "batch"),
    case(RECEIPTS, "quantity with four decimals", {**RECEIPT, "quantity": "1.0001"}, 422, "quantity"),
    case(RECEIPTS, "quantity 0.0001 as a number", {**RECEIPT, "quantity": 0.0001}, 422, "quantity"),
    case(RECEIPTS, "zero quantity", {**RECEIPT, "quantity": 0}, 422, "quantity"),
    case(RECEIPTS, "negative quantity", {**RECEIPT, "quantity": -5}, 422, "quantity"),
    case(RECEIPTS, "quantity as words", {**RECEIPT, "quantity": "five"}, 422, "quantity"),
    case(RECEIPTS, "quantity true", {**RECEIPT, "quantity": True}, 422, "quantity"),
    case(RECEIPTS, "null quantity", {**RECEIPT, "quantity": None}, 422, "quantity"),
    case(RECEIPTS, "quantity in a list", {**RECEIPT, "quantity": [5]}, 422, "quantity"),
    case(RECEIPTS, "quantity NaN string", {**RECEIPT, "quantity": "NaN"}, 422, "quantity"),
    case(RECEIPTS, "quantity Infinity", Raw('{"warehouse_code": "WH-A", "quantity": Infinity}'), 422, "quantity"),
    case(RECEIPTS, "quantity above 1e12", {**RECEIPT, "quantity": 1e13}, 422, "quantity"),
    case(RECEIPTS, "unknown warehouse", {**RECEIPT, "warehouse_code": "NO-SUCH"}, 404, "warehouse_code"),
    case(RECEIPTS, "unknown item", {**RECEIPT, "item_code": "XX-999"}, 404, "item_code"),
    case(RECEIPTS, "item name instead of code", {**RECEIPT, "item_code": "活性炭"}, 404, "item_code"),
    case(RECEIPTS, "warehouse_code as a number", {**RECEIPT, "warehouse_code": 7}, 422, "warehouse_code"),
    case(RECEIPTS, "inactive warehouse", {**RECEIPT, "warehouse_code": "WH-C"}, 409, "warehouse_code"),
    case(
        RECEIPTS,
        "expiry before production",
        {**RECEIPT, "production_date": "2026-05-01", "expiry_date": "2026-04-30"},
        422,
        "expiry_date",
    ),
    case(RECEIPTS, "impossible production date", {**RECEIPT, "production_date": "2026-02-30"}, 422, "production_date"),
    case(RECEIPTS, "expiry date in words", {**RECEIPT, "expiry_date": "next year"}, 422, "expiry_date"),
    case(RECEIPTS, "expiry date as a datetime", {**RECEIPT, "expiry_date": "2027-01-01T00:00:00"}, 422, "expiry_date"),
    case(
        RECEIPTS,
        "existing batch with another production date",
        {**RECEIPT, "batch": "B1", "production_date": "2025-01-01"},
        409,
        "production_date",
    ),
    case(RECEIPTS, "batch of 65 characters", {**RECEIPT, "batch": "B" * 65}, 422, "batch"),
    case(RECEIPTS, "reason of 501 characters", {**RECEIPT, "reason": LONG}, 422, "reason"),
    case(RECEIPTS, "reference of 101 characters", {**RECEIPT, "reference": "R" * 101}, 422, "reference"),
    case(RECEIPTS, "client-chosen actor", {**RECEIPT, "actor": "mallory"}, 422, "actor"),
    case(RECEIPTS, "client-chosen stock_line_id", {**RECEIPT, "stock_line_id": 1}, 422, "stock_line_id"),
    case(RECEIPTS, "empty body", {}, 422, "quantity"),
    case(RECEIPTS, "form body", NOT_JSON, 422, "warehouse_code"),
    case(RECEIPTS, "malformed JSON", MALFORMED_JSON, 400, "json"),
    case(RECEIPTS, "JSON list body", JSON_LIST, 422, "_schema"),
    case(
        RECEIPTS,
        "production date in the far future (its expiry would pass year 9999)",
        {**RECEIPT, "production_date": "9999-01-01"},
        422,
        "production_date",
    ),
    # --- POST /stock-lines/{id}/issues ------------------------------------------------------
    case(ISSUES, "missing quantity", {}, 422, "quantity"),
    case(ISSUES, "quantity with four decimals", {"quantity": "1.0001"}, 422, "quantity"),
    case(ISSUES, "zero quantity", {"quantity": 0}, 422, "quantity"),
    case(ISSUES, "negative quantity", {"quantity": -1}, 422, "quantity"),
    case(ISSUES, "quantity as words", {"quantity": "one"}, 422, "quantity"),
    case(ISSUES, "more than the line holds", {"quantity": "100.001"}, 409, "quantity"),
    case(ISSUES, "unknown extra field", {**ISSUE, "delta": -1}, 422, "delta"),
    case(ISSUES, "reason is a number", {**ISSUE, "reason": 5}, 422, "reason"),
    case(ISSUES, "reason of 501 characters", {**ISSUE, "reason": LONG}, 422, "reason"),
    case(ISSUES, "unknown stock line", ISSUE, 404, "stock_line_id", path="/stock-lines/999999/issues"),
    case(ISSUES, "form body", NOT_JSON, 422, "quantity"),
    case(ISSUES, "malformed JSON", MALFORMED_JSON, 400, "json"),
    case(ISSUES, "JSON list body", JSON_LIST, 422, "_schema"),
    # --- POST /stock-lines/{id}/transfers ---------------------------------------------------
    case(TRANSFERS, "missing to_warehouse_code", {"quantity": 1}, 422, "to_warehouse_code"),
    case(TRANSFERS, "missing quantity", {"to_warehouse_code": "WH-B"}, 422, "quantity"),
    case(TRANSFERS, "quantity with four decimals", {**TRANSFER, "quantity": "1.0001"}, 422, "quantity"),
    case(TRANSFERS, "zero quantity", {**TRANSFER, "quantity": 0}, 422, "quantity"),
    case(TRANSFERS, "negative quantity", {**TRANSFER, "quantity": -3}, 422, "quantity"),
    case(TRANSFERS, "unknown target warehouse", {**TRANSFER, "to_warehouse_code": "NO-SUCH"}, 404, "to_warehouse_code"),
    case(TRANSFERS, "to the same warehouse", {**TRANSFER, "to_warehouse_code": "WH-A"}, 422, "to_warehouse_code"),
    case(TRANSFERS, "to an inactive warehouse", {**TRANSFER, "to_warehouse_code": "WH-C"}, 409, "to_warehouse_code"),
    # The target line is created before the source is found short: it must not survive.
    case(TRANSFERS, "more than the line holds", {**TRANSFER, "quantity": 150}, 409, "quantity"),
    case(
        TRANSFERS,
        "into a batch with other dates",
        {**TRANSFER, "to_warehouse_code": "WH-D"},
        409,
        "production_date",
    ),
    case(TRANSFERS, "unknown extra field", {**TRANSFER, "batch": "B9"}, 422, "batch"),
    case(TRANSFERS, "unknown stock line", TRANSFER, 404, "stock_line_id", path="/stock-lines/999999/transfers"),
    case(TRANSFERS, "form body", NOT_JSON, 422, "to_warehouse_code"),
    case(TRANSFERS, "malformed JSON", MALFORMED_JSON, 400, "json"),
    # --- POST /stock-lines/{id}/adjustments -------------------------------------------------
    case(ADJUSTMENTS, "missing delta", {"reason": "x"}, 422, "delta"),
    case(ADJUSTMENTS, "missing reason", {"delta": -1}, 422, "reason"),
    case(ADJUSTMENTS, "empty reason", {**ADJUSTMENT, "reason": ""}, 422, "reason"),
    case(ADJUSTMENTS, "blank reason", {**ADJUSTMENT, "reason": "   "}, 422, "reason"),
    case(ADJUSTMENTS, "zero delta", {**ADJUSTMENT, "delta": 0}, 422, "delta"),
    case(ADJUSTMENTS, "delta with four decimals", {**ADJUSTMENT, "delta": "-1.0001"}, 422, "delta"),
    case(ADJUSTMENTS, "delta as words", {**ADJUSTMENT, "delta": "minus one"}, 422, "delta"),
    case(ADJUSTMENTS, "delta beyond 1e12", {**ADJUSTMENT, "delta": "-1000000000000.001"}, 422, "delta"),
    case(
        ADJUSTMENTS,
        "delta below what the line holds",
        {**ADJUSTMENT, "delta": "-100.001"},
        409,
        "delta",
    ),
    case(ADJUSTMENTS, "unknown extra field", {**ADJUSTMENT, "quantity": 1}, 422, "quantity"),
    case(ADJUSTMENTS, "unknown stock line", ADJUSTMENT, 404, "stock_line_id", path="/stock-lines/999999/adjustments"),
    case(ADJUSTMENTS, "form body", NOT_JSON, 422, "delta"),
    case(ADJUSTMENTS, "malformed JSON", MALFORMED_JSON, 400, "json"),
    # --- POST /stock-lines/{id}/stocktakes --------------------------------------------------
    case(STOCKTAKES, "missing counted_quantity", {}, 422, "counted_quantity"),
    case(STOCKTAKES, "negative count", {"counted_quantity": -1}, 422, "counted_quantity"),
    case(STOCKTAKES, "count with four decimals", {"counted_quantity": "90.0001"}, 422, "counted_quantity"),
    case(STOCKTAKES, "count as words", {"counted_quantity": "ninety"}, 422, "counted_quantity"),
    case(STOCKTAKES, "null count", {"counted_quantity": None}, 422, "counted_quantity"),
    case(STOCKTAKES, "unknown extra field", {**STOCKTAKE, "quantity": 90}, 422, "quantity"),
    case(STOCKTAKES, "reference of 101 characters", {**STOCKTAKE, "reference": "R" * 101}, 422, "reference"),
    case(STOCKTAKES, "unknown stock line", STOCKTAKE, 404, "stock_line_id", path="/stock-lines/999999/stocktakes"),
    case(STOCKTAKES, "form body", NOT_JSON, 422, "counted_quantity"),
    case(STOCKTAKES, "malformed JSON", MALFORMED_JSON, 400, "json"),
]


@pytest.fixture
def world(client, session, make_warehouse, stocked_line) -> int:
    """WH-A holds 100 of PD-001 batch B1; WH-B is empty; WH-C is inactive and holds stock; WH-D holds batch B1
    with other dates; SC-001 is a catalogue item never stocked. Returns the id of WH-A's line.

    Built with the services (fast) and committed; the rest through the API, as a client would.
    """
    warehouse_a = make_warehouse("WH-A", county_code="110101", latitude=39.93, longitude=116.42)
    make_warehouse("WH-B", county_code="440305", latitude=22.52, longitude=113.92)
    warehouse_c = make_warehouse("WH-C", county_code="441900", latitude=23.05, longitude=113.75)
    make_warehouse("WH-D", county_code="110105", latitude=39.92, longitude=116.43)
    line_id = stocked_line(100, warehouse=warehouse_a, batch="B1").id
    stocked_line(7, warehouse=warehouse_c, batch="B1")
    session.commit()  # end the read transaction the attribute loads opened
    other_dates = {"warehouse_code": "WH-D", "item_code": "PD-001", "quantity": 3, "batch": "B1"}
    responses = [
        client.post(f"{API}/receipts", json={**other_dates, "production_date": "2025-06-01"}),
        client.patch(f"{API}/warehouses/WH-C", json={"status": "inactive"}),
    ]
    assert [r.status_code for r in responses] == [201, 200], [r.get_json() for r in responses]
    return line_id


def assert_refused(response, bad: Case, before: dict, after: dict) -> None:
    assert_problem(response, bad.status, bad.field)
    assert after == before, "a refused request changed the database"


@pytest.mark.parametrize("endpoint", list(TARGETS))
def test_bad_writes_are_4xx_problems_naming_the_field_and_write_nothing(client, world, subtests, endpoint):
    """One world per endpoint, one subtest per bad input. A refused request leaves the world as it was, so every
    row meets the same world; a row that does write fails, and the next row is compared from the new state."""
    rows = [row for row in CASES if row.endpoint == endpoint]
    snapshot = table_snapshot()
    for bad in rows:
        with subtests.test(bad.label, status=bad.status, field=bad.field):
            before = snapshot
            response = send(client, bad.method, bad.url(world), bad.body)
            snapshot = table_snapshot()
            assert_refused(response, bad, before, snapshot)


@pytest.mark.parametrize("path", ["/stock-lines/{id}/issues", "/stock-lines/{id}", "/callup-lines/{id}/dispatch"])
def test_row_ids_beyond_32_bits_are_a_plain_404_not_a_500(client, path):
    for row_id in (2**31, 2**63 + 1):
        url = f"{API}{path.format(id=row_id)}"
        response = client.get(url) if path.endswith("{id}") else client.post(url, json=ISSUE)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/stock-lines?warehouse={code}",
        "/movements?warehouse={code}",
        "/callups?warehouse={code}",
        "/shipments?warehouse={code}",
        "/unit-prices?warehouse={code}",
        "/incidents/{incident}/settlement?warehouse={code}",
        "/incidents/{incident}/settlement.xlsx?warehouse={code}",
    ],
)
def test_a_list_filtered_by_an_unknown_warehouse_is_a_404_naming_it(client, make_warehouse, path):
    """Was an empty list (or sheet) for a mistyped code, which reads as "no stock there"; an item was already a 404."""
    known = make_warehouse(code="WH-KNOWN")
    incident = client.post(f"{API}/incidents", json={"name": "泄漏", "incident_type": "chemical_spill"}).json["code"]
    refused = send(client, "GET", API + path.format(code="WH-NOPE", incident=incident))
    problem = assert_problem(refused, 404, "warehouse")
    assert "WH-NOPE" in problem["errors"]["warehouse"][0]
    assert send(client, "GET", API + path.format(code=known.code, incident=incident)).status_code == 200
