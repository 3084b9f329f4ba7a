"""Field ledgers, the values half: cells as county offices type them get in, with a warning saying what was read."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from inventory.models import Item, StockLine, Warehouse
from tests.importers.conftest import sheet_of_rows

HEAD = ["仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "计量单位", "数量", "批次"]


def stock(session) -> dict[tuple[str, str, str], Decimal]:
    rows = session.execute(
        select(Warehouse.code, Item.code, StockLine.batch, StockLine.quantity)
        .join(StockLine.warehouse)
        .join(StockLine.item)
    )
    return {(w, i, b): q for w, i, b, q in rows}


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
    fuzzy = {w.row: w.message for w in report.warnings if w.column == "物资名称"}
    assert set(fuzzy) == {2, 3, 4}  # the exact name on row 5 is no guess
    assert "PD-001 活性炭" in fuzzy[2] and "常见别写" in fuzzy[2]
    assert "PD-002 生石灰" in fuzzy[3]
    assert "SP-001 化学防护服" in fuzzy[4] and "名称相近" in fuzzy[4]
