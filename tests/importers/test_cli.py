"""``import-ledger`` and ``export-ledger``: the same services from the shell, with exit codes scripts can use."""

from __future__ import annotations

import json

import openpyxl
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from inventory.models import LedgerImport, StockLine
from tests.importers.conftest import HEADER, database_dump, ledger_row, sheet_of_rows

GOOD = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7)])
BAD = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "x")])


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_import_ledger_imports_and_records_the_operator(app, session, tmp_path):
    path = tmp_path / "县台账.xlsx"
    path.write_bytes(GOOD)

    result = invoke(app, "import-ledger", str(path))

    assert result.exit_code == 0, result.output
    assert "imported; 1 rows" in result.output and "reference IMPORT-" in result.output
    record = session.scalars(select(LedgerImport)).one()
    assert (record.file_name, record.actor) == ("县台账.xlsx", "system")


def test_a_file_with_errors_exits_1_names_the_row_and_column_and_writes_nothing(app, session, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(BAD)
    before = database_dump()

    result = invoke(app, "import-ledger", str(path))

    assert result.exit_code == 1
    assert "台账, row 3, [数量]: not a number (value 'x')" in result.output
    assert database_dump() == before


def test_json_report_dry_run_and_error_workbook(app, session, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(BAD)
    annotated = tmp_path / "checked.xlsx"

    result = invoke(app, "import-ledger", str(path), "--dry-run", "--json", "--report", str(annotated))

    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["status"] == "validated" and report["errors"][0]["cell"] == "G3"
    assert openpyxl.load_workbook(annotated)["台账"]["K3"].value.startswith("错误")
    assert session.scalar(select(func.count()).select_from(StockLine)) == 0


def test_skip_invalid_exits_2_after_importing_the_valid_rows(app, session, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(BAD)

    result = invoke(app, "import-ledger", str(path), "--skip-invalid")

    assert result.exit_code == 2
    assert session.scalar(select(func.count()).select_from(StockLine)) == 1


def test_a_file_that_is_not_a_workbook_is_a_cli_error(app, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_text("not a workbook")

    result = invoke(app, "import-ledger", str(path))

    assert result.exit_code == 1 and "not an Excel workbook" in result.output


def test_export_ledger_writes_the_region(app, session, stocked_line, tmp_path):
    stocked_line(5)
    path = tmp_path / "beijing.xlsx"

    result = invoke(app, "export-ledger", "--region", "110000", "-o", str(path), "--lang", "en")

    assert result.exit_code == 0, result.output
    assert "1 stock lines, 1 warehouses, 0 shipment lines in transit" in result.output
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Ledger").to_python()
    assert rows[2][15] == 5.0


def test_export_ledger_takes_a_region_name_and_refuses_an_ambiguous_one(app, session, stocked_line, tmp_path):
    stocked_line(5)
    path = tmp_path / "beijing.xlsx"
    result = invoke(app, "export-ledger", "--region", "北京市", "-o", str(path))
    assert result.exit_code == 0, result.output
    assert "北京市（110000）" in CalamineWorkbook.from_path(str(path)).get_sheet_by_name("台账").to_python()[0][0]
    refused = invoke(app, "export-ledger", "--region", "鼓楼区", "-o", str(path))
    assert refused.exit_code != 0 and "names several regions" in refused.output
