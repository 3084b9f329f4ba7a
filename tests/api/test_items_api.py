"""The material catalogue over HTTP: create, read, change (aliases replace the list), delete, list and search."""

from __future__ import annotations

import csv
import json

import pytest

from inventory.catalogue import CATALOGUE_CSV
from tests.api.helpers import API, assert_problem, item_payload, table_snapshot, warehouse_payload

with CATALOGUE_CSV.open(encoding="utf-8", newline="") as handle:
    CATALOGUE = list(csv.DictReader(handle))

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["code"] for item in response.get_json()]


def all_pages(client, **query) -> list[dict]:
    response = client.get(f"{API}/items", query_string={**query, "page_size": 100})
    assert response.status_code == 200
    assert json.loads(response.headers["X-Pagination"]).get("total_pages", 0) <= 1
    return response.get_json()


# --- create and read -----------------------------------------------------------------------------


def test_create_is_201_with_every_field_and_get_returns_it(client):
    body = item_payload(
        "NEW-1",
        name="吸油拖栏",
        category="pollutant_collection",
        specification="PP 材质 20 cm",
        unit="米",
        shelf_life_days=1095,
        aliases=["吸油拖栏甲型", "demo oil barrier"],
    )
    response = client.post(f"{API}/items", json=body)

    assert response.status_code == 201
    created = response.get_json()
    assert {key: created[key] for key in body if key != "aliases"} == {k: v for k, v in body.items() if k != "aliases"}
    assert sorted(created["aliases"]) == sorted(["吸油拖栏甲型", "demo oil barrier"])
    fetched = client.get(f"{API}/items/NEW-1").get_json()
    assert {**fetched, "aliases": sorted(fetched["aliases"])} == {**created, "aliases": sorted(created["aliases"])}


def test_create_with_only_the_required_fields_has_no_shelf_life_and_no_aliases(client):
    created = client.post(f"{API}/items", json=item_payload("NEW-1")).get_json()
    assert (created["specification"], created["shelf_life_days"], created["aliases"]) == ("", None, [])


def test_create_drops_repeated_aliases_and_one_equal_to_the_name(client):
    before = table_snapshot()["counts"]["item_alias"]
    body = item_payload("NEW-1", name="防毒面具", aliases=["面罩", "面罩", "防毒面具", " 滤毒罐 "])
    created = client.post(f"{API}/items", json=body).get_json()
    assert sorted(created["aliases"]) == sorted(["滤毒罐", "面罩"])
    assert table_snapshot()["counts"]["item_alias"] == before + 2


def test_get_catalogue_item_pd_001_is_activated_carbon_with_its_aliases(client):
    response = client.get(f"{API}/items/PD-001")
    assert response.status_code == 200
    item = response.get_json()
    assert (item["name"], item["category"], item["unit"], item["shelf_life_days"]) == (
        "活性炭",
        "pollutant_degradation",
        "吨",
        1825,
    )
    assert {"activated carbon", "颗粒活性炭"} <= set(item["aliases"])


def test_get_unknown_item_is_404_problem_naming_code(client):
    problem = assert_problem(client.get(f"{API}/items/XX-999"), 404, "code")
    assert "XX-999" in problem["detail"]


def test_create_with_an_alias_of_another_item_is_409_naming_aliases_and_the_owner(client):
    problem = assert_problem(
        client.post(f"{API}/items", json=item_payload(aliases=["activated carbon"])), 409, "aliases"
    )
    assert "PD-001" in problem["detail"]
    assert_problem(client.get(f"{API}/items/NEW-1"), 404, "code")


# --- patch ---------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(client, new_item):
    before = new_item("NEW-1", shelf_life_days=30, aliases=["甲"])

    response = client.patch(f"{API}/items/NEW-1", json={"name": "改名", "unit": "箱", "shelf_life_days": None})

    assert response.status_code == 200
    after = response.get_json()
    assert (after["name"], after["unit"], after["shelf_life_days"]) == ("改名", "箱", None)
    assert (after["code"], after["category"], after["aliases"], after["id"]) == (
        "NEW-1",
        before["category"],
        ["甲"],
        before["id"],
    )
    assert client.get(f"{API}/items/NEW-1").get_json() == after


def test_patch_aliases_replaces_the_whole_list_and_frees_the_old_ones(client, new_item):
    new_item("NEW-1", aliases=["甲", "乙"])

    response = client.patch(f"{API}/items/NEW-1", json={"aliases": ["乙", "丙"]})

    assert response.status_code == 200
    assert sorted(response.get_json()["aliases"]) == sorted(["乙", "丙"])
    assert sorted(client.get(f"{API}/items/NEW-1").get_json()["aliases"]) == sorted(["乙", "丙"])
    # 甲 is free again: another item may take it.
    assert client.post(f"{API}/items", json=item_payload("NEW-2", aliases=["甲"])).status_code == 201


def test_patch_aliases_to_an_empty_list_removes_them_all(client, new_item):
    new_item("NEW-1", aliases=["甲", "乙"])
    before = table_snapshot()["counts"]["item_alias"]

    response = client.patch(f"{API}/items/NEW-1", json={"aliases": []})

    assert response.get_json()["aliases"] == []
    assert table_snapshot()["counts"]["item_alias"] == before - 2


def test_patch_keeping_its_own_aliases_is_not_a_conflict(client, new_item):
    new_item("NEW-1", aliases=["甲", "乙"])
    response = client.patch(f"{API}/items/NEW-1", json={"aliases": ["乙", "甲"]})
    assert response.status_code == 200
    assert sorted(response.get_json()["aliases"]) == sorted(["甲", "乙"])


def test_patch_with_an_alias_of_another_item_is_409_naming_aliases_and_changes_nothing(client, new_item):
    before_item = new_item("NEW-1", aliases=["甲"])
    before = table_snapshot()

    response = client.patch(f"{API}/items/NEW-1", json={"name": "改名", "aliases": ["甲", "quicklime"]})

    problem = assert_problem(response, 409, "aliases")
    assert "quicklime" in problem["detail"] and "PD-002" in problem["detail"]
    assert table_snapshot() == before
    assert client.get(f"{API}/items/NEW-1").get_json() == before_item
    assert "quicklime" in client.get(f"{API}/items/PD-002").get_json()["aliases"]


def test_patch_unknown_item_is_404_naming_code(client):
    assert_problem(client.patch(f"{API}/items/XX-999", json={"name": "x"}), 404, "code")


def test_the_unit_of_a_stocked_item_cannot_change(client, stocked_line):
    """PATCH {"unit": "千克"} of 活性炭 (stocked in 吨) was a 200: every quantity of it in the country, its ledger,
    call-ups, quotas and prices, was read in kilograms from then on, a thousandth of what lies in the warehouses."""
    stocked_line(100)
    before = table_snapshot()

    problem = assert_problem(client.patch(f"{API}/items/PD-001", json={"unit": "千克"}), 409, "unit")

    assert problem["code"] == "item_unit_in_use", problem
    assert table_snapshot() == before
    assert client.get(f"{API}/items/PD-001").get_json()["unit"] == "吨"
    # the same unit written again, and the other fields, still change
    changed = client.patch(f"{API}/items/PD-001", json={"unit": " 吨 ", "specification": "粉状"})
    assert changed.status_code == 200 and changed.get_json()["specification"] == "粉状"
    chinese = client.patch(f"{API}/items/PD-001", json={"unit": "袋"}, headers={"Accept-Language": "zh-CN"})
    assert chinese.get_json()["detail"] == (
        "物资 PD-001 已有以“吨”计的数量（库存、储备定额、调用、单价或包装换算），不能更改计量单位"
    )
    # the same unit respelled is no change of unit
    respelled = client.patch(f"{API}/items/PD-001", json={"unit": "t"})
    assert respelled.status_code == 200 and respelled.get_json()["unit"] == "t"


def test_the_unit_of_an_item_with_a_quota_and_no_stock_cannot_change(client, new_item):
    """A quota of 100 吨 of a never-stocked item was read as 100 千克 after PATCH {"unit": "千克"} (a 200)."""
    new_item("NEW-1", unit="吨")
    assert client.post(f"{API}/warehouses", json=warehouse_payload("WH-Q")).status_code == 201
    quota = client.post(f"{API}/quotas", json={"warehouse": "WH-Q", "item": "NEW-1", "minimum": 100})
    assert quota.status_code == 201, quota.get_json()

    problem = assert_problem(client.patch(f"{API}/items/NEW-1", json={"unit": "千克"}), 409, "unit")

    assert problem["code"] == "item_unit_in_use", problem


def test_the_unit_of_an_item_never_stocked_may_change(client, new_item):
    new_item("NEW-1")

    response = client.patch(f"{API}/items/NEW-1", json={"unit": "箱"})

    assert response.status_code == 200 and response.get_json()["unit"] == "箱"


# --- delete --------------------------------------------------------------------------------------


def test_delete_never_stocked_item_is_204_and_takes_its_aliases_with_it(client, new_item):
    new_item("NEW-1", aliases=["甲", "乙"])
    before = table_snapshot()["counts"]

    response = client.delete(f"{API}/items/NEW-1")

    assert response.status_code == 204
    assert_problem(client.get(f"{API}/items/NEW-1"), 404, "code")
    after = table_snapshot()["counts"]
    assert (after["item"], after["item_alias"]) == (before["item"] - 1, before["item_alias"] - 2)
    assert client.post(f"{API}/items", json=item_payload("NEW-2", aliases=["甲"])).status_code == 201


def test_delete_a_catalogue_item_never_stocked_is_204(client):
    assert client.delete(f"{API}/items/SC-001").status_code == 204
    assert "SC-001" not in [item["code"] for item in all_pages(client)]


def test_delete_stocked_item_is_409_naming_code_and_it_stays(client, new_warehouse, receive):
    new_warehouse("WH-A")
    receive("WH-A", 1, item_code="PD-004")

    assert_problem(client.delete(f"{API}/items/PD-004"), 409, "code")
    assert client.get(f"{API}/items/PD-004").status_code == 200


# --- list and search -----------------------------------------------------------------------------


def test_list_holds_the_61_item_catalogue_ordered_by_code(client):
    items = all_pages(client)
    assert len(items) == len(CATALOGUE) == 61
    assert [item["code"] for item in items] == sorted(row["code"] for row in CATALOGUE)


def test_list_by_category_gives_exactly_that_category(client, subtests):
    categories = sorted({row["category"] for row in CATALOGUE})
    assert len(categories) == 8
    for category in categories:
        with subtests.test(category=category):
            expected = sorted(row["code"] for row in CATALOGUE if row["category"] == category)
            assert [item["code"] for item in all_pages(client, category=category)] == expected


def test_list_by_an_unknown_category_is_422_naming_category(client):
    assert_problem(client.get(f"{API}/items?category=weapons"), 422, "category")


def test_q_matching_an_alias_finds_the_item_activated_carbon_is_pd_001(client):
    found = all_pages(client, q="activated carbon")
    assert "PD-001" in [item["code"] for item in found]
    # Every hit matches the text in its code, name or one alias (PC-005 is the "activated carbon dam").
    for item in found:
        assert any("activated carbon" in text for text in (item["code"], item["name"], *item["aliases"]))


SEARCHES = [
    ("PD-00", [f"PD-00{n}" for n in range(1, 10)]),  # part of the code
    ("活性炭", ["PC-005", "PD-001"]),  # part of a name
    ("quicklime", ["PD-002"]),  # an English alias
    ("QuickLime", ["PD-002"]),  # in any case, on every database
    ("烧碱", ["PD-004"]),  # a Chinese alias
    ("%", []),  # LIKE wildcards are taken literally
    ("no such thing", []),
]


def test_q_matches_part_of_the_code_name_or_an_alias(client, subtests):
    for q, expected in SEARCHES:
        with subtests.test(q=q):
            assert [item["code"] for item in all_pages(client, q=q)] == expected


def test_q_and_category_combine(client):
    assert [item["code"] for item in all_pages(client, q="活性炭", category="pollutant_control")] == ["PC-005"]


def test_a_new_items_aliases_are_searchable_at_once(client, new_item):
    new_item("NEW-1", aliases=["便携式应急频闪信号灯"])
    assert codes(client.get(f"{API}/items", query_string={"q": "频闪信号"})) == ["NEW-1"]


def test_item_suggestions_follow_typos_and_pinyin_initials(client):
    def suggested(text):
        answer = client.get(f"{API}/item-suggestions", query_string={"q": text})
        assert answer.status_code == 200, answer.get_json()
        return [(s["code"], s["name"], s["how"]) for s in answer.get_json()]

    assert suggested("活性碳")[0][1:] == ("活性炭", "alias")  # the common typo
    assert suggested("hxt")[0][1:] == ("活性炭", "pinyin")
    assert suggested("PD-001") == [("PD-001", "活性炭", "exact")]
    assert all(how == "contains" for _, _, how in suggested("吸油")[:2])
    assert client.get(f"{API}/item-suggestions").status_code == 422
