"""Reading cells and headers as people type them (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from importers.columns import COLUMNS, HEADER_INDEX, header_key
from importers.values import CellError, parse_choice, parse_date, parse_number, parse_text, unit_factor
from importers.workbook import _match_header
from inventory.reference import Category, ReserveType


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("数量（吨）", "quantity"),
        ("数量(kg)", "quantity"),
        ("仓库编码*", "warehouse_code"),
        ("  Warehouse   Code ", "warehouse_code"),
        ("ＷＡＲＥＨＯＵＳＥ　ＣＯＤＥ", "warehouse_code"),
        ("物资名称\n(必填)", "item_name"),
        ("规格/型号", "specification"),
        ("有效期至：", "expiry_date"),
        ("仓库编码 / Warehouse code", "warehouse_code"),
        ("区县（市、区）", "county_name"),
        ("所在县区", "county_name"),  # headers of real county ledgers
        ("所属区县", "county_name"),
        ("储备库点名称", "warehouse_name"),
        ("实物数量", "quantity"),
        ("实储数量", "quantity"),
        ("实际储备数量（吨）", "quantity"),
        ("应储数量", None),  # what should be held, not what is
        ("库存数(袋)", "quantity"),
        ("物资规格", "specification"),
        ("有效期限", "expiry_date"),
        ("序号", ""),
        ("领导签字", None),
    ],
)
def test_headers_are_recognised_in_their_usual_variants(header, field):
    assert _match_header(header, "") == field


def test_a_group_header_prefixes_generic_sub_headers():
    assert _match_header("名称", "仓库信息") == "warehouse_name"
    assert _match_header("名称", "储备地点") == "warehouse_name"  # not the item's 名称
    assert _match_header("名称", "存放地点") == "warehouse_name"
    assert _match_header("地址", "储备地点") == "address"
    assert _match_header("名称", "物资信息") == "item_name"
    assert _match_header("数量", "物资信息") == "quantity"


def test_the_column_table_has_no_header_meaning_two_fields():
    owners: dict[str, str] = {}
    for spec in COLUMNS:
        for text in (spec.zh, spec.en, *spec.variants):
            key = header_key(text)
            assert owners.setdefault(key, spec.field) == spec.field, f"{text!r} names {owners[key]} and {spec.field}"
            assert HEADER_INDEX[key] == spec.field


@pytest.mark.parametrize(
    ("cell", "number", "unit"),
    [
        (12, Decimal(12), ""),
        (12.5, Decimal("12.5"), ""),
        (0.1 + 0.2, Decimal("0.3"), ""),
        ("1,200", Decimal(1200), ""),
        ("１２", Decimal(12), ""),
        (" 3.5 吨", Decimal("3.5"), "吨"),
        ("1.2万", Decimal(12000), ""),
        ("2e3", Decimal(2000), ""),
    ],
)
def test_numbers_typed_as_text_are_read(cell, number, unit):
    assert parse_number(cell) == (number, unit)


@pytest.mark.parametrize("cell", ["about ten", "1..2", True, dt.date(2024, 1, 1), "--5"])
def test_what_is_not_a_number_says_so(cell):
    with pytest.raises(CellError):
        parse_number(cell)


@pytest.mark.parametrize(
    "cell",
    [
        "2024-03-01",
        "2024/3/1",
        "2024.3.1",
        "2024年3月1日",
        "20240301",
        20240301,
        "2024-03-01 00:00:00",
        dt.datetime(2024, 3, 1, 9, 30),
        dt.date(2024, 3, 1),
        45352,  # Excel's serial day number
        "２０２４／３／１",
    ],
)
def test_dates_in_every_usual_form(cell):
    assert parse_date(cell) == dt.date(2024, 3, 1)


@pytest.mark.parametrize("cell", ["", None, "长期", "/", "无"])
def test_no_date_markers_mean_no_date(cell):
    assert parse_date(cell) is None


def test_vocabulary_in_chinese_english_codes_and_variants():
    assert parse_choice("政府储备", ReserveType) == "government"
    assert parse_choice("Government reserve", ReserveType) == "government"
    assert parse_choice("社会化储备", ReserveType) == "third_party"
    assert parse_choice("生产能力储备", ReserveType) == "production"
    assert parse_choice("安全防护类", Category) == "safety_protection"
    with pytest.raises(CellError, match="政府储备"):
        parse_choice("国家队", ReserveType)


@pytest.mark.parametrize(
    ("given", "wanted", "factor"),
    [
        ("kg", "吨", Decimal("0.001")),
        ("公斤", "吨", Decimal("0.001")),
        ("t", "吨", Decimal(1)),
        ("斤", "千克", Decimal("0.5")),
        ("km", "米", Decimal(1000)),
        ("pcs", "个", Decimal(1)),
        ("Sets", "套", Decimal(1)),
        ("L", "立方米", Decimal("0.001")),
        ("袋", "吨", None),
        ("个", "套", None),
    ],
)
def test_units_convert_within_a_dimension_only(given, wanted, factor):
    assert unit_factor(given, wanted) == factor


def test_text_cells_lose_spreadsheet_artefacts():
    assert parse_text(110101.0) == "110101"
    assert parse_text("'=SUM(A1)") == "=SUM(A1)"  # the exporter's guard comes off on the way back
    assert parse_text("  东城区 ") == "东城区"
