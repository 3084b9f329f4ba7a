"""The expiry report: batches on hand that have expired or expire within a window, first expiry first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, aliased

from inventory.access import Actor, readable_warehouses, require_warehouse_read
from inventory.catalogue import resolve_item
from inventory.clock import business_today
from inventory.errors import ValidationFailed
from inventory.models import Item, Region, StockLine, Warehouse
from inventory.reference import Category, ReserveType, WarehouseStatus
from inventory.reports.common import ReportRows
from inventory.warehouses import get_warehouse

DEFAULT_EXPIRY_WINDOW_DAYS = 30
MAX_EXPIRY_WINDOW_DAYS = 3650


@dataclass(frozen=True)
class ExpiringLine:
    """A batch on hand that has expired (``days_left`` < 0) or expires within the window."""

    stock_line_id: int
    warehouse_code: str
    warehouse_name: str
    reserve_type: ReserveType
    warehouse_status: WarehouseStatus
    province_code: str
    province_name: str
    city_code: str
    city_name: str
    county_code: str
    county_name: str
    item_code: str
    item_name: str
    category: Category
    unit: str
    batch: str
    quantity: Decimal
    reserved: Decimal
    production_date: dt.date | None
    expiry_date: dt.date
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0


def expiring_stock(
    session: Session,
    actor: Actor,
    *,
    within_days: int = DEFAULT_EXPIRY_WINDOW_DAYS,
    region: str | None = None,
    warehouse: str | None = None,
    category: Category | None = None,
    item: str | None = None,
    today: dt.date | None = None,
) -> ReportRows[ExpiringLine]:
    """Lines holding something whose expiry date is past or at most ``within_days`` away, first expiry first.

    Every warehouse counts, active or not: expired stock in a closed warehouse still has to be disposed of.
    Expiry today is still usable (0 days left), as in the nearest search.
    """
    check_window(within_days)
    today = today or business_today()
    conditions = readable_lines(session, actor, region=region, warehouse=warehouse)
    conditions += wanted_material(session, item=item, category=category)
    statement = expiring_lines(today + dt.timedelta(days=within_days), conditions)
    return ReportRows(statement, lambda row: ExpiringLine(*row, days_left=(row[-1] - today).days))


def check_window(within_days: int) -> None:
    """A whole number of days, from 0 (expired or expiring today) to ``MAX_EXPIRY_WINDOW_DAYS``."""
    if isinstance(within_days, bool) or not isinstance(within_days, int):
        raise ValidationFailed("within_days must be a whole number of days", field="within_days")
    if not 0 <= within_days <= MAX_EXPIRY_WINDOW_DAYS:
        raise ValidationFailed(f"within_days must be between 0 and {MAX_EXPIRY_WINDOW_DAYS}", field="within_days")


def readable_lines(
    session: Session, actor: Actor, *, region: str | None, warehouse: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on ``Warehouse``: the caller's scope, the region and the warehouse asked for (403 outside it)."""
    conditions = readable_warehouses(session, actor, region)
    if warehouse:
        found = get_warehouse(session, warehouse, field="warehouse")
        require_warehouse_read(actor, found)
        conditions.append(Warehouse.id == found.id)
    return conditions


def wanted_material(session: Session, *, item: str | None, category: Category | None) -> list[ColumnElement[bool]]:
    """Conditions on ``Item``: the item asked for (code, name or alias) and the category."""
    conditions = []
    if item:
        conditions.append(Item.id == resolve_item(session, item).id)
    if category is not None:
        conditions.append(Item.category == category)
    return conditions


def expiring_lines(last_day: dt.date, conditions: list[ColumnElement[bool]]) -> Select:
    """Lines on hand expiring by ``last_day``, in ``ExpiringLine``'s column order (without ``days_left``)."""
    province, city, county = aliased(Region), aliased(Region), aliased(Region)
    return (
        select(
            StockLine.id,
            Warehouse.code,
            Warehouse.name,
            Warehouse.reserve_type,
            Warehouse.status,
            Warehouse.province_code,
            province.name,
            Warehouse.city_code,
            city.name,
            Warehouse.county_code,
            county.name,
            Item.code,
            Item.name,
            Item.category,
            Item.unit,
            StockLine.batch,
            StockLine.quantity,
            StockLine.reserved,
            StockLine.production_date,
            StockLine.expiry_date,
        )
        .join(Warehouse, Warehouse.id == StockLine.warehouse_id)
        .join(Item, Item.id == StockLine.item_id)
        .join(province, province.code == Warehouse.province_code)
        .join(city, city.code == Warehouse.city_code)
        .join(county, county.code == Warehouse.county_code)
        .where(StockLine.quantity > 0, StockLine.expiry_date <= last_day, *conditions)
        .order_by(StockLine.expiry_date, Warehouse.code, Item.code, StockLine.batch, StockLine.id)
    )
