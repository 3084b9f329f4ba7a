"""Reserve quotas: the minimum of an item or a category each warehouse or region is expected to hold.

Creating, changing, deleting and listing them; who reads and sets which quotas is decided in
``inventory.access`` (``readable_quotas``, ``require_quota_setting``), and the shortfall report in
``inventory.reports.shortfall``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal, readable_quotas, require_quota_setting, require_region_in_scope
from inventory.audit import record_audit, snapshot
from inventory.catalogue import find_item, resolve_item
from inventory.db import RowLock, locked, unless_taken_meanwhile
from inventory.errors import Conflict, NotFound, ValidationFailed
from inventory.models import Region, ReserveQuota, Warehouse
from inventory.reference import Category, RegionLevel, Role
from inventory.regions import region_filter
from inventory.validation import check_quantity, check_text, require_one_of
from inventory.warehouses import get_warehouse

NOTE_LIMIT = 500
CODE_PREFIX = {RegionLevel.PROVINCE: 2, RegionLevel.CITY: 4, RegionLevel.COUNTY: 6}


def _quota_region(session: Session, region_code: str) -> ColumnElement[bool]:
    """Quotas whose target lies in the region: its warehouses, the region itself and regions below it."""
    region = session.get(Region, region_code)
    if region is None:
        raise ValidationFailed(f"unknown region code {region_code!r}", field="region")
    below = ReserveQuota.region_code.startswith(region_code[: CODE_PREFIX[region.level]])
    return or_(region_filter(session, region_code), below)


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
    scope = readable_quotas(session, principal)
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


def get_quota(session: Session, actor: Actor, quota_id: int, *, lock: RowLock = "") -> ReserveQuota:
    """One quota; one outside the caller's reading scope does not exist for them (404). ``lock``: its row
    locked to the commit, for a change (see ``db.locked``)."""
    stmt = locked(list_quotas(session, actor).where(ReserveQuota.id == quota_id), ReserveQuota, lock)
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
    require_quota_setting(actor, quota.province_code, target_field)
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

    def already_set() -> Conflict | None:
        existing = session.scalar(same)
        if existing is None:
            return None
        return Conflict(
            f"{quota.target_code} already has a quota for {quota.material_code} (quota {existing}); change that one",
            field=target_field,
        )

    taken = already_set()
    if taken is not None:
        raise taken
    with unless_taken_meanwhile(session, already_set):
        session.add(quota)
        session.flush()
    _audit_quota(session, actor, "quota.create", quota, None)
    return quota


def update_quota(
    session: Session, actor: Actor, quota_id: int, *, minimum: object = None, note: str | None = None
) -> ReserveQuota:
    """Change a quota's minimum or note; its target and material are what it is (delete and create instead)."""
    quota = get_quota(session, actor, quota_id, lock="edit")
    require_quota_setting(actor, quota.province_code, "quota_id")
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
    quota = get_quota(session, actor, quota_id, lock="delete")
    require_quota_setting(actor, quota.province_code, "quota_id")
    _audit_quota(session, actor, "quota.delete", quota, snapshot(quota))
    session.delete(quota)
    session.flush()
