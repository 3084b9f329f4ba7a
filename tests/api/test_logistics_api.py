"""Logistics over HTTP: an incident, its shipments, receipt, consumption, return and settlement sheet."""

from __future__ import annotations

import io

import openpyxl

API = "/api/v1"


def seed(make_warehouse, stocked_line, session):
    ent = make_warehouse("ENT", reserve_type="enterprise", latitude=39.95, longitude=116.40, organisation="某化工企业")
    gov = make_warehouse("GOV", reserve_type="government", latitude=39.97, longitude=116.40)
    stocked_line(12, warehouse=ent, item_code="PD-001", batch="E1")
    stocked_line(30, warehouse=ent, item_code="PD-001", batch="E2")
    stocked_line(40, warehouse=gov, item_code="PD-003", batch="G1")
    session.commit()


def raise_against(client, incident_code: str, item: str, quantity: int, reserve_type: str):
    body = {
        "incident_code": incident_code,
        "lat": 39.90,
        "lon": 116.40,
        "needs": [{"item": item, "quantity": quantity}],
        "reserve_type_preference": [reserve_type],
    }
    response = client.post(f"{API}/callups", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_an_incident_over_http_from_call_up_to_settlement_sheet(client_for, make_warehouse, stocked_line, session):
    seed(make_warehouse, stocked_line, session)
    rita = client_for("responder", username="rita")
    ent_manager = client_for("manager", warehouse_codes=["ENT"])
    gov_manager = client_for("manager", warehouse_codes=["GOV"])
    beijing = client_for("provincial", province_code="110000")

    bad = rita.post(f"{API}/incidents", json={"name": "x", "incident_type": "flood"})
    assert bad.status_code == 422 and "incident_type" in bad.json["errors"]
    created = rita.post(
        f"{API}/incidents",
        json={"name": "苯酚泄漏", "incident_type": "chemical_spill", "county_code": "110101", "place": "京密引水渠"},
    )
    assert created.status_code == 201, created.json
    code = created.json["code"]
    carbon = raise_against(rita, code, "PD-001", 20, "enterprise")
    slaked = raise_against(rita, code, "PD-003", 10, "government")
    assert carbon["incident_code"] == code and carbon["incident_name"] == "苯酚泄漏"

    # The enterprise's two batches as one shipment; the government line alone with its details.
    lines = [line["id"] for line in carbon["lines"]]
    assert ent_manager.post(f"{API}/shipments", json={"line_ids": [slaked["lines"][0]["id"]]}).status_code == 403
    shipped = ent_manager.post(
        f"{API}/shipments", json={"line_ids": lines, "carrier": "顺丰", "driver": "王", "driver_phone": "138"}
    )
    assert shipped.status_code == 201, shipped.json
    first = shipped.json
    assert (first["status"], first["source_warehouse_code"], len(first["lines"])) == ("in_transit", "ENT", 2)
    one = gov_manager.post(
        f"{API}/callup-lines/{slaked['lines'][0]['id']}/dispatch", json={"vehicle": "京B1", "eta": "2000-01-01T00:00Z"}
    )
    assert one.status_code == 422 and "eta" in one.json["errors"]  # before the departure (now)
    assert gov_manager.post(f"{API}/callup-lines/{slaked['lines'][0]['id']}/dispatch", json={}).status_code == 200
    second = rita.get(f"{API}/shipments", query_string={"warehouse": "GOV"}).json[0]
    ledger = rita.get(f"{API}/movements", query_string={"reference": carbon["code"]}).json
    assert {m["kind"] for m in ledger} == {"ship_out"}

    # Receipt: the enterprise shipment short by 2 on one line, with a reason; only the requester receives.
    short_line = first["lines"][0]
    receipt = {"lines": [{"id": short_line["id"], "received": short_line["quantity"] - 2}]}
    assert ent_manager.post(f"{API}/shipments/{first['code']}/receive", json=receipt).status_code == 403
    refused = rita.post(f"{API}/shipments/{first['code']}/receive", json=receipt)
    assert refused.status_code == 422 and "lines[0].reason" in refused.json["errors"]
    receipt["lines"][0]["reason"] = "两袋破损遗撒"
    received = rita.post(f"{API}/shipments/{first['code']}/receive", json=receipt)
    assert received.status_code == 200 and received.json["lines"][0]["short"] == 2.0
    again = rita.post(f"{API}/shipments/{first['code']}/receive", json={})
    assert again.status_code == 409
    assert rita.post(f"{API}/shipments/{second['code']}/receive", json={}).status_code == 200

    # Consumption and a partial return to the government store.
    for line in carbon["lines"]:
        used = line["quantity"] - 2 if line["id"] == short_line["id"] else line["quantity"]
        body = {"callup_line_id": line["id"], "quantity": used}
        assert rita.post(f"{API}/incidents/{code}/consumption", json=body).status_code == 201
    gov_line = slaked["lines"][0]["id"]
    body = {"callup_line_id": gov_line, "quantity": 7}
    assert rita.post(f"{API}/incidents/{code}/consumption", json=body).status_code == 201
    returns = f"{API}/incidents/{code}/returns"
    too_much = rita.post(returns, json={"lines": [{"callup_line_id": gov_line, "quantity": 4}]})
    assert too_much.status_code == 409 and "lines[0].quantity" in too_much.json["errors"]
    back = rita.post(returns, json={"lines": [{"callup_line_id": gov_line, "quantity": 3}]})
    assert back.status_code == 201 and back.json["target_warehouse_code"] == "GOV"
    assert rita.post(f"{API}/incidents/{code}/close").status_code == 409  # the return is on the road
    assert gov_manager.post(f"{API}/shipments/{back.json['code']}/receive", json={}).status_code == 200
    closed = rita.post(f"{API}/incidents/{code}/close")
    assert closed.status_code == 200 and closed.json["status"] == "closed"

    view = rita.get(f"{API}/incidents/{code}").json
    for line in view["lines"]:
        assert line["dispatched"] == line["received"] + line["lost"]
        assert line["received"] == line["consumed"] + line["returned"] and line["on_site"] == 0
    events = [entry["event"] for entry in view["timeline"]]
    assert events[0] == "opened" and events[-1] == "closed" and "returned" in events

    # What the server wrote into ledger reasons and notes, stored as English templates, in the reader's language
    # (the tests' default is English); a person's words in them as written.
    zh = {"Accept-Language": "zh-CN"}
    notes = [entry["note"] for entry in rita.get(f"{API}/incidents/{code}", headers=zh).json["timeline"]]
    english = [entry["note"] for entry in view["timeline"]]
    assert "short 2.000: 两袋破损遗撒" in english and "短少 2：两袋破损遗撒" in notes, notes
    assert "all needs covered" in english and "全部需求已安排" in notes
    reasons = {m["reason"] for m in rita.get(f"{API}/movements", query_string={"reference": carbon["code"]}).json}
    chinese = {
        m["reason"] for m in rita.get(f"{API}/movements", query_string={"reference": carbon["code"]}, headers=zh).json
    }
    assert reasons == {f"call-up {carbon['code']}"} and chinese == {f"调用单 {carbon['code']}"}
    received_in = rita.get(f"{API}/movements", headers=zh).json
    assert any(m["reason"] == f"发运单 {back.json['code']} 已接收" for m in received_in), received_in
    raised = rita.get(f"{API}/callups/{carbon['code']}", headers=zh).json["events"][0]
    assert (raised["event"], raised["note"]) == ("raised", "全部需求已安排")

    # Settlement: a price set by Beijing's staff, the sheet as JSON and as a workbook.
    price = {"warehouse_code": "ENT", "item": "活性炭", "price": 1000, "agreement": "储备协议"}
    assert rita.post(f"{API}/unit-prices", json=price).status_code == 403
    assert beijing.post(f"{API}/unit-prices", json=price).status_code == 200
    assert beijing.post(f"{API}/unit-prices", json={**price, "warehouse_code": "GOV"}).status_code == 422
    assert rita.get(f"{API}/incidents/{code}/settlement").status_code == 403
    # another's warehouse is refused whether it took part or not (an empty sheet for one, a 403 for the other, said
    # which warehouses outside the manager's took part)
    make_warehouse(code="IDLE")
    session.commit()
    sheet_of = lambda client, warehouse: client.get(  # noqa: E731
        f"{API}/incidents/{code}/settlement", query_string={"warehouse": warehouse}
    )
    assert [sheet_of(ent_manager, other).status_code for other in ("GOV", "IDLE", "ENT")] == [403, 403, 200]
    sheet = beijing.get(f"{API}/incidents/{code}/settlement").json
    assert [(r["warehouse_code"], r["consumed"], r["lost"], r["charged"]) for r in sheet["rows"]] == [
        ("ENT", 18.0, 2.0, 20.0)
    ]
    assert sheet["total_amount"] == "20000.00"
    assert [(r["warehouse_code"], r["charged"]) for r in sheet["replenishment"]] == [("GOV", 7.0)]
    download = beijing.get(f"{API}/incidents/{code}/settlement.xlsx")
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    rows = list(book["结算"].iter_rows(min_row=3, values_only=True))
    headers = [cell.value for cell in book["结算"][2]]
    assert rows[-1][0] == "合计" and rows[-1][headers.index("金额（元）")] == 20000
    assert rows[0][headers.index("结算数量")] == 20
    assert book["补充储备"]["A3"].value == "GOV"


def test_transfer_shipment_is_received_by_the_target(client_for, make_warehouse, stocked_line, session):
    seed(make_warehouse, stocked_line, session)
    ent_manager = client_for("manager", warehouse_codes=["ENT"])
    gov_manager = client_for("manager", warehouse_codes=["GOV"])
    e1 = ent_manager.get(f"{API}/stock-lines", query_string={"warehouse": "ENT", "batch": "E1"}).json[0]
    body = {
        "to_warehouse_code": "GOV",
        "lines": [{"stock_line_id": e1["id"], "quantity": 5}],
        "eta": "2199-01-01T00:00Z",
    }
    sent = ent_manager.post(f"{API}/shipments/transfers", json=body)
    assert sent.status_code == 201, sent.json
    detail = ent_manager.get(f"{API}/stock-lines/{e1['id']}").json
    assert (detail["quantity"], detail["available"]) == (7.0, 7.0)
    assert [(t["shipment_code"], t["target_warehouse_code"], t["quantity"]) for t in detail["in_transit"]] == [
        (sent.json["code"], "GOV", 5.0)
    ]
    assert detail["in_transit_quantity"] == 5.0
    listed = ent_manager.get(f"{API}/stock-lines", query_string={"warehouse": "ENT"}).json
    assert {line["batch"]: line["in_transit_quantity"] for line in listed} == {"E1": 5.0, "E2": 0.0}
    assert ent_manager.post(f"{API}/shipments/{sent.json['code']}/receive", json={}).status_code == 403
    assert gov_manager.post(f"{API}/shipments/{sent.json['code']}/receive", json={}).status_code == 200
    arrived = gov_manager.get(f"{API}/stock-lines", query_string={"warehouse": "GOV", "batch": "E1"}).json
    assert [line["quantity"] for line in arrived] == [5.0]
    assert ent_manager.get(f"{API}/stock-lines/{e1['id']}").json["in_transit"] == []
    after = ent_manager.get(f"{API}/stock-lines", query_string={"warehouse": "ENT", "batch": "E1"}).json
    assert [line["in_transit_quantity"] for line in after] == [0.0]
    unknown = ent_manager.post(f"{API}/shipments/transfers", json={**body, "to_warehouse_code": "NOPE"})
    assert unknown.status_code == 404 and "to_warehouse_code" in unknown.json["errors"]


def test_a_dispatch_note_stays_on_its_shipment(client_for, make_warehouse, stocked_line, session):
    """The note given at dispatch is the shipment's note (README: `POST /shipments {…, "note"}`), the ledger
    reason after the order code and each line's reason, whether lines leave together or one alone."""
    seed(make_warehouse, stocked_line, session)
    rita = client_for("responder", username="rita")
    ent_manager = client_for("manager", warehouse_codes=["ENT"])
    gov_manager = client_for("manager", warehouse_codes=["GOV"])
    code = rita.post(f"{API}/incidents", json={"name": "苯酚泄漏", "incident_type": "chemical_spill"}).json["code"]
    carbon = raise_against(rita, code, "PD-001", 20, "enterprise")
    slaked = raise_against(rita, code, "PD-003", 10, "government")
    lines = [line["id"] for line in carbon["lines"]]
    shipped = ent_manager.post(f"{API}/shipments", json={"line_ids": lines, "note": "走京港澳高速"})
    assert shipped.status_code == 201, shipped.json
    assert ent_manager.get(f"{API}/shipments/{shipped.json['code']}").json["note"] == "走京港澳高速"
    one = gov_manager.post(f"{API}/callup-lines/{slaked['lines'][0]['id']}/dispatch", json={"note": "夜间到达"})
    assert one.status_code == 200, one.json
    assert one.json["reason"] == "夜间到达"
    alone = rita.get(f"{API}/shipments", query_string={"warehouse": "GOV"}).json[0]
    assert alone["note"] == "夜间到达"
    ledger = rita.get(f"{API}/movements", query_string={"reference": carbon["code"]}).json
    assert {m["reason"] for m in ledger} == {f"call-up {carbon['code']}: 走京港澳高速"}
    assert {line["reason"] for line in rita.get(f"{API}/callups/{carbon['code']}").json["lines"]} == {"走京港澳高速"}


def test_an_incident_takes_its_county_by_name_as_the_nearest_search_does(client_for):
    """`county` is a code or a name, found as `/nearest?county=` finds it; the record keeps the code."""
    rita = client_for("responder", username="rita")
    body = {"name": "苯酚泄漏", "incident_type": "chemical_spill"}
    for county in ("东城区", "东城", "北京市东城区", "110101"):
        created = rita.post(f"{API}/incidents", json={**body, "county": county})
        assert created.status_code == 201, (county, created.json)
        assert created.json["county_code"] == "110101"
    for county, status in (("北京", 422), ("上海市东城区", 404), ("没有这个地方", 404)):
        refused = rita.post(f"{API}/incidents", json={**body, "county": county})
        assert refused.status_code == status and "county" in refused.json["errors"], (county, refused.json)
    both = {**body, "county": "东城", "county_code": "110101"}
    refused = rita.post(f"{API}/incidents", json=both, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 422 and "不要同时给出" in refused.json["errors"]["county"][0]


def test_a_row_id_past_any_row_is_refused_naming_it(client, make_warehouse):
    """An id in a body past a 32-bit integer (9223372036854775808) reached the database driver: a 500 (SQLite:
    "Python int too large to convert to SQLite INTEGER"). It is now a 422 naming the field, as the path's ids
    are bounded (a 404 for /stock-lines/9223372036854775808)."""
    make_warehouse("SRC")
    make_warehouse("DST")
    incident = client.post(
        f"{API}/incidents", json={"name": "溢油", "incident_type": "oil_spill", "county_code": "110101"}
    ).json["code"]
    huge = 2**63
    refused = {
        "/shipments": ({"line_ids": [huge]}, "line_ids"),
        "/shipments/transfers": (
            {"to_warehouse_code": "DST", "lines": [{"stock_line_id": huge, "quantity": 1}]},
            "stock_line_id",
        ),
        f"/incidents/{incident}/consumption": ({"callup_line_id": huge, "quantity": 1}, "callup_line_id"),
        f"/incidents/{incident}/returns": ({"lines": [{"callup_line_id": huge, "quantity": 1}]}, "callup_line_id"),
    }
    for path, (body, field) in refused.items():
        response = client.post(f"{API}{path}", json=body)
        assert response.status_code == 422, (path, response.status_code, response.json)
        assert field in str(response.json["errors"]), (path, response.json)
