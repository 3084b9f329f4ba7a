"""The HTTP contract of Excel ledgers: upload, dry run, problem JSON, error workbook, template, export."""

from __future__ import annotations

import io

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from tests.api.helpers import API, PROBLEM_JSON, assert_problem, table_snapshot
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows
from tests.importers.xls_corpus import xls_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, data: bytes, path: str = "/imports", name: str = "县台账.xlsx", **form):
    return client.post(
        f"{API}{path}", data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data"
    )


GOOD = sheet_of_rows([["东城区台账"], HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "1,500")])
BAD = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "lots")])


def test_an_import_is_201_with_the_report_and_recorded(client):
    response = upload(client, GOOD)

    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert (report["status"], report["rows"], report["counts"]["lines_created"]) == ("imported", 2, 2)
    assert report["actor"] == "admin" and report["file_name"] == "县台账.xlsx"
    record = client.get(f"{API}/imports/{report['import_id']}").get_json()
    assert (record["reference"], record["lines_created"], record["actor"]) == (report["reference"], 2, "admin")
    entries = client.get(f"{API}/movements", query_string={"reference": report["reference"]}).get_json()
    assert len(entries) == 2 and {entry["kind"] for entry in entries} == {"stocktake"}
    assert client.get(f"{API}/imports").get_json()[0]["id"] == report["import_id"]
    assert client.get(f"{API}/imports/{report['import_id'] + 1}").status_code == 404
    assert client.get(f"{API}/imports/99999999999").status_code == 404


@pytest.mark.parametrize("where", ["query", "form"])
def test_a_dry_run_answers_200_and_writes_nothing(client, where):
    before = table_snapshot()
    if where == "query":
        response = client.post(
            f"{API}/imports?dry_run=true",
            data={"file": (io.BytesIO(GOOD), "t.xlsx")},
            content_type="multipart/form-data",
        )
    else:
        response = upload(client, GOOD, dry_run="true")

    assert response.status_code == 200
    assert response.get_json()["status"] == "validated"
    assert table_snapshot() == before


def test_a_file_with_errors_is_422_problem_json_naming_the_cells_and_writes_nothing(client):
    before = table_snapshot()

    response = upload(client, BAD)

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert body["title"] == "Invalid ledger" and "nothing was written" in body["detail"]
    assert list(body["errors"]) == ["台账!G3"]
    [error] = body["report"]["errors"]
    assert (error["row"], error["column"], error["value"], error["cell"]) == (3, "数量", "lots", "G3")
    assert table_snapshot() == before


def test_skip_invalid_imports_the_rest(client):
    response = upload(client, BAD, skip_invalid="1")

    assert response.status_code == 201
    report = response.get_json()
    assert (report["rows_rejected"], report["counts"]["lines_created"]) == (1, 1)


def test_skip_invalid_with_nothing_left_to_import_is_rejected_not_an_empty_import(client):
    """Every row refused, or the only sheet without a warehouse column: nothing could be applied because of the
    errors, so the answer is 422 and nothing is recorded (it was 201 "imported" with 0 rows, like a success)."""
    before = table_snapshot()
    every_row_bad = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", "lots"), ledger_row("W-1", "生石灰", "x")])
    kept = [column for column, name in enumerate(HEADER) if name not in ("仓库编码", "仓库名称")]
    no_warehouse = sheet_of_rows([[row[column] for column in kept] for row in (HEADER, ledger_row("W-1", "活性炭", 7))])
    for data in (every_row_bad, no_warehouse):
        for flags in ({"skip_invalid": "1"}, {"skip_invalid": "1", "dry_run": "1"}):
            response = upload(client, data, **flags)
            assert response.status_code == 422, (flags, response.get_json())
            assert response.get_json()["report"]["status"] in ("rejected", "validated")
    assert table_snapshot() == before
    assert client.get(f"{API}/imports").get_json() == []


def test_the_error_workbook_is_the_upload_with_an_issues_column(client):
    before = table_snapshot()

    response = upload(client, BAD, path="/imports/report.xlsx")

    assert response.status_code == 200 and response.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["台账"]
    assert sheet["K1"].value == "导入检查 Import check"
    assert "数量" in sheet["K3"].value and "not a number" in sheet["K3"].value
    assert sheet["K2"].value.startswith("提示: warehouse W-1: no level")  # warnings too, on their own row
    assert sheet["K3"].fill.start_color.rgb.endswith("FFC7CE")  # errors shaded red
    assert book["导入检查结果"]["G3"].value.startswith("not a number")
    assert table_snapshot() == before


def test_an_xls_ledger_imports_and_gets_its_error_workbook_as_xlsx(client):
    """Excel 97-2003 (.xls), as county offices still send: imported as its .xlsx would be (tests/importers/
    test_field_corpus), and checked into an .xlsx with its issues beside the rows."""
    xls = xls_of("county_no_codes")

    response = upload(client, xls, name="县台账.xls", skip_invalid="true")

    report = response.get_json()
    assert response.status_code == 201, report
    assert report["status"] == "imported" and report["file_name"] == "县台账.xls" and report["counts"]["lines_created"]
    checked = upload(client, xls, path="/imports/report.xlsx", name="县台账.xls")
    assert checked.status_code == 200 and checked.mimetype == XLSX
    assert "导入检查结果" in openpyxl.load_workbook(io.BytesIO(checked.data)).sheetnames


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"warehouse,item\nW-1,x\n", "ledger.csv"), (b"\x89PNG\r\n\x1a\n....", "ledger.xlsx")],
    ids=["csv", "png-named-xlsx"],
)
def test_a_non_xlsx_upload_is_422_problem_json(client, data, name):
    response = upload(client, data, name=name)

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    assert "file" in response.get_json()["errors"]


def test_a_missing_file_field_is_422(client):
    response = client.post(f"{API}/imports", data={"dry_run": "1"}, content_type="multipart/form-data")

    assert response.status_code == 422 and "file" in response.get_json()["errors"]


def test_an_oversized_upload_is_413_problem_json(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2_000

    response = upload(client, GOOD + b"\0" * 3_000)

    assert response.status_code == 413 and response.mimetype == PROBLEM_JSON


def test_the_template_has_lists_an_example_and_imports_once_filled_in(client):
    response = client.get(f"{API}/imports/template.xlsx")

    assert response.status_code == 200 and response.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["台账"]
    assert [validation.type for validation in sheet.data_validations.dataValidation].count("list") >= 2
    assert book.sheetnames == ["台账", "填表说明"]
    headers = [cell.value for cell in sheet[3]]
    row = {header.rstrip("*"): value for header, value in zip(headers, [c.value for c in sheet[4]], strict=True)}
    row.update({"序号": 1, "仓库编码": "TPL-1", "数量": 3})
    sheet.append([row[header.rstrip("*")] for header in headers])
    filled = io.BytesIO()
    book.save(filled)

    imported = upload(client, filled.getvalue()).get_json()

    assert imported["status"] == "imported", imported.get("report", imported)
    assert imported["rows"] == 1  # the example row is not imported
    assert imported["errors"] == []


def test_the_ledger_export_downloads_and_reads_back(client):
    assert upload(client, GOOD).status_code == 201

    response = client.get(f"{API}/exports/ledger.xlsx", query_string={"region": "110000", "lang": "en"})

    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_name("Ledger").to_python()
    assert len(rows) == 4 and rows[2][6] == "W-1"
    assert upload(client, response.data).get_json()["counts"]["lines_unchanged"] == 2


def test_an_export_of_an_unknown_region_is_422(client):
    response = client.get(f"{API}/exports/ledger.xlsx", query_string={"region": "999999"})

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON


def test_provincial_staff_export_only_their_province(client, client_for):
    assert upload(client, GOOD).status_code == 201
    officer = client_for("provincial", province_code="220000")

    mine = officer.get(f"{API}/exports/ledger.xlsx")
    other = officer.get(f"{API}/exports/ledger.xlsx", query_string={"region": "110000"})

    assert mine.status_code == 200
    assert len(CalamineWorkbook.from_filelike(io.BytesIO(mine.data)).get_sheet_by_name("台账").to_python()) == 2
    assert other.status_code == 403


def test_a_viewer_cannot_change_stock_by_import(client_for):
    viewer = client_for("viewer")

    response = upload(viewer, GOOD)

    assert response.status_code == 422
    assert "may not" in response.get_json()["report"]["errors"][0]["message"]


@pytest.mark.slow
def test_an_oversized_upload_is_refused_by_the_real_server(gunicorn, token_for):
    """Under gunicorn (not the test client) a body over MAX_UPLOAD_BYTES is a 413 problem, not a reset."""
    import http.client
    import json
    from urllib.parse import urlsplit

    base = urlsplit(gunicorn(workers=1, MAX_UPLOAD_BYTES="10000"))
    token = token_for("admin")
    body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n\r\n'
    body += b"0" * 50_000 + b"\r\n--x--\r\n"
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    connection.request(
        "POST",
        "/api/v1/imports",
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=x"},
    )
    try:
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("Content-Type") == "application/problem+json"
        assert json.loads(response.read())["status"] == 413
    finally:
        connection.close()  # else the worker may hold the connection open through its graceful shutdown (30 s)


@pytest.mark.parametrize("name", ["a\x00b.xlsx", "\x1b[31mred.xlsx"])
def test_an_upload_name_with_control_characters_is_refused_in_a_dry_run_as_for_real(client, name):
    for query in ({"dry_run": "true"}, {}):
        response = client.post(
            f"{API}/imports",
            query_string=query,
            data={"file": (io.BytesIO(sheet_of_rows([HEADER, ledger_row("T0001", "活性炭", 5)])), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422 and "control character" in response.json["errors"]["file"][0]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"map": "品名=item_name"}, "map"),
        ({"map": '["item_name"]'}, "map"),
        ({"map": '{"品名": 1}'}, "map"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"lang": "fr"}, "lang"),
    ],
    ids=["map-not-json", "map-a-list", "map-a-number", "form-dry-run", "form-lang"],
)
def test_a_bad_import_flag_is_refused_naming_it(client, form, field):
    """These refusals were a 422 with neither detail nor errors (flask-smorest's abort takes ``messages``, not
    ``errors``): the page's form and a user typing a mapping were told nothing about what was wrong."""
    for path in ("/imports", "/imports/report.xlsx"):
        problem = assert_problem(upload(client, GOOD, path=path, **form), 422, field)
        assert problem["detail"].startswith(f"{field}: "), problem
