"""import_ledger at the service boundary: real-world layouts, located errors, one transaction, idempotence."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl.styles import Font
from sqlalchemy import func, select

from inventory.access import Principal
from inventory.callups import raise_callup
from inventory.catalogue import create_item, get_item
from inventory.geo import Incident, Point
from inventory.models import Item, LedgerImport, Movement, StockLine, Warehouse
from inventory.nearest import NeedRequest
from inventory.reference import MovementKind, Role
from inventory.stock import ledger_mismatches
from tests.importers.conftest import HEADER, database_dump, in_chinese, ledger_row, sheet_of_rows, stock, xlsx, zipped


def movement_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Movement))


def hand_made_ledger(book) -> None:
    """A county's ledger as people make it: title, notes, a two-level merged header, merged warehouse cells,
    text numbers, dates typed every way, a unit in the header brackets, a totals row and signatures."""
    sheet = book.active
    sheet.title = "2024年台账"
    sheet["A1"] = "东城区环境应急物资储备台账（2024年）"
    sheet["A1"].font = Font(bold=True, size=16)
    sheet.merge_cells("A1:L1")
    sheet["A2"] = "填报单位：东城区生态环境局"
    sheet.merge_cells("A2:F2")
    sheet["A3"], sheet["B3"], sheet["F3"] = "序号", "仓库信息", "物资信息"
    sheet.merge_cells("A3:A4")
    sheet.merge_cells("B3:E3")
    sheet.merge_cells("F3:L3")
    for column, header in zip(
        "BCDEFGHIJKL",
        [
            *("编码", "名称", "储备类型", "所在区县", "名称", "规格型号"),
            *("计量单位", "数量", "生产日期", "有效期至", "备注"),
        ],
        strict=True,
    ):
        sheet[f"{column}4"] = header
    rows = [
        [
            1,
            "W-001",
            "东城区环境应急物资储备库",
            "政府储备",
            "东城区",
            *("活性炭", "颗粒", "公斤", "1,200", None, None, "袋装"),
        ],
        [2, None, None, None, None, "生石灰", "", "吨", "１２", "2024/3/1", None, ""],
        [3, None, None, None, None, "吸油毡", "", "张", 500, "2024年3月1日", "长期", ""],
        [4, "W-002", "海淀区企业应急物资库", "企业", "海淀区", "oil boom", "", "m", 300, dt.date(2024, 3, 1), None, ""],
        ["合计", None, None, None, None, None, None, None, 2012, None, None, None],
        ["注：数量以盘点为准"],
        ["填表人：张三", None, None, None, None, None, "审核人：李四"],
    ]
    for offset, row in enumerate(rows, start=5):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=offset, column=column, value=value)
    for column in "BCDE":
        sheet.merge_cells(f"{column}5:{column}7")


def test_a_hand_made_county_ledger_imports_as_people_meant_it(session, run_import):
    report = run_import(xlsx(hand_made_ledger))

    assert report.status == "imported", report.errors
    assert report.errors == []
    assert report.sheets[0]["header_row"] == 4
    assert report.rows == 4
    assert stock(session) == {
        ("W-001", "PD-001", ""): Decimal("1.2"),  # 1,200 公斤 → 1.2 吨
        ("W-001", "PD-002", ""): Decimal(12),
        ("W-001", "PL-001", ""): Decimal(500),
        ("W-002", "PC-001", ""): Decimal(300),  # "oil boom" is an alias of 围油栏; m → 米
    }
    quicklime = session.scalar(select(StockLine).join(StockLine.item).where(Item.code == "PD-002"))
    assert quicklime.production_date == dt.date(2024, 3, 1)
    assert quicklime.expiry_date == dt.date(2025, 3, 1)  # shelf life 365 days
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == "W-002"))
    assert (warehouse.county_code, warehouse.reserve_type.value) == ("110108", "enterprise")
    assert warehouse.level.value == "county"
    warned = " ".join(issue.message for issue in report.warnings)
    assert "no coordinates given" in warned and "no level" in warned
    assert ledger_mismatches(session) == []


def test_two_sheet_layout_warehouses_then_stock_by_code(session, run_import):
    def build(book):
        stock_sheet = book.active
        stock_sheet.title = "物资"
        stock_sheet.append(["仓库编码", "物资编码", "数量", "单位"])
        stock_sheet.append(["W-9", "SP-001", 4, "套"])
        stock_sheet.append(["W-9", "SP-004", "20", "pcs"])
        registry = book.create_sheet("储备库")
        registry.append(["Warehouse code", "Warehouse name", "Reserve type", "County code", "Latitude", "Longitude"])
        registry.append(["W-9", "Depot nine", "Third-party service reserve", 110101, 39.9, 116.4])

    report = run_import(xlsx(build))

    assert report.status == "imported", report.errors
    assert [sheet["kind"] for sheet in report.sheets] == ["warehouses", "stock"]
    assert stock(session) == {("W-9", "SP-001", ""): Decimal(4), ("W-9", "SP-004", ""): Decimal(20)}
    assert session.scalar(select(Warehouse.reserve_type).where(Warehouse.code == "W-9")).value == "third_party"


BAD_ROWS = [
    pytest.param({"数量": "about ten"}, "数量", "about ten", "not a number", id="text-quantity"),
    pytest.param({"数量": -5}, "数量", -5, "negative", id="negative-quantity"),
    pytest.param({"数量": None}, "数量", None, "quantity is missing", id="missing-quantity"),
    pytest.param({"储备类型": "国家队"}, "储备类型", "国家队", "not one of", id="unknown-reserve-type"),
    # An unknown item is added (category inferred from its name); one whose unit is nowhere cannot be.
    pytest.param({"物资名称": "神秘物资", "计量单位": None}, "物资名称", "神秘物资", "unknown item", id="unknown-item"),
    pytest.param({"生产日期": "2024-13-45"}, "生产日期", "2024-13-45", "no such date", id="impossible-date"),
    pytest.param({"有效期至": "next spring"}, "有效期至", "next spring", "not a date", id="unreadable-date"),
    pytest.param(
        {"生产日期": "2024-03-01", "有效期至": "2023-01-01"}, "有效期至", "2023-01-01", "before", id="expiry-first"
    ),
    pytest.param({"区县代码": "999999"}, "区县代码", "999999", "unknown region", id="unknown-county"),
    pytest.param({"区县代码": "110000"}, "区县代码", "110000", "province", id="province-not-county"),
    pytest.param({"数量": "1.23456"}, "数量", "1.23456", "decimal places", id="too-precise"),
    # the dry run said "validated" and PostgreSQL's COPY refused it (a 500): a line keeps at most 64 characters
    pytest.param({"批次": "B" * 65}, "批次", "B" * 65, "longer than 64 characters", id="batch-too-long"),
]


@pytest.mark.parametrize(("override", "column", "value", "message"), BAD_ROWS)
def test_each_bad_row_is_reported_with_its_row_column_and_value(session, run_import, override, column, value, message):
    data = sheet_of_rows([["台账"], HEADER, ledger_row("W-1", "活性炭", 5), ledger_row("W-2", "生石灰", 2, **override)])

    report = run_import(data)

    assert report.status == "rejected"
    assert report.rows_rejected == 1
    [error] = [issue for issue in report.errors if issue.row == 4]
    assert (error.sheet, error.row, error.column) == ("台账", 4, column)
    assert message in error.message
    if value is not None and column != "区县代码":
        assert error.value == value
    assert error.cell == f"{'ABCDEFGHIJ'[HEADER.index(column)]}4"
    assert stock(session) == {}


def test_a_refused_file_leaves_every_table_byte_for_byte_unchanged(session, run_import, stocked_line):
    stocked_line(40)
    before = database_dump()
    data = sheet_of_rows(
        [
            HEADER,
            ledger_row("NEW-1", "活性炭", 7),  # a new warehouse and line: valid
            ledger_row("T0001", "活性炭", 3, 批次="B1"),  # the existing line: a valid stocktake
            ledger_row("NEW-2", "神秘物资", 1, 计量单位=None),  # the one bad row: an unknown item, no unit
        ]
    )

    report = run_import(data)

    assert report.status == "rejected" and report.errors_total == 1
    assert database_dump() == before


def test_dry_run_reports_everything_and_writes_nothing(session, run_import):
    before = database_dump()
    data = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-2", "活性炭", "x")])

    report = run_import(data, dry_run=True)

    assert report.status == "validated"
    assert report.counts["warehouses_created"] == 2 and report.counts["lines_created"] == 1
    assert [issue.row for issue in report.errors] == [3]
    assert database_dump() == before


def test_skip_invalid_imports_the_valid_rows_and_reports_the_others(session, run_import):
    data = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "活性炭", "x", 批次="B2")])

    report = run_import(data, skip_invalid=True)

    assert report.status == "imported"
    assert report.rows_rejected == 1 and report.errors[0].row == 3
    assert stock(session) == {("W-1", "PD-001", "B1"): Decimal(7)}
    record = session.get(LedgerImport, report.import_id)
    assert (record.rows, record.rows_rejected, record.lines_created) == (2, 1, 1)


def test_reimporting_the_same_ledger_writes_no_movement(session, run_import):
    data = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "2.5")])
    first = run_import(data)
    movements = movement_count(session)

    second = run_import(data)

    assert second.status == "imported"
    assert second.counts == {
        "warehouses_created": 0,
        "warehouses_updated": 0,
        "items_created": 0,
        "lines_created": 0,
        "lines_changed": 0,
        "lines_unchanged": 2,
    }
    assert movement_count(session) == movements
    assert second.previous_import["import_id"] == first.import_id


def test_a_count_is_a_stocktake_recorded_with_the_import_as_actor_and_reference(session, run_import, stocked_line):
    line = stocked_line(100)
    data = sheet_of_rows([HEADER, ledger_row("T0001", "活性炭", 80, 批次="B1", 生产日期="2026-01-01")])

    report = run_import(data, actor="county-clerk")

    movements = select(Movement).where(Movement.stock_line_id == line.id).order_by(Movement.id)
    movement = session.scalars(movements).all()[-1]
    assert (movement.kind, movement.delta) == (MovementKind.STOCKTAKE, Decimal(-20))
    assert movement.quantity_after == Decimal(80)
    assert (movement.actor, movement.reference) == ("county-clerk", report.reference)
    record = session.get(LedgerImport, report.import_id)
    assert (record.actor, record.file_name, len(record.sha256), record.lines_changed) == (
        "county-clerk",
        "ledger.xlsx",
        64,
        1,
    )


def test_a_count_below_the_reserved_quantity_is_refused(session, run_import, stocked_line):
    stocked_line(100)
    responder = Principal("rita", Role.RESPONDER)
    need = [NeedRequest(item="PD-001", quantity=Decimal(30))]
    raise_callup(session, responder, incident_name="演练", incident=Incident(Point(39.93, 116.42)), needs=need)
    session.commit()

    report = run_import(sheet_of_rows([HEADER, ledger_row("T0001", "活性炭", 20, 批次="B1")]))

    assert report.status == "rejected"
    assert "reserved" in report.errors[0].message and report.errors[0].column == "数量"


def test_a_batch_keeps_its_dates(session, run_import, stocked_line):
    stocked_line(100)  # batch B1 produced 2026-01-01

    report = run_import(sheet_of_rows([HEADER, ledger_row("T0001", "活性炭", 90, 批次="B1", 生产日期="2025-06-01")]))

    assert report.status == "rejected"
    assert report.errors[0].column == "生产日期" and "2026-01-01" in report.errors[0].message


def test_an_unknown_item_with_category_and_unit_is_added_to_the_catalogue(session, run_import):
    header = [*HEADER, "物资类别"]
    data = sheet_of_rows([header, [*ledger_row("W-1", "新型吸附剂", 3, 计量单位="kg"), "污染物收集"]])

    report = run_import(data)

    assert report.status == "imported", report.errors
    item = session.scalar(select(Item).where(Item.name == "新型吸附剂"))
    assert (item.category.value, item.unit, item.code.startswith("X-")) == ("pollutant_collection", "千克", True)
    assert stock(session) == {("W-1", item.code, "B1"): Decimal(3)}
    assert any("added as" in warning.message for warning in report.warnings)


def test_differing_warehouse_cells_warn_and_duplicate_lines_are_reported(session, run_import):
    data = sheet_of_rows(
        [
            HEADER,
            ledger_row("W-1", "活性炭", 1),
            ledger_row("W-1", "生石灰", 1, 仓库名称="另一个名字"),
            ledger_row("W-2", "活性炭", 1),
            ledger_row("W-2", "活性炭", 2),
        ]
    )

    report = run_import(data)

    located = {(issue.row, issue.column) for issue in report.errors}
    assert located == {(5, "批次")}  # the same batch counted twice
    # A warehouse detail that differs from an earlier row is a warning: the first value is used, the row stands.
    [differs] = [issue for issue in report.warnings if (issue.row, issue.column) == (3, "仓库名称")]
    assert "东城区环境应急物资储备库" in differs.message and differs.value == "另一个名字"
    assert any("already counted in 台账 row 4" in issue.message for issue in report.errors)


def test_unknown_columns_are_warned_about_not_dropped_silently(session, run_import):
    data = sheet_of_rows([[*HEADER, "负责领导签字"], [*ledger_row("W-1"), "王"]])

    report = run_import(data)

    assert report.status == "imported"
    [warning] = [w for w in report.warnings if w.column == "负责领导签字"]
    assert (warning.row, warning.cell) == (1, "K1")


def test_a_coordinate_outside_china_is_a_warning(session, run_import):
    header = [*HEADER, "纬度", "经度"]
    data = sheet_of_rows([header, [*ledger_row("W-1"), 51.5, -0.12]])

    report = run_import(data)

    assert report.status == "imported"
    assert any("outside China" in warning.message for warning in report.warnings)


def test_county_names_resolve_through_province_and_city(session, run_import):
    header = ["仓库编码", "仓库名称", "储备类型", "省份", "地市", "区县", "物资名称", "数量"]
    rows = [
        header,
        ["W-1", "长春朝阳库", "政府储备", "吉林省", "长春市", "朝阳区", "活性炭", 1],
        ["W-2", "朝阳库", "政府储备", None, None, "朝阳区", "活性炭", 1],
    ]

    report = run_import(sheet_of_rows(rows), skip_invalid=True)

    assert session.scalar(select(Warehouse.county_code).where(Warehouse.code == "W-1")) == "220104"
    [error] = report.errors
    assert (error.row, error.column) == (3, "区县") and "2 places" in error.message


def test_a_provincial_officer_cannot_import_into_another_province(session, run_import):
    from inventory.access import Principal
    from inventory.reference import Role

    officer = Principal(username="jl-officer", role=Role.PROVINCIAL, province_code="220000")

    report = run_import(sheet_of_rows([HEADER, ledger_row("W-1")]), actor=officer)

    assert report.status == "rejected"
    assert "may not manage warehouses" in report.errors[0].message


def test_item_lookup_by_code_name_or_alias(session, run_import):
    carbon = get_item(session, "PD-001")
    data = sheet_of_rows(
        [
            ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资编码", "物资名称", "批次", "数量"],
            ["W-1", "库", "政府", "110101", "PD-001", None, "a", 1],
            ["W-1", None, None, None, None, "颗粒活性炭", "b", 2],
            ["W-1", None, None, None, None, "Activated Carbon", "c", 3],
            ["W-1", None, None, None, "pd-001", "生石灰", "d", 4],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert {key[1] for key in stock(session)} == {carbon.code}
    [warning] = [w for w in report.warnings if w.row == 5]
    assert "the code PD-001 is 活性炭 but the name says '生石灰'" in warning.message and warning.column == "物资名称"


def test_a_code_and_a_name_its_item_shares_with_another_agree(session, run_import):
    """Two items may share a name (a second 活性炭). A row giving PD-001 and 活性炭 names PD-001 plainly; it was
    warned on every row that "the code PD-001 is 活性炭 but the name says '活性炭'"."""
    create_item(session, "tester", code="PD-901", name="活性炭", category="other", unit="吨")
    session.commit()
    data = sheet_of_rows(
        [
            ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资编码", "物资名称", "批次", "数量"],
            ["W-1", "库", "政府", "110101", "PD-001", "活性炭", "a", 1],
            ["W-1", None, None, None, "PD-901", "活性炭", "b", 2],
            ["W-1", None, None, None, "PD-901", "生石灰", "c", 3],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert {(key[1], key[2]) for key in stock(session)} == {("PD-001", "a"), ("PD-901", "b"), ("PD-901", "c")}
    assert [(w.row, w.message) for w in report.warnings if w.column == "物资名称"] == [
        (4, "the code PD-901 is 活性炭 but the name says '生石灰'; PD-901 活性炭 was used")
    ]


def test_characters_that_show_nothing_are_not_part_of_what_a_cell_says(session, run_import):
    """Text pasted from a web page, Word or Windows carries zero-width spaces, byte-order marks, soft hyphens and
    direction marks: the item is still 活性炭, the warehouse and batch are kept without them, and a cell of nothing
    but them is blank."""
    data = sheet_of_rows(
        [
            ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "批次", "数量", "备注"],
            ["\ufeffW-1", "东城\u200b库\u200e", "政府", "110101", "活性\u200b炭\u00ad", "B\u20601", 1, "\u200f"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert stock(session) == {("W-1", "PD-001", "B1"): Decimal(1)}
    assert session.scalar(select(Warehouse.name).where(Warehouse.code == "W-1")) == "东城库"


def test_a_text_direction_control_in_a_cell_is_refused_at_its_cell(session, run_import):
    data = sheet_of_rows([HEADER, ledger_row(item="活性炭", 批次="B\u202e1")])

    report = run_import(data)

    assert report.status == "rejected"
    [error] = report.errors
    assert (error.row, error.column) == (2, "批次") and "text-direction control" in error.message


def test_the_cycle_collector_is_back_on_after_an_import_whatever_became_of_it(run_import, monkeypatch):
    """``import_ledger`` holds the collector off while it runs (``without_cycle_collection``) and switches it
    back on after an import, a rejected one, and one that raised."""
    import gc

    import importers.ledger

    seen: list[bool] = []
    reading = importers.ledger.LedgerReader.read

    def read(self, workbook, **how):
        seen.append(gc.isenabled())
        return reading(self, workbook, **how)

    monkeypatch.setattr(importers.ledger.LedgerReader, "read", read)
    assert run_import(sheet_of_rows([HEADER, ledger_row()])).status == "imported"
    assert gc.isenabled()
    assert run_import(sheet_of_rows([HEADER, ledger_row(quantity="lots")])).status == "rejected"
    assert gc.isenabled()

    def fail(self, workbook, **how):
        raise RuntimeError("boom")

    monkeypatch.setattr(importers.ledger.LedgerReader, "read", fail)
    with pytest.raises(RuntimeError):
        run_import(sheet_of_rows([HEADER, ledger_row()]))
    assert gc.isenabled()
    assert seen == [False, False]


@pytest.mark.parametrize("already", [0, 1, 199, 200], ids=lambda n: f"{n} rows listed before")
def test_listing_rows_for_review_at_once_is_listing_them_one_by_one(already):
    """``IssueLog.review_rows`` (a new warehouse's rows in one call) leaves what ``review`` per row leaves: the
    first detail, rows in order up to ``MAX_ROWS_KEPT``, none with a blank sheet or row."""
    from importers.outcome import ImportReport, IssueLog
    from inventory.import_review import MAX_ROWS_KEPT

    rows = [("台账", n) for n in range(2, 300)]
    rows[3] = ("台账", None)
    rows[5] = (None, 9)
    logs = []
    for at_once in (False, True):
        log = IssueLog(ImportReport(file_name="f.xlsx", sha256="", dry_run=False, skip_invalid=False, actor="t"))
        for n in range(already):
            log.review("new_warehouse", "W-1", "first", "仓库", n)
        if at_once:
            log.review_rows("new_warehouse", "W-1", "second", rows)
            log.review_rows("new_warehouse", "W-2", "other", rows[:4])
        else:
            for sheet, row in rows:
                log.review("new_warehouse", "W-1", "second", sheet, row)
            for sheet, row in rows[:4]:
                log.review("new_warehouse", "W-2", "other", sheet, row)
        logs.append(list(log.report.review.values()))
    assert logs[0] == logs[1]
    assert len(logs[1][0].rows) == MAX_ROWS_KEPT


def test_lookups_loaded_while_the_file_opens_give_the_same_import(session, make_warehouse, monkeypatch):
    """A large file's lookups (catalogue, names, words, regions) are loaded while the parsing child opens it
    (``LOAD_WHILE_OPENING_FROM``); here every file is large, then none: the same report, rows and review."""
    import importers.ledger
    from importers.ledger import import_ledger
    from inventory.models import AuditEntry, ImportReviewItem

    make_warehouse("STORED-1")
    session.commit()
    monkeypatch.setattr(importers.ledger, "HOLD_REGIONS_FROM", 1)  # the regions held on both paths
    opened: list[bool] = []
    loading = importers.ledger._Lookups.load_while_opening

    def load_while_opening(self):
        opened.append(True)
        loading(self)
        assert self.regions  # the database stores a warehouse

    monkeypatch.setattr(importers.ledger._Lookups, "load_while_opening", load_while_opening)
    data = xlsx(hand_made_ledger)
    outcomes = []
    for threshold in (0, 1 << 60):
        monkeypatch.setattr(importers.ledger, "LOAD_WHILE_OPENING_FROM", threshold)
        report = import_ledger(session, data, file_name="a.xlsx", actor="tester").to_dict()
        assert report["status"] == "imported"
        del report["import_id"]
        reference = report.pop("reference")  # PostgreSQL's sequences are not rolled back
        review = session.execute(
            select(ImportReviewItem.kind, ImportReviewItem.subject, ImportReviewItem.detail, ImportReviewItem.rows)
            .where(ImportReviewItem.import_id == select(func.max(LedgerImport.id)).scalar_subquery())
            .order_by(ImportReviewItem.id)
        ).all()
        audit = [
            (action, "the import" if key == reference else key)
            for action, key in session.execute(select(AuditEntry.action, AuditEntry.object_key).order_by(AuditEntry.id))
        ]
        outcomes.append((report, review, audit, stock(session)))
        session.rollback()
    assert opened == [True]
    for early, late in zip(outcomes[0], outcomes[1], strict=True):
        assert early == late
    assert outcomes[0][1]  # something to review


def test_one_import_adds_at_most_max_new_items_to_the_catalogue(session, run_import, monkeypatch):
    """Each new item costs the worker ~1 ms outside the parse's limits: a file naming 100,000 unknown items held a
    worker for minutes. Past the limit, the rows of further new items are errors naming their item cell."""
    import importers.ledger

    monkeypatch.setattr(importers.ledger, "MAX_NEW_ITEMS", 2)
    data = sheet_of_rows(
        [
            HEADER,
            ledger_row("W-1", "新物资甲", 1),
            ledger_row("W-1", "新物资乙", 1),
            ledger_row("W-1", "新物资丙", 1),
            ledger_row("W-1", "新物资丙", 2, 批次="B2"),
            ledger_row("W-1", "活性炭", 3),
        ]
    )

    report = run_import(data)

    assert report.status == "rejected"
    assert [(error.row, error.column) for error in report.errors] == [(4, "物资名称"), (5, "物资名称")]
    assert report.errors[0].message == (
        "item '新物资丙' is not in the catalogue, and one import adds at most 2 items (MAX_NEW_ITEMS): check the "
        "item column, or add the items to the catalogue first"
    )
    assert session.scalar(select(func.count()).select_from(Item).where(Item.name == "新物资丙")) == 0


def test_an_import_counting_a_line_raced_by_issues_leaves_the_line_its_ledger_s_sum(
    app, session, stocked_line, monkeypatch
):
    """The import counts existing lines from rows it locked (FOR UPDATE on PostgreSQL, SQLite's one writer): issues
    of the same line sent while it holds them wait for its commit and come after the count, and the line's quantity
    stays the sum of its ledger entries. Without the lock they would slip in between the read and the write."""
    import threading
    import time

    import inventory.imports
    from api.extensions import db
    from importers.ledger import import_ledger
    from inventory.stock import get_stock_line, issue_stock
    from tests.unit.racing import run_at_once

    line = stocked_line(100)
    line_id = line.id
    data = sheet_of_rows([HEADER, ledger_row("T0001", "活性炭", 40, 批次="B1")])
    session.commit()
    db.session.remove()
    lines_read = threading.Event()
    read_lines = inventory.imports._locked_lines

    def read_then_linger(*args):
        lines = read_lines(*args)
        lines_read.set()
        time.sleep(0.5)  # the issues run now: they must wait for the import's commit
        return lines

    monkeypatch.setattr(inventory.imports, "_locked_lines", read_then_linger)

    def count() -> None:
        report = import_ledger(db.session, data, file_name="count.xlsx", actor="tester")
        assert report.status == "imported", report.errors

    def issue() -> None:
        assert lines_read.wait(30)
        issue_stock(db.session, line=get_stock_line(db.session, line_id), quantity=Decimal(3), actor="racer")

    outcomes = run_at_once(app, [count] + [issue] * 4)

    assert outcomes == ["done"] * 5, outcomes
    with app.app_context():
        entries = db.session.scalars(select(Movement).where(Movement.stock_line_id == line_id)).all()
        assert len(entries) == 6  # the opening receipt, the count, the four issues
        assert db.session.get(StockLine, line_id).quantity == sum(entry.delta for entry in entries) == 40 - 12
        assert ledger_mismatches(db.session) == []


@pytest.mark.parametrize(
    ("head", "cells", "column"),
    [
        pytest.param(HEADER, {"仓库编码": "W\0-1"}, "仓库编码", id="code"),
        # no code, no county: the name alone is looked up, then refused as any unknown one without a county is,
        # in the cell that names it (no 所在区县 column to point at)
        pytest.param(
            [h for h in HEADER if h not in ("仓库编码", "区县代码")], {"仓库名称": "东城\0库"}, "仓库名称", id="name"
        ),
    ],
)
def test_a_nul_in_a_warehouse_s_code_or_name_is_reported_in_the_report(session, run_import, head, cells, column):
    """A NUL (written ``_x0000_`` in the sheet) reaches no query: PostgreSQL refuses one in a parameter outright,
    so looking such a warehouse up was a 422 for the whole file, naming no cell, on PostgreSQL only."""
    row = dict(zip(HEADER, ledger_row("W-1", "活性炭", 5), strict=True)) | {
        name: value.replace("\0", "ZZNULZZ") for name, value in cells.items()
    }
    data = sheet_of_rows([head, [row[name] for name in head]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name).replace(b"ZZNULZZ", b"_x0000_") for name in archive.namelist()}

    report = run_import(zipped(members), dry_run=True)

    assert report.status == "validated"
    assert [issue.column for issue in report.errors] == [column], [issue.message for issue in report.errors]


def test_a_service_s_words_about_a_field_are_said_of_its_column(run_import):
    """The warehouse service's messages about its fields name the ledger's column; one about a value (a latitude
    out of range) is left as the service says it, which the catalog has in Chinese."""
    header = [*HEADER, "纬度", "经度"]
    rows = [header, [*ledger_row("W-1"), 200, 116.4], [*ledger_row("W-2", 仓库名称="库" * 201), 39.9, 116.4]]
    report = run_import(sheet_of_rows(rows), dry_run=True)

    said = {issue.row: issue.message for issue in report.errors}
    assert said[2] == "warehouse W-1: latitude must be between -90 and 90"
    assert in_chinese(said[2]) == "仓库 W-1：纬度须在 -90 到 90 之间"
    assert said[3] == "warehouse W-2: 仓库名称 is longer than 200 characters"


@pytest.mark.parametrize("order", ["shelf life first", "date first"])
def test_a_shelf_life_column_beside_the_expiry_date_column_yields_to_it(session, run_import, order):
    """生产日期 | 保质期 | 有效期至, as county forms write it: the date in 有效期至 is read, whichever comes first, and
    保质期 (3年, 长期) is said to be left. (保质期 became an expiry header this session; the review found it then
    took the column and dropped 有效期至: a 长期 row lost its date without a word, a 3年 row without a production
    date was refused.)"""
    pair = ["保质期", "有效期至"] if order == "shelf life first" else ["有效期至", "保质期"]
    values = {"保质期": ["3年", "长期"], "有效期至": ["2027-06-30", "2028-01-31"]}
    kept = [index for index, name in enumerate(HEADER) if name != "有效期至"]
    rows = [[*(HEADER[index] for index in kept), *pair]]
    for number, batch in enumerate(("B1", "B2")):
        row = ledger_row("W-1", 批次=batch, 生产日期=None)
        rows.append([*(row[index] for index in kept), *(values[name][number] for name in pair)])

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported", report.errors
    expiries = session.execute(select(StockLine.batch, StockLine.expiry_date).order_by(StockLine.batch)).all()
    assert expiries == [("B1", dt.date(2027, 6, 30)), ("B2", dt.date(2028, 1, 31))]
    said = [issue.message for issue in report.warnings if "means the same" in issue.message]
    if order == "shelf life first":
        assert said == ["column '保质期' means the same as column '有效期至', which was read instead"]
    else:
        assert said == ["column '保质期' means the same as column '有效期至'; only the first was read"]
    assert in_chinese(said[0]).startswith("列“保质期”与列“有效期至”含义相同")


@pytest.mark.parametrize(
    ("header", "expected"), [("保质期（周）", dt.date(2025, 12, 31)), ("有效期（月）", dt.date(2029, 5, 1))]
)
def test_a_bare_number_under_an_expiry_header_naming_its_unit_is_that_shelf_life(session, run_import, header, expected):
    """52 under 保质期（周） was refused as "a number, not a date" while 有效期（月） 52 was a shelf life: the units
    an expiry header may name are the shelf life's own (values.SHELF_LIFE_UNITS), one list."""
    kept = [index for index, name in enumerate(HEADER) if name != "有效期至"]
    row = ledger_row("W-1", 生产日期="2025-01-01")
    rows = [[*(HEADER[index] for index in kept), header], [*(row[index] for index in kept), 52]]

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported", report.errors
    assert session.scalar(select(StockLine.expiry_date)) == expected


def test_a_row_of_its_serial_and_an_item_alone_is_refused_as_a_row_not_skipped_as_a_heading(run_import):
    """2 | 帐篷 with nothing else: a ledger row lacking its details, refused as one (the review found it skipped
    with a warning as a heading); 1 | 污染物收集类 and 一、 | 帐篷 are still headings."""
    blank = [None] * (len(HEADER) - 1)
    item = HEADER.index("物资名称")
    tent, group, chinese = ([*blank] for _ in range(3))
    tent.insert(item, "帐篷")
    group.insert(item, "污染物收集类")
    chinese.insert(item, "帐篷")
    rows = [["序号", *HEADER], [1, *ledger_row("W-1")], [2, *tent], [3, *group], ["一、", *chinese]]

    report = run_import(sheet_of_rows(rows), dry_run=True, skip_invalid=True)

    assert {issue.row for issue in report.errors} == {3}, report.errors
    headings = [issue.row for issue in report.warnings if "read as a heading" in issue.message]
    assert headings == [4, 5], report.warnings


def test_a_data_row_starting_with_numbers_is_not_taken_for_the_columns_numbering(session, run_import):
    """序号 | 数量 | 批次 | 备注 …: 1 | 2 | 3 | 4 | W-1 … counts 1 to 4 in its first cells, but its other cells
    are words: a row of stock (the review found it skipped as a 栏次 row); 1 | 2 | 3 … across the header still is
    one."""
    header = ["序号", "数量", "批次", "备注", *(name for name in HEADER if name not in ("数量", "批次"))]
    row = dict(zip(HEADER, ledger_row("W-1"), strict=True))
    data = [1, 2, "3", 4, *(row[name] for name in header[4:])]
    numbering = list(range(1, len(header) + 1))

    report = run_import(sheet_of_rows([header, numbering, data]))

    assert report.status == "imported", report.errors
    assert session.scalar(select(func.sum(StockLine.quantity))) == 2
    assert [issue.row for issue in report.notes if "columns' numbers" in issue.message] == [2]
