"""Readiness: what to put right before an incident, not at 3 a.m. during one.

This module holds who reads what, the expiry report and the reserve quotas with their report
(``quota_shortfalls``); ``inventory.reports.coverage`` finds the places with no usable stock within
reach and ``inventory.reports.dashboard`` gives a region's figures.

Who reads what: admins, responders and viewers read everything; provincial staff their province;
managers their assigned warehouses (and the quotas of the regions those sit in). Only admins and
provincial staff (in their province) set quotas.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from inventory.access import Actor, Principal, as_principal, require_region_in_scope
from inventory.audit import record_audit, snapshot
from inventory.catalogue import find_item, resolve_item
from inventory.clock import business_today
from inventory.db import chunks
from inventory.errors import Conflict, Forbidden, NotFound, ValidationFailed
from inventory.models import Item, Region, ReserveQuota, StockLine, Warehouse
from inventory.reference import Category, RegionLevel, ReserveType, Role, WarehouseStatus
from inventory.regions import region_filter
from inventory.validation import check_quantity, check_text
from inventory.warehouses import get_warehouse

DEFAULT_EXPIRY_WINDOW_DAYS = 30
MAX_EXPIRY_WINDOW_DAYS = 3650
NOTE_LIMIT = 500
CODE_PREFIX = {RegionLevel.PROVINCE: 2, RegionLevel.CITY: 4, RegionLevel.COUNTY: 6}
WAREHOUSE_REGION_COLUMN = {
    RegionLevel.PROVINCE: Warehouse.province_code,
    RegionLevel.CITY: Warehouse.city_code,
    RegionLevel.COUNTY: Warehouse.county_code,
}

T = TypeVar("T")


@dataclass(frozen=True)
class ReportRows(Generic[T]):
    """A report as one select of plain columns and the function turning a row into a record.

    The API pages it in the database; the workbook and the CLI stream every row.
    """

    statement: Select
    record: Callable[[Row], T]

    def stream(self, session: Session, chunk: int = 5_000) -> Iterator[T]:
        for row in session.execute(self.statement.execution_options(yield_per=chunk)):
            yield self.record(row)


def usable_stock(today: dt.date) -> ColumnElement[bool]:
    """Stock that counts as ready: in an active warehouse, on hand, not past its expiry date."""
    return and_(
        Warehouse.status == WarehouseStatus.ACTIVE,
        StockLine.quantity > 0,
        or_(StockLine.expiry_date.is_(None), StockLine.expiry_date >= today),
    )


def require_one_of(first: object, second: object, first_field: str, second_field: str, what: str) -> None:
    """Exactly one of two alternative inputs; the error names the field to fix."""
    if first and second:
        raise ValidationFailed(f"give {what}, not both", field=second_field)
    if not first and not second:
        raise ValidationFailed(f"give {what}", field=first_field)


# --- who reads what --------------------------------------------------------------------------


def _warehouse_scope(
    session: Session, principal: Principal, region: str | None, warehouse_code: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on ``Warehouse`` for the caller's scope, the region and the warehouse asked for.

    Asking for a region or warehouse outside the scope is refused (403), never silently emptied.
    """
    if principal.role is Role.PROVINCIAL:
        region = require_region_in_scope(principal, region)
    conditions = [region_filter(session, region)] if region else []
    if principal.role is Role.MANAGER:
        conditions.append(Warehouse.id.in_(sorted(principal.warehouse_ids)))
    if warehouse_code:
        warehouse = get_warehouse(session, warehouse_code, field="warehouse")
        if (principal.role is Role.PROVINCIAL and not principal.in_province(warehouse.province_code)) or (
            principal.role is Role.MANAGER and warehouse.id not in principal.warehouse_ids
        ):
            raise Forbidden(f"warehouse {warehouse.code} is outside what {principal.username} reads", field="warehouse")
        conditions.append(Warehouse.id == warehouse.id)
    return conditions


def _quota_scope(session: Session, principal: Principal) -> ColumnElement[bool] | None:
    """Quotas a caller reads: provincial staff their province's, managers those of their warehouses and of
    the regions their warehouses sit in; everyone else all (None)."""
    if principal.role is Role.PROVINCIAL:
        prefix = (principal.province_code or "")[:2]
        return or_(Warehouse.province_code == principal.province_code, ReserveQuota.region_code.startswith(prefix))
    if principal.role is Role.MANAGER:
        ids = sorted(principal.warehouse_ids)
        if not ids:
            return false()
        places = session.execute(
            select(Warehouse.county_code, Warehouse.city_code, Warehouse.province_code).where(Warehouse.id.in_(ids))
        ).all()
        codes = sorted({code for place in places for code in place})
        return or_(ReserveQuota.warehouse_id.in_(ids), ReserveQuota.region_code.in_(codes))
    return None


def _quota_region(session: Session, region_code: str) -> ColumnElement[bool]:
    """Quotas whose target lies in the region: its warehouses, the region itself and regions below it."""
    region = session.get(Region, region_code)
    if region is None:
        raise ValidationFailed(f"unknown region code {region_code!r}", field="region")
    below = ReserveQuota.region_code.startswith(region_code[: CODE_PREFIX[region.level]])
    return or_(region_filter(session, region_code), below)


# --- expiry ----------------------------------------------------------------------------------


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
    if isinstance(within_days, bool) or not isinstance(within_days, int):
        raise ValidationFailed("within_days must be a whole number of days", field="within_days")
    if not 0 <= within_days <= MAX_EXPIRY_WINDOW_DAYS:
        raise ValidationFailed(f"within_days must be between 0 and {MAX_EXPIRY_WINDOW_DAYS}", field="within_days")
    today = today or business_today()
    conditions = _warehouse_scope(session, as_principal(actor), region, warehouse)
    if item:
        conditions.append(Item.id == resolve_item(session, item).id)
    if category is not None:
        conditions.append(Item.category == category)
    province, city, county = aliased(Region), aliased(Region), aliased(Region)
    statement = (
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
        .where(
            StockLine.quantity > 0,
            StockLine.expiry_date <= today + dt.timedelta(days=within_days),
            *conditions,
        )
        .order_by(StockLine.expiry_date, Warehouse.code, Item.code, StockLine.batch, StockLine.id)
    )
    return ReportRows(statement, lambda row: ExpiringLine(*row, days_left=(row[-1] - today).days))


# --- reserve quotas --------------------------------------------------------------------------


def _require_quota_setting(actor: Actor, quota_province: str, field: str) -> Principal:
    principal = as_principal(actor)
    if principal.is_admin or principal.in_province(quota_province):
        return principal
    raise Forbidden(f"{principal.username} may not set reserve quotas in province {quota_province}", field=field)


def _audit_quota(session: Session, actor: Actor, action: str, quota: ReserveQuota, before: dict | None) -> None:
    after = None if action == "quota.delete" else snapshot(quota)
    record_audit(
        session,
        actor,
        action,
        object_type="reserve_quota",
        object_key=quota.id,
        province_code=quota.province_code,
        before=before,
        after=after,
    )


def list_quotas(
    session: Session,
    actor: Actor,
    *,
    region: str | None = None,
    warehouse: str | None = None,
    item: str | None = None,
    category: Category | None = None,
) -> Select:
    """Quotas the caller reads, by target region (any level), warehouse, item or category; oldest first."""
    principal = as_principal(actor)
    stmt = select(ReserveQuota).outerjoin(Warehouse, Warehouse.id == ReserveQuota.warehouse_id)
    scope = _quota_scope(session, principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if region:
        if principal.role is Role.PROVINCIAL:
            region = require_region_in_scope(principal, region)
        stmt = stmt.where(_quota_region(session, region))
    if warehouse:
        stmt = stmt.where(ReserveQuota.warehouse_id == get_warehouse(session, warehouse, field="warehouse").id)
    if item:
        stmt = stmt.where(ReserveQuota.item_id == resolve_item(session, item).id)
    if category is not None:
        stmt = stmt.where(ReserveQuota.category == category)
    return stmt.order_by(ReserveQuota.id)


def get_quota(session: Session, actor: Actor, quota_id: int) -> ReserveQuota:
    """One quota; one outside the caller's reading scope does not exist for them (404)."""
    stmt = list_quotas(session, actor).where(ReserveQuota.id == quota_id)
    quota = session.scalars(stmt).unique().one_or_none()
    if quota is None:
        raise NotFound(f"no reserve quota {quota_id}", field="quota_id")
    return quota


def create_quota(
    session: Session,
    actor: Actor,
    *,
    minimum: object,
    warehouse: str | None = None,
    region: str | None = None,
    item: str | None = None,
    category: Category | str | None = None,
    note: str | None = "",
) -> ReserveQuota:
    """A minimum to hold of one item or category in one warehouse or region (any level)."""
    require_one_of(warehouse, region, "warehouse", "region", "the quota's target: a warehouse or a region")
    require_one_of(item, category, "item", "category", "the quota's material: an item or a category")
    quota = ReserveQuota(set_by=as_principal(actor).username)
    target_field = "warehouse" if warehouse else "region"
    if warehouse:
        quota.warehouse = get_warehouse(session, warehouse, field="warehouse")
    else:
        quota.region = session.get(Region, region)
        if quota.region is None:
            raise ValidationFailed(f"unknown region code {region!r}", field="region")
    _require_quota_setting(actor, quota.province_code, target_field)
    if item:
        quota.item = find_item(session, item)
    else:
        try:
            quota.category = Category(category)
        except ValueError as exc:
            raise ValidationFailed(f"unknown category {category!r}", field="category") from exc
    quota.minimum = check_quantity(minimum, "minimum")
    quota.note = check_text(note, "note", max_length=NOTE_LIMIT)
    same = select(ReserveQuota.id).where(
        ReserveQuota.warehouse_id == quota.warehouse.id if quota.warehouse else ReserveQuota.region_code == region,
        ReserveQuota.item_id == quota.item.id if quota.item else ReserveQuota.category == quota.category,
    )
    existing = session.scalar(same)
    if existing is not None:
        raise Conflict(
            f"{quota.target_code} already has a quota for {quota.material_code} (quota {existing}); change that one",
            field=target_field,
        )
    session.add(quota)
    session.flush()
    _audit_quota(session, actor, "quota.create", quota, None)
    return quota


def update_quota(
    session: Session, actor: Actor, quota_id: int, *, minimum: object = None, note: str | None = None
) -> ReserveQuota:
    """Change a quota's minimum or note; its target and material are what it is (delete and create instead)."""
    quota = get_quota(session, actor, quota_id)
    _require_quota_setting(actor, quota.province_code, "quota_id")
    before = snapshot(quota)
    if minimum is not None:
        quota.minimum = check_quantity(minimum, "minimum")
    if note is not None:
        quota.note = check_text(note, "note", max_length=NOTE_LIMIT)
    quota.set_by = as_principal(actor).username
    session.flush()
    _audit_quota(session, actor, "quota.update", quota, before)
    return quota


def delete_quota(session: Session, actor: Actor, quota_id: int) -> None:
    quota = get_quota(session, actor, quota_id)
    _require_quota_setting(actor, quota.province_code, "quota_id")
    _audit_quota(session, actor, "quota.delete", quota, snapshot(quota))
    session.delete(quota)
    session.flush()


@dataclass(frozen=True)
class QuotaStatus:
    """A quota against what is held: on hand (reserved included) in unexpired batches of active warehouses.

    Reserved stock still counts: a call-up holds it for a while, the reserve only shrinks when it leaves.
    A category quota adds up every item of the category; ``units`` lists the units that went into the sum.
    """

    quota: ReserveQuota
    held: Decimal
    units: tuple[str, ...]

    @property
    def shortfall(self) -> Decimal:
        return max(self.quota.minimum - self.held, Decimal(0))

    @property
    def below(self) -> bool:
        return self.held < self.quota.minimum


def quota_shortfalls(
    session: Session,
    actor: Actor,
    *,
    region: str | None = None,
    below_only: bool = False,
    today: dt.date | None = None,
) -> list[QuotaStatus]:
    """Every quota the caller reads (in the region) with the quantity held; a quota met exactly is not below."""
    quotas = list(session.scalars(list_quotas(session, actor, region=region)).unique())
    held = _held_by_quota(session, [quota.id for quota in quotas], today or business_today())
    statuses = []
    for quota in quotas:
        by_unit = held.get(quota.id, {})
        units = tuple(sorted(by_unit)) if quota.item is None else (quota.item.unit,)
        status = QuotaStatus(quota, sum(by_unit.values(), Decimal(0)), units)
        if status.below or not below_only:
            statuses.append(status)
    statuses.sort(key=lambda status: (status.quota.province_code, status.quota.target_code, status.quota.id))
    return statuses


def _held_by_quota(session: Session, quota_ids: list[int], today: dt.date) -> dict[int, dict[str, Decimal]]:
    """Usable stock per quota and unit: one grouped query per target kind, each on indexed joins.

    A region quota matches warehouses on the column of its own level only: 东莞 (a city without counties)
    is both the city and the county of its warehouses, and must not be counted twice.
    """
    targets: list[tuple[ColumnElement[bool], RegionLevel | None]] = [
        (Warehouse.id == ReserveQuota.warehouse_id, None),
        *((column == ReserveQuota.region_code, level) for level, column in WAREHOUSE_REGION_COLUMN.items()),
    ]
    held: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for chunk in chunks(quota_ids):
        for joined, level in targets:
            stmt = (
                select(ReserveQuota.id, Item.unit, func.sum(StockLine.quantity))
                .select_from(ReserveQuota)
                .join(Warehouse, joined)
                .join(StockLine, StockLine.warehouse_id == Warehouse.id)
                .join(Item, Item.id == StockLine.item_id)
                .where(
                    ReserveQuota.id.in_(chunk),
                    or_(ReserveQuota.item_id == StockLine.item_id, ReserveQuota.category == Item.category),
                    usable_stock(today),
                )
                .group_by(ReserveQuota.id, Item.unit)
            )
            if level is not None:
                stmt = stmt.join(Region, Region.code == ReserveQuota.region_code).where(Region.level == level)
            for quota_id, unit, quantity in session.execute(stmt):
                held[quota_id][unit] = quantity
    return held
