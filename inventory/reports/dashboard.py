"""Dashboard figures: a region's warehouses and stock per child region, adding up to the ledger.

National for every role, like the stock lists it summarises. Quantities are only ever added up per
item: a category mixes tonnes, metres and sets, so categories get counts of stock lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from inventory.clock import business_today
from inventory.errors import ValidationFailed
from inventory.models import Item, Region, StockLine, Warehouse
from inventory.reference import Category, RegionLevel, ReserveType, WarehouseStatus
from inventory.regions import WAREHOUSE_REGION_COLUMN, region_filter

COUNTRY_NAME = "全国"  # region names are Chinese data, like the names in the region table


@dataclass(frozen=True)
class ItemFigures:
    code: str
    name: str
    unit: str
    stock_lines: int
    quantity: Decimal


@dataclass(frozen=True)
class CategoryFigures:
    category: Category
    stock_lines: int
    expired_lines: int
    stock_lines_by_reserve_type: dict[ReserveType, int]
    items: tuple[ItemFigures, ...]


@dataclass(frozen=True)
class RegionFigures:
    """A region's active warehouses by reserve type, and its stock by category (lines) and item (quantity).

    Quantities are only added up per item: a category mixes tonnes, metres and sets.
    """

    code: str | None
    name: str
    level: RegionLevel | None
    warehouses_by_reserve_type: dict[ReserveType, int]
    categories: tuple[CategoryFigures, ...]

    @property
    def active_warehouses(self) -> int:
        return sum(self.warehouses_by_reserve_type.values())

    @property
    def stock_lines(self) -> int:
        return sum(category.stock_lines for category in self.categories)

    @property
    def expired_lines(self) -> int:
        return sum(category.expired_lines for category in self.categories)


@dataclass(frozen=True)
class Dashboard:
    region: RegionFigures  # the whole region asked for (the country when none): the rows' totals
    rows: tuple[RegionFigures, ...]  # its children: provinces, a province's cities, a city's counties
    as_of: dt.date


@dataclass
class _Tally:
    warehouses: dict[ReserveType, int] = field(default_factory=lambda: dict.fromkeys(ReserveType, 0))
    # (category, reserve type) -> [lines, expired lines]
    lines: dict[tuple[Category, ReserveType], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    items: dict[tuple[str, str, str, Category], list] = field(
        default_factory=lambda: defaultdict(lambda: [0, Decimal(0)])
    )

    def figures(self, code: str | None, name: str, level: RegionLevel | None) -> RegionFigures:
        categories = []
        for category in Category:
            by_type = {reserve: self.lines[(category, reserve)][0] for reserve in ReserveType}
            items = tuple(
                ItemFigures(item_code, item_name, unit, lines, quantity)
                for (item_code, item_name, unit, of), (lines, quantity) in sorted(self.items.items())
                if of is category
            )
            expired = sum(self.lines[(category, reserve)][1] for reserve in ReserveType)
            categories.append(CategoryFigures(category, sum(by_type.values()), expired, by_type, items))
        return RegionFigures(code, name, level, dict(self.warehouses), tuple(categories))


def dashboard_figures(session: Session, *, region: str | None = None, today: dt.date | None = None) -> Dashboard:
    """Figures per child region (country → provinces, province → cities, city → counties; a county alone).

    Stock counts every line holding something, in every warehouse whatever its status or expiry, so the
    figures add up to the ledger; expired lines are counted as well. Warehouses count the active ones.
    """
    today = today or business_today()
    top = None
    if region is not None:
        top = session.get(Region, region)
        if top is None:
            raise ValidationFailed(f"unknown region code {region!r}", field="region")
    below = Region.parent_code.is_(None) if top is None else Region.parent_code == top.code
    children = list(session.execute(select(Region.code, Region.name, Region.level).where(below).order_by(Region.code)))
    if top is not None and not children:
        children = [(top.code, top.name, top.level)]
    level = children[0][2] if children else RegionLevel.PROVINCE
    key = WAREHOUSE_REGION_COLUMN[level]
    inside = [region_filter(session, region)] if region else []
    tallies = {code: _Tally() for code, _name, _level in children}
    whole = _Tally()
    for code, reserve, count in session.execute(
        select(key, Warehouse.reserve_type, func.count())
        .where(Warehouse.status == WarehouseStatus.ACTIVE, *inside)
        .group_by(key, Warehouse.reserve_type)
    ):
        for tally in (tallies[code], whole):
            tally.warehouses[reserve] += count
    expired = func.sum(case((StockLine.expiry_date < today, 1), else_=0))
    stock = (
        select(
            key,
            Warehouse.reserve_type,
            Item.code,
            Item.name,
            Item.unit,
            Item.category,
            func.count(),
            expired,
            func.sum(StockLine.quantity),
        )
        .join(Warehouse, Warehouse.id == StockLine.warehouse_id)
        .join(Item, Item.id == StockLine.item_id)
        .where(StockLine.quantity > 0, *inside)
        .group_by(key, Warehouse.reserve_type, Item.code, Item.name, Item.unit, Item.category)
    )
    for code, reserve, item_code, item_name, unit, category, lines, expired_lines, quantity in session.execute(stock):
        for tally in (tallies[code], whole):
            tally.lines[(category, reserve)][0] += lines
            tally.lines[(category, reserve)][1] += expired_lines
            figures = tally.items[(item_code, item_name, unit, category)]
            figures[0] += lines
            figures[1] += quantity
    rows = tuple(tallies[code].figures(code, name, child_level) for code, name, child_level in children)
    whole_figures = whole.figures(top.code, top.name, top.level) if top else whole.figures(None, COUNTRY_NAME, None)
    return Dashboard(region=whole_figures, rows=rows, as_of=today)
