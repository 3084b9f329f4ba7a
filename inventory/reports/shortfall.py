"""The quota shortfall report: every reserve quota the caller reads against the usable stock held."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from inventory.access import Actor
from inventory.clock import business_today
from inventory.db import chunks
from inventory.models import Item, Region, ReserveQuota, StockLine, Warehouse
from inventory.quotas import list_quotas
from inventory.reference import RegionLevel
from inventory.regions import WAREHOUSE_REGION_COLUMN
from inventory.reports.common import usable_stock


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
