"""The registry of warehouses."""

from __future__ import annotations

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from inventory.access import Actor, require_warehouse_management
from inventory.audit import record_audit, snapshot
from inventory.catalogue import resolve_item
from inventory.db import RowLock, locked, unless_taken_meanwhile
from inventory.errors import Conflict, NotFound, ValidationFailed, required
from inventory.models import StockLine, Warehouse
from inventory.reference import ReserveType, WarehouseLevel, WarehouseStatus
from inventory.regions import region_filter, resolve_region_path
from inventory.validation import check_code, check_coordinate, check_text

TEXT_LIMITS = {
    "name": 200,
    "organisation": 200,
    "address": 300,
    "contact_person": 64,
    "contact_phone": 32,
    "notes": 4000,
}
ENUM_FIELDS = {"reserve_type": ReserveType, "level": WarehouseLevel, "status": WarehouseStatus}
WAREHOUSE_FIELDS = set(TEXT_LIMITS) | set(ENUM_FIELDS) | {"county_code", "latitude", "longitude"}
REQUIRED_FIELDS = ("name", "reserve_type", "county_code", "latitude", "longitude", "level")


def get_warehouse(session: Session, code: str, *, field: str = "warehouse_code", lock: RowLock = "") -> Warehouse:
    """The warehouse; ``lock``: its row locked to the commit, for a change (see ``db.locked``)."""
    warehouse = session.scalar(locked(select(Warehouse).where(Warehouse.code == code), Warehouse, lock))
    if warehouse is None:
        raise NotFound(f"no warehouse with code {code!r}", field=field)
    return warehouse


def warehouse_codes(session: Session, warehouse_ids: frozenset[int]) -> list[str]:
    """The public codes of warehouses known by id (a manager's assignment), sorted."""
    if not warehouse_ids:
        return []
    return list(
        session.scalars(select(Warehouse.code).where(Warehouse.id.in_(sorted(warehouse_ids))).order_by(Warehouse.code))
    )


def list_warehouses(
    session: Session,
    *,
    region: str | None = None,
    reserve_type: ReserveType | None = None,
    status: WarehouseStatus | None = None,
    level: WarehouseLevel | None = None,
    item_code: str | None = None,
    q: str | None = None,
) -> Select:
    """A select of warehouses; ``item_code`` keeps those holding a positive quantity of that item."""
    stmt = select(Warehouse).order_by(Warehouse.code)
    if region:
        stmt = stmt.where(region_filter(session, region))
    if reserve_type is not None:
        stmt = stmt.where(Warehouse.reserve_type == reserve_type)
    if status is not None:
        stmt = stmt.where(Warehouse.status == status)
    if level is not None:
        stmt = stmt.where(Warehouse.level == level)
    if item_code:
        stmt = stmt.where(
            exists()
            .where(StockLine.warehouse_id == Warehouse.id, StockLine.quantity > 0)
            .where(StockLine.item_id == resolve_item(session, item_code, "item").id)
        )
    if q:
        stmt = stmt.where(Warehouse.name.icontains(q, autoescape=True) | Warehouse.code.icontains(q, autoescape=True))
    return stmt


def _apply_warehouse_fields(session: Session, warehouse: Warehouse, fields: dict) -> None:
    unknown = set(fields) - WAREHOUSE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"unknown field {name}", field=name)
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            setattr(warehouse, name, check_text(fields[name], name, max_length=limit, required=name == "name"))
    for name, enum_class in ENUM_FIELDS.items():
        if name in fields:
            try:
                setattr(warehouse, name, enum_class(fields[name]))
            except ValueError as exc:
                allowed = ", ".join(m.value for m in enum_class)
                raise ValidationFailed(f"{fields[name]!r} is not one of {allowed}", field=name) from exc
    if "latitude" in fields or "longitude" in fields:
        warehouse.latitude, warehouse.longitude = check_coordinate(
            fields.get("latitude", warehouse.latitude), fields.get("longitude", warehouse.longitude)
        )
    if "county_code" in fields:
        path = resolve_region_path(session, fields["county_code"])
        warehouse.county_code, warehouse.city_code, warehouse.province_code = (
            path.county_code,
            path.city_code,
            path.province_code,
        )
        if warehouse.id is not None:
            session.flush()
            session.expire(warehouse, ["county"])  # the relationship still points at the old county


def create_warehouse(session: Session, actor: Actor, *, code: str, **fields: object) -> Warehouse:
    code = check_code(code)
    for name in REQUIRED_FIELDS:
        if fields.get(name) in (None, ""):
            raise required(name)
    taken = _code_in_use(session, code)
    if taken is not None:
        raise taken
    warehouse = Warehouse(code=code, status=WarehouseStatus.ACTIVE)
    _apply_warehouse_fields(session, warehouse, fields)
    require_warehouse_management(actor, warehouse.province_code)
    with unless_taken_meanwhile(session, lambda: _code_in_use(session, code)):
        session.add(warehouse)
        session.flush()
    _audit(session, actor, "warehouse.create", warehouse, None)
    return warehouse


def _code_in_use(session: Session, code: str) -> Conflict | None:
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)) is None:
        return None
    return Conflict(f"warehouse code {code!r} is already in use", field="code")


def _audit(session: Session, actor: Actor, action: str, warehouse: Warehouse, before: dict | None) -> None:
    after = snapshot(warehouse) if action != "warehouse.delete" else None
    record_audit(
        session,
        actor,
        action,
        object_type="warehouse",
        object_key=warehouse.code,
        province_code=warehouse.province_code,
        before=before,
        after=after,
    )


def update_warehouse(session: Session, actor: Actor, code: str, **fields: object) -> Warehouse:
    """Edit a warehouse; moving it to another province needs rights in both provinces.

    Its row is locked before the rights are checked: an edit made at the same time by someone else (another
    province's move, an import's update) is checked against what that one committed, never lost to it.
    """
    warehouse = get_warehouse(session, code, field="code", lock="edit")
    require_warehouse_management(actor, warehouse.province_code)
    before = snapshot(warehouse)
    _apply_warehouse_fields(session, warehouse, fields)
    require_warehouse_management(actor, warehouse.province_code)
    session.flush()
    _audit(session, actor, "warehouse.update", warehouse, before)
    return warehouse


def delete_warehouse(session: Session, actor: Actor, code: str) -> None:
    """Only a warehouse with no stock lines can be deleted; otherwise set it inactive.

    Locked first: of two deletions at once the second finds no warehouse (404) rather than deleting nothing.
    """
    warehouse = get_warehouse(session, code, field="code", lock="delete")
    require_warehouse_management(actor, warehouse.province_code)
    if session.scalar(select(StockLine.id).where(StockLine.warehouse_id == warehouse.id).limit(1)) is not None:
        raise Conflict(f"warehouse {code} has stock lines; set its status to inactive instead", field="code")
    _audit(session, actor, "warehouse.delete", warehouse, snapshot(warehouse))
    session.delete(warehouse)
    session.flush()
