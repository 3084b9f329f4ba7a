"""The parsing child parses each row's cells (``importers.rows.row_preparer``) while the importer reads the rows
before: the report must be what the importer says when it parses every cell itself."""

from __future__ import annotations

import dataclasses

import pytest

import importers.ledger
from importers.ledger import import_ledger
from importers.workbook import open_ledger_workbook
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows


def awkward_ledger() -> bytes:
    """Rows that exercise every prepared value and its errors: bad dates, a shelf life, a bad reserve type, repeated
    warehouse cells of different types, blank and total rows, a new item, a blank quantity."""
    rows = [
        ["某县应急物资台账"],
        HEADER,
        ledger_row(),
        ledger_row(批次="B2", 生产日期="2024-03", 有效期至="3年"),
        ledger_row(批次="B3", 生产日期="2024-13-45", 有效期至="2026-01-01"),
        ledger_row(批次="B4", 有效期至="长期"),
        ledger_row(批次="B5", 有效期至="三年"),
        [None] * len(HEADER),
        ledger_row("W-002", 储备类型="不是一种储备", 批次="B1"),
        ledger_row("W-002", 储备类型="不是一种储备", 批次="B2"),
        ledger_row(1, 批次="B1"),
        ledger_row(True, 批次="B1"),
        ledger_row(1.0, 批次="B2"),
        ledger_row(item="某种新物资", 批次="B9"),
        ledger_row(quantity=None, 批次="B8"),
        ledger_row(quantity="约50", 批次="B7", 生产日期=20240301, 有效期至=45000),
        ["合计", None, None, None, None, None, 120],
        ["以下空白"],
    ]
    return sheet_of_rows(rows)


def issues(report) -> list[tuple]:
    return [dataclasses.astuple(issue) for kind in (report.errors, report.warnings, report.notes) for issue in kind]


def test_prepared_rows_give_the_report_the_importer_gives(session, monkeypatch):
    data = awkward_ledger()
    prepared = import_ledger(session, data, file_name="a.xlsx", actor="tester", dry_run=True)

    def unprepared(data, mapping=None, prepare=None):
        return open_ledger_workbook(data, mapping)

    monkeypatch.setattr(importers.ledger, "open_ledger_workbook", unprepared)
    itself = import_ledger(session, data, file_name="a.xlsx", actor="tester", dry_run=True)
    assert prepared.errors_total > 3 and prepared.warnings_total > 0  # the file does exercise the errors
    assert issues(prepared) == issues(itself)
    assert (prepared.rows, prepared.rows_rejected, prepared.counts) == (
        itself.rows,
        itself.rows_rejected,
        itself.counts,
    )


@pytest.mark.parametrize("prepare", [False, True])
def test_rows_come_with_what_the_child_prepared(prepare):
    data = sheet_of_rows([HEADER, ledger_row(), ledger_row(批次="B2")])
    workbook = open_ledger_workbook(data, prepare=(lambda table: len) if prepare else None)
    try:
        (table,) = workbook.tables
        rows = list(workbook.rows(table))
    finally:
        workbook.close()
    assert [number for number, _cells, _prepared in rows] == [2, 3]
    assert [extra for _number, _cells, extra in rows] == ([len(HEADER)] * 2 if prepare else [None, None])
