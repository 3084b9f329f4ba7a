"""Warehouses read ahead (``open_ledger_workbook(warehouses_ahead=True)``, ``_LedgerImport._register_ahead``): a
large file's warehouse sheet is read, and its warehouses registered, while the parsing child loads the stock
sheet. Whatever the workbook, the import must report and store what reading every row first does: the
registration ahead is kept only when the whole file wants exactly those warehouses, redone otherwise, and the
import starts again without it when the table read ahead is not the workbook's first."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from sqlalchemy import func, select

import importers.ledger
import importers.outcome
import importers.workbook
from importers.ledger import import_ledger
from importers.limits import WorkbookTooLarge
from inventory.errors import ValidationFailed
from inventory.models import AuditEntry, StockLine, Warehouse
from inventory.stock import ledger_mismatches
from tests.importers.conftest import xlsx, zipped
from tests.importers.field_corpus import FAMILIES
from tests.importers.test_hostile_workbooks import members_of

STOCK_HEAD = ["仓库编码", "仓库名称", "物资名称", "计量单位", "数量", "批次", "区县代码", "储备类型"]
REGISTRY_HEAD = ["仓库编码", "仓库名称", "储备类型", "区县代码", "纬度", "经度", "仓库级别"]


def registry_row(code: str, name: str, **overrides: object) -> list:
    values = {"储备类型": "政府储备", "区县代码": "110101", "纬度": 39.9, "经度": 116.4, "仓库级别": "县级"}
    values |= {"仓库编码": code, "仓库名称": name, **overrides}
    return [values[header] for header in REGISTRY_HEAD]


def national_layout(
    stock_rows: list[list] | None = None, registry: list[list] | None = None, before: list[tuple[str, list]] = ()
) -> bytes:
    """The export's sheet order: a summary, the stock sheet, then the warehouses (储备库), then 在途."""

    def build(book) -> None:
        summary = book.active
        summary.title = "汇总"
        summary.append(["储备库数量", 2])
        for title, rows in before:
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
        stock = book.create_sheet("台账")
        stock.append(STOCK_HEAD)
        for row in stock_rows or [
            ["W-1", "一号库", "活性炭", "吨", 5, "A", "110101", "政府储备"],
            ["W-1", "一号库", "生石灰", "吨", 2, "A", "110101", "政府储备"],
            ["W-2", "二号库", "活性炭", "吨", 7, "B", "110101", "政府储备"],
        ]:
            stock.append(row)
        warehouses = book.create_sheet("储备库")
        warehouses.append(REGISTRY_HEAD)
        for row in registry or [registry_row("W-1", "一号库"), registry_row("W-2", "二号库", 纬度=None, 经度=None)]:
            warehouses.append(row)
        notes = book.create_sheet("备注")
        notes.append(["填表说明：按仓库编码填写"])

    return xlsx(build)


@dataclasses.dataclass
class Run:
    report: dict
    registrations: int  # calls of find_or_register_warehouses
    opened_ahead: list[bool]  # warehouses_ahead of each opening
    waited: list[float]  # the wait each opening started from


def imported(session, monkeypatch, data: bytes, *, ahead: bool, dry_run: bool = True) -> Run:
    """One import with reading ahead on (every file counts as large) or off, and how it went."""
    registrations = 0
    opened: list[bool] = []
    waited: list[float] = []
    register = importers.ledger.find_or_register_warehouses
    open_workbook = importers.ledger.open_ledger_workbook

    def counted(*args, **kwargs):
        nonlocal registrations
        registrations += 1
        return register(*args, **kwargs)

    def opening(*args, **kwargs):
        opened.append(kwargs.get("warehouses_ahead", False))
        waited.append(kwargs.get("waited", 0.0))
        return open_workbook(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(importers.ledger, "LOAD_WHILE_OPENING_FROM", 0 if ahead else 1 << 40)
        patch.setattr(importers.ledger, "find_or_register_warehouses", counted)
        patch.setattr(importers.ledger, "open_ledger_workbook", opening)
        report = import_ledger(session, data, file_name="ledger.xlsx", actor="tester", dry_run=dry_run)
    session.commit()
    said = report.to_dict()
    for volatile in ("sha256", "previous_import", "import_id", "reference"):
        said.pop(volatile, None)
    return Run(said, registrations, opened, waited)


def same_both_ways(session, monkeypatch, data: bytes) -> Run:
    """The dry run's report with reading ahead, after checking it equals the one without."""
    ahead = imported(session, monkeypatch, data, ahead=True)
    without = imported(session, monkeypatch, data, ahead=False)
    assert without.registrations == 1 and without.opened_ahead == [False]
    assert ahead.report == without.report
    return ahead


def test_the_registration_ahead_is_kept_when_the_stock_rows_add_nothing(session, monkeypatch):
    run = same_both_ways(session, monkeypatch, national_layout())
    assert run.opened_ahead == [True] and run.registrations == 1  # registered once, ahead, and kept
    assert run.report["status"] == "validated"
    assert [sheet["name"] for sheet in run.report["sheets"]] == ["储备库", "台账"]
    assert run.report["counts"]["warehouses_created"] == 2


def test_a_real_import_ahead_stores_what_reading_every_row_first_stores(session, monkeypatch):
    run = imported(session, monkeypatch, national_layout(), ahead=True, dry_run=False)
    assert run.report["status"] == "imported" and run.registrations == 1
    assert session.scalar(select(func.count()).select_from(Warehouse)) == 2
    assert session.scalar(select(func.count()).select_from(StockLine)) == 3
    audited = select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "warehouse")
    assert session.scalar(audited) == 2
    assert ledger_mismatches(session) == []
    # the same file read the other way finds exactly what the first import stored: nothing to change
    again = imported(session, monkeypatch, national_layout(), ahead=False, dry_run=False)
    counts = again.report["counts"]
    assert (counts["warehouses_created"], counts["warehouses_updated"], counts["lines_unchanged"]) == (0, 0, 3)


def test_a_warehouse_named_only_on_the_stock_sheet_has_the_registration_done_again(session, monkeypatch):
    also = ["W-3", "三号库", "活性炭", "吨", 1, "A", "110101", "政府储备"]
    data = national_layout(stock_rows=[["W-1", "一号库", "活性炭", "吨", 5, "A", "110101", "政府储备"], also])
    run = same_both_ways(session, monkeypatch, data)
    assert run.registrations == 2  # ahead, then again with every warehouse
    assert run.report["counts"]["warehouses_created"] == 3, (run.report["errors"], run.report["warnings"])
    real = imported(session, monkeypatch, data, ahead=True, dry_run=False)
    assert real.report["status"] == "imported", real.report["errors"]
    assert sorted(session.scalars(select(Warehouse.code))) == ["W-1", "W-2", "W-3"]
    audited = select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "warehouse")
    assert session.scalar(audited) == 3  # the registration undone left no audit entry behind


DETAILS_ONLY_ON_THE_STOCK_SHEET = {
    "reserve type": {"储备类型": "企业储备"},
    "phone": {"联系电话": "13800000000"},
    "coordinates outside China": {"纬度": 10, "经度": 10},
    "status": {"状态": "停用"},
}


@pytest.mark.parametrize("given", DETAILS_ONLY_ON_THE_STOCK_SHEET.values(), ids=DETAILS_ONLY_ON_THE_STOCK_SHEET)
def test_a_detail_given_only_on_the_stock_sheet_has_the_registration_done_again(session, monkeypatch, given):
    registry = [registry_row("W-1", "一号库", **dict.fromkeys(given))]  # the registry gives all but those

    def build(book) -> None:
        stock = book.create_sheet("台账")
        head = ["仓库编码", "仓库名称", "物资名称", "计量单位", "数量", "批次", "区县代码"]
        stock.append([*head, "储备类型", *[name for name in given if name != "储备类型"]])
        row = ["W-1", "一号库", "活性炭", "吨", 5, "A", "110101", given.get("储备类型", "政府储备")]
        stock.append(row + [value for name, value in given.items() if name != "储备类型"])
        warehouses = book.create_sheet("储备库")
        warehouses.append(REGISTRY_HEAD)
        for row in registry:
            warehouses.append(row)
        book.remove(book.active)

    data = xlsx(build)
    run = same_both_ways(session, monkeypatch, data)
    assert run.registrations == 2
    assert run.report["status"] == "validated", run.report["errors"]
    real = imported(session, monkeypatch, data, ahead=True, dry_run=False)
    assert real.report["status"] == "imported"
    # what the audit says was created is what is stored (SQLite gives the ids of warehouses rolled back again)
    warehouse = session.scalars(select(Warehouse)).one()
    created = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "warehouse")).one()
    stored = {"contact_phone": warehouse.contact_phone, "status": warehouse.status.value}
    stored |= {"latitude": warehouse.latitude, "reserve_type": warehouse.reserve_type.value}
    assert {name: json.loads(created.after)[name] for name in stored} == stored


def test_progress_read_ahead_is_the_progress_read_in_order_less_the_warehouse_sheet(session, monkeypatch):
    monkeypatch.setattr(importers.ledger, "PROGRESS_EVERY", 2)
    calls: dict[bool, list[tuple[int, int]]] = {}
    for ahead in (True, False):
        with monkeypatch.context() as patch:
            patch.setattr(importers.ledger, "LOAD_WHILE_OPENING_FROM", 0 if ahead else 1 << 40)
            ticks: list[tuple[int, int]] = []
            import_ledger(
                session,
                national_layout(),
                file_name="a.xlsx",
                actor="tester",
                dry_run=True,
                progress=lambda done, total, ticks=ticks: ticks.append((done, total)),
            )
            calls[ahead] = ticks
    assert calls[True] and set(calls[True]) < set(calls[False])
    assert {total for _done, total in calls[True]} == {5}  # 2 warehouses, 3 stock rows, from the first tick
    assert calls[True] == sorted(calls[True])


def test_a_warehouse_table_before_the_one_read_ahead_starts_the_import_again(session, monkeypatch):
    listing = [REGISTRY_HEAD, registry_row("W-1", "一号库", 仓库级别="市级")]
    run = same_both_ways(session, monkeypatch, national_layout(before=[("名录", listing)]))
    assert run.opened_ahead == [True]  # undone by the child, which sends every table again: one parse, one wait
    assert run.registrations == 2
    real = imported(session, monkeypatch, national_layout(before=[("名录", listing)]), ahead=True, dry_run=False)
    assert real.report["status"] == "imported", real.report["errors"]
    levels = {code: level for code, level in session.execute(select(Warehouse.code, Warehouse.level))}
    assert levels == {"W-1": "municipal", "W-2": "county"}  # the first table's level, as read in order
    assert session.scalar(select(func.count()).select_from(StockLine)) == 3
    audited = select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "warehouse")
    assert session.scalar(audited) == 2  # the registration undone left no audit entry behind
    assert ledger_mismatches(session) == []
    assert [sheet["name"] for sheet in run.report["sheets"]] == ["名录", "储备库", "台账"]


OVERFLOWING = {
    # two totals rows in the warehouse table, each a note, and a sheet in transit, noted
    "notes": (
        [registry_row("W-1", "一号库"), ["合计"], registry_row("W-2", "二号库"), ["合计"]],
        [("在途", [["发运单号", "物资名称", "数量"], ["S-1", "活性炭", 1]])],
    ),
    # two rows differing from the first for the same warehouse, each a warning, and the note sheet 备注, warned of
    "warnings": (
        [registry_row("W-1", "一号库")] + [registry_row("W-1", "一号库", 仓库级别=level) for level in "市省"],
        [],
    ),
}


@pytest.mark.parametrize("kind", OVERFLOWING)
@pytest.mark.parametrize(("limit", "again"), [(2, True), (3, False)], ids=["overflowing", "filling"])
def test_issues_that_would_overflow_the_list_with_the_sheets_noted_start_the_import_again(
    session, monkeypatch, limit, again, kind
):
    """Read in order, the sheets skipped or in transit are noted before the warehouse table's issues: with two
    of those and one such sheet, a list kept to two differs read ahead, one kept to three does not."""
    monkeypatch.setattr(importers.outcome, "MAX_LISTED_ISSUES", limit)
    monkeypatch.setattr(importers.ledger, "MAX_LISTED_ISSUES", limit)
    registry, before = OVERFLOWING[kind]
    run = same_both_ways(session, monkeypatch, national_layout(registry=registry, before=before))
    assert run.opened_ahead == ([True, False] if again else [True])
    if again:  # undone by the importer, after the child went on: opened again, in what the first left of the wait
        assert run.waited[0] == 0 < run.waited[1]
    assert len(run.report[kind]) == limit


def test_a_workbook_refused_after_the_warehouses_were_read_ahead_is_refused_the_same(session, monkeypatch):
    monkeypatch.setattr(importers.workbook, "MAX_ROWS", 4)
    messages = []
    for ahead in (True, False):
        with pytest.raises(WorkbookTooLarge) as refused:
            imported(session, monkeypatch, national_layout(), ahead=ahead)
        messages.append(str(refused.value))
    assert messages[0] == messages[1] and "MAX_ROWS" in messages[0]
    assert session.scalar(select(func.count()).select_from(Warehouse)) == 0


def test_a_workbook_naming_two_sheets_alike_is_not_read_ahead(session, monkeypatch):
    data = national_layout()
    members = members_of(data)
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace("备注".encode(), "储备库".encode())
    refused = []
    for ahead in (True, False):
        with pytest.raises(ValidationFailed) as error:
            imported(session, monkeypatch, zipped(members), ahead=ahead)
        refused.append(str(error.value))
    assert refused[0] == refused[1] and "cannot be read" in refused[0]


def test_a_file_without_a_warehouse_sheet_opens_as_before(session, monkeypatch):
    def build(book) -> None:
        book.active.title = "台账"
        book.active.append(STOCK_HEAD)
        book.active.append(["W-1", "一号库", "活性炭", "吨", 5, "A", "110101", "政府储备"])

    run = same_both_ways(session, monkeypatch, xlsx(build))
    assert run.opened_ahead == [True] and run.registrations == 1


@pytest.mark.parametrize("family", FAMILIES, ids=[family.__name__ for family in FAMILIES])
def test_field_workbooks_report_the_same_read_ahead_or_not(session, monkeypatch, family):
    same_both_ways(session, monkeypatch, family().data)


def test_a_stock_sheet_named_as_a_warehouse_list_is_loaded_once(session, monkeypatch, tmp_path):
    """The sheet looked at first is not loaded again when the reading in order reaches it (a county's stock
    sheet named 玄武仓库 is the whole file)."""
    looked_at = tmp_path / "sheets"
    holds = importers.workbook._what_sheet_holds

    def noted(book, name, *args):  # runs in the parsing child: noted in a file the test reads
        with looked_at.open("a", encoding="utf-8") as out:
            out.write(name + "\n")
        return holds(book, name, *args)

    def build(book) -> None:
        for title in ("玄武仓库", "江宁厂区"):
            sheet = book.create_sheet(title)
            sheet.append(STOCK_HEAD)
            sheet.append(["W-1", "一号库", "活性炭", "吨", 5, title, "110101", "政府储备"])
        book.remove(book.active)

    monkeypatch.setattr(importers.workbook, "_what_sheet_holds", noted)
    run = same_both_ways(session, monkeypatch, xlsx(build))
    assert run.report["status"] == "validated", run.report["errors"]
    seen = looked_at.read_text(encoding="utf-8").split()
    assert seen == ["玄武仓库", "江宁厂区"] * 2  # read ahead or not, each sheet once


def test_a_large_file_hashed_while_it_opens_is_known_when_imported_again(session, monkeypatch):
    monkeypatch.setattr(importers.ledger, "LOAD_WHILE_OPENING_FROM", 0)
    data = national_layout()
    first = import_ledger(session, data, file_name="a.xlsx", actor="tester")
    session.commit()
    again = import_ledger(session, data, file_name="a.xlsx", actor="tester", dry_run=True)
    assert first.sha256 == again.sha256 == hashlib.sha256(data).hexdigest()
    assert first.previous_import is None and again.previous_import["import_id"] == first.import_id
