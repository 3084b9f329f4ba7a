"""The ledger reader remembers what repeated cells read as (``importers.rows``: a row's first cells, its item
cells, its quantity and unit, its dates): every report must be what the reader says when it reads every cell of
every row itself, the errors and warnings of a repeated bad cell on each of its rows."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

import importers.row_items
import importers.rows
from importers.ledger import import_ledger
from importers.row_items import ItemCells
from importers.rows import LedgerReader
from tests.importers.conftest import sheet_of_rows, xlsx
from tests.importers.field_corpus import FAMILIES

HEAD = ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资编码", "物资名称", "计量单位", "数量", "批次", "生产日期"]
HEAD.append("有效期至")


def row(batch: str, item: str = "活性炭", quantity: object = 10, **cells: object) -> list:
    values = {"仓库编码": "W-1", "仓库名称": "东城区储备库", "储备类型": "政府储备", "区县代码": "110101"}
    values |= {"物资编码": None, "物资名称": item, "计量单位": "吨", "数量": quantity, "批次": batch}
    values |= {"生产日期": None, "有效期至": None, **cells}
    return [values[name] for name in HEAD]


def repeated_awkward_rows() -> bytes:
    """Every kind of cell the memos keep or must not keep, each on two rows or more: bad dates, a shelf life
    without a production date, approximate and unit-naming quantities, a guessed name, a code the name
    contradicts, a unit variant, a new item, yes/no cells beside equal numbers, zero and minus zero, a reserve type
    that is no word of the vocabulary."""
    rows = [["某县应急物资台账"], HEAD]
    for twice in ("a", "b"):
        rows += [
            row(f"ok{twice}", 生产日期="2024-03", 有效期至="3年"),
            row(f"date{twice}", 生产日期="2024-13-45", 有效期至="2026-01-01"),
            row(f"life{twice}", 有效期至="3年"),
            row(f"never{twice}", 有效期至="长期"),
            row(f"serial{twice}", 生产日期=20240301, 有效期至=45000),
            row(f"serialf{twice}", 生产日期=20240301.0, 有效期至=45000.0),
            row(f"yes{twice}", 生产日期=True, 有效期至=True),
            row(f"one{twice}", 生产日期=1, 有效期至=1),
            row(f"about{twice}", quantity="约50"),
            row(f"kilo{twice}", quantity="500千克"),
            row(f"minus{twice}", quantity=-5),
            row(f"blank{twice}", quantity=None),
            row(f"vague{twice}", quantity="若干"),
            row(f"bool{twice}", quantity=True),
            row(f"int{twice}", quantity=1),
            row(f"float{twice}", quantity=1.0),
            row(f"zero{twice}", quantity=0.0),
            row(f"minuszero{twice}", quantity=-0.0),
            row(f"unityes{twice}", 计量单位=True),
            row(f"unitone{twice}", 计量单位=1),
            row(f"typo{twice}", item="活性碳"),
            row(f"code{twice}", 物资编码="PD-001", item="生石灰"),
            row(f"codeonly{twice}", 物资编码="PD-001", item=None),
            row(f"numbercode{twice}", 物资编码=1.0, item="活性炭"),
            row(f"variant{twice}", item="吸油毡", 计量单位="包"),
            row(f"new{twice}", item="某种新物资"),
            row(f"newbare{twice}", item="另一种新物资", 计量单位=None),
            row(f"nothing{twice}", item=None),
            row(f"reserve{twice}", 仓库编码="W-2", 储备类型="不是一种储备"),
            row(f"reserve{twice}", 仓库编码="W-3", 储备类型="企业"),
            row(f"reserve{twice}", 仓库编码="W-4", 储备类型=True),
            row(f"reserve{twice}", 仓库编码="W-5", 储备类型=1),
            [None] * len(HEAD),
            ["合计", None, None, None, None, None, None, 120],
            ["W-1"],
        ]
    rows.append(["以下空白"])
    return sheet_of_rows(rows)


def leading_unmapped_columns() -> bytes:
    """Four columns no field maps first: a row filling them alone is blank, however often its first cells came
    before on ordinary rows."""
    spare = ["x", "y", "z", "w"]
    rows = [["备用一", "备用二", "备用三", "备用四", *HEAD]]
    rows += [[*spare, *row("a")], [*spare, *row("b")], [*spare, *[None] * len(HEAD)], [*spare, *row("c")]]
    rows += [[*spare, None, None, "合计"], [*spare, *row("d")]]
    return sheet_of_rows(rows)


def two_tables_two_header_units() -> bytes:
    """The same quantity and unit cells under 数量（吨） on one sheet and 数量（千克） on the next."""

    def build(book) -> None:
        for index, unit in enumerate(("吨", "千克")):
            sheet = book.active if index == 0 else book.create_sheet()
            sheet.title = f"台账{index + 1}"
            sheet.append(["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", f"数量（{unit}）", "批次"])
            for batch in ("a", "b"):
                sheet.append(["W-1", "东城区储备库", "政府储备", "110101", "活性炭", 2.5, f"{unit}{batch}"])

    return xlsx(build)


def issues(report) -> list[tuple]:
    return [dataclasses.astuple(issue) for kind in (report.errors, report.warnings, report.notes) for issue in kind]


def what_is_reported(report) -> tuple:
    return (
        report.status,
        issues(report),
        report.errors_total,
        report.warnings_total,
        report.rows,
        report.rows_rejected,
        report.counts,
        report.to_dict()["review"],
        report.sheets,
    )


def read(session, data: bytes, monkeypatch, *, memos: bool) -> tuple[tuple, Counter]:
    """The dry run's report, and how often the reader read cells itself (not from a memo)."""
    calls: Counter = Counter()

    def counted(name: str, function):
        def call(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return call

    with monkeypatch.context() as patch:
        if not memos:  # no memo ever keeps anything: every row is read cell by cell
            patch.setattr(importers.rows, "remember", lambda memo, key, value, *cells: None)
            patch.setattr(importers.row_items, "remember", lambda memo, key, value, *cells: None)
        patch.setattr(importers.rows, "first_filled", counted("first cells", importers.rows.first_filled))
        patch.setattr(importers.rows, "parse_expiry", counted("dates", importers.rows.parse_expiry))
        patch.setattr(importers.rows, "parse_choice", counted("words", importers.rows.parse_choice))
        patch.setattr(ItemCells, "item_for", counted("items", ItemCells.item_for))
        patch.setattr(LedgerReader, "_read_quantity", counted("quantities", LedgerReader._read_quantity))
        report = import_ledger(session, data, file_name="a.xlsx", actor="tester", dry_run=True)
    return what_is_reported(report), calls


def test_repeated_awkward_cells_are_reported_on_every_row_as_without_the_memos(session, monkeypatch):
    data = repeated_awkward_rows()
    remembered, fewer = read(session, data, monkeypatch, memos=True)
    itself, every = read(session, data, monkeypatch, memos=False)
    report = remembered[1]
    assert len([issue for issue in report if issue[0] == "error"]) > 20  # the file does exercise the errors
    assert len([issue for issue in report if issue[0] == "warning"]) > 10
    assert remembered == itself
    for kind in ("first cells", "dates", "items", "quantities", "words"):  # the memos were used
        assert fewer[kind] < every[kind], kind


@pytest.mark.parametrize("family", FAMILIES, ids=[family.__name__ for family in FAMILIES])
def test_field_workbooks_read_the_same_with_and_without_the_memos(session, monkeypatch, family):
    data = family().data
    assert read(session, data, monkeypatch, memos=True)[0] == read(session, data, monkeypatch, memos=False)[0]


def test_first_cells_seen_before_do_not_make_a_row_of_unmapped_columns_a_ledger_row(session, monkeypatch):
    data = leading_unmapped_columns()
    remembered, _ = read(session, data, monkeypatch, memos=True)
    assert remembered == read(session, data, monkeypatch, memos=False)[0]
    assert ("note", "blank rows skipped: 1") in [issue[:2] for issue in remembered[1]]


def test_cells_at_reads_as_one_cell_at_a_time_would():
    for row in (["a", 1.0, None, "d"], ["a", 1.0], []):
        for indexes in ([0], [3, 1], [None, 2], [5], [0, 5, None, 3], [], [None]):
            expected = tuple(row[i] if i is not None and i < len(row) else "" for i in indexes)
            assert importers.rows.cells_at(indexes)(row) == expected, (row, indexes)


def test_a_quantity_is_read_in_its_own_tables_header_unit(session, monkeypatch):
    data = two_tables_two_header_units()
    remembered, _ = read(session, data, monkeypatch, memos=True)
    assert remembered == read(session, data, monkeypatch, memos=False)[0]  # 2.5 千克 is not 2.5 吨
