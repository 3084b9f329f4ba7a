"""``flask nearest``: the same search as the API, as a table or as the API's exact JSON."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from geopy.distance import geodesic

from inventory.catalogue import get_item
from inventory.stock import receive_stock

INCIDENT = (39.93, 116.42)


@pytest.fixture
def depots(session, make_warehouse):
    for code, kilometres, quantity in (("FAR", 60, 50), ("NEAR", 6, 3)):
        destination = geodesic(kilometers=kilometres).destination(INCIDENT, 45)
        warehouse = make_warehouse(
            code,
            name=f"{code} 海淀区环境应急物资储备库",
            latitude=destination.latitude,
            longitude=destination.longitude,
            contact_person="李强",
            contact_phone="13800000000",
        )
        receive_stock(
            session,
            warehouse=warehouse,
            item=get_item(session, "PD-001"),
            quantity=Decimal(quantity),
            batch="B1",
            expiry_date=dt.date(2099, 1, 1),
            actor="tester",
        )
    session.commit()


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["nearest", *args])


def test_table_lists_the_nearest_warehouses_first(app, depots):
    result = run(app, "--lat", "39.93", "--lon", "116.42", "--item", "活性炭", "--quantity", "10")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Nearest 活性炭 (PD-001, 吨) to 39.93, 116.42, within 300 km: 2 warehouses"
    assert lines[1].split()[:4] == ["#", "km", "warehouse", "name"]
    assert lines[2].split()[:3] == ["1", "6.0", "NEAR"] and " no " in lines[2] and "13800000000" in lines[2]
    assert "3 吨, batch B1, expires 2099-01-01" in lines[3]
    assert lines[4].split()[:3] == ["2", "60.0", "FAR"] and " yes " in lines[4]
    # CJK names take two columns each: the columns after them still line up.
    assert lines[2].index("13800000000") == lines[4].index("13800000000")


def test_json_is_exactly_the_api_response_body(app, client, depots):
    result = run(app, "--county", "东城区", "--item", "PD-001", "--limit", "1", "--radius", "100", "--json")
    assert result.exit_code == 0, result.output
    response = client.get("/api/v1/nearest?county=东城区&item=PD-001&limit=1&radius_km=100")
    assert response.status_code == 200
    assert result.output == response.get_data(as_text=True)


def test_reserve_type_and_expiry_options_reach_the_search(app, depots):
    result = run(app, "--lat", "39.93", "--lon", "116.42", "--item", "PD-001", "--reserve-type", "enterprise")
    assert result.exit_code == 0, result.output
    assert "0 warehouses" in result.output.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--item", "PD-001"], "--lat: give the incident location"),
        (
            ["--lat", "30", "--lon", "120", "--item", "PD-001", "--limit", "101"],
            "--limit: limit must be between 1 and 100",
        ),
        (["--lat", "30", "--lon", "120", "--item", "PD-001", "--radius", "9000"], "--radius: radius_km must be"),
        (["--lat", "30", "--lon", "120", "--item", "nothing"], "--item: no item with code, name or alias 'nothing'"),
    ],
)
def test_bad_options_fail_naming_them(app, args, message):
    result = run(app, *args)
    assert result.exit_code == 1
    assert message in result.output
