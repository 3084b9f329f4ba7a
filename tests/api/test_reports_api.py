"""The HTTP contract of the readiness reports and reserve quotas, their Excel downloads and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from api.extensions import db
from inventory.catalogue import get_item
from inventory.clock import business_today
from inventory.demo import seed_demo
from inventory.geo import Point
from inventory.models import AuditEntry, Item, Region, ReserveQuota, StockLine
from inventory.stock import receive_stock
from tests.api.helpers import API, assert_problem
from tests.unit.test_readiness import point_at_exactly

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(session, make_warehouse):
    """MINE and NEIGHBOUR in Beijing, GD in Shenzhen, each with batches expiring in -3, 0 and 40 days."""
    warehouses = {
        "MINE": make_warehouse("MINE", county_code="110101", name='=HYPERLINK("http://x")东城库'),
        "NEIGHBOUR": make_warehouse("NEIGHBOUR", county_code="110105", latitude=39.92, longitude=116.44),
        "GD": make_warehouse("GD", county_code="440305", latitude=22.53, longitude=113.93),
    }
    for warehouse in warehouses.values():
        for days, quantity in ((-3, "1.5"), (0, 2), (40, 3)):
            receive_stock(
                session,
                warehouse=warehouse,
                item=get_item(session, "PD-001"),
                quantity=Decimal(quantity),
                batch=f"D{days}",
                expiry_date=business_today() + dt.timedelta(days=days),
                actor="tester",
            )
    session.commit()
    return warehouses


def workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    assert response.headers["Content-Disposition"].startswith("attachment")
    return openpyxl.load_workbook(io.BytesIO(response.data))


def rows_of(sheet) -> list[tuple]:
    return [row for row in sheet.iter_rows(min_row=3, values_only=True)]


def header_of(sheet) -> list[str]:
    return [cell.value for cell in sheet[2]]


# --- expiry ------------------------------------------------------------------------------------


def test_expiring_report_is_paginated_json_first_expiry_first(client, world):
    response = client.get(f"{API}/reports/expiring", query_string={"page_size": 4})

    assert response.status_code == 200
    assert json.loads(response.headers["X-Pagination"])["total"] == 6
    lines = response.get_json()
    assert [(line["days_left"], line["expired"]) for line in lines] == [(-3, True)] * 3 + [(0, False)]
    first = lines[0]
    assert (first["warehouse_code"], first["item_code"], first["unit"], first["quantity"]) == (
        "GD",
        "PD-001",
        "吨",
        1.5,
    )
    assert (first["province_name"], first["city_code"], first["county_name"]) == ("广东省", "440300", "南山区")
    wider = client.get(f"{API}/reports/expiring", query_string={"within_days": 40, "page_size": 500}).get_json()
    assert len(wider) == 9 and wider[-1]["days_left"] == 40


@pytest.mark.parametrize(
    ("role", "scope", "seen"),
    [
        ("manager", {"warehouse_codes": ["MINE"]}, {"MINE"}),
        ("provincial", {"province_code": "110000"}, {"MINE", "NEIGHBOUR"}),
        ("responder", {}, {"MINE", "NEIGHBOUR", "GD"}),
        ("viewer", {}, {"MINE", "NEIGHBOUR", "GD"}),
    ],
)
def test_expiring_report_is_clipped_to_the_readers_scope(client_for, world, role, scope, seen):
    reader = client_for(role, **scope)
    lines = reader.get(f"{API}/reports/expiring").get_json()
    assert {line["warehouse_code"] for line in lines} == seen
    book = workbook(reader.get(f"{API}/reports/expiring.xlsx"))
    assert {row[6] for row in rows_of(book.active)} == seen


def test_asking_outside_ones_scope_is_403_naming_the_field(client_for, world):
    provincial = client_for("provincial", province_code="110000")
    manager = client_for("manager", warehouse_codes=["MINE"])
    assert_problem(provincial.get(f"{API}/reports/expiring?region=440000"), 403, "region")
    assert_problem(provincial.get(f"{API}/reports/expiring.xlsx?warehouse=GD"), 403, "warehouse")
    assert_problem(manager.get(f"{API}/reports/expiring?warehouse=NEIGHBOUR"), 403, "warehouse")
    assert_problem(manager.get(f"{API}/reports/expiring?region=440000"), 403, "region")  # none of theirs there
    assert manager.get(f"{API}/reports/expiring?region=110000").status_code == 200
    assert_problem(provincial.get(f"{API}/reports/quotas?region=440300"), 403, "region")
    assert_problem(provincial.get(f"{API}/quotas?region=440300"), 403, "region")


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/reports/expiring?within_days=-1", 422, "within_days"),
        ("/reports/expiring?within_days=3651", 422, "within_days"),
        ("/reports/expiring?within_days=soon", 422, "within_days"),
        ("/reports/expiring?region=11", 422, "region"),
        ("/reports/expiring?region=999999", 422, "region"),
        ("/reports/expiring?warehouse=NOPE", 404, "warehouse"),
        ("/reports/expiring?item=unobtainium", 404, "item"),
        ("/reports/expiring?category=metal", 422, "category"),
        ("/reports/expiring.xlsx?lang=fr", 422, "lang"),
        ("/reports/expiring.xlsx?within_days=-1", 422, "within_days"),
        ("/reports/expiring.xlsx?page=2", 422, "page"),
        ("/reports/quotas?region=abc", 422, "region"),
        ("/reports/quotas?below_only=perhaps", 422, "below_only"),
        ("/reports/coverage", 422, "item"),
        ("/reports/coverage?item=PD-001&category=other", 422, "category"),
        ("/reports/coverage?item=PD-001&radius_km=0", 422, "radius_km"),
        ("/reports/coverage?item=PD-001&radius_km=3000.5", 422, "radius_km"),
        ("/reports/coverage?item=PD-001&radius=50", 422, "radius"),
        ("/reports/coverage?category=other&min_quantity=1", 422, "min_quantity"),
        ("/reports/coverage?item=PD-001&min_quantity=-1", 422, "min_quantity"),
        ("/reports/coverage?item=PD-001&min_quantity=0.0001", 422, "min_quantity"),
        ("/reports/coverage?item=PD-001&province=110100", 422, "province"),
        ("/reports/coverage?item=unobtainium", 404, "item"),
        ("/reports/coverage.xlsx?category=other&lang=de", 422, "lang"),
        ("/reports/dashboard?region=999999", 422, "region"),
        ("/reports/dashboard?level=city", 422, "level"),
        ("/reports/dashboard.xlsx?region=1", 422, "region"),
        ("/quotas?category=metal", 422, "category"),
        ("/quotas?warehouse=NOPE", 404, "warehouse"),
    ],
)
def test_bad_report_input_is_a_problem_naming_the_field(client, url, status, field):
    assert_problem(client.get(f"{API}{url}"), status, field)


def test_reports_need_authentication(anonymous_client):
    for name in ("expiring", "quotas", "coverage", "dashboard"):
        for suffix in ("", ".xlsx"):
            assert_problem(anonymous_client.get(f"{API}/reports/{name}{suffix}?category=other"), 401)
    assert_problem(anonymous_client.get(f"{API}/quotas"), 401)


def test_expiring_workbook_has_the_ledgers_conventions_and_the_jsons_values(client, world):
    lines = client.get(f"{API}/reports/expiring?page_size=500").get_json()
    response = client.get(f"{API}/reports/expiring.xlsx")
    assert f"临期过期物资-all-{business_today():%Y%m%d}.xlsx" in unquote(response.headers["Content-Disposition"])
    book = workbook(response)
    sheet = book["临期物资"]
    assert sheet["A1"].value.startswith("临期与过期物资 — 全国")
    header = header_of(sheet)
    assert header[:8] == ["省份", "省代码", "地市", "地市代码", "区县", "区县代码", "仓库编码", "仓库名称"]
    assert header[-3:] == ["有效期至", "剩余天数", "已过期"]
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:{openpyxl.utils.get_column_letter(len(header))}{len(lines) + 2}"
    assert sheet.column_dimensions["H"].width > 30
    rows = rows_of(sheet)
    column = {name: number for number, name in enumerate(header)}
    assert [(r[column["仓库编码"]], r[column["数量"]], r[column["剩余天数"]]) for r in rows] == [
        (line["warehouse_code"], line["quantity"], line["days_left"]) for line in lines
    ]
    assert all(isinstance(r[column["有效期至"]], dt.datetime) for r in rows)
    assert [r[column["有效期至"]].date().isoformat() for r in rows] == [line["expiry_date"] for line in lines]
    assert {r[column["已过期"]] for r in rows} == {"是", "否"}
    assert {r[column["储备类型"]] for r in rows} == {"政府储备"}
    # Text a spreadsheet would run as a formula is neutralised; the JSON keeps it as it is.
    names = {r[column["仓库名称"]] for r in rows}
    assert '\'=HYPERLINK("http://x")东城库' in names
    assert any(line["warehouse_name"].startswith("=HYPERLINK") for line in lines)

    english = workbook(client.get(f"{API}/reports/expiring.xlsx?lang=en&region=110000"))
    sheet = english["Expiring"]
    assert sheet["A1"].value.startswith("Expired and expiring stock — 北京市（110000）")
    assert header_of(sheet)[:2] == ["Province", "Province code"] and header_of(sheet)[-1] == "Expired"
    assert {row[6] for row in rows_of(sheet)} == {"MINE", "NEIGHBOUR"}


# --- quotas ------------------------------------------------------------------------------------


def _quota_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReserveQuota))


def test_quota_crud_is_audited_and_scoped(client_for, world):
    provincial = client_for("provincial", province_code="110000")
    response = provincial.post(
        f"{API}/quotas", json={"warehouse": "MINE", "item": "活性炭", "minimum": 3.5, "note": "县级"}
    )
    assert response.status_code == 201, response.get_json()
    quota = response.get_json()
    assert {k: quota[k] for k in ("target_type", "target_code", "province_code", "item_code", "unit", "minimum")} == {
        "target_type": "warehouse",
        "target_code": "MINE",
        "province_code": "110000",
        "item_code": "PD-001",
        "unit": "吨",
        "minimum": 3.5,
    }
    assert quota["category"] is None and quota["region_code"] is None and quota["set_by"].startswith("provincial")
    region_quota = provincial.post(f"{API}/quotas", json={"region": "110000", "category": "other", "minimum": 1})
    assert region_quota.status_code == 201 and region_quota.get_json()["target_name"] == "北京市"

    assert provincial.get(f"{API}/quotas/{quota['id']}").get_json()["note"] == "县级"
    changed = provincial.patch(f"{API}/quotas/{quota['id']}", json={"minimum": "4.25"})
    assert changed.status_code == 200 and changed.get_json()["minimum"] == 4.25
    assert_problem(provincial.patch(f"{API}/quotas/{quota['id']}", json={}), 422, "_schema")
    assert_problem(provincial.patch(f"{API}/quotas/{quota['id']}", json={"item": "PD-002"}), 422, "item")
    assert provincial.delete(f"{API}/quotas/{quota['id']}").status_code == 204
    assert_problem(provincial.get(f"{API}/quotas/{quota['id']}"), 404)
    actions = [entry["action"] for entry in provincial.get(f"{API}/audit?object_type=reserve_quota").get_json()]
    assert actions == ["quota.delete", "quota.update", "quota.create", "quota.create"]
    assert [q["target_code"] for q in provincial.get(f"{API}/quotas").get_json()] == ["110000"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"warehouse": "MINE", "item": "PD-001"}, 422, "minimum"),
        ({"warehouse": "MINE", "item": "PD-001", "minimum": 0}, 422, "minimum"),
        ({"warehouse": "MINE", "item": "PD-001", "minimum": "1.2345"}, 422, "minimum"),
        ({"warehouse": "MINE", "item": "PD-001", "minimum": True}, 422, "minimum"),
        ({"warehouse": "MINE", "region": "110000", "item": "PD-001", "minimum": 1}, 422, "region"),
        ({"item": "PD-001", "minimum": 1}, 422, "warehouse"),
        ({"warehouse": "MINE", "item": "PD-001", "category": "other", "minimum": 1}, 422, "category"),
        ({"warehouse": "MINE", "minimum": 1}, 422, "item"),
        ({"warehouse": "MINE", "category": "metal", "minimum": 1}, 422, "category"),
        ({"region": "11", "item": "PD-001", "minimum": 1}, 422, "region"),
        ({"region": "999999", "item": "PD-001", "minimum": 1}, 422, "region"),
        ({"warehouse": "NOPE", "item": "PD-001", "minimum": 1}, 404, "warehouse"),
        ({"warehouse": "MINE", "item": "unobtainium", "minimum": 1}, 404, "item"),
        ({"warehouse": "MINE", "item": "PD-001", "minimum": 1, "set_by": "boss"}, 422, "set_by"),
        ({"warehouse": "MINE", "item": "PD-001", "minimum": 1, "note": "长" * 501}, 422, "note"),
        ({"warehouse": "GD", "item": "PD-001", "minimum": 1}, 403, "warehouse"),
        ({"region": "440000", "item": "PD-001", "minimum": 1}, 403, "region"),
        ({"warehouse": "NEIGHBOUR", "item": "PD-001", "minimum": 1}, 409, "warehouse"),
    ],
)
def test_bad_quota_bodies_are_problems_naming_the_field_and_write_nothing(client_for, world, body, status, field):
    provincial = client_for("provincial", province_code="110000")
    first = provincial.post(f"{API}/quotas", json={"warehouse": "NEIGHBOUR", "item": "PD-001", "minimum": 1})
    assert first.status_code == 201
    before = (_quota_count(), db.session.scalar(select(func.count()).select_from(AuditEntry)))
    assert_problem(provincial.post(f"{API}/quotas", json=body), status, field)
    db.session.remove()
    assert (_quota_count(), db.session.scalar(select(func.count()).select_from(AuditEntry))) == before


@pytest.mark.parametrize(
    ("role", "scope", "own", "other"),
    [
        ("admin", {}, 201, 201),
        ("provincial", {"province_code": "110000"}, 201, 403),
        ("manager", {"warehouse_codes": ["MINE"]}, 403, 403),
        ("responder", {}, 403, 403),
        ("viewer", {}, 403, 403),
    ],
)
def test_only_admins_and_provincial_staff_in_their_province_set_quotas(client_for, world, role, scope, own, other):
    writer = client_for(role, **scope)
    assert writer.post(f"{API}/quotas", json={"warehouse": "MINE", "item": "PD-001", "minimum": 1}).status_code == own
    assert writer.post(f"{API}/quotas", json={"warehouse": "GD", "item": "PD-001", "minimum": 1}).status_code == other
    admin = client_for("admin")
    quota_id = admin.post(f"{API}/quotas", json={"region": "110101", "category": "other", "minimum": 1}).get_json()[
        "id"
    ]
    expected = 200 if own == 201 else 403
    assert writer.patch(f"{API}/quotas/{quota_id}", json={"minimum": 2}).status_code == expected
    assert writer.delete(f"{API}/quotas/{quota_id}").status_code == (204 if own == 201 else 403)


def test_quota_report_shows_held_and_shortfall_met_exactly_is_not_below(client, world):
    # MINE holds 2 + 3 of PD-001 unexpired (the 1.5 expired three days ago).
    met = client.post(f"{API}/quotas", json={"warehouse": "MINE", "item": "PD-001", "minimum": 5}).get_json()
    short = client.post(
        f"{API}/quotas", json={"region": "110000", "category": "pollutant_degradation", "minimum": 10.001}
    )
    short = short.get_json()

    statuses = {s["quota"]["id"]: s for s in client.get(f"{API}/reports/quotas").get_json()}
    assert {k: statuses[met["id"]][k] for k in ("held", "shortfall", "below", "units")} == {
        "held": 5,
        "shortfall": 0,
        "below": False,
        "units": ["吨"],
    }
    assert {k: statuses[short["id"]][k] for k in ("held", "shortfall", "below")} == {
        "held": 10,
        "shortfall": 0.001,
        "below": True,
    }
    below = client.get(f"{API}/reports/quotas?below_only=true").get_json()
    assert [s["quota"]["id"] for s in below] == [short["id"]]
    assert client.get(f"{API}/reports/quotas?region=440000").get_json() == []

    book = workbook(client.get(f"{API}/reports/quotas.xlsx?lang=en"))
    sheet = book["Quotas"]
    header = header_of(sheet)
    assert header[:4] == ["Province code", "Target type", "Target code", "Target"]
    column = {name: number for number, name in enumerate(header)}
    rows = {row[column["Target code"]]: row for row in rows_of(sheet)}
    assert rows["MINE"][column["Held"]] == 5 and rows["MINE"][column["Below"]] == "no"
    assert rows["110000"][column["Shortfall"]] == 0.001 and rows["110000"][column["Below"]] == "yes"
    assert rows["110000"][column["Category"]] == "Pollutant degradation"
    assert rows["MINE"][column["Target type"]] == "Warehouse" and rows["110000"][column["Units"]] == "吨"


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_counts_a_county_exactly_at_the_radius_as_covered(client, session, make_warehouse):
    dongcheng = session.get(Region, "110101")
    edge = point_at_exactly(Point(dongcheng.latitude, dongcheng.longitude), 100.0)
    warehouse = make_warehouse("EDGE", latitude=edge.latitude, longitude=edge.longitude)
    receive_stock(session, warehouse=warehouse, item=get_item(session, "PD-001"), quantity=1, actor="tester")
    session.commit()

    at_radius = client.get(f"{API}/reports/coverage?item=活性炭&radius_km=100").get_json()
    assert "110101" not in {gap["code"] for gap in at_radius["uncovered"]}
    assert at_radius["holders"] == 1 and at_radius["distance"] == "geodesic"
    assert at_radius["item"]["code"] == "PD-001" and at_radius["category"] is None
    hair = repr(math.nextafter(100.0, 0))
    inside = client.get(f"{API}/reports/coverage?item=PD-001&radius_km={hair}").get_json()
    gap = next(gap for gap in inside["uncovered"] if gap["code"] == "110101")
    assert gap == {
        "code": "110101",
        "name": "东城区",
        "city_code": "110100",
        "city_name": "北京市",
        "province_code": "110000",
        "province_name": "北京市",
        "latitude": dongcheng.latitude,
        "longitude": dongcheng.longitude,
        "nearest_km": 100.0,
        "nearest_warehouse_code": "EDGE",
    }
    assert inside["counties_uncovered"] == len(inside["uncovered"]) == at_radius["counties_uncovered"] + 1
    beijing = next(p for p in inside["provinces"] if p["code"] == "110000")
    assert beijing["counties_total"] == 16

    book = workbook(client.get(f"{API}/reports/coverage.xlsx?item=PD-001&radius_km={hair}&province=110000"))
    uncovered, by_province = book["未覆盖区县"], book["按省汇总"]
    assert "活性炭（PD-001）" in uncovered["A1"].value and "北京市（110000）" in uncovered["A1"].value
    header = header_of(uncovered)
    assert header[:6] == ["省份", "省代码", "地市", "地市代码", "区县", "区县代码"]
    rows = {row[5]: row for row in rows_of(uncovered)}
    assert rows["110101"][header.index("最近可用储备距离（km）")] == 100.0
    assert rows["110101"][header.index("纬度")] == dongcheng.latitude
    assert rows_of(by_province) == [("北京市", "110000", 16, len(rows))]
    assert uncovered.freeze_panes == "A3" and by_province.freeze_panes == "A3"


def test_coverage_by_category_reads_back_with_calamine(client, world):
    report = client.get(f"{API}/reports/coverage?category=pollutant_degradation&radius_km=50").get_json()
    assert report["holders"] == 3 and report["min_quantity"] is None
    response = client.get(f"{API}/reports/coverage.xlsx?category=pollutant_degradation&radius_km=50&lang=en")
    sheets = CalamineWorkbook.from_filelike(io.BytesIO(response.data))
    assert sheets.sheet_names == ["Uncovered", "By province"]
    rows = sheets.get_sheet_by_name("Uncovered").to_python()
    assert "Pollutant degradation" in rows[0][0] and "50 km" in rows[0][0]
    assert [row[5] for row in rows[2:]] == [gap["code"] for gap in report["uncovered"]]
    assert [row[8] for row in rows[2:]] == [gap["nearest_km"] for gap in report["uncovered"]]
    provinces = sheets.get_sheet_by_name("By province").to_python()[2:]
    assert sum(row[3] for row in provinces) == report["counties_uncovered"]


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_sums_equal_the_ledger(client, session):
    seed_demo(session, "small")
    session.commit()
    dashboard = client.get(f"{API}/reports/dashboard").get_json()

    direct = {
        code: total
        for code, total in session.execute(
            select(Item.code, func.sum(StockLine.quantity)).join(Item).where(StockLine.quantity > 0).group_by(Item.code)
        )
    }
    summed: dict[str, Decimal] = {}
    for region in dashboard["regions"]:
        for category in region["categories"]:
            for item in category["items"]:
                summed[item["item_code"]] = summed.get(item["item_code"], Decimal(0)) + Decimal(str(item["quantity"]))
    assert summed == direct
    lines = session.scalar(select(func.count()).select_from(StockLine).where(StockLine.quantity > 0))
    assert dashboard["totals"]["stock_lines"] == sum(r["stock_lines"] for r in dashboard["regions"]) == lines
    assert dashboard["totals"]["code"] is None and dashboard["totals"]["name"] == "全国"
    assert len(dashboard["regions"]) == 34
    assert set(dashboard["totals"]["warehouses_by_reserve_type"]) == {
        "government",
        "enterprise",
        "third_party",
        "production",
    }

    book = workbook(client.get(f"{API}/reports/dashboard.xlsx"))
    overview, quantities = book["概况"], book["物资数量"]
    header = header_of(overview)
    assert header[:4] == ["地区代码", "地区", "启用仓库数", "政府储备"]
    rows = rows_of(overview)
    assert len(rows) == 35 and rows[-1][1] == "全国 合计"
    assert rows[-1][header.index("库存条目")] == lines
    assert sum(row[header.index("库存条目")] for row in rows[:-1]) == lines
    assert len(rows_of(quantities)) == sum(
        len(category["items"])
        for region in [*dashboard["regions"], dashboard["totals"]]
        for category in region["categories"]
    )


def test_dashboard_of_a_province_lists_its_cities(client, world):
    dashboard = client.get(f"{API}/reports/dashboard?region=440000").get_json()
    assert dashboard["totals"]["code"] == "440000" and dashboard["totals"]["level"] == "province"
    shenzhen = next(region for region in dashboard["regions"] if region["code"] == "440300")
    assert shenzhen["active_warehouses"] == 1 and shenzhen["stock_lines"] == 3 and shenzhen["expired_lines"] == 1
    [degradation] = [c for c in shenzhen["categories"] if c["category"] == "pollutant_degradation"]
    assert degradation["items"] == [
        {"item_code": "PD-001", "item_name": "活性炭", "unit": "吨", "stock_lines": 3, "quantity": 6.5}
    ]
    assert degradation["stock_lines_by_reserve_type"]["government"] == 3


# --- the command line --------------------------------------------------------------------------


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["report", *args])


def test_cli_expiring_as_a_manager_shows_their_own_warehouses(app, client_for, world):
    client_for("manager", username="zhang.min", warehouse_codes=["MINE"])
    result = run(app, "expiring", "--as", "zhang.min")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2 stock lines expired or expiring within 30 days"
    assert lines[1].split()[:3] == ["days", "left", "expiry"]
    assert [line.split()[2] for line in lines[2:]] == ["MINE", "MINE"]
    assert "1.5 吨" in lines[2]
    everyone = run(app, "expiring", "--within-days", "40", "--region", "110000")
    assert everyone.exit_code == 0 and everyone.output.splitlines()[0].startswith("6 stock lines")


def test_cli_json_is_the_apis_rows(app, client, world):
    result = run(app, "expiring", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == client.get(f"{API}/reports/expiring?page_size=500").get_json()
    client.post(f"{API}/quotas", json={"warehouse": "MINE", "item": "PD-001", "minimum": 5.5})
    quotas = run(app, "quotas", "--below-only", "--json")
    assert json.loads(quotas.output) == client.get(f"{API}/reports/quotas?below_only=true").get_json()
    table = run(app, "quotas")
    assert table.output.splitlines()[0] == "1 quotas, 1 below their minimum" and "BELOW" in table.output
    coverage = run(app, "coverage", "--item", "PD-001", "--radius", "50", "--json")
    api = client.get(f"{API}/reports/coverage?item=PD-001&radius_km=50").get_json()
    assert json.loads(coverage.output) == api
    dashboard = run(app, "dashboard", "--region", "110000")
    assert dashboard.exit_code == 0, dashboard.output
    assert [line.split()[0] for line in dashboard.output.splitlines()[1:]] == ["110100", "110000"]


def test_cli_reports_take_regions_by_name_as_the_api_does(app, client, world):
    """`region=北京` works over HTTP (README: reports take a code or a name); the CLI once said
    "unknown region code '北京'"."""
    for args, query in (
        (["expiring", "--region", "北京"], "expiring?region=110000&page_size=500"),
        (["quotas", "--region", "北京市"], "quotas?region=110000"),
        (["dashboard", "--region", "广东"], "dashboard?region=440000"),
        (["coverage", "--item", "PD-001", "--province", "广东省"], "coverage?item=PD-001&province=440000"),
    ):
        result = run(app, *args, "--json")
        assert result.exit_code == 0, (args, result.output)
        assert json.loads(result.output) == client.get(f"{API}/reports/{query}").get_json(), args
    ambiguous = run(app, "expiring", "--region", "鼓楼区")
    assert ambiguous.exit_code != 0 and "--region: '鼓楼区' names several regions" in ambiguous.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["expiring", "--within-days", "-1"], "--within-days: within_days must be between 0 and 3650"),
        (["expiring", "--as", "nobody"], "no account 'nobody'"),
        (["coverage", "--item", "PD-001", "--radius", "0"], "--radius: radius_km must be above 0"),
        (["coverage", "--category", "other", "--min-quantity", "2"], "--min-quantity: min_quantity needs an item"),
        (["coverage"], "--item: give an item"),
        (["dashboard", "--region", "999999"], "--region: unknown region code"),
    ],
)
def test_cli_errors_name_the_option(app, args, message):
    result = run(app, *args)
    assert result.exit_code != 0
    assert message in result.output
