"""The warehouse registry over HTTP: create, read, change, delete, and the list with its filters and paging."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import API, assert_problem, table_snapshot, warehouse_payload

ISO_AWARE_SUFFIX = "+00:00"

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [warehouse["code"] for warehouse in response.get_json()]


def pagination(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


# --- create and read -----------------------------------------------------------------------------


def test_create_is_201_and_derives_city_and_province_from_the_county_code(client):
    body = warehouse_payload(
        "BJ-DC-01",
        organisation="东城区生态环境局",
        address="东城区安定门东大街 1 号",
        contact_person="王伟",
        contact_phone="010-12345678",
        notes="24 小时值守",
    )
    response = client.post(f"{API}/warehouses", json=body)

    assert response.status_code == 201
    assert response.mimetype == "application/json"
    created = response.get_json()
    assert {key: created[key] for key in body} == body
    assert (created["county_code"], created["city_code"], created["province_code"]) == ("110101", "110100", "110000")
    assert created["county_name"] == "东城区"
    assert created["status"] == "active"
    assert isinstance(created["id"], int)
    assert created["created_at"].endswith(ISO_AWARE_SUFFIX) and created["updated_at"].endswith(ISO_AWARE_SUFFIX)


def test_create_accepts_dongguan_441900_a_city_without_counties_as_its_own_county(client):
    body = warehouse_payload("DG-01", county_code="441900", latitude=23.05, longitude=113.75)
    response = client.post(f"{API}/warehouses", json=body)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["county_code"], created["city_code"], created["province_code"]) == ("441900", "441900", "440000")
    assert created["county_name"] == "东莞市"


def test_create_without_optional_fields_gives_empty_strings_and_active_status(client):
    created = client.post(f"{API}/warehouses", json=warehouse_payload("MIN-1")).get_json()
    assert [created[key] for key in ("organisation", "address", "contact_person", "contact_phone", "notes")] == [""] * 5
    assert created["status"] == "active"


def test_create_may_set_the_status_to_inactive(client):
    created = client.post(f"{API}/warehouses", json=warehouse_payload("OFF-1", status="inactive")).get_json()
    assert created["status"] == "inactive"


def test_get_returns_what_create_returned(client, new_warehouse):
    created = new_warehouse("WH-A", county_code="440305", latitude=22.52, longitude=113.92)

    response = client.get(f"{API}/warehouses/WH-A")

    assert response.status_code == 200
    assert response.get_json() == created


def test_get_unknown_warehouse_is_404_problem_naming_code(client):
    problem = assert_problem(client.get(f"{API}/warehouses/NO-SUCH"), 404, "code")
    assert "NO-SUCH" in problem["detail"]


def test_create_with_a_code_in_use_is_409_naming_code_and_keeps_the_first(client, new_warehouse):
    first = new_warehouse("WH-A")
    response = client.post(f"{API}/warehouses", json=warehouse_payload("WH-A", name="另一个"))
    assert_problem(response, 409, "code")
    assert client.get(f"{API}/warehouses/WH-A").get_json() == first


# --- patch ---------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(client, new_warehouse):
    before = new_warehouse("WH-A")

    response = client.patch(
        f"{API}/warehouses/WH-A", json={"name": "新名称", "contact_phone": "110", "level": "municipal"}
    )

    assert response.status_code == 200
    after = response.get_json()
    assert (after["name"], after["contact_phone"], after["level"]) == ("新名称", "110", "municipal")
    unchanged = set(before) - {"name", "contact_phone", "level", "updated_at"}
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}
    assert after["updated_at"] >= before["updated_at"]
    assert client.get(f"{API}/warehouses/WH-A").get_json() == after


def test_patch_latitude_alone_keeps_the_longitude(client, new_warehouse):
    new_warehouse("WH-A", latitude=39.93, longitude=116.42)
    after = client.patch(f"{API}/warehouses/WH-A", json={"latitude": -12.5}).get_json()
    assert (after["latitude"], after["longitude"]) == (-12.5, 116.42)


def test_patch_county_code_rederives_city_and_province(client, new_warehouse):
    new_warehouse("WH-A")

    response = client.patch(f"{API}/warehouses/WH-A", json={"county_code": "440305"})

    assert response.status_code == 200
    after = response.get_json()
    assert (after["county_code"], after["city_code"], after["province_code"]) == ("440305", "440300", "440000")
    stored = client.get(f"{API}/warehouses/WH-A").get_json()
    assert (stored["city_code"], stored["province_code"], stored["county_name"]) == ("440300", "440000", "南山区")


def test_patch_county_code_response_names_the_new_county(client, new_warehouse):
    new_warehouse("WH-A")
    response = client.patch(f"{API}/warehouses/WH-A", json={"county_code": "440305"})
    assert response.get_json()["county_name"] == "南山区"


def test_patch_status_inactive_stops_receipts_but_not_issues(client, new_warehouse, receive):
    new_warehouse("WH-A")
    line = receive("WH-A", 10)["stock_line_id"]

    assert client.patch(f"{API}/warehouses/WH-A", json={"status": "inactive"}).status_code == 200

    refused = client.post(f"{API}/receipts", json={"warehouse_code": "WH-A", "item_code": "PD-001", "quantity": 1})
    assert_problem(refused, 409, "warehouse_code")
    assert client.post(f"{API}/stock-lines/{line}/issues", json={"quantity": 4}).status_code == 201


# --- delete --------------------------------------------------------------------------------------


def test_delete_never_stocked_warehouse_is_204_and_then_it_is_gone(client, new_warehouse):
    new_warehouse("WH-A")

    response = client.delete(f"{API}/warehouses/WH-A")

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(client.get(f"{API}/warehouses/WH-A"), 404, "code")
    assert table_snapshot()["counts"]["warehouse"] == 0


def test_delete_warehouse_with_stock_lines_is_409_and_it_stays(client, new_warehouse, receive):
    new_warehouse("WH-A")
    receive("WH-A", 5)

    problem = assert_problem(client.delete(f"{API}/warehouses/WH-A"), 409, "code")

    assert "inactive" in problem["detail"]
    assert client.get(f"{API}/warehouses/WH-A").status_code == 200


def test_delete_is_409_even_once_every_stock_line_is_empty(client, new_warehouse, receive):
    new_warehouse("WH-A")
    line = receive("WH-A", 5)["stock_line_id"]
    assert client.post(f"{API}/stock-lines/{line}/issues", json={"quantity": 5}).status_code == 201

    assert_problem(client.delete(f"{API}/warehouses/WH-A"), 409, "code")


# --- list filters --------------------------------------------------------------------------------


@pytest.fixture
def network(new_warehouse, receive):
    """Five warehouses over Beijing and Guangdong, some holding activated carbon (PD-001)."""
    new_warehouse("BJ-1", name="东城政府储备库", county_code="110101", level="county")
    new_warehouse("BJ-2", name="朝阳化工企业应急库", county_code="110105", reserve_type="enterprise", level="county")
    new_warehouse("GD-1", name="南山第三方储备点", county_code="440305", reserve_type="third_party", level="municipal")
    new_warehouse("GD-2", name="东莞生产保障库", county_code="441900", reserve_type="production", level="provincial")
    new_warehouse("GD-3", name="广东省级储备库", county_code="440305", level="provincial", status="inactive")
    receive("BJ-1", 10)
    receive("GD-1", 2, item_code="PD-002")
    emptied = receive("GD-2", 3)["stock_line_id"]
    return emptied


BY_REGION = [
    ("110000", ["BJ-1", "BJ-2"]),  # 北京市, province
    ("110100", ["BJ-1", "BJ-2"]),  # 北京市, city
    ("110105", ["BJ-2"]),  # 朝阳区, county
    ("440000", ["GD-1", "GD-2", "GD-3"]),  # 广东省
    ("440300", ["GD-1", "GD-3"]),  # 深圳市
    ("440305", ["GD-1", "GD-3"]),  # 南山区
    ("441900", ["GD-2"]),  # 东莞市: city and county at once
    ("120000", []),  # 天津市: nothing there
]


def test_list_filters_by_region_at_province_city_or_county_level(client, network, subtests):
    for region, expected in BY_REGION:
        with subtests.test(region=region):
            assert codes(client.get(f"{API}/warehouses", query_string={"region": region})) == expected


def test_list_with_unknown_region_is_422_naming_region(client, network):
    assert_problem(client.get(f"{API}/warehouses?region=999999"), 422, "region")


BY_FIELDS = [
    ({}, ["BJ-1", "BJ-2", "GD-1", "GD-2", "GD-3"]),
    ({"reserve_type": "government"}, ["BJ-1", "GD-3"]),
    ({"reserve_type": "enterprise"}, ["BJ-2"]),
    ({"reserve_type": "third_party"}, ["GD-1"]),
    ({"reserve_type": "production"}, ["GD-2"]),
    ({"status": "active"}, ["BJ-1", "BJ-2", "GD-1", "GD-2"]),
    ({"status": "inactive"}, ["GD-3"]),
    ({"level": "provincial"}, ["GD-2", "GD-3"]),
    ({"level": "national"}, []),
    ({"level": "provincial", "status": "active", "region": "440000"}, ["GD-2"]),
    ({"q": "储备"}, ["BJ-1", "GD-1", "GD-3"]),
    ({"q": "GD-"}, ["GD-1", "GD-2", "GD-3"]),
    ({"q": "gd-"}, ["GD-1", "GD-2", "GD-3"]),  # case-insensitive on every database
    ({"q": "%"}, []),  # LIKE wildcards are taken literally
    ({"q": "_"}, []),
]


def test_list_filters_by_reserve_type_status_level_and_q(client, network, subtests):
    for query, expected in BY_FIELDS:
        with subtests.test(**query):
            assert codes(client.get(f"{API}/warehouses", query_string=query)) == expected


def test_list_by_item_keeps_warehouses_holding_a_positive_quantity_of_it(client, network):
    emptied_line = network
    assert codes(client.get(f"{API}/warehouses?item=PD-001")) == ["BJ-1", "GD-2"]

    assert client.post(f"{API}/stock-lines/{emptied_line}/issues", json={"quantity": 3}).status_code == 201

    assert codes(client.get(f"{API}/warehouses?item=PD-001")) == ["BJ-1"]
    assert codes(client.get(f"{API}/warehouses?item=PD-002")) == ["GD-1"]
    assert codes(client.get(f"{API}/warehouses?item=SC-001")) == []
    assert client.get(f"{API}/warehouses?item=NO-SUCH").status_code == 404  # no such item: not "held nowhere"


BAD_QUERIES = [
    ({"reserve_type": "military"}, "reserve_type"),
    ({"status": "closed"}, "status"),
    ({"level": "village"}, "level"),
    ({"q": "x" * 101}, "q"),
    ({"page": 0}, "page"),
    ({"page": "first"}, "page"),
    ({"page_size": 0}, "page_size"),
]


def test_list_with_a_bad_query_parameter_is_422_naming_it(client, subtests):
    for query, field in BAD_QUERIES:
        with subtests.test(field=field, value=query[field]):
            assert_problem(client.get(f"{API}/warehouses", query_string=query), 422, field)


# --- pagination ----------------------------------------------------------------------------------


def test_list_is_ordered_by_code_and_paginated_with_an_x_pagination_header(client, new_warehouse):
    for code in ("W-3", "W-1", "W-5", "W-2", "W-4"):
        new_warehouse(code)

    first = client.get(f"{API}/warehouses?page_size=2")
    second = client.get(f"{API}/warehouses?page_size=2&page=2")
    last = client.get(f"{API}/warehouses?page_size=2&page=3")

    assert (codes(first), codes(second), codes(last)) == (["W-1", "W-2"], ["W-3", "W-4"], ["W-5"])
    assert pagination(first) == {
        "total": 5,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 1,
        "next_page": 2,
    }
    assert pagination(second)["previous_page"] == 1 and pagination(second)["next_page"] == 3
    assert "next_page" not in pagination(last)


def test_page_beyond_the_last_is_an_empty_list_with_the_total(client, new_warehouse):
    new_warehouse("W-1")
    response = client.get(f"{API}/warehouses?page=9")
    assert codes(response) == []
    assert pagination(response)["total"] == 1


def test_page_size_above_the_maximum_of_500_is_422_naming_page_size(client):
    assert_problem(client.get(f"{API}/warehouses?page_size=501"), 422, "page_size")


def test_page_size_500_the_configured_maximum_is_accepted(client, new_warehouse):
    new_warehouse("W-1")
    response = client.get(f"{API}/warehouses?page_size=500")
    assert response.status_code == 200, response.get_json()


def test_default_page_size_is_50(client):
    response = client.get(f"{API}/items")  # the 61-item catalogue
    assert len(response.get_json()) == 50
    assert pagination(response)["total_pages"] == 2
