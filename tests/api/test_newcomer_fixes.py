"""What a newcomer tripped on: download names, a decoded "+" in as_of, rounded distances, expired batches
marked, and a demo database that says it is one."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from api.downloads import ascii_file_name, content_disposition
from inventory.catalogue import get_item
from inventory.demo import DEMO_NOTE
from inventory.stock import receive_stock
from tests.api.helpers import API


@pytest.mark.parametrize(
    ("name", "readable", "fallback"),
    [
        (
            "环境应急物资台账-110000-20261130.xlsx",
            "emergency-materials-ledger",
            "emergency-materials-ledger-110000-20261130.xlsx",
        ),
        ("bad-坏-检查结果.xlsx", "ledger-check", "ledger-check-bad.xlsx"),
        (
            "环境应急物资台账模板.xlsx",
            "emergency-materials-ledger-template",
            "emergency-materials-ledger-template.xlsx",
        ),
        (
            "emergency-materials-ledger-all-20261130.xlsx",
            "emergency-materials-ledger",
            "emergency-materials-ledger-all-20261130.xlsx",
        ),
        ('a"b\\c.xlsx', "x", "x-a-b-c.xlsx"),
    ],
)
def test_download_names_have_a_readable_ascii_fallback(name, readable, fallback):
    assert ascii_file_name(name, readable) == fallback


def test_every_download_carries_both_names(client, stocked_line):
    stocked_line()
    for path, readable in (
        (f"{API}/exports/ledger.xlsx", "emergency-materials-ledger-all-"),
        (f"{API}/imports/template.xlsx", "emergency-materials-ledger-template.xlsx"),
        (f"{API}/reports/expiring.xlsx", "expiring-stock-"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        header = response.headers["Content-Disposition"]
        assert header.startswith(f'attachment; filename="{readable}'), header
        assert "filename*=UTF-8''%E" in header  # the Chinese name, percent-encoded
        assert header.isascii()
    assert content_disposition("plain.xlsx", "x") == 'attachment; filename="plain.xlsx"'


def test_a_line_break_in_a_download_name_is_no_server_error(app, client):
    """settlement.xlsx?warehouse=%0A answered 500: the query value was part of the file name, and send_file
    refused to write a header holding a line break. The name is percent-encoded in filename* and dropped from
    the ASCII one. (That query is now a 404 naming the unknown warehouse; a name with a line break is tested at
    send_download, where any route's name goes.)"""
    import io

    from api.downloads import send_download

    incident = client.post(f"{API}/incidents", json={"name": "演练", "incident_type": "other", "county_code": "110101"})
    response = client.get(f"{API}/incidents/{incident.json['code']}/settlement.xlsx?warehouse=a%0Ab")
    assert response.status_code == 404 and "warehouse" in response.json["errors"]
    with app.test_request_context():
        sent = send_download(io.BytesIO(b"x"), "application/octet-stream", "结算-a\nb.xlsx", "settlement-a\nb")
    header = sent.headers["Content-Disposition"]
    assert "\n" not in header and "a%0Ab" in header and header.isascii()


def test_as_of_accepts_the_space_a_decoded_plus_becomes(client, stocked_line):
    line = stocked_line(quantity=7)
    for as_of in ("2099-03-01T00:00:00+08:00", "2099-03-01T00:00:00 08:00", "2099-03-01T00:00 0800"):
        response = client.get(f"{API}/stock-lines/{line.id}", query_string={"as_of": as_of})
        assert response.status_code == 200, (as_of, response.get_json())
        assert response.get_json()["quantity_as_of"] == 7
    # The raw URL a newcomer types: "+" decoded to a space by the query string.
    assert client.get(f"{API}/stock-lines/{line.id}?as_of=2099-03-01T00:00:00+08:00").status_code == 200
    assert client.get(f"{API}/stock-lines/{line.id}?as_of=2099-03-01 00:00").status_code == 422


def test_call_up_distances_are_rounded_to_the_metre(client, stocked_line):
    line = stocked_line(quantity=10)
    body = {
        "incident_name": "测试",
        "lat": line.warehouse.latitude + 0.0123456,
        "lon": line.warehouse.longitude + 0.0234567,
        "needs": [{"item": "PD-001", "quantity": 1}],
    }
    created = client.post(f"{API}/callups", json=body)
    assert created.status_code == 201, created.get_json()
    distances = [source["distance_km"] for source in created.get_json()["lines"]]
    assert distances and all(distance == round(distance, 3) and distance > 0 for distance in distances)


def test_nearest_with_expired_batches_says_which_are_expired(app, client, session, make_warehouse):
    warehouse = make_warehouse("EXP")
    for batch, expiry in (("OLD", dt.date(2020, 1, 1)), ("NEW", dt.date(2099, 1, 1))):
        receive_stock(
            session,
            warehouse=warehouse,
            item=get_item(session, "PD-001"),
            quantity=Decimal(5),
            batch=batch,
            production_date=dt.date(2019, 1, 1),
            expiry_date=expiry,
            actor="tester",
        )
    session.commit()
    where = {"lat": warehouse.latitude, "lon": warehouse.longitude, "item": "PD-001", "include_expired": "true"}
    lines = client.get(f"{API}/nearest", query_string=where).get_json()["results"][0]["lines"]
    assert {line["batch"]: line["expired"] for line in lines} == {"OLD": True, "NEW": False}
    args = ["nearest", "--lat", str(warehouse.latitude), "--lon", str(warehouse.longitude), "--item", "PD-001"]
    table = app.test_cli_runner().invoke(args=[*args, "--include-expired"]).output
    assert "batch OLD, expires 2020-01-01 (EXPIRED)" in table
    assert "batch NEW, expires 2099-01-01," in table


def _title(response) -> str:
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    return next(book.worksheets[0].iter_rows(max_row=1, values_only=True))[0]


def test_a_demo_database_says_so_in_health_and_every_export_title(app, client):
    assert client.get(f"{API}/health").get_json()["demo"] is False
    assert DEMO_NOTE["zh"] not in _title(client.get(f"{API}/exports/ledger.xlsx"))
    seeded = app.test_cli_runner().invoke(args=["seed-demo", "--scale", "small"])
    assert seeded.exit_code == 0
    # make run seeds for a while: it says what it is doing (on stderr; the runner's output has both).
    assert " 80 warehouses" in seeded.output and "1,300 of 1,300 stock lines" in seeded.output
    assert client.get(f"{API}/health").get_json()["demo"] is True
    assert _title(client.get(f"{API}/exports/ledger.xlsx")).endswith(DEMO_NOTE["zh"])
    assert _title(client.get(f"{API}/exports/ledger.xlsx?lang=en")).endswith(DEMO_NOTE["en"])
    for report in ("expiring", "quotas", "dashboard", "coverage"):
        query = "?category=pollutant_degradation" if report == "coverage" else ""
        response = client.get(f"{API}/reports/{report}.xlsx{query}")
        assert response.status_code == 200, (report, response.get_json())
        assert DEMO_NOTE["zh"] in _title(response), report


def test_exports_and_reports_take_regions_by_name(client, stocked_line):
    stocked_line()
    beijing = client.get(f"{API}/exports/ledger.xlsx", query_string={"region": "北京市"})
    assert beijing.status_code == 200
    assert "北京市（110000）" in _title(beijing) and "-110000-" in beijing.headers["Content-Disposition"]
    assert client.get(f"{API}/reports/expiring", query_string={"region": "北京"}).status_code == 200
    dashboard = client.get(f"{API}/reports/dashboard", query_string={"region": "东城区"})
    assert dashboard.status_code == 200 and dashboard.get_json()["totals"]["code"] == "110101"
    ambiguous = client.get(f"{API}/exports/ledger.xlsx", query_string={"region": "鼓楼区"})
    assert ambiguous.status_code == 422
    message = ambiguous.get_json()["errors"]["region"][0]
    assert "names several regions" in message and "福建省福州市鼓楼区" in message and "江苏省南京市鼓楼区" in message
    chinese = client.get(
        f"{API}/reports/expiring", query_string={"region": "鼓楼区"}, headers={"Accept-Language": "zh"}
    )
    assert "对应多个行政区" in chinese.get_json()["errors"]["region"][0]
    unknown = client.get(f"{API}/reports/expiring", query_string={"region": "火星"})
    assert unknown.status_code == 422 and unknown.get_json()["errors"]["region"] == ["no region named '火星'"]
    assert client.get(f"{API}/reports/expiring", query_string={"region": "1100"}).status_code == 422


def test_the_english_template_example_row_is_in_english(client):
    for lang in ("en", "zh"):
        response = client.get(f"{API}/imports/template.xlsx", query_string={"lang": lang})
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
        example = [str(cell.value) for cell in sheet[4] if cell.value is not None]
        chinese = [text for text in example if any("\u4e00" <= ch <= "\u9fff" for ch in text)]
        if lang == "en":
            assert example[0] == "example" and not chinese and "activated carbon" in example
        else:
            assert example[0] == "示例" and "活性炭" in chinese
