"""What an outside check of the running API found (s27), each refusal read as the API answers by default: in
Chinese, naming the field, with nothing written."""

from __future__ import annotations

import re

import pytest

from tests.api.helpers import API, PROBLEM_JSON, assert_problem, table_snapshot

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


def raised_callup(client_for, make_warehouse, stocked_line) -> tuple:
    """A call-up for 10 of the 20 held at warehouse SRC, reserved: its requester, SRC's manager and the order."""
    stocked_line(20, warehouse=make_warehouse("SRC", latitude=39.95, longitude=116.40))
    responder = client_for("responder", username="rita")
    order = responder.post(
        f"{API}/callups",
        json={"incident_name": "泄漏", "lat": 39.90, "lon": 116.40, "needs": [{"item": "PD-001", "quantity": 10}]},
    )
    assert order.status_code == 201, order.json
    return responder, client_for("manager", warehouse_codes=["SRC"]), order.json


def dispatched_shipment(client_for, make_warehouse, stocked_line, session):
    """A call-up line of 10 dispatched as one shipment to the incident site: the requester and the shipment."""
    responder, manager, order = raised_callup(client_for, make_warehouse, stocked_line)
    shipped = manager.post(f"{API}/shipments", json={"line_ids": [order["lines"][0]["id"]]})
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


def test_a_receipt_naming_other_dates_for_a_batch_is_refused_in_chinese(client, stocked_line):
    line = stocked_line(5, batch="B1")  # produced 2026-01-01; activated carbon has no shelf life
    body = {"warehouse_code": line.warehouse.code, "item_code": "PD-001", "quantity": 1, "batch": "B1"}
    before = table_snapshot()
    refused = client.post(f"{API}/receipts", json={**body, "production_date": "2026-02-01"})
    problem = assert_problem(refused, 409, "production_date")
    assert problem["code"] == "batch_production_differs", problem
    assert "生产日期为 2026-01-01，不是 2026-02-01" in chinese_only(problem)
    assert table_snapshot() == before
    english = client.post(
        f"{API}/receipts", json={**body, "production_date": "2026-02-01"}, headers={"Accept-Language": "en"}
    )
    assert "has production_date 2026-01-01, not 2026-02-01" in english.json["detail"]


def test_give_one_of_two_names_the_alternatives_in_chinese(client):
    quota = client.post(f"{API}/quotas", json={"region": "110101", "warehouse": "X", "category": "other", "minimum": 1})
    assert chinese_only(assert_problem(quota, 422, "region")) == "定额对象请给出仓库或行政区之一，不要同时给出"
    quota = client.post(f"{API}/quotas", json={"region": "110101", "minimum": 1})
    assert chinese_only(assert_problem(quota, 422, "item")) == "请给出定额物资：物资或类别"
    coverage = client.get(f"{API}/reports/coverage", query_string={"item": "PD-001", "category": "other"})
    assert "之一" in chinese_only(assert_problem(coverage, 422, "category"))


def test_status_level_and_role_codes_are_named_in_chinese(client_for, make_warehouse, stocked_line, session):
    responder, manager, order = raised_callup(client_for, make_warehouse, stocked_line)
    line = order["lines"][0]["id"]
    assert manager.post(f"{API}/callup-lines/{line}/dispatch", json={}).status_code == 200
    again = manager.post(f"{API}/callup-lines/{line}/dispatch", json={})
    problem = assert_problem(again, 409, "line_id")
    assert chinese_only(problem) == f"调用单明细 {line} 已是“已发运”状态"
    assert problem["params"]["status"] == "dispatched"  # programs keep the code
    cancel = responder.post(f"{API}/callups/{order['code']}/cancel", json={"reason": "x"})
    assert chinese_only(assert_problem(cancel, 409)).endswith("的状态为“已完成”")
    city = responder.post(f"{API}/incidents", json={"name": "x", "incident_type": "water", "county_code": "110100"})
    assert (
        chinese_only(assert_problem(city, 422, "county_code")) == "行政区 110100（北京市）是地级行政区；请给出县级单位"
    )
    viewer = client_for("viewer")
    settlement = viewer.get(f"{API}/unit-prices")
    assert chinese_only(assert_problem(settlement, 403)) == "“只读用户”角色无权查看结算"
    assert chinese_only(assert_problem(viewer.get(f"{API}/audit"), 403)) == "“只读用户”角色无权访问此内容"
    english = manager.post(f"{API}/callup-lines/{line}/dispatch", json={}, headers={"Accept-Language": "en"})
    assert english.mimetype == PROBLEM_JSON and english.json["detail"] == f"call-up line {line} is already dispatched"


def test_a_stale_if_match_is_refused_in_chinese(client, make_warehouse, session):
    make_warehouse("WH-A")
    session.commit()
    refused = client.patch(f"{API}/warehouses/WH-A", json={"notes": "x"}, headers={"If-Match": '"stale"'})
    problem = assert_problem(refused, 412, "If-Match")
    assert problem["error_codes"]["If-Match"][0]["code"] == "stale_if_match"
    assert problem["errors"]["If-Match"] == ["已过期：与当前的 ETag 不符"]


def test_unit_prices_are_read_within_the_readers_scope(client, client_for, make_warehouse, session):
    """Agreed prices are money, read as the settlement sheet is: a manager their sources, provincial staff their
    province; a manager used to read every price in the country."""
    make_warehouse("BJ-ENT", reserve_type="enterprise")  # 东城区, Beijing
    make_warehouse("HN-ENT", reserve_type="enterprise", county_code="410103", latitude=34.73, longitude=113.64)
    session.commit()
    for code in ("BJ-ENT", "HN-ENT"):
        set_price = client.post(f"{API}/unit-prices", json={"warehouse_code": code, "item": "PD-001", "price": 8})
        assert set_price.status_code == 200, set_price.json
    readers = {
        "admin": client,
        "Beijing manager": client_for("manager", warehouse_codes=["BJ-ENT"]),
        "Henan staff": client_for("provincial", province_code="410000"),
    }
    seen = {
        name: sorted(price["warehouse_code"] for price in reader.get(f"{API}/unit-prices").json)
        for name, reader in readers.items()
    }
    assert seen == {"admin": ["BJ-ENT", "HN-ENT"], "Beijing manager": ["BJ-ENT"], "Henan staff": ["HN-ENT"]}
    # Another's source asked for by code is refused, not answered "no price" (as the settlement sheet does)
    asked = readers["Beijing manager"].get(f"{API}/unit-prices", query_string={"warehouse": "HN-ENT"})
    assert assert_problem(asked, 403, "warehouse")["code"] == "warehouse_outside_scope"
    asked = readers["Henan staff"].get(f"{API}/unit-prices", query_string={"warehouse": "BJ-ENT"})
    assert assert_problem(asked, 403, "warehouse")["code"] == "warehouse_outside_scope"
    asked = readers["Beijing manager"].get(f"{API}/unit-prices", query_string={"warehouse": "NO-SUCH"})
    assert assert_problem(asked, 404, "warehouse")["code"] == "no_warehouse"
    mine = readers["Beijing manager"].get(f"{API}/unit-prices", query_string={"warehouse": "BJ-ENT"})
    assert [price["warehouse_code"] for price in mine.json] == ["BJ-ENT"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks example.org/emi", "不是有效的网址：含有空白字符"),  # was saved: a host no worker can reach
        ("http://hooks.example.org:99999/", "不是有效的网址：端口须在 0 到 65535 之间"),
        ("http://hooks.example.org:web/", "不是有效的网址：端口 'web' 不是整数"),
        ("http://[::1/emi", "不是有效的网址：IPv6 地址格式无效"),
    ],
    ids=["space", "port-range", "port-text", "ipv6"],
)
def test_a_webhook_url_that_is_no_url_is_refused_in_chinese(client, url, why):
    refused = client.put(f"{API}/notifications/settings", json={"webhook_url": url})
    assert assert_problem(refused, 422, "webhook_url")["errors"]["webhook_url"] == [why]
    assert client.get(f"{API}/notifications/settings").json["webhook_url"] == ""


@pytest.mark.parametrize(
    ("county", "code"),
    [
        ("北京市海淀区", "110108"),
        ("江苏省南京市鼓楼区", "320106"),
        ("福州市鼓楼区", "350102"),
        ("广东省东莞市", "441900"),
    ],
    ids=["haidian", "nanjing-gulou", "fuzhou-gulou", "dongguan"],
)
def test_an_incident_place_written_with_its_province_or_city_is_found(client, county, code):
    """The way people write a place (北京市海淀区) used to be "no county or city named …", even for the
    南京市鼓楼区 that the refusal of a bare 鼓楼区 asks for."""
    found = client.get(f"{API}/nearest", query_string={"county": county, "item": "PD-001"})
    assert found.status_code == 200, found.json
    assert found.json["incident"]["county_code"] == code


def test_a_bare_shared_place_name_is_still_refused_with_the_candidates(client):
    refused = client.get(f"{API}/nearest", query_string={"county": "鼓楼区", "item": "PD-001"})
    assert assert_problem(refused, 422, "county")["code"] == "ambiguous_place"


@pytest.mark.parametrize("county", ["上海市海淀区", "河北省海淀区", "广东省鼓楼区"])
def test_an_incident_place_written_with_a_province_or_city_it_is_not_in_is_no_place(client, county):
    """上海市海淀区 answered distances from Beijing's 海淀区: the province a responder wrote was dropped."""
    refused = client.get(f"{API}/nearest", query_string={"county": county, "item": "PD-001"})
    assert assert_problem(refused, 404, "county")["code"] == "no_place_named"


def test_no_token_is_made_for_a_deactivated_account(client, client_for):
    """It was shown once, refused at every use, and woke up with a later reactivation (which is meant to bring
    no old token back)."""
    client_for("viewer", username="vera")  # the account (and a token of its own)
    assert client.patch(f"{API}/users/vera", json={"active": False}).status_code == 200
    refused = client.post(f"{API}/users/vera/tokens", json={"name": "laptop", "days": 30})
    problem = assert_problem(refused, 409, "username")
    assert (problem["code"], problem["detail"]) == (
        "token_for_deactivated",
        "账号 vera 已停用：请先启用，再为其创建令牌",
    )
    assert all(token["revoked_at"] for token in client.get(f"{API}/users/vera/tokens").json)  # none made


@pytest.mark.parametrize("role", ["admin", "manager", "responder", "viewer"])
def test_a_province_for_a_role_without_one_is_refused_not_dropped(client, role):
    """{"role": "admin", "province_code": "110000"} made a national administrator without a word (a
    warehouse for a role without warehouses is refused the same way)."""
    created = client.post(
        f"{API}/users",
        json={"username": "li.wei", "role": role, "province_code": "110000", "password": "correct horse battery"},
    )
    problem = assert_problem(created, 422, "province_code")
    assert problem["errors"]["province_code"] == ["只有省级用户可以指定 province_code"]
    assert client.get(f"{API}/users/li.wei").status_code == 404
    made = client.post(
        f"{API}/users",
        json={
            "username": "li.wei",
            "role": "provincial",
            "province_code": "110000",
            "password": "correct horse battery",
        },
    )
    assert made.status_code == 201
    assert_problem(
        client.patch(f"{API}/users/li.wei", json={"role": role, "province_code": "110000"}), 422, "province_code"
    )
    demoted = client.patch(f"{API}/users/li.wei", json={"role": role})  # a role change alone drops the province
    assert demoted.status_code == 200 and demoted.json["province_code"] is None


def test_a_name_several_items_answer_to_is_refused_in_chinese(client):
    """Two items may share a name (here a second 活性炭): the search then lists them, in Chinese too."""
    created = client.post(f"{API}/items", json={"code": "AC-2", "name": "活性炭", "category": "other", "unit": "袋"})
    assert created.status_code == 201, created.json
    refused = client.get(f"{API}/nearest", query_string={"county": "海淀区", "item": "活性炭"})
    problem = assert_problem(refused, 422, "item")
    assert problem["code"] == "item_ambiguous"
    assert problem["detail"] == "'活性炭' 对应多个物资（PD-001 活性炭, AC-2 活性炭）：请给出物资编码"
