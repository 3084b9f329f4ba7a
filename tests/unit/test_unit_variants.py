"""Unit variants and pack factors: stock counted in a unit that converts to nothing is kept apart, listed in its
own unit by nearest, and merged into the item by ledger movements when a factor is set."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from api.extensions import db
from inventory.catalogue import get_item
from inventory.errors import Conflict, Forbidden, ValidationFailed
from inventory.geo import Incident, Point
from inventory.models import Movement, StockLine
from inventory.nearest import NeedRequest, nearest_stock, plan_need
from inventory.reference import MovementKind
from inventory.stock import get_stock_line, issue_stock, receive_stock
from inventory.unit_variants import set_pack_factor, unit_variant_for
from inventory.units import item_unit_factor, unit_factor
from tests.unit.racing import run_at_once


@pytest.mark.parametrize(
    ("given", "wanted", "factor"),
    [("吨", "千克", 1000), ("kg", "吨", Decimal("0.001")), ("公里", "米", 1000), ("L", "立方米", Decimal("0.001"))],
)
def test_units_of_one_family_convert(given, wanted, factor):
    assert unit_factor(given, wanted) == factor


@pytest.mark.parametrize(("given", "wanted"), [("包", "张"), ("吨", "米"), ("袋", "吨"), ("卷", "千克")])
def test_units_of_different_families_do_not(given, wanted):
    assert unit_factor(given, wanted) is None


def test_an_items_own_pack_factor_converts_what_the_families_cannot():
    packs = [("包", Decimal(10)), ("箱", Decimal(200))]
    assert item_unit_factor("包", "张", packs) == 10 and item_unit_factor("箱", "张", packs) == 200
    assert item_unit_factor("pcs", "张", packs) == 1 and item_unit_factor("卷", "张", packs) is None


def variant_with_stock(session, make_warehouse, quantity=5):
    felt = get_item(session, "PL-001")  # counted in 张
    variant = unit_variant_for(session, "tester", felt, "包")
    warehouse = make_warehouse()
    receive_stock(session, warehouse=warehouse, item=variant, quantity=quantity, batch="B1", actor="tester")
    session.commit()
    return felt, variant, warehouse


def test_nearest_lists_a_variant_in_its_own_unit_never_in_the_items_totals(session, make_warehouse):
    felt, variant, warehouse = variant_with_stock(session, make_warehouse)
    receive_stock(session, warehouse=warehouse, item=felt, quantity=40, batch="B2", actor="tester")
    session.commit()

    answer = nearest_stock(session, incident=Incident(Point(warehouse.latitude, warehouse.longitude)), item="吸油毡")

    [result] = answer.results
    assert [(line.item.code, line.item.unit, line.available) for line in result.lines] == [
        ("PL-001", "张", Decimal(40)),
        (variant.code, "包", Decimal(5)),
    ]
    assert result.total_available == 40


def test_setting_the_factor_merges_the_variant_by_ledger_movements(session, make_warehouse):
    felt, variant, warehouse = variant_with_stock(session, make_warehouse)

    merged = set_pack_factor(session, "tester", "PL-001", "包", 10)
    session.commit()

    assert (merged.variant_code, merged.lines_moved) == (variant.code, 1)
    lines = {
        code: quantity
        for code, quantity in session.execute(
            select(StockLine.item_id, StockLine.quantity).where(StockLine.warehouse_id == warehouse.id)
        )
    }
    assert lines == {variant.id: 0, felt.id: Decimal(50)}
    kinds = sorted(m.kind for m in session.scalars(select(Movement).where(Movement.reference.like("UNIT-MERGE-%"))))
    assert kinds == sorted([MovementKind.ADJUSTMENT, MovementKind.RECEIPT])
    with pytest.raises(Conflict):
        set_pack_factor(session, "tester", "PL-001", "包", 12)  # one factor per unit


@pytest.mark.parametrize(
    ("unit", "factor", "error", "field"),
    [
        ("包", 0, ValidationFailed, "factor"),
        ("吨", 5, ValidationFailed, "unit"),  # 吨 and 张: no, but 千克 and 吨 already convert
        ("包", "abc", ValidationFailed, "factor"),
    ],
)
def test_bad_factors_are_refused_naming_the_field(session, unit, factor, error, field):
    code = "PD-001" if unit == "吨" else "PL-001"
    with pytest.raises(error) as refused:
        set_pack_factor(session, "tester", code, "千克" if unit == "吨" else unit, factor)
    assert refused.value.field == field


def test_only_catalogue_editors_set_factors(session):
    from inventory.access import Principal
    from inventory.reference import Role

    manager = Principal(username="m", role=Role.MANAGER, province_code=None, warehouse_ids=frozenset())
    with pytest.raises(Forbidden):
        set_pack_factor(session, manager, "PL-001", "包", 10)


def test_a_merge_racing_an_issue_from_the_variant_conserves_every_unit(app, session, make_warehouse):
    felt, variant, warehouse = variant_with_stock(session, make_warehouse)
    line_id = session.scalar(select(StockLine.id).where(StockLine.item_id == variant.id))
    felt_id, warehouse_id = felt.id, warehouse.id
    db.session.remove()

    def issue() -> None:
        issue_stock(db.session, line=get_stock_line(db.session, line_id), quantity=1, actor="tester")

    def merge() -> None:
        set_pack_factor(db.session, "tester", "PL-001", "包", 10)

    outcomes = run_at_once(app, [issue, merge, merge])

    assert outcomes.count("done") >= 1 and outcomes[1:].count("done") <= 1
    left = session.scalar(select(StockLine.quantity).where(StockLine.id == line_id))
    moved = session.scalar(
        select(StockLine.quantity).where(StockLine.item_id == felt_id, StockLine.warehouse_id == warehouse_id)
    )
    issued = 1 if outcomes[0] == "done" else 0
    assert left + (moved or 0) / 10 + issued == 5


def test_a_plan_lists_the_items_unit_variants_without_allocating_them(session, make_warehouse):
    _felt, variant, warehouse = variant_with_stock(session, make_warehouse)

    plan = plan_need(
        session,
        incident=Incident(Point(warehouse.latitude, warehouse.longitude)),
        needs=[NeedRequest(item="PL-001", quantity=10)],
    )

    [need] = plan.needs
    assert need.allocated == 0 and [(ref.code, ref.unit) for ref in need.variants] == [(variant.code, "包")]


def test_an_item_with_unit_variants_is_refused_deletion_naming_why(session):
    """PL-001 has no stock of its own but a unit variant names it as its base item: the delete failed on the
    variant's NOT NULL base_item_id and was answered as a generic conflict (found by the review)."""
    from inventory.catalogue import delete_item

    felt = get_item(session, "PL-001")
    assert session.scalar(select(StockLine.id).where(StockLine.item_id == felt.id)) is None
    unit_variant_for(session, "tester", felt, "包")
    session.commit()

    with pytest.raises(Conflict, match="item PL-001 has unit variants; it cannot be deleted"):
        delete_item(session, "tester", "PL-001")
