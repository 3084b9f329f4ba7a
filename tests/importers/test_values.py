"""importers.values: cells as people type them, as tables of real-style inputs, including the refusals."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest

from importers.values import (
    KNOWN_UNITS,
    SHELF_LIFE_UNITS,
    Amount,
    CellError,
    bracket_unit,
    chinese_number,
    parse_amount,
    parse_coordinates,
    parse_date,
    parse_expiry,
    parse_shelf_life,
    parse_unit,
)
from tests.importers.conftest import in_chinese

D = Decimal


def said(error: Exception, expected: str) -> str:
    """A refusal as the test expects it: the importer's English, or the catalog's Chinese for a Chinese phrase."""
    return str(error) if expected.isascii() else in_chinese(str(error))


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        (12, Amount(D(12))),
        (1.5, Amount(D("1.5"))),
        ("1,200", Amount(D(1200))),
        ("1，200", Amount(D(1200))),  # a full-width comma
        ("１２", Amount(D(12))),
        ("3.5吨", Amount(D("3.5"), "吨")),
        ("8吨", Amount(D(8), "吨")),
        ("200 米", Amount(D(200), "米")),
        ("五吨", Amount(D(5), "吨")),
        ("五", Amount(D(5))),
        ("十二", Amount(D(12))),
        ("一百二十", Amount(D(120))),
        ("一百零五", Amount(D(105))),
        ("两", Amount(D(2))),
        ("两千", Amount(D(2000))),
        ("一万二千", Amount(D(12000))),
        ("壹佰贰拾", Amount(D(120))),
        ("三点五吨", Amount(D("3.5"), "吨")),
        ("1.2万", Amount(D(12000))),
        ("1.2亿", Amount(D(120_000_000))),  # 亿 was read as the unit: 1.2 of a unit variant 活性炭（亿）
        ("9999亿吨", Amount(D(999_900_000_000), "吨")),
        ("0.5万亿", Amount(D(500_000_000_000))),
        ("1千", Amount(D(1000))),
        ("1.2千袋", Amount(D(1200), "袋")),
        ("1千克", Amount(D(1), "千克")),  # 千克, 千米 are units, not thousands
        ("3千米", Amount(D(3), "千米")),
        ("50（袋）", Amount(D(50), "袋")),  # the unit in brackets
        ("1.5(吨)", Amount(D("1.5"), "吨")),
        ("50（袋）左右", Amount(D(50), "袋", True)),
        ("约50", Amount(D(50), "", True)),
        ("大约 50 袋", Amount(D(50), "袋", True)),
        ("50余袋", Amount(D(50), "袋", True)),
        ("50吨左右", Amount(D(50), "吨", True)),
        ("一吨多", Amount(D(1), "吨", True)),
        ("两吨半", Amount(D("2.5"), "吨")),
        ("3袋半", Amount(D("3.5"), "袋")),
    ],
)
def test_quantities_as_people_type_them(typed, amount):
    assert parse_amount(typed) == amount


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("若干", "没有写出数目"),
        ("一批", "没有写出数目"),
        ("无", "没有库存请填 0"),  # none, written as a word or a dash: ask for 0
        ("/", "没有库存请填 0"),
        ("—", "没有库存请填 0"),
        (" 无 ", "没有库存请填 0"),
        ("5-10", "范围"),
        ("5~10吨", "范围"),
        ("3至5箱", "范围"),
        ("about ten", "not a number"),
        ("万吨", "not a number"),
        (True, "yes/no"),
    ],
)
def test_quantities_that_are_no_number_are_refused_saying_why(typed, message):
    with pytest.raises(CellError) as refused:
        parse_amount(typed)
    assert re.search(message, said(refused.value, message)), str(refused.value)


@pytest.mark.parametrize(
    ("text", "number"), [("零", 0), ("十", 10), ("二十五", 25), ("一二〇", 120), ("三千零八", 3008)]
)
def test_chinese_numerals(text, number):
    assert chinese_number(text) == number


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("2025.3.15", dt.date(2025, 3, 15), dt.date(2025, 3, 15)),
        ("20250315", dt.date(2025, 3, 15), dt.date(2025, 3, 15)),
        (20250315, dt.date(2025, 3, 15), dt.date(2025, 3, 15)),
        ("2025年3月15日", dt.date(2025, 3, 15), dt.date(2025, 3, 15)),
        ("2025年3月15号", dt.date(2025, 3, 15), dt.date(2025, 3, 15)),  # 号, as the day is said
        ("2025.3.15.", dt.date(2025, 3, 15), dt.date(2025, 3, 15)),  # a full stop after the date
        ("2025年3月15日。", dt.date(2025, 3, 15), dt.date(2025, 3, 15)),
        (45731, dt.date(2025, 3, 15), dt.date(2025, 3, 15)),  # an Excel serial
        ("2025.03", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),  # a month alone: first day, or last for expiry
        ("2025-2", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        ("2025.1", dt.date(2025, 1, 1), dt.date(2025, 1, 31)),  # text keeps "2025.10" apart
        ("2024年2月", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("202503", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        (202503, dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        (2025.03, dt.date(2025, 3, 1), dt.date(2025, 3, 31)),  # typed into a number cell
        (2025.12, dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        ("2025年", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        (2025, dt.date(2025, 1, 1), dt.date(2025, 12, 31)),  # a year, not the serial day 2025 (1905)
    ],
)
def test_dates_as_people_type_them(typed, start, end):
    assert parse_date(typed) == start
    assert parse_date(typed, period_end=True) == end


@pytest.mark.parametrize("typed", ["长期", "长期有效", "无", "/", "—", "-", "", None])
def test_no_expiry_words(typed):
    assert parse_expiry(typed, dt.date(2024, 1, 1)) is None


@pytest.mark.parametrize(
    ("typed", "expiry"),
    [
        ("3年", dt.date(2027, 1, 31)),
        ("36个月", dt.date(2027, 1, 31)),
        ("18月", dt.date(2025, 7, 31)),
        ("1个月", dt.date(2024, 2, 29)),  # by the calendar: no 31 February
        ("两年", dt.date(2026, 1, 31)),
        ("半年", dt.date(2024, 7, 31)),
        ("1.5年", dt.date(2025, 7, 31)),
        ("180天", dt.date(2024, 7, 29)),
        ("保质期2年", dt.date(2026, 1, 31)),
        ("2025.03", dt.date(2025, 3, 31)),  # a date is still a date
        ("2027年", dt.date(2027, 12, 31)),  # a year alone, not a shelf life of 2027 years
        ("2026.12.31前", dt.date(2026, 12, 31)),  # "good until": the words around the date
        ("至2026年12月", dt.date(2026, 12, 31)),
        ("到2026-06-30止", dt.date(2026, 6, 30)),
    ],
)
def test_a_shelf_life_in_the_expiry_column_counts_from_production(typed, expiry):
    assert parse_expiry(typed, dt.date(2024, 1, 31)) == expiry


@pytest.mark.parametrize(
    ("typed", "production", "message"),
    [
        ("3年", None, "需要生产日期"),
        ("3.5天", dt.date(2024, 1, 1), "整年、整月或整天数"),
        ("2025.13", None, "没有这个月份"),
        (2025.1, None, "1月，也可能是10月"),
        ("2024-02-30", None, "no such date"),
        ("明年春天", None, "not a date"),
        (3, dt.date(2024, 1, 1), "是一个数字，不是日期"),  # 3 years? not 1900-01-03
        (36, None, "shelf life with its unit"),
    ],
)
def test_dates_that_cannot_be_read_are_refused_saying_why(typed, production, message):
    with pytest.raises(CellError) as refused:
        parse_expiry(typed, production)
    assert re.search(message, said(refused.value, message)), str(refused.value)


def test_a_shelf_life_is_only_text():
    assert parse_shelf_life(3) is None and parse_shelf_life("2025-01-01") is None


@pytest.mark.parametrize(
    ("typed", "latitude", "longitude", "swapped"),
    [
        ("118.8,32.0", 32.0, 118.8, False),  # 经纬度: longitude first
        ("118.8，32.0", 32.0, 118.8, False),
        ("118.8 32.0", 32.0, 118.8, False),
        ("118.8°E 32.0°N", 32.0, 118.8, False),
        ("118.8°E, 32.0°N", 32.0, 118.8, False),
        ("E118.8 N32.0", 32.0, 118.8, False),
        ("N32.0 E118.8", 32.0, 118.8, False),
        ("东经118.8° 北纬32.0°", 32.0, 118.8, False),
        ("118°47′30″E, 32°3′0″N", 32.05, 118.791667, False),
        ("118度47分30秒,32度3分", 32.05, 118.791667, False),
        ("32.0, 118.8", 32.0, 118.8, True),  # latitude first: only this order lies in China
        ("32.0°E 118.8°N", 32.0, 118.8, True),  # letters the wrong way round
        ("-33.9,151.2", -33.9, 151.2, True),  # outside China: still read, the latitude is the one within ±90
    ],
)
def test_both_coordinates_in_one_cell(typed, latitude, longitude, swapped):
    read = parse_coordinates(typed)
    assert read[0] == pytest.approx(latitude) and read[1] == pytest.approx(longitude) and read[2] is swapped


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("118.8", "两个数"),
        ("南京市", "两个数"),
        ("118.8,32.0,10", "两个数"),
        ("118.8N 32.0N", "不成对"),
        ("200,300", "-90 到 90"),
    ],
)
def test_coordinates_that_cannot_be_read_are_refused_saying_why(typed, message):
    with pytest.raises(CellError) as refused:
        parse_coordinates(typed)
    assert re.search(message, said(refused.value, message)), str(refused.value)


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("袋", "袋"),
        ("（袋）", "袋"),
        ("公斤(kg)", "公斤"),
        ("袋(25kg)", "袋"),
        ("台（套）", "台"),
        ("纸箱", "纸箱"),
        ("", ""),
    ],
)
def test_a_unit_cell_is_the_unit_its_brackets_hold_or_leave(typed, unit):
    assert parse_unit(typed) == unit


@pytest.mark.parametrize(
    ("text", "units", "unit"),
    [
        ("数量（千克）", KNOWN_UNITS, "千克"),
        ("数量(kg)", KNOWN_UNITS, "kg"),
        ("数量【袋】（备注）", KNOWN_UNITS, "袋"),
        ("数量（备注）", KNOWN_UNITS, ""),
        ("有效期（月）", SHELF_LIFE_UNITS, "月"),
        ("有效期(个月)", SHELF_LIFE_UNITS, "个月"),
        ("有效期（吨）", SHELF_LIFE_UNITS, ""),
        ("（袋）", KNOWN_UNITS, "袋"),
        ("数量", KNOWN_UNITS, ""),
    ],
)
def test_a_unit_in_brackets_is_found_by_one_function_for_headers_and_cells(text, units, unit):
    assert bracket_unit(text, units) == unit


@pytest.mark.parametrize(
    "crafted",
    ["2箱(每" + "\t" * 1900 + "20" + "\t" * 1900 + "个?)", "2箱(" + "每" * 3990 + "1个)", "2箱(" + "1个" * 1990 + ")"],
)
def test_a_long_cell_that_looks_like_a_pack_is_refused_at_once(crafted):
    """The pack pattern is tried on short texts only: on 4,000 characters of tabs it took minutes."""
    started = time.process_time()
    with pytest.raises(CellError):
        parse_amount(crafted)
    assert time.process_time() - started < 0.5
