"""Helpers for importer tests: workbooks built the way people build them, and a whole-database dump."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select, text

from api.extensions import db
from api.messages import catalog
from importers.ledger import import_ledger
from importers.outcome import ImportReport
from inventory.db import reset_write_intent, set_write_intent
from inventory.models import Base, Item, StockLine, Warehouse


def in_chinese(text: str) -> str:
    """An importer message as a Chinese reader gets it: the importer writes English, the API's catalog translates."""
    return catalog().translate(text, "zh")


def xlsx(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    """A workbook made with openpyxl by ``build`` (which fills the default sheet or adds its own)."""
    book = openpyxl.Workbook()
    build(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_of_rows(rows: list[list], title: str = "台账") -> bytes:
    def build(book: openpyxl.Workbook) -> None:
        sheet = book.active
        sheet.title = title
        for row in rows:
            sheet.append(row)

    return xlsx(build)


def database_dump() -> dict[str, list[tuple]]:
    """Every row of every table, as committed (read on a connection of its own)."""
    token = set_write_intent(False)
    try:
        with db.engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(row) for row in connection.execute(text(f"SELECT * FROM {table.name}"))), key=repr
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        reset_write_intent(token)


@pytest.fixture
def run_import(session) -> Callable[..., ImportReport]:
    """Import bytes as the edge would: one call, then commit (a refused file has nothing to commit)."""

    def run(data: bytes, *, actor: object = "tester", file_name: str = "ledger.xlsx", **flags) -> ImportReport:
        report = import_ledger(session, data, file_name=file_name, actor=actor, **flags)
        session.commit()
        return report

    return run


HEADER = ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "计量单位", "数量", "批次", "生产日期"]
HEADER.append("有效期至")


def ledger_row(code: str = "W-001", item: str = "活性炭", quantity: object = 10, **overrides: object) -> list:
    """One row under ``HEADER``: a government warehouse in 东城区 (110101)."""
    values = {
        "仓库编码": code,
        "仓库名称": "东城区环境应急物资储备库",
        "储备类型": "政府储备",
        "区县代码": "110101",
        "物资名称": item,
        "计量单位": "吨",
        "数量": quantity,
        "批次": "B1",
        "生产日期": None,
        "有效期至": None,
    }
    values.update(overrides)
    return [values[name] for name in HEADER]


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


# The stock sheet of the field-ledger tests: the columns a county's plain ledger has
FIELD_HEAD = ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "计量单位", "数量", "批次"]


def stock(session) -> dict[tuple[str, str, str], Decimal]:
    """Every stock line's quantity by (warehouse code, item code, batch)."""
    rows = session.execute(
        select(Warehouse.code, Item.code, StockLine.batch, StockLine.quantity)
        .join(StockLine.warehouse)
        .join(StockLine.item)
    )
    return {(w, i, b): q for w, i, b, q in rows}
