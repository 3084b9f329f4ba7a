"""export_ledger: what the officer hands on, read back by python-calamine, and imported back unchanged."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import BigInteger, distinct, func, select, type_coerce, update

from api.messages import catalog
from importers.export import export_ledger
from importers.xlsx import neutralise
from inventory.access import Principal
from inventory.catalogue import get_item
from inventory.demo import seed_demo
from inventory.models import Item, Movement, StockLine, Warehouse
from inventory.reference import Role
from inventory.shipments import ShipmentDetails, ship_transfer
from inventory.stock import receive_stock
from tests.importers.conftest import database_dump


def exported(session, **options) -> bytes:
    out = io.BytesIO()
    export_ledger(session, out, actor="tester", today=dt.date(2026, 3, 1), **options)
    return out.getvalue()


@pytest.fixture
def demo(session):
    seed_demo(session, "small", seed=11, today=dt.date(2026, 3, 1))
    session.commit()


def test_export_reads_back_with_calamine_with_the_same_values(session, stocked_line):
    line = stocked_line("12.5")

    book = CalamineWorkbook.from_filelike(io.BytesIO(exported(session)))

    assert book.sheet_names == ["汇总", "台账", "储备库", "在途"]
    rows = book.get_sheet_by_name("台账").to_python()
    assert "环境应急物资储备台账" in rows[0][0]
    header, values = rows[1], rows[2]
    record = dict(zip(header, values, strict=True))
    assert record["省份"] == "北京市" and record["省代码"] == "110000"
    assert (record["区县"], record["区县代码"]) == ("东城区", "110101")
    assert (record["仓库编码"], record["储备类型"]) == (line.warehouse.code, "政府储备")
    assert (record["物资编码"], record["物资名称"], record["计量单位"]) == ("PD-001", "活性炭", "吨")
    assert record["数量"] == 12.5  # a number, not text
    assert record["生产日期"] == dt.date(2026, 1, 1)
    assert record["有效期至"] == dt.date(2030, 12, 31)


def test_the_ledger_sheet_is_ready_to_hand_on(session, stocked_line):
    stocked_line()
    book = openpyxl.load_workbook(io.BytesIO(exported(session)))
    sheet = book["台账"]

    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:R3"
    assert sheet.column_dimensions["H"].width > 20
    assert sheet["P3"].number_format == "#,##0"
    assert sheet["Q3"].number_format == "yyyy-mm-dd"


def test_text_that_could_run_as_a_formula_is_neutralised_and_numbers_stay_numbers(session, make_warehouse):
    warehouse = make_warehouse(name='=HYPERLINK("http://evil","点我")', contact_phone="+86 10 1234")
    receive_stock(
        session, warehouse=warehouse, item=get_item(session, "PD-001"), quantity=Decimal(3), batch="-1", actor="t"
    )
    session.commit()

    book = CalamineWorkbook.from_filelike(io.BytesIO(exported(session)))

    ledger = book.get_sheet_by_name("台账").to_python()[2]
    assert ledger[7].startswith("'=HYPERLINK") and ledger[14] == "'-1" and ledger[15] == 3.0
    registry = book.get_sheet_by_name("储备库").to_python()[2]
    assert "'+86 10 1234" in registry
    assert [neutralise(text) for text in ("@SUM(A1)", "\tx", "ok", "")] == ["'@SUM(A1)", "'\tx", "ok", ""]


def test_english_export_uses_english_headers_and_labels(session, stocked_line):
    stocked_line()
    book = CalamineWorkbook.from_filelike(io.BytesIO(exported(session, lang="en")))

    rows = book.get_sheet_by_name("Ledger").to_python()
    assert rows[1][:3] == ["Province", "Province code", "City"]
    assert "Government reserve" in rows[2]


def test_a_region_export_holds_only_that_region(session, demo):
    province = session.scalar(select(func.min(StockLine.id)))  # any line: take its warehouse's province
    code = session.get(StockLine, province).warehouse.province_code

    rows = CalamineWorkbook.from_filelike(io.BytesIO(exported(session, region=code))).get_sheet_by_name("台账")

    assert {row[1] for row in rows.to_python()[2:]} == {code}


def test_summary_totals_match_the_ledger(session, demo):
    book = CalamineWorkbook.from_filelike(io.BytesIO(exported(session)))
    summary = book.get_sheet_by_name("汇总").to_python()
    lines = session.scalar(select(func.count()).select_from(StockLine).where(StockLine.quantity > 0))

    assert summary[1][:2] == ["库存条目", lines]
    totals_row = next(row for row in summary if row[0] == "合计")
    assert totals_row[5] == lines


def test_summary_by_county_and_by_item_match_the_database(session, demo):
    summary = CalamineWorkbook.from_filelike(io.BytesIO(exported(session))).get_sheet_by_name("汇总").to_python()
    in_stock = StockLine.quantity > 0
    counties = session.execute(
        select(
            Warehouse.county_code,
            func.count(distinct(Warehouse.id)),
            func.count(),
            func.count(distinct(StockLine.item_id)),
        )
        .join(StockLine.warehouse)
        .where(in_stock)
        .group_by(Warehouse.county_code)
    ).all()
    stored = type_coerce(StockLine.quantity, BigInteger)
    items = session.execute(
        select(Item.code, func.sum(stored)).join(StockLine.item).where(in_stock).group_by(Item.code)
    ).all()

    start = next(index for index, row in enumerate(summary) if row[0] == "按区县") + 2
    assert {row[3]: row[4:7] for row in summary[start:]} == {county: list(counts) for county, *counts in counties}
    start = next(index for index, row in enumerate(summary) if row[0] == "按物资和储备类型（数量）") + 2
    item_rows = summary[start : start + len(items)]
    assert {row[1]: row[-1] for row in item_rows} == {code: int(total) / 1000 for code, total in items}
    assert len(counties) > 1 and len(items) > 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_round_trip_export_then_import_changes_nothing(session, demo, run_import, lang):
    data = exported(session, lang=lang)
    movements = session.scalar(select(func.count()).select_from(Movement))
    before = database_dump()

    report = run_import(data, dry_run=True)

    assert report.errors == [] and report.status == "validated"
    lines = session.scalar(select(func.count()).select_from(StockLine).where(StockLine.quantity > 0))
    assert report.counts["lines_unchanged"] == lines
    assert report.counts["lines_changed"] == report.counts["lines_created"] == 0
    assert report.counts["warehouses_created"] == report.counts["warehouses_updated"] == 0
    assert database_dump() == before
    assert run_import(data).counts["lines_changed"] == 0
    assert session.scalar(select(func.count()).select_from(Movement)) == movements


def test_an_export_rebuilds_the_same_stock_in_an_empty_database(session, demo, run_import):
    """Export, then move every existing warehouse out of the way (new codes): the import must rebuild it all."""
    data = exported(session)
    stock_before = _stock(session)
    warehouse_before = _warehouses(session)
    session.execute(update(Warehouse).values(code="OLD-" + Warehouse.code))
    session.commit()

    report = run_import(data)

    assert report.status == "imported", report.errors[:3]
    assert report.counts["warehouses_created"] == len(warehouse_before)
    assert {key: value for key, value in _stock(session).items() if not key[0].startswith("OLD-")} == stock_before
    assert _warehouses(session, prefix_excluded="OLD-") == warehouse_before


def _on_the_road(session, make_warehouse, stocked_line):
    """10 of 100 units on a transfer from 东城区 to 天津 (overdue), 4 still in the Beijing warehouse's batch B1."""
    beijing, tianjin = make_warehouse("BJ-1"), make_warehouse("TJ-1", county_code="120101")
    line = stocked_line(14, warehouse=beijing)
    sender = Principal(username="m", role=Role.MANAGER, warehouse_ids=frozenset({beijing.id}))
    departed = dt.datetime(2026, 2, 27, 1, 0, tzinfo=dt.UTC)
    shipment = ship_transfer(
        session,
        sender,
        lines=[(line.id, 10)],
        to_warehouse=tianjin,
        details=ShipmentDetails(departed_at=departed, eta=departed + dt.timedelta(hours=6)),
    )
    session.commit()
    return shipment


def test_stock_in_transit_has_its_own_sheet_for_both_ends_and_is_out_of_the_ledger(
    session, make_warehouse, stocked_line
):
    shipment = _on_the_road(session, make_warehouse, stocked_line)

    for region in ("110000", "120000", None):
        book = CalamineWorkbook.from_filelike(io.BytesIO(exported(session, region=region)))
        rows = book.get_sheet_by_name("在途").to_python()
        assert "在途" in rows[0][0]
        record = dict(zip(rows[1], rows[2], strict=True))
        assert (record["发运单号"], record["类型"], record["发出"], record["到达/事件"]) == (
            shipment.code,
            "仓库调拨",
            "BJ-1",
            "TJ-1",
        )
        assert (record["物资编码"], record["批次"], record["在途数量"]) == ("PD-001", "B1", 10.0)
        assert (record["出发时间"], record["预计到达"], record["逾期"]) == (
            "2026-02-27 09:00",
            "2026-02-27 15:00",
            "是",
        )
    ledger = CalamineWorkbook.from_filelike(io.BytesIO(exported(session, region="110000"))).get_sheet_by_name("台账")
    assert [row[15] for row in ledger.to_python()[2:]] == [4.0]  # on hand only: the 10 on the road are not here
    elsewhere = CalamineWorkbook.from_filelike(io.BytesIO(exported(session, region="130000", lang="en")))
    assert elsewhere.get_sheet_by_name("In transit").to_python()[1][0] == "Shipment code"
    assert len(elsewhere.get_sheet_by_name("In transit").to_python()) == 2  # title and headers: none from 河北


@pytest.mark.parametrize("renamed", [None, "Sheet4"])
def test_reimporting_an_export_never_reads_the_in_transit_sheet_as_stock(
    session, make_warehouse, stocked_line, run_import, renamed
):
    _on_the_road(session, make_warehouse, stocked_line)
    data = exported(session)
    if renamed:  # under any name, its shipment-code column gives it away
        book = openpyxl.load_workbook(io.BytesIO(data))
        book["在途"].title = renamed
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    before, movements = database_dump(), session.scalar(select(func.count()).select_from(Movement))

    report = run_import(data, dry_run=True)

    assert report.errors == [] and report.status == "validated"
    assert report.counts["lines_unchanged"] == 1 and report.counts["lines_created"] == 0
    assert report.counts["lines_changed"] == 0
    (note,) = [note for note in report.notes if "stock in transit" in note.message]
    assert note.sheet == (renamed or "在途")
    assert catalog().message(note.message, "zh").text.endswith("是在途物资（已发运、未接收），不作为库存导入")
    assert not [warning for warning in report.warnings if warning.sheet == (renamed or "在途")]
    assert database_dump() == before
    imported = run_import(data)
    assert imported.counts["lines_changed"] == imported.counts["lines_created"] == 0
    assert session.scalar(select(func.count()).select_from(Movement)) == movements
    assert _stock(session) == {("BJ-1", "PD-001", "B1"): (Decimal(4), dt.date(2026, 1, 1), dt.date(2030, 12, 31))}


def _stock(session) -> dict:
    rows = session.execute(
        select(
            Warehouse.code,
            Item.code,
            StockLine.batch,
            StockLine.quantity,
            StockLine.production_date,
            StockLine.expiry_date,
        )
        .join(StockLine.warehouse)
        .join(StockLine.item)
        .where(StockLine.quantity > 0)
    )
    return {tuple(row[:3]): tuple(row[3:]) for row in rows}


def _warehouses(session, prefix_excluded: str | None = None) -> dict:
    columns = (
        Warehouse.code,
        Warehouse.name,
        Warehouse.reserve_type,
        Warehouse.level,
        Warehouse.status,
        Warehouse.organisation,
        Warehouse.county_code,
        Warehouse.address,
        Warehouse.latitude,
        Warehouse.longitude,
        Warehouse.contact_person,
        Warehouse.contact_phone,
    )
    rows = session.execute(select(*columns))
    return {row[0]: tuple(row[1:]) for row in rows if not (prefix_excluded and row[0].startswith(prefix_excluded))}
