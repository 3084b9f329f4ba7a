"""The field corpus (``field_corpus.py``): every workbook gets in but for exactly its bad rows, once.

Each workbook is imported with ``skip_invalid`` (the officer's "import what is good"): exactly its bad rows
are rejected, by sheet and row, every good row is a stock line, the errors come in row order; a second
import writes nothing and the export is the same.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from importers.export import export_ledger
from inventory.models import Movement, StockLine, Warehouse
from tests.importers.conftest import database_dump
from tests.importers.field_corpus import FAMILIES
from tests.importers.xls_corpus import xls_of

# Tables an import of a ledger may change; a second import must leave them as they were.
STOCK_TABLES = ("warehouse", "item", "stock_line", "movement")


def _families() -> list:
    return [pytest.param(family(), id=family.__name__) for family in FAMILIES]


def _export(session) -> tuple[int, list, list]:
    out = io.BytesIO()
    result = export_ledger(session, out, actor="tester")
    book = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue()))
    ledger, summary = (book.get_sheet_by_name(name).to_python()[1:] for name in ("台账", "汇总"))
    return result.rows, ledger, summary


@pytest.mark.parametrize("book", _families())
def test_a_field_workbook_gets_in_but_for_exactly_its_bad_rows(session, run_import, book):
    report = run_import(book.data, file_name=f"{book.name}.xlsx", skip_invalid=True)

    rejected = sorted({(issue.sheet, issue.row) for issue in report.errors})
    assert rejected == sorted(book.bad), [issue.message for issue in report.errors]
    assert report.status == "imported"
    order = [(issue.sheet, issue.row or 0) for issue in report.errors]
    sheets = [sheet for sheet in dict.fromkeys(sheet for sheet, _row in order)]
    assert order == sorted(order, key=lambda place: (sheets.index(place[0]), place[1]))
    lines = session.scalar(select(func.count()).select_from(StockLine))
    assert lines == book.good_rows
    assert sum(session.scalars(select(StockLine.quantity)), Decimal(0)) == book.total
    assert session.scalar(select(func.count()).select_from(Warehouse)) == book.warehouses
    before, exported = database_dump(), _export(session)
    movements = session.scalar(select(func.count()).select_from(Movement))

    again = run_import(book.data, file_name=f"{book.name}.xlsx", skip_invalid=True)

    assert sorted({(issue.sheet, issue.row) for issue in again.errors}) == sorted(book.bad)
    after = database_dump()
    assert {name: after[name] for name in STOCK_TABLES} == {name: before[name] for name in STOCK_TABLES}
    assert session.scalar(select(func.count()).select_from(Movement)) == movements
    assert _export(session) == exported
    assert exported[0] == book.good_rows


def test_the_corpus_holds_a_dozen_families_each_with_bad_rows():
    books = [family() for family in FAMILIES]
    assert len(books) >= 12
    assert all(book.bad and book.good_rows for book in books)


@pytest.mark.parametrize("family", FAMILIES, ids=[family.__name__ for family in FAMILIES])
def test_the_field_workbook_saved_as_xls_gets_in_as_its_xlsx_does(session, run_import, family):
    """Many county offices still save Excel 97-2003 workbooks (.xls): the same cells, the same import."""
    book, xls = family(), xls_of(family.__name__)
    assert xls is not None, "tests/importers/xls lacks this family: regenerate it (tests/importers/xls_corpus.py)"
    as_xlsx = run_import(book.data, file_name=f"{book.name}.xlsx", skip_invalid=True, dry_run=True)

    report = run_import(xls, file_name=f"{book.name}.xls", skip_invalid=True)

    assert report.status == "imported"
    assert sorted({(issue.sheet, issue.row) for issue in report.errors}) == sorted(book.bad)
    assert session.scalar(select(func.count()).select_from(StockLine)) == book.good_rows
    assert sum(session.scalars(select(StockLine.quantity)), Decimal(0)) == book.total
    assert session.scalar(select(func.count()).select_from(Warehouse)) == book.warehouses
    for kind in ("errors", "warnings", "notes"):  # every issue said alike, at the same cell
        said = [(issue.sheet, issue.cell, issue.message) for issue in getattr(report, kind)]
        assert said == [(issue.sheet, issue.cell, issue.message) for issue in getattr(as_xlsx, kind)], kind
