"""The HTTP contract of GET /nearest and POST /plans: shapes, parameters, and problems naming the field."""

from __future__ import annotations

import pytest
from geopy.distance import geodesic
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from api.extensions import db
from inventory import regions
from tests.api.helpers import API, assert_problem

INCIDENT = (39.93, 116.42)  # 东城区


def place(distance_km: float, bearing: float = 90) -> dict:
    destination = geodesic(kilometers=distance_km).destination(INCIDENT, bearing)
    return {"latitude": round(destination.latitude, 6), "longitude": round(destination.longitude, 6)}


@pytest.fixture
def depots(new_warehouse, receive):
    """Three warehouses east of the incident holding activated carbon, one with an expired batch."""
    new_warehouse("GOV-20", reserve_type="government", contact_person="王伟", contact_phone="010-1", **place(20))
    new_warehouse("ENT-5", reserve_type="enterprise", **place(5))
    new_warehouse("THIRD-50", reserve_type="third_party", **place(50))
    receive("GOV-20", 30, batch="G1", expiry_date="2099-01-01")
    receive("ENT-5", 4, batch="E1")
    receive("ENT-5", 6, batch="OLD", expiry_date="2020-01-01")
    receive("THIRD-50", 12, batch="T1")


def nearest(client, **params):
    return client.get(f"{API}/nearest", query_string={"lat": INCIDENT[0], "lon": INCIDENT[1], **params})


def test_nearest_lists_warehouses_with_their_batches_by_distance(client, depots):
    response = nearest(client, item="活性炭", quantity=10)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["warehouse"]["code"] for r in body["results"]] == ["ENT-5", "GOV-20", "THIRD-50"]
    assert [r["distance_km"] for r in body["results"]] == [5.0, 20.0, 50.0]
    assert [r["covers_quantity"] for r in body["results"]] == [False, True, True]
    assert [r["cumulative_available"] for r in body["results"]] == [4, 34, 46]
    gov = body["results"][1]
    assert gov["warehouse"] == {
        "code": "GOV-20",
        "name": "GOV-20 环境应急物资储备库",
        "reserve_type": "government",
        "county_code": "110101",
        "county_name": "东城区",
        "city_code": "110100",
        "province_code": "110000",
        "contact_person": "王伟",
        "contact_phone": "010-1",
        **place(20),
    }
    assert gov["lines"] == [
        {
            "stock_line_id": gov["lines"][0]["stock_line_id"],
            "item_code": "PD-001",
            "item_name": "活性炭",
            "unit": "吨",
            "batch": "G1",
            "expiry_date": "2099-01-01",
            "expired": False,
            "available": 30,
        }
    ]
    assert body["item"]["code"] == "PD-001" and body["quantity"] == 10 and body["radius_km"] == 300
    assert body["incident"] == {"latitude": 39.93, "longitude": 116.42, "county_code": None, "county_name": None}
    assert (body["distance"], body["reserve_types"], body["include_expired"]) == ("geodesic", [], False)


def test_an_item_written_with_a_known_variant_spelling_is_searched_for(client, depots):
    """活性碳 (碳 for 炭, the commonest slip) answered 404 while the suggestions offered 活性炭 for it."""
    typed = nearest(client, item="活性碳", quantity=10)
    assert typed.status_code == 200, typed.get_json()
    assert typed.get_json()["item"]["code"] == nearest(client, item="活性炭").get_json()["item"]["code"]
    assert typed.get_json()["results"] == nearest(client, item="活性炭", quantity=10).get_json()["results"]


def test_a_category_that_holds_no_items_finds_nothing(client, depots):
    # A catalogue editor can move every item out of a category; a search by it is then an empty answer, not a 500.
    others = client.get(f"{API}/items", query_string={"category": "other", "page_size": 100}).get_json()
    assert others
    for item in others:
        moved = client.patch(f"{API}/items/{item['code']}", json={"category": "pollutant_degradation"})
        assert moved.status_code == 200, moved.get_json()
    response = nearest(client, category="other")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"] == []


def test_expired_batches_count_only_when_asked(client, depots):
    default = nearest(client, item="PD-001").get_json()["results"][0]
    assert [line["batch"] for line in default["lines"]] == ["E1"]
    everything = nearest(client, item="PD-001", include_expired="true").get_json()["results"][0]
    assert [line["batch"] for line in everything["lines"]] == ["OLD", "E1"]
    assert [line["expired"] for line in everything["lines"]] == [True, False]


def test_reserve_types_repeat_or_come_as_a_comma_list(client, depots):
    repeated = client.get(
        f"{API}/nearest?lat=39.93&lon=116.42&item=PD-001&reserve_types=third_party&reserve_types=government"
    )
    comma = nearest(client, item="PD-001", reserve_types="government,third_party")
    for response in (repeated, comma):
        assert response.status_code == 200, response.get_json()
        assert [r["warehouse"]["code"] for r in response.get_json()["results"]] == ["GOV-20", "THIRD-50"]


def test_radius_limit_and_county_location(client, depots):
    assert [r["warehouse"]["code"] for r in nearest(client, item="PD-001", radius_km=30).get_json()["results"]] == [
        "ENT-5",
        "GOV-20",
    ]
    assert len(nearest(client, item="PD-001", limit=1).get_json()["results"]) == 1
    by_county = client.get(f"{API}/nearest", query_string={"county": "东城区", "item": "PD-001"})
    assert by_county.status_code == 200
    assert by_county.get_json()["incident"]["county_code"] == "110101"
    assert by_county.get_json()["results"][0]["warehouse"]["code"] == "ENT-5"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"item": "PD-001"}, 422, "lat"),
        ({"lat": 30, "item": "PD-001"}, 422, "lon"),
        ({"lat": 30, "lon": 120, "county": "110101", "item": "PD-001"}, 422, "county"),
        ({"lat": 91, "lon": 120, "item": "PD-001"}, 422, "lat"),
        ({"lat": "north", "lon": 120, "item": "PD-001"}, 422, "lat"),
        ({"lat": 30, "lon": 120, "item": "unobtainium"}, 404, "item"),
        ({"lat": 30, "lon": 120}, 422, "item"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "category": "other"}, 422, "category"),
        ({"lat": 30, "lon": 120, "category": "galactic"}, 422, "category"),
        ({"lat": 30, "lon": 120, "category": "other", "quantity": 1}, 422, "quantity"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "quantity": "-2"}, 422, "quantity"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "limit": 101}, 422, "limit"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "radius_km": 3001}, 422, "radius_km"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "radius_km": 0}, 422, "radius_km"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "reserve_types": "government,army"}, 422, "reserve_types"),
        ({"lat": 30, "lon": 120, "item": "PD-001", "radius": 50}, 422, "radius"),
        ({"county": "朝阳区", "item": "PD-001"}, 422, "county"),
        ({"county": "不存在县", "item": "PD-001"}, 404, "county"),
    ],
)
def test_bad_searches_are_problems_naming_the_field(client, query, status, field):
    assert_problem(client.get(f"{API}/nearest", query_string=query), status, field)


def test_the_search_needs_authentication(anonymous_client):
    assert_problem(anonymous_client.get(f"{API}/nearest?lat=30&lon=120&item=PD-001"), 401)


def test_a_plan_covers_needs_and_states_shortfalls(client, depots):
    response = client.post(
        f"{API}/plans",
        json={
            "county": "110101",
            "needs": [{"item": "activated carbon", "quantity": 40}, {"item": "PD-002", "quantity": 2.5}],
            "reserve_type_preference": ["government"],
        },
    )
    assert response.status_code == 200, response.get_json()
    plan = response.get_json()
    assert plan["covered"] is False
    assert plan["needs"] == [
        {
            "item_code": "PD-001",
            "item_name": "活性炭",
            "unit": "吨",
            "requested": 40,
            "allocated": 40,
            "shortfall": 0,
            "other_units": [],
        },
        {
            "item_code": "PD-002",
            "item_name": "生石灰",
            "unit": "吨",
            "requested": 2.5,
            "allocated": 0,
            "shortfall": 2.5,
            "other_units": [],
        },
    ]
    used = [
        (w["warehouse"]["code"], w["tier"], [(line["batch"], line["quantity"]) for line in w["lines"]])
        for w in plan["warehouses"]
    ]
    assert used == [("GOV-20", 0, [("G1", 30)]), ("ENT-5", 1, [("E1", 4)]), ("THIRD-50", 1, [("T1", 6)])]
    line = plan["warehouses"][0]["lines"][0]
    assert set(line) == {
        "stock_line_id",
        "item_code",
        "item_name",
        "unit",
        "batch",
        "expiry_date",
        "available",
        "quantity",
    }
    assert plan["warehouses"][0]["distance_km"] == 20.0  # 东城区's coordinate is the incident's
    assert plan["reserve_type_preference"] == ["government"] and plan["incident"]["county_name"] == "东城区"


def test_a_plan_changes_nothing(client, depots):
    before = client.get(f"{API}/stock-lines").get_json()
    body = {"lat": INCIDENT[0], "lon": INCIDENT[1], "needs": [{"item": "PD-001", "quantity": 46}]}
    assert client.post(f"{API}/plans", json=body).get_json()["covered"] is True
    assert client.get(f"{API}/stock-lines").get_json() == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"needs": [{"item": "PD-001", "quantity": 1}]}, 422, "lat"),
        ({"lat": 30, "lon": 120}, 422, "needs"),
        ({"lat": 30, "lon": 120, "needs": []}, 422, "needs"),
        ({"lat": 30, "lon": 120, "needs": [{"item": "PD-001", "quantity": 0}]}, 422, "needs"),
        ({"lat": 30, "lon": 120, "needs": [{"item": "PD-001"}]}, 422, "needs"),
        ({"lat": 30, "lon": 120, "needs": [{"item": "nothing", "quantity": 1}]}, 404, "needs.0.item"),
        (
            {"lat": 30, "lon": 120, "needs": [{"item": "PD-001", "quantity": 1}, {"item": "活性炭", "quantity": 1}]},
            422,
            "needs.1",
        ),
        ({"lat": 30, "lon": 120, "county": "110101", "needs": [{"item": "PD-001", "quantity": 1}]}, 422, "county"),
        ({"lat": 30, "lon": 120, "needs": [{"item": "PD-001", "quantity": 1}], "radius_km": 5000}, 422, "radius_km"),
        (
            {"lat": 30, "lon": 120, "needs": [{"item": "PD-001", "quantity": 1}], "reserve_type_preference": ["army"]},
            422,
            "reserve_type_preference",
        ),
        ({"lat": 30, "lon": 120, "needs": [{"item": "PD-001", "quantity": 1}], "extra": 1}, 422, "extra"),
    ],
)
def test_bad_plans_are_problems_naming_the_field(client, body, status, field):
    assert_problem(client.post(f"{API}/plans", json=body), status, field)


def test_both_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/nearest"] and "post" in paths["/api/v1/plans"]


def test_a_plan_is_read_only_and_does_not_wait_for_the_write_lock(client, db_kind, database_url):
    """POST /plans computes; it must answer while another worker holds SQLite's write lock."""
    if db_kind != "sqlite":
        pytest.skip("the write lock is SQLite's")
    import sqlite3

    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        response = client.post(
            "/api/v1/plans", json={"lat": 39.9, "lon": 116.4, "needs": [{"item": "PD-001", "quantity": 1}]}
        )
        assert response.status_code == 200
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


@pytest.mark.parametrize(
    "params",
    [
        {"item": "活性炭", "quantity": 10},
        {"item": "PD-001", "include_expired": "true", "reserve_types": "government,enterprise"},
        {"category": "pollutant_degradation", "limit": 2},
        {"item": "活性炭", "radius_km": 1},
    ],
)
def test_the_answer_built_directly_is_the_output_schema_dump(app, client, depots, params):
    """The search's answer skips marshmallow's dump for speed; NearestOut stays the contract, to the byte."""
    from api.extensions import db
    from api.schemas.nearest import NearestOut, NearestQuery, nearest_answer_dict
    from api.service_calls import find_nearest

    response = nearest(client, **params)
    assert response.status_code == 200 and response.mimetype == "application/json"
    args = NearestQuery().load({"lat": INCIDENT[0], "lon": INCIDENT[1], **params})
    answer = find_nearest(db.session, args)
    db.session.rollback()
    dumped = NearestOut().dump(answer)
    assert nearest_answer_dict(answer) == dumped
    assert response.get_json() == dumped
    assert response.data == app.json.response(dumped).get_data()


def test_a_plan_honours_the_reserve_types_the_search_used(client, depots):
    body = {"lat": INCIDENT[0], "lon": INCIDENT[1], "needs": [{"item": "PD-001", "quantity": 40}]}
    every = client.post(f"{API}/plans", json=body).get_json()
    assert [w["warehouse"]["code"] for w in every["warehouses"]] == ["ENT-5", "GOV-20", "THIRD-50"]
    only = client.post(f"{API}/plans", json={**body, "reserve_types": ["third_party", "government"]}).get_json()
    assert [w["warehouse"]["code"] for w in only["warehouses"]] == ["GOV-20", "THIRD-50"]
    assert only["reserve_types"] == ["government", "third_party"]
    bad = client.post(f"{API}/plans", json={**body, "reserve_types": ["army"]})
    assert_problem(bad, 422, "reserve_types")


@pytest.mark.parametrize(
    "body",
    [
        {
            "county": "110101",
            "needs": [{"item": "activated carbon", "quantity": 40}, {"item": "PD-002", "quantity": 2.5}],
        },
        {"needs": [{"item": "PD-001", "quantity": 12}], "reserve_type_preference": ["government"], "radius_km": 80},
        {"needs": [{"item": "PD-001", "quantity": 5}], "reserve_types": ["third_party"]},
    ],
)
def test_the_plan_built_directly_is_the_output_schema_dump(app, client, depots, body):
    """The plan skips marshmallow's dump for speed; PlanOut stays the contract, to the byte."""
    from api.extensions import db
    from api.schemas.nearest import PlanIn, PlanOut, plan_answer_dict
    from api.service_calls import plan_from

    body = body if "county" in body else {"lat": INCIDENT[0], "lon": INCIDENT[1], **body}
    response = client.post(f"{API}/plans", json=body)
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = PlanIn().load(body)
    plan = plan_from(db.session, data)
    db.session.rollback()
    dumped = PlanOut().dump(plan)
    assert dumped["warehouses"], "a plan that allocates nothing would compare little"
    assert plan_answer_dict(plan) == dumped
    assert response.get_json() == dumped
    assert response.data == app.json.response(dumped).get_data()


def test_a_repeated_search_reads_the_data_versions_once_and_the_stock_once(app, client, depots):
    """Authentication, the item names and the warehouse index all check their worker copies against the data
    versions: one read per request serves them all (kept until the transaction ends or writes), then one stock query."""
    assert nearest(client, item="活性炭").status_code == 200  # fills this worker's copies
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731 (conn, cursor, statement, …)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert nearest(client, item="活性炭").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    reads = [statement for statement in sent if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(reads) == 2, sent
    assert "data_version" in reads[0] and "FROM stock_line" in reads[1], reads


@pytest.mark.parametrize(
    "where", [{"lat": INCIDENT[0], "lon": INCIDENT[1]}, {"county": "东城区"}], ids=["point", "county"]
)
def test_a_first_search_logs_in_and_searches_on_one_connection_without_the_session(app, client_for, depots, where):
    """The lean path's login and search share one read transaction (``db.reading``): a token this worker has
    not seen yet is looked up on the search's pooled connection, so a request checks out one connection and
    the request's ORM session never begins (its begin and rollback cost more than the stock query). A worker's
    first search by county loads the region names on that connection too."""
    fresh = client_for("admin", username="first-search")  # a new token: the worker's memo has not seen it
    checkouts: list[object] = []
    begins: list[object] = []
    with app.app_context():
        engine = db.engine
    on_checkout = lambda *args: checkouts.append(args[0])  # noqa: E731 (dbapi_connection, record, proxy)

    def on_begin(session, transaction, connection) -> None:
        # The memo loads through a session bound to the read's connection; a worker cache's shared reload reads
        # on an engine of its own. Any other begin is the request's session starting its own transaction.
        if connection.engine is engine and not isinstance(session.bind, Connection):
            begins.append(session)

    event.listen(engine, "checkout", on_checkout)
    event.listen(Session, "after_begin", on_begin)
    try:
        regions._region_names.pop(engine, None)  # the tests' fixture fills it; a worker's first county search loads it
        response = fresh.get(f"{API}/nearest", query_string={**where, "item": "活性炭"})
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(Session, "after_begin", on_begin)
    assert response.status_code == 200, response.get_json()
    assert [r["warehouse"]["code"] for r in response.get_json()["results"]] == ["ENT-5", "GOV-20", "THIRD-50"]
    assert len(checkouts) == 1, checkouts
    assert begins == [], "the request's session began a transaction of its own"
