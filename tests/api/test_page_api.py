"""What the page reads for a map without tiles and for place suggestions: the base map, region names."""

from __future__ import annotations

from tests.api.helpers import API


def test_the_base_map_is_anonymous_compact_and_cached(anonymous_client):
    answer = anonymous_client.get(f"{API}/page/base-map")
    assert answer.status_code == 200
    body = answer.get_json()
    provinces = {name: (lat, lon) for name, lat, lon in body["provinces"]}
    assert len(provinces) >= 31 and provinces["北京市"] == (round(provinces["北京市"][0], 2), provinces["北京市"][1])
    assert 39 < provinces["北京市"][0] < 41 and 115 < provinces["北京市"][1] < 118
    assert any(name == "南京市" for name, _, _ in body["cities"])
    assert len(body["places"]) > 2800  # every county-level place, cities without counties included
    assert all(len(point) == 2 for point in body["places"])
    assert "public" in answer.headers["Cache-Control"] and "max-age=86400" in answer.headers["Cache-Control"]
    assert len(answer.data) < 120_000  # small enough to load with the map

    again = anonymous_client.get(f"{API}/page/base-map", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_county_suggestions_name_their_city_and_province(client):
    answer = client.get(f"{API}/regions", query_string={"level": "county", "name": "鼓楼区"})
    assert answer.status_code == 200
    places = {(r["name"], r["city_name"], r["province_name"]) for r in answer.get_json()}
    assert len(places) == len(answer.get_json()) >= 4  # the four 鼓楼区 are told apart
    assert ("鼓楼区", "南京市", "江苏省") in places
    province = client.get(f"{API}/regions/320000").get_json()
    assert (province["city_name"], province["province_name"]) == (None, None)
