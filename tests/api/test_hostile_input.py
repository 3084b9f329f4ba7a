"""No input reaches a 500: hostile bodies, numbers, dates, text, pages and lists are 4xx problems that write nothing.

Each row of ``CASES`` is one request against a small world (WH-A holds 100 of PD-001 in batch B1, WH-B is
empty). It must be answered with its 4xx status as ``application/problem+json`` whose ``errors`` name the
field (where there is one), and leave every table a request could write exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

import pytest
from marshmallow import fields

from api.config import MAX_JSON_BYTES, MAX_JSON_DEPTH
from api.inputs import json_nesting_exceeds
from api.routes.paging import MAX_PAGE, MAX_PAGE_SIZE
from inventory.catalogue import MAX_ALIASES, get_item
from inventory.errors import ValidationFailed
from inventory.nearest import MAX_NEEDS
from inventory.stock import receive_stock
from inventory.validation import EARLIEST_DATE, LATEST_DATE, check_quantity
from tests.api.helpers import API, NO_BODY, Raw, assert_problem, send, table_snapshot, warehouse_payload

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")

TABLES = (
    "warehouse",
    "item",
    "item_alias",
    "stock_line",
    "movement",
    "user_account",
    "api_token",
    "web_session",
    "login_throttle",
    "audit_entry",
    "callup",
    "callup_need",
    "callup_line",
    "callup_event",
    "reserve_quota",
    "ledger_import",
)

SURROGATE = "\ud800"
NUL = "\x00"
TOO_DEEP = MAX_JSON_DEPTH + 1


def encoded(body: object) -> Raw:
    """``body`` as JSON with \\u escapes: the only way a lone surrogate travels in valid UTF-8."""
    return Raw(json.dumps(body))


def nested(depth: int, kind: str = "[") -> str:
    return "[" * depth + "]" * depth if kind == "[" else '{"a":' * depth + "1" + "}" * depth


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str
    body: object
    status: int
    field: str | None
    anonymous: bool = False


WH = warehouse_payload("WH-NEW")
ITEM = {"code": "NEW-1", "name": "新物资", "category": "other", "unit": "个"}
RECEIPT = {"warehouse_code": "WH-A", "item_code": "PD-001", "quantity": 5, "batch": "B2"}
NEED = {"item": "PD-001", "quantity": 1}
PLAN = {"lat": 39.9, "lon": 116.4, "needs": [NEED]}
CALLUP = {**PLAN, "incident_name": "突发事件"}
USER = {"username": "new-user", "role": "viewer"}
QUOTA = {"warehouse": "WH-A", "item": "PD-001", "minimum": 1}
LOGIN = {"username": "admin", "password": "x"}

# Every free-text field of every JSON body: (method, path, valid body, field, where the error is reported).
TEXT_FIELDS = [
    *(("POST", "/warehouses", WH, name, name) for name in ("code", "name", "organisation", "address")),
    *(("POST", "/warehouses", WH, name, name) for name in ("contact_person", "contact_phone", "notes", "county_code")),
    ("PATCH", "/warehouses/WH-A", {}, "name", "name"),
    *(("POST", "/items", ITEM, name, name) for name in ("code", "name", "specification", "unit")),
    ("POST", "/items", {**ITEM, "aliases": ["ok"]}, "aliases", "aliases"),
    ("PATCH", "/items/PD-001", {}, "specification", "specification"),
    *(("POST", "/receipts", RECEIPT, name, name) for name in ("warehouse_code", "item_code", "batch", "reason")),
    ("POST", "/receipts", RECEIPT, "reference", "reference"),
    ("POST", "/stock-lines/{line}/issues", {"quantity": 1}, "reason", "reason"),
    ("POST", "/stock-lines/{line}/transfers", {"quantity": 1}, "to_warehouse_code", "to_warehouse_code"),
    ("POST", "/stock-lines/{line}/adjustments", {"delta": -1}, "reason", "reason"),
    ("POST", "/stock-lines/{line}/stocktakes", {"counted_quantity": 1}, "reference", "reference"),
    ("POST", "/plans", PLAN, "county", "county"),
    ("POST", "/plans", {**PLAN, "needs": [{**NEED, "item": "?"}]}, "needs.0.item", "needs"),
    ("POST", "/callups", CALLUP, "incident_name", "incident_name"),
    ("POST", "/callups", CALLUP, "note", "note"),
    ("POST", "/callups/CU-NONE/cancel", {}, "reason", "reason"),
    *(("POST", "/users", USER, name, name) for name in ("username", "display_name", "password")),
    ("POST", "/users", {**USER, "warehouse_codes": ["WH-A"]}, "warehouse_codes", "warehouse_codes"),
    ("POST", "/users/admin/tokens", {}, "name", "name"),
    ("POST", "/quotas", QUOTA, "note", "note"),
    ("POST", "/quotas", QUOTA, "item", "item"),
]


def with_text(body: dict, dotted: str, text: str) -> dict:
    """A copy of ``body`` with ``text`` put at ``dotted`` (``needs.0.item``; a list field gets a one-entry list)."""
    body = json.loads(json.dumps(body))
    *parents, last = dotted.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = [f"a{text}b"] if isinstance(target.get(last), list) else f"a{text}b"
    return body


def text_cases() -> list[Case]:
    rows = []
    for method, path, body, dotted, field in TEXT_FIELDS:
        for name, char in (
            ("lone surrogate", SURROGATE),
            ("NUL", NUL),
            ("escape character", "\x1b"),
            ("right-to-left override", "\u202e"),  # shows "仓库\u202e321" as "仓库123"
        ):
            rows.append(Case(f"{name} in {dotted}", method, path, encoded(with_text(body, dotted, char)), 422, field))
    rows += [
        Case(
            "lone surrogate in login username",
            "POST",
            "/auth/login",
            encoded(with_text(LOGIN, "username", SURROGATE)),
            422,
            "username",
            anonymous=True,
        ),
        Case(
            "NUL in login password",
            "POST",
            "/auth/login",
            encoded(with_text(LOGIN, "password", NUL)),
            422,
            "password",
            anonymous=True,
        ),
        Case("lone surrogate as an object key", "POST", "/warehouses", encoded({**WH, SURROGATE: 1}), 422, "\\ud800"),
        Case("low surrogate alone", "POST", "/items", encoded({**ITEM, "name": "\udfff"}), 422, "name"),
    ]
    # Query strings and path segments: NUL and control characters (werkzeug already replaces bad UTF-8).
    for path, field in [
        ("/warehouses?q=%00", "q"),
        ("/warehouses?region=11%00", "region"),
        ("/items?q=a%01b", "q"),
        ("/stock-lines?batch=B%00", "batch"),
        ("/stock-lines?warehouse=WH-A%00", "warehouse"),
        ("/movements?reference=%00", "reference"),
        ("/callups?requester=%00", "requester"),
        ("/audit?object_key=%00", "object_key"),
        ("/nearest?county=%00&item=PD-001", "county"),
        ("/reports/expiring?item=%00", "item"),
        ("/regions?name=%00", "name"),
        ("/warehouses?%00=1", "\\x00"),
        ("/warehouses/WH%00A", "code"),
        ("/items/%00", "code"),
        ("/users/%00", "username"),
        ("/callups/%00", "code"),
        ("/regions/%00", "code"),
    ]:
        rows.append(Case(f"control character in GET {path}", "GET", path, NO_BODY, 422, field))
    rows.append(Case("NUL in a PATCH path", "PATCH", "/warehouses/%00", {"name": "x"}, 422, "code"))
    return rows


def depth_cases() -> list[Case]:
    json_field = "json"
    return [
        Case("array nested 1,000 deep", "POST", "/warehouses", Raw(nested(1000)), 400, json_field),
        Case("object nested 1,000 deep", "POST", "/warehouses", Raw(nested(1000, "{")), 400, json_field),
        Case("array nested 100,000 deep", "POST", "/items", Raw(nested(100_000)), 400, json_field),
        Case("login nested 1,000 deep", "POST", "/auth/login", Raw(nested(1000)), 400, json_field, anonymous=True),
        Case(
            "login object nested 1,000 deep",
            "POST",
            "/auth/login",
            Raw(nested(1000, "{")),
            400,
            json_field,
            anonymous=True,
        ),
        Case(f"array nested {TOO_DEEP} deep", "POST", "/receipts", Raw(nested(TOO_DEEP)), 400, json_field),
        Case("needs nested too deep", "POST", "/plans", Raw('{"needs": ' + nested(TOO_DEEP) + "}"), 400, json_field),
        Case(
            "callup needs nested too deep", "POST", "/callups", Raw('{"needs": ' + nested(1000) + "}"), 400, json_field
        ),
        # Brackets inside strings are text, not nesting: this one is refused for its length, not its depth.
        Case("brackets inside a string", "POST", "/warehouses", {**WH, "name": "[" * 1000}, 422, "name"),
    ]


def number_cases() -> list[Case]:
    def receipt(quantity: str) -> Raw:
        return Raw('{"warehouse_code": "WH-A", "item_code": "PD-001", "quantity": ' + quantity + "}")

    return [
        Case(
            "quantity 1e999999999 as a string",
            "POST",
            "/receipts",
            {**RECEIPT, "quantity": "1e999999999"},
            422,
            "quantity",
        ),
        Case(
            "quantity -1e999999999 as a string",
            "POST",
            "/receipts",
            {**RECEIPT, "quantity": "-1e999999999"},
            422,
            "quantity",
        ),
        Case(
            "quantity 1e-999999999 as a string",
            "POST",
            "/receipts",
            {**RECEIPT, "quantity": "1e-999999999"},
            422,
            "quantity",
        ),
        Case("quantity 1e999999999 as a number", "POST", "/receipts", receipt("1e999999999"), 422, "quantity"),
        Case("quantity of 5,000 digits", "POST", "/receipts", receipt("9" * 5000), 400, "json"),
        Case("quantity of 4,000 digits", "POST", "/receipts", receipt("9" * 4000), 422, "quantity"),
        Case("quantity NaN literal", "POST", "/receipts", receipt("NaN"), 422, "quantity"),
        Case("quantity Infinity literal", "POST", "/receipts", receipt("Infinity"), 422, "quantity"),
        Case("quantity -Infinity literal", "POST", "/receipts", receipt("-Infinity"), 422, "quantity"),
        Case("quantity negative zero", "POST", "/receipts", receipt("-0.0"), 422, "quantity"),
        Case("quantity negative zero string", "POST", "/receipts", {**RECEIPT, "quantity": "-0"}, 422, "quantity"),
        Case(
            "issue of 1e999999999", "POST", "/stock-lines/{line}/issues", {"quantity": "1e999999999"}, 422, "quantity"
        ),
        Case(
            "delta of -1e999999999",
            "POST",
            "/stock-lines/{line}/adjustments",
            {"delta": "-1e999999999", "reason": "x"},
            422,
            "delta",
        ),
        Case(
            "delta of negative zero",
            "POST",
            "/stock-lines/{line}/adjustments",
            {"delta": "-0", "reason": "x"},
            422,
            "delta",
        ),
        Case(
            "count of 1e999999999",
            "POST",
            "/stock-lines/{line}/stocktakes",
            {"counted_quantity": "1e999999999"},
            422,
            "counted_quantity",
        ),
        Case(
            "need of 1e999999999",
            "POST",
            "/plans",
            {**PLAN, "needs": [{**NEED, "quantity": "1e999999999"}]},
            422,
            "needs",
        ),
        Case("quota minimum 1e999999999", "POST", "/quotas", {**QUOTA, "minimum": "1e999999999"}, 422, "minimum"),
        Case(
            "latitude Infinity literal",
            "POST",
            "/warehouses",
            Raw(json.dumps(WH)[:-1] + ', "latitude": Infinity}'),
            422,
            "latitude",
        ),
        Case(
            "latitude 1e999", "POST", "/warehouses", Raw(json.dumps(WH)[:-1] + ', "latitude": 1e999}'), 422, "latitude"
        ),
        Case(
            "plan lat NaN",
            "POST",
            "/plans",
            Raw('{"lat": NaN, "lon": 116.4, "needs": [{"item": "PD-001", "quantity": 1}]}'),
            422,
            "lat",
        ),
        Case("shelf life 10^30 days", "POST", "/items", {**ITEM, "shelf_life_days": 10**30}, 422, "shelf_life_days"),
        Case(
            "shelf life 1e999 days",
            "POST",
            "/items",
            Raw(json.dumps(ITEM)[:-1] + ', "shelf_life_days": 1e999}'),
            422,
            "shelf_life_days",
        ),
        Case("token of 10^30 days", "POST", "/users/admin/tokens", {"days": 10**30}, 422, "days"),
        Case(
            "nearest limit 10^30",
            "GET",
            "/nearest?item=PD-001&lat=39.9&lon=116.4&limit=" + "9" * 30,
            NO_BODY,
            422,
            "limit",
        ),
        Case(
            "nearest radius inf",
            "GET",
            "/nearest?item=PD-001&lat=39.9&lon=116.4&radius_km=inf",
            NO_BODY,
            422,
            "radius_km",
        ),
        Case(
            "nearest quantity 1e999999999",
            "GET",
            "/nearest?item=PD-001&lat=39.9&lon=116.4&quantity=1e999999999",
            NO_BODY,
            422,
            "quantity",
        ),
        Case(
            "expiring within 10^30 days",
            "GET",
            "/reports/expiring?within_days=" + "9" * 30,
            NO_BODY,
            422,
            "within_days",
        ),
    ]


FAR_PAST = "0001-01-01T00:00:00+14:00"
FAR_FUTURE = "9999-12-31T23:59:59-14:00"
BEFORE_RANGE = (EARLIEST_DATE - dt.timedelta(days=1)).isoformat()
AFTER_RANGE = (LATEST_DATE + dt.timedelta(days=1)).isoformat()


def date_cases() -> list[Case]:
    rows = []
    for day in ("0001-01-01", "9999-12-31", BEFORE_RANGE, AFTER_RANGE):
        rows.append(
            Case(f"expiry date {day}", "POST", "/receipts", {**RECEIPT, "expiry_date": day}, 422, "expiry_date")
        )
        rows.append(
            Case(
                f"stock expiring before {day}",
                "GET",
                f"/stock-lines?expiring_before={day}",
                NO_BODY,
                422,
                "expiring_before",
            )
        )
    rows.append(
        Case(
            "production date 0001-01-01",
            "POST",
            "/receipts",
            {**RECEIPT, "production_date": "0001-01-01"},
            422,
            "production_date",
        )
    )
    rows.append(
        Case(
            f"production date {BEFORE_RANGE}",
            "POST",
            "/receipts",
            {**RECEIPT, "production_date": BEFORE_RANGE},
            422,
            "production_date",
        )
    )
    for moment in (FAR_PAST, FAR_FUTURE, "1899-12-31T23:59:59+00:00", "2201-01-01T00:00:00Z"):
        query = moment.replace("+", "%2B")
        rows += [
            Case(f"as_of {moment}", "GET", f"/stock-lines/{{line}}?as_of={query}", NO_BODY, 422, "as_of"),
            Case(f"movements since {moment}", "GET", f"/movements?since={query}", NO_BODY, 422, "since"),
            Case(f"movements until {moment}", "GET", f"/movements?until={query}", NO_BODY, 422, "until"),
            Case(f"audit since {moment}", "GET", f"/audit?since={query}", NO_BODY, 422, "since"),
            Case(f"audit until {moment}", "GET", f"/audit?until={query}", NO_BODY, 422, "until"),
        ]
    return rows


def page_cases() -> list[Case]:
    rows = []
    for path in ("/warehouses", "/items", "/stock-lines", "/movements", "/audit", "/imports", "/callups", "/users"):
        for page in (MAX_PAGE + 1, 10**18, 2**63, 10**30, 0, -1):
            rows.append(Case(f"GET {path} page {page}", "GET", f"{path}?page={page}", NO_BODY, 422, "page"))
        for size in (0, MAX_PAGE_SIZE + 1, 10**18):
            rows.append(
                Case(f"GET {path} page_size {size}", "GET", f"{path}?page_size={size}", NO_BODY, 422, "page_size")
            )
    rows.append(Case("report page 10^18", "GET", "/reports/expiring?page=1000000000000000000", NO_BODY, 422, "page"))
    return rows


def list_cases() -> list[Case]:
    many = [1] * 400_000

    def compact(body: dict) -> Raw:  # 400,000 needs within the size limit
        return Raw(json.dumps(body, separators=(",", ":")))

    return [
        Case("plan with 400,000 needs", "POST", "/plans", compact({**PLAN, "needs": many}), 422, "needs"),
        Case(
            f"plan with {MAX_NEEDS + 1} needs",
            "POST",
            "/plans",
            {**PLAN, "needs": [NEED] * (MAX_NEEDS + 1)},
            422,
            "needs",
        ),
        Case("callup with 400,000 needs", "POST", "/callups", compact({**CALLUP, "needs": many}), 422, "needs"),
        Case(
            "plan with 50,000 preferences",
            "POST",
            "/plans",
            compact({**PLAN, "reserve_type_preference": ["government"] * 50_000}),
            422,
            "reserve_type_preference",
        ),
        Case("item with 100,000 aliases", "POST", "/items", {**ITEM, "aliases": many[:100_000]}, 422, "aliases"),
        Case(
            f"item with {MAX_ALIASES + 1} aliases",
            "PATCH",
            "/items/PD-001",
            {"aliases": [f"别名{n}" for n in range(MAX_ALIASES + 1)]},
            422,
            "aliases",
        ),
        Case(
            "user with 100,000 warehouses",
            "POST",
            "/users",
            {**USER, "role": "manager", "warehouse_codes": ["WH-A"] * 100_000},
            422,
            "warehouse_codes",
        ),
        Case(
            "nearest with 1,000 reserve types",
            "GET",
            "/nearest?item=PD-001&lat=39.9&lon=116.4&reserve_types=" + ",".join(["government"] * 1000),
            NO_BODY,
            422,
            "reserve_types",
        ),
    ]


def body_cases() -> list[Case]:
    over = MAX_JSON_BYTES + 1
    return [
        *(
            Case(f"JSON {text} body", "POST", "/warehouses", Raw(text), 422, "_schema")
            for text in ("1", "null", "true", '"WH-NEW"', "[]", "1e999")
        ),
        Case("JSON number body on login", "POST", "/auth/login", Raw("1"), 422, "_schema", anonymous=True),
        Case("JSON as text/plain", "POST", "/warehouses", Raw(json.dumps(WH), "text/plain"), 422, "code"),
        Case(
            "JSON as application/xml", "POST", "/receipts", Raw(json.dumps(RECEIPT), "application/xml"), 422, "quantity"
        ),
        Case("JSON with no content type", "POST", "/plans", Raw(json.dumps(PLAN), ""), 422, "needs"),
        Case("invalid UTF-8", "POST", "/warehouses", Raw(b'{"name": "\xff"}'), 400, "json"),
        Case("body over the limit", "POST", "/warehouses", {**WH, "notes": "x" * over}, 413, None),
        Case(
            "login body over the limit",
            "POST",
            "/auth/login",
            {**LOGIN, "password": "x" * over},
            413,
            None,
            anonymous=True,
        ),
        Case(
            "form body over the limit",
            "POST",
            "/receipts",
            Raw("a=" + "x" * over, "application/x-www-form-urlencoded"),
            413,
            None,
        ),
    ]


GROUPS = {
    "text": text_cases,
    "nesting": depth_cases,
    "numbers": number_cases,
    "dates": date_cases,
    "pages": page_cases,
    "lists": list_cases,
    "bodies": body_cases,
}


@pytest.fixture
def line_id(client, session, make_warehouse, stocked_line) -> int:
    """WH-A holds 100 of PD-001 in batch B1 (its line's id is returned); WH-B is empty."""
    warehouse = make_warehouse("WH-A", county_code="110101", latitude=39.93, longitude=116.42)
    make_warehouse("WH-B", county_code="440305", latitude=22.52, longitude=113.92)
    line = stocked_line(100, warehouse=warehouse, batch="B1").id
    session.commit()
    return line


@pytest.mark.parametrize("group", list(GROUPS))
def test_hostile_input_is_a_4xx_problem_that_writes_nothing(client, anonymous_client, line_id, subtests, group):
    """One world per group, one subtest per row: a refused request leaves the world as it was, so every row
    meets the same world; a row that does write fails, and the next row is compared from the new state."""
    snapshot = table_snapshot(TABLES)
    for bad in GROUPS[group]():
        with subtests.test(bad.label, status=bad.status, field=bad.field):
            before = snapshot
            url = API + bad.path.format(line=line_id)
            response = send(anonymous_client if bad.anonymous else client, bad.method, url, bad.body)
            snapshot = table_snapshot(TABLES)
            assert_problem(response, bad.status, bad.field)
            assert snapshot == before, "a refused request changed the database"


def test_a_huge_plan_is_refused_before_any_need_is_read(client, monkeypatch):
    """400,000 needs: one length check, not 400,000 nested loads (which took seconds of CPU and starved /health)."""
    loads = []
    original = fields.Nested._deserialize

    def counting(self, *args, **kwargs):
        loads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fields.Nested, "_deserialize", counting)
    body = json.dumps({**PLAN, "needs": [NEED] * 400_000})
    assert len(body) > MAX_JSON_BYTES  # refused by its size alone…
    assert_problem(send(client, "POST", f"{API}/plans", Raw(body)), 413)
    compact = json.dumps({**PLAN, "needs": [{}] * 250_000}, separators=(",", ":"))
    assert len(compact) <= MAX_JSON_BYTES  # …and within the size limit, by its length before any need is loaded
    started = time.process_time()
    for _ in range(4):
        assert_problem(send(client, "POST", f"{API}/plans", Raw(compact)), 422, "needs")
    assert loads == []
    assert time.process_time() - started < 4  # loosely: was ~10 s per request
    send(client, "POST", f"{API}/plans", {**PLAN, "needs": [NEED, NEED]})
    assert len(loads) == 2  # the counter does see needs that are read


def test_a_body_of_many_unknown_members_gets_the_first_field_errors_and_their_count(anonymous_client):
    """60,000 unknown members, no login needed: was a 6 MB answer of 60,000 translated errors (0.8 s of CPU)."""
    from api.errors import MAX_FIELD_ERRORS

    body = json.dumps({"username": "x", "password": "y", **{f"k{i}": i for i in range(60_000)}})
    assert len(body) <= MAX_JSON_BYTES
    response = send(anonymous_client, "POST", f"{API}/auth/login", Raw(body))
    problem = assert_problem(response, 422)  # which 100: marshmallow lists unknown members in no set order
    assert len(problem["errors"]) == len(problem["error_codes"]) == MAX_FIELD_ERRORS
    assert problem["errors_omitted"] == 60_000 - MAX_FIELD_ERRORS
    assert problem["errors"].keys() == problem["error_codes"].keys()
    assert all(f"{field}:" in problem["detail"] for field in problem["errors"])  # the detail lists the same
    left_out = {f"k{i}" for i in range(60_000)} - problem["errors"].keys()
    assert not any(f"{field}:" in problem["detail"] for field in list(left_out)[:1000])
    assert len(response.data) < 50_000


def test_nested_field_errors_are_cut_at_the_same_count_keeping_their_nesting():
    from api.errors import _first_errors

    errors = {"a": ["x"], "needs": {"0": {"item": ["x"], "quantity": ["x"]}, "1": {"item": ["x"]}}, "z": ["x"]}
    assert _first_errors(errors, 10) == (errors, 0)
    assert _first_errors(errors, 3) == ({"a": ["x"], "needs": {"0": {"item": ["x"], "quantity": ["x"]}}}, 2)
    assert _first_errors(errors, 1) == ({"a": ["x"]}, 4)


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        (nested(MAX_JSON_DEPTH), False),
        (nested(MAX_JSON_DEPTH + 1), True),
        (nested(MAX_JSON_DEPTH + 1, "{"), True),
        ('{"a": "' + "[" * 100 + '"}', False),
        ('{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}', False),
        ('[{"a": [1, 2, {"b": "]]]]"}]}]' * 50, False),
    ],
)
def test_nesting_is_measured_outside_strings(text, deeper):
    assert json_nesting_exceeds(text, MAX_JSON_DEPTH) is deeper


def test_dates_at_the_edges_of_the_range_are_accepted(client, line_id):
    for day in (EARLIEST_DATE.isoformat(), LATEST_DATE.isoformat()):
        response = client.get(f"{API}/stock-lines?expiring_before={day}")
        assert response.status_code == 200, response.get_json()
    response = client.post(
        f"{API}/receipts",
        json={**RECEIPT, "production_date": EARLIEST_DATE.isoformat(), "expiry_date": LATEST_DATE.isoformat()},
    )
    assert response.status_code == 201, response.get_json()
    response = client.get(f"{API}/movements?since={EARLIEST_DATE}T00:00:00%2B14:00&until={LATEST_DATE}T23:59:59-14:00")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()
    response = client.get(f"{API}/warehouses?page={MAX_PAGE}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []


@pytest.mark.parametrize("value", ["1e999999999", "-1e999999999", "1e-999999999", "9" * 4000, "NaN", "-Infinity"])
def test_check_quantity_refuses_extreme_decimals_without_computing_them(value):
    """The importer and the CLI reach the same rule as the API, in ``inventory.validation``."""
    with pytest.raises(ValidationFailed) as refused:
        check_quantity(value)
    assert refused.value.field == "quantity"


@pytest.mark.parametrize("field", ["production_date", "expiry_date"])
def test_services_refuse_dates_out_of_range(session, make_warehouse, field):
    """Not only the API: a ledger import or the CLI receiving 0001-01-01 must not store it (its export would
    carry the Excel serial -693594 and no longer re-import)."""
    warehouse = make_warehouse("WH-S")
    with pytest.raises(ValidationFailed) as refused:
        receive_stock(
            session,
            warehouse=warehouse,
            item=get_item(session, "PD-001"),
            quantity=1,
            actor="tester",
            **{field: dt.date(1, 1, 1)},
        )
    assert refused.value.field == field
