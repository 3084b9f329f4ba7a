"""Field ledgers, the values half: cells as county offices type them get in, with a warning saying what was read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from inventory.catalogue import create_item
from inventory.import_review import catalogue_reviews
from inventory.models import Item, StockLine, Warehouse
from inventory.unit_variants import set_pack_factor
from inventory.vocabulary import add_reserve_type_word
from tests.importers.conftest import FIELD_HEAD, in_chinese, sheet_of_rows, stock

HEAD = FIELD_HEAD


def test_typos_variants_and_pinyin_are_matched_with_a_warning_naming_the_item(session, run_import):
    data = sheet_of_rows(
        [
            HEAD,
            ["W-1", "库", "政府", "110101", "活性碳", "吨", 1, "a"],
            ["W-1", None, None, None, "石灰", "吨", 2, "b"],
            ["W-1", None, None, None, "化学防护服装", "套", 3, "c"],
            ["W-1", None, None, None, "活性炭", "吨", 4, "d"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert stock(session) == {
        ("W-1", "PD-001", "a"): Decimal(1),
        ("W-1", "PD-002", "b"): Decimal(2),
        ("W-1", "SP-001", "c"): Decimal(3),
        ("W-1", "PD-001", "d"): Decimal(4),
    }
    fuzzy = {w.row: in_chinese(w.message) for w in report.warnings if w.column == "物资名称"}
    assert set(fuzzy) == {2, 3, 4}  # the exact name on row 5 is no guess
    assert "PD-001 活性炭" in fuzzy[2] and "常见别写" in fuzzy[2]
    assert "PD-002 生石灰" in fuzzy[3]
    assert "SP-001 化学防护服" in fuzzy[4] and "名称相近" in fuzzy[4]


def test_numbers_dates_and_coordinates_as_a_county_office_types_them(session, run_import):
    head = ["仓库编码", "仓库名称", "储备类型", "区县代码", "经纬度", "物资名称", "计量单位", "数量", "批次"]
    data = sheet_of_rows(
        [
            [*head, "生产日期", "有效期至"],
            ["W-1", "库", "政府", "110101", "116.4°E 39.9°N", "活性炭", None, "五吨", "a", "2024.03", "3年"],
            ["W-1", None, None, None, None, "生石灰", None, "1,200 千克", "b", "2024年3月", "2025.03"],
            ["W-1", None, None, None, None, "吸油毡", "张", "约50", "c", 20240315, "长期"],
            ["W-2", "库二", "企业", "110101", "39.9, 116.4", "围油栏", None, "２００ 米", "d", None, "/"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert stock(session) == {
        ("W-1", "PD-001", "a"): Decimal(5),
        ("W-1", "PD-002", "b"): Decimal("1.2"),  # 1,200 千克 → 吨, the unit written in the quantity cell
        ("W-1", "PL-001", "c"): Decimal(50),
        ("W-2", "PC-001", "d"): Decimal(200),
    }
    dates = dict(session.execute(select(StockLine.batch, StockLine.expiry_date)).all())
    assert dates == {"a": dt.date(2027, 3, 1), "b": dt.date(2025, 3, 31), "c": None, "d": None}
    production = session.scalar(select(StockLine.production_date).where(StockLine.batch == "b"))
    assert production == dt.date(2024, 3, 1)  # a month alone: its first day for production
    places = dict(session.execute(select(Warehouse.code, Warehouse.latitude)).all())
    assert places == {"W-1": pytest.approx(39.9), "W-2": pytest.approx(39.9)}
    warned = {(w.row, w.column): in_chinese(w.message) for w in report.warnings}
    assert "约数，按 50 导入" in warned[(4, "数量")]
    assert "经纬度顺序" in warned[(5, "经纬度")]


def test_never_expires_wins_over_the_catalogue_shelf_life_and_common_headers_are_known(session, run_import):
    # 储备量 and 有效期 are what enterprise survey sheets call the quantity and the expiry; 活性炭 has a
    # catalogue shelf life (1825 days), which fills a blank expiry but not one the ledger says never comes.
    head = [
        "仓库编码",
        "仓库名称",
        "储备类型",
        "区县代码",
        "物资名称",
        "计量单位",
        "储备量",
        "批次",
        "生产日期",
        "有效期",
    ]
    data = sheet_of_rows(
        [
            head,
            ["W-1", "库", "企业自储", "110101", "活性炭", "吨", 2, "a", "2024.03", "长期"],
            ["W-1", None, None, None, "活性炭", "吨", 3, "b", "2024.03", None],
            ["W-1", None, None, None, "活性炭", "吨", 4, "c", "2024.03", "3年"],
            ["W-1", None, None, None, "活性炭", "吨", 5, "d", "2024.03", "无"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert not [w for w in report.warnings if w.column in ("储备量", "有效期")]  # both known: no unknown column
    dates = dict(session.execute(select(StockLine.batch, StockLine.expiry_date)).all())
    assert dates == {"a": None, "b": dt.date(2029, 2, 28), "c": dt.date(2027, 3, 1), "d": None}
    assert run_import(data).counts["lines_unchanged"] == 4  # the second import finds the same batches


def test_swapped_latitude_and_longitude_columns_are_turned_round_with_a_warning(session, run_import):
    data = sheet_of_rows(
        [
            ["仓库编码", "仓库名称", "储备类型", "区县代码", "纬度", "经度", "物资名称", "数量"],
            ["W-1", "库", "政府", "110101", 116.4, 39.9, "活性炭", 1],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    warehouse = session.scalar(select(Warehouse))
    assert (warehouse.latitude, warehouse.longitude) == (pytest.approx(39.9), pytest.approx(116.4))
    [warning] = [w for w in report.warnings if w.column == "纬度"]
    assert "填反" in in_chinese(warning.message)
    assert not [w for w in report.warnings if "outside China" in w.message]


def test_unreadable_cells_reject_only_their_row_with_a_chinese_reason(session, run_import):
    data = sheet_of_rows(
        [
            [*HEAD, "生产日期", "有效期至"],
            ["W-1", "库", "政府", "110101", "活性炭", "吨", "若干", "a", None, None],
            ["W-1", None, None, None, "生石灰", "吨", 1, "b", None, "3年"],
            ["W-1", None, None, None, "吸油毡", "张", 2, "c", None, None],
        ]
    )

    report = run_import(data, skip_invalid=True)

    assert [(e.row, e.column) for e in report.errors] == [(2, "数量"), (3, "有效期至")]
    assert "没有写出数目" in in_chinese(report.errors[0].message)
    assert "需要生产日期" in in_chinese(report.errors[1].message)
    assert stock(session) == {("W-1", "PL-001", "c"): Decimal(2)}


def test_reserve_type_words_are_data_staff_extend(session, run_import):
    data = sheet_of_rows(
        [
            HEAD,
            ["W-1", "库一", "代储", "110101", "活性炭", "吨", 1, "a"],
            ["W-2", "库二", "企业自储", "110101", "活性炭", "吨", 1, "a"],
            ["W-3", "库三", "应急联储", "110101", "活性炭", "吨", 1, "a"],
        ]
    )
    refused = run_import(data, dry_run=True)
    assert [(e.row, e.column) for e in refused.errors if e.field == "reserve_type"] == [(4, "储备类型")]

    add_reserve_type_word(session, "tester", "应急联储", "third_party")
    report = run_import(data)

    assert report.status == "imported", report.errors
    kinds = dict(session.execute(select(Warehouse.code, Warehouse.reserve_type)).all())
    assert {code: kind.value for code, kind in kinds.items()} == {
        "W-1": "third_party",
        "W-2": "enterprise",
        "W-3": "third_party",
    }


def test_an_unknown_item_without_a_category_is_added_with_an_inferred_one_and_flagged(session, run_import):
    data = sheet_of_rows(
        [
            ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "数量"],
            ["W-1", "库", "政府", "110101", "高效吸油颗粒", "8吨"],  # the unit only inside the quantity cell
            ["W-1", None, None, None, "酸碱中和剂", "五袋"],
            ["W-1", None, None, None, "应急帐篷", "3 顶"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    added = {
        name: (category.value, unit)
        for name, category, unit in session.execute(
            select(Item.name, Item.category, Item.unit).where(Item.code.startswith("X-"))
        )
    }
    assert added == {
        "高效吸油颗粒": ("pollutant_collection", "吨"),
        "酸碱中和剂": ("pollutant_degradation", "袋"),
        "应急帐篷": ("other", "顶"),
    }
    review = {entry.item_name: entry for entry in catalogue_reviews(session)}
    assert set(review) == set(added) and {entry.reason for entry in review.values()} == {"new_item"}
    assert "吸油" in in_chinese(review["高效吸油颗粒"].detail) and "暂归其他" in in_chinese(review["应急帐篷"].detail)


def test_a_unit_that_converts_to_nothing_keeps_the_row_as_a_unit_variant(session, run_import):
    data = sheet_of_rows(
        [
            HEAD,
            ["W-1", "库", "政府", "110101", "吸油毡", "包", 3, "a"],  # 吸油毡 is counted in 张
            ["W-1", None, None, None, "吸油毡", "张", 40, "b"],
            ["W-2", "库二", "政府", "110101", "吸油毡", "包", 2, "a"],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    variant_code = variant_of("PL-001", "包")
    assert stock(session) == {
        ("W-1", variant_code, "a"): Decimal(3),
        ("W-1", "PL-001", "b"): Decimal(40),
        ("W-2", variant_code, "a"): Decimal(2),
    }
    warned = [w for w in report.warnings if w.column == "计量单位"]
    assert [w.row for w in warned] == [2, 4] and "单位变体" in in_chinese(warned[0].message)
    assert [e.reason for e in catalogue_reviews(session)] == ["unit_variant"]

    again = run_import(data)  # the same ledger again: the same variant, nothing new
    assert again.status == "imported" and again.counts.get("unit_variants_created", 0) == 0
    assert again.counts["lines_unchanged"] == 3

    merged = set_pack_factor(session, "tester", "PL-001", "包", 10)
    session.commit()
    assert (merged.variant_code, merged.lines_moved) == (variant_code, 2)
    assert stock(session) == {
        ("W-1", variant_code, "a"): Decimal(0),
        ("W-1", "PL-001", "a"): Decimal(30),
        ("W-1", "PL-001", "b"): Decimal(40),
        ("W-2", variant_code, "a"): Decimal(0),
        ("W-2", "PL-001", "a"): Decimal(20),
    }
    assert catalogue_reviews(session) == []
    after = run_import(sheet_of_rows([HEAD, ["W-3", "库三", "政府", "110101", "吸油毡", "包", 1, "a"]]))
    assert after.status == "imported" and ("W-3", "PL-001", "a") in stock(session)  # 包 now converts
    assert stock(session)[("W-3", "PL-001", "a")] == Decimal(10)


def variant_of(code: str, unit: str) -> str:
    from inventory.units import variant_code

    return variant_code(code, unit)


def test_a_unit_written_in_the_quantity_cell_wins_over_the_unit_column_with_a_warning(session, run_import):
    data = sheet_of_rows([HEAD, ["W-1", "库", "政府", "110101", "活性炭", "吨", "500千克", "a"]])

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert stock(session) == {("W-1", "PD-001", "a"): Decimal("0.5")}
    [warning] = [w for w in report.warnings if w.column == "数量"]
    assert "按“千克”读取" in in_chinese(warning.message)


def test_a_name_equally_like_two_items_is_never_guessed(session, run_import):
    create_item(session, "tester", code="ZZ-1", name="吸附围栏甲", category="pollutant_control", unit="米")
    create_item(session, "tester", code="ZZ-2", name="吸附围栏乙", category="pollutant_control", unit="米")
    session.commit()
    data = sheet_of_rows([HEAD, ["W-1", "库", "政府", "110101", "吸附围栏丙", "米", 5, "a"]])

    report = run_import(data)

    assert report.status == "imported", report.errors
    [(code, name)] = session.execute(select(Item.code, Item.name).join(StockLine, StockLine.item_id == Item.id)).all()
    assert name == "吸附围栏丙" and code.startswith("X-")  # added, for review: not silently either candidate
    [tie] = [w for w in report.warnings if "多个目录物资相近" in in_chinese(w.message)]
    assert "ZZ-1" in tie.message and "ZZ-2" in tie.message


def test_a_wrapped_cell_is_one_line_of_text(session, run_import):
    """Alt+Enter in a name, a specification or a phone is the cell's wrapping, not part of what it says."""
    head = ["仓库名称", "所在区县", "储备类型", "联系电话", "物资名称", "规格型号", "物资类别", "计量单位", "数量"]
    data = sheet_of_rows(
        [
            head,
            ["良庆区\n储备库", "良庆区", "政府储备", "0771-1234567\n13800000000", "生石\n灰", "", "", "吨", 1],
            ["良庆区储备库", "良庆区", "政府储备", None, "新型\n吸附棉", "PP\n500mm", "污染物收集", "张", 2],
        ]
    )

    report = run_import(data)

    assert report.status == "imported", report.errors
    assert not [w.message for w in report.warnings if w.column in ("仓库名称", "联系电话")]  # no 'differs' warning
    warehouse = session.scalars(select(Warehouse)).one()
    assert (warehouse.name, warehouse.contact_phone) == ("良庆区储备库", "0771-1234567 13800000000")
    added = session.scalars(select(Item).where(Item.code.like("X-%"))).one()
    assert (added.name, added.specification) == ("新型吸附棉", "PP 500mm")
    assert {code for _w, code, _b in stock(session)} == {"PD-002", added.code}


def test_a_unit_or_a_quantity_with_its_unit_in_brackets_counts_in_that_unit(session, run_import):
    """（袋）, 公斤(kg) in the unit column and 50（袋） in the quantity are 袋 and 公斤, not units of their own."""
    rows = [HEAD, ["W-1", "库", "政府", "110101", "沙袋", "（袋）", 30, "a"]]
    rows += [
        ["W-1", None, None, None, "活性炭", "公斤(kg)", 500, "a"],
        ["W-1", None, None, None, "沙袋", "", "50（袋）", "b"],
    ]

    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported", report.errors
    assert stock(session) == {
        ("W-1", "SC-005", "a"): Decimal(30),
        ("W-1", "PD-001", "a"): Decimal("0.5"),
        ("W-1", "SC-005", "b"): Decimal(50),
    }
    assert not [w.message for w in report.warnings if w.column in ("计量单位", "数量")]


@pytest.mark.parametrize("heading", ["二、企业储备", "（二）企业储备", "（二）、企业储备", "(2). 企业储备"])
def test_a_section_heading_gives_its_rows_the_reserve_type_however_its_serial_is_written(session, run_import, heading):
    """A heading's serial ends in a bracket, a mark, or both (（二）、企业储备 lost only （二） and named no type)."""
    rows = [
        ["序号", "储备库名称", "所在区县", "物资名称", "计量单位", "数量"],
        [heading],
        [1, "马山县某糖厂", "马山县", "活性炭", "吨", 3],
    ]
    report = run_import(sheet_of_rows(rows))

    assert report.status == "imported", report.errors
    warehouse = session.scalars(select(Warehouse).where(Warehouse.name == "马山县某糖厂")).one()
    assert warehouse.reserve_type.value == "enterprise"
