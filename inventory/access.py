"""Who may do what: the object-level rules every service applies, whatever route called it.

A ``Principal`` is the caller as the services see it. A plain string actor means a trusted
operator with shell access (CLI commands, seeding): recorded by name, allowed everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from inventory.errors import Forbidden
from inventory.models import ReserveQuota, Warehouse
from inventory.reference import Role
from inventory.regions import region_filter

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    province_code: str | None = None
    warehouse_ids: frozenset[int] = field(default_factory=frozenset)
    address: str = ""
    user_id: int | None = None

    @classmethod
    def operator(cls, username: str = SYSTEM_USERNAME, address: str = "cli") -> Principal:
        """A trusted shell operator: full rights, recorded under their name."""
        return cls(username=username, role=Role.ADMIN, address=address)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def in_province(self, province_code: str | None) -> bool:
        return self.role is Role.PROVINCIAL and province_code is not None and province_code == self.province_code


Actor = Principal | str


def as_principal(actor: Actor) -> Principal:
    return actor if isinstance(actor, Principal) else Principal.operator(actor)


def require_stock_change(actor: Actor, warehouse: Warehouse) -> Principal:
    """Managers change their assigned warehouses; provincial staff their province's; admins all."""
    principal = as_principal(actor)
    if (
        principal.is_admin
        or principal.in_province(warehouse.province_code)
        or (principal.role is Role.MANAGER and warehouse.id in principal.warehouse_ids)
    ):
        return principal
    raise Forbidden(f"{principal.username} may not change the stock of warehouse {warehouse.code}")


def require_warehouse_management(actor: Actor, province_code: str | None) -> Principal:
    """Registering and editing warehouses: admins, and provincial staff inside their province."""
    principal = as_principal(actor)
    if principal.is_admin or principal.in_province(province_code):
        return principal
    raise Forbidden(f"{principal.username} may not manage warehouses in province {province_code}")


def require_import_profile_edit(actor: Actor) -> Principal:
    """Saving a column-mapping profile for ledger imports: whoever imports ledgers (admins, provincial staff,
    warehouse managers)."""
    principal = as_principal(actor)
    if principal.is_admin or principal.role in (Role.PROVINCIAL, Role.MANAGER):
        return principal
    raise Forbidden(f"{principal.username} may not save import profiles")


def require_catalogue_edit(actor: Actor, *, deleting: bool = False) -> Principal:
    """The catalogue is national: admins edit it; provincial staff may add and amend items."""
    principal = as_principal(actor)
    if principal.is_admin or (principal.role is Role.PROVINCIAL and not deleting):
        return principal
    raise Forbidden(f"{principal.username} may not {'delete' if deleting else 'edit'} catalogue items")


def require_admin(actor: Actor) -> Principal:
    principal = as_principal(actor)
    if principal.is_admin:
        return principal
    raise Forbidden(f"{principal.username} is not an administrator")


def province_scope(actor: Actor) -> str | None:
    """The province a caller's scoped reads (audit, exports, imports) are clipped to; None = all.

    Raises for roles that have no scoped access at all.
    """
    principal = as_principal(actor)
    if principal.is_admin:
        return None
    if principal.role is Role.PROVINCIAL:
        return principal.province_code
    raise Forbidden(f"the {principal.role.value} role has no access to this")


def require_region_in_scope(actor: Actor, region_code: str | None) -> str | None:
    """Clip a requested region to the caller's province: provincial staff default to theirs."""
    province = province_scope(actor)
    if province is None:
        return region_code
    if region_code is None:
        return province
    if region_code[:2] != province[:2]:
        raise Forbidden(f"region {region_code} is outside province {province}", field="region")
    return region_code


# --- who reads the readiness reports and quotas ------------------------------------------------
# Admins, responders and viewers read everything; provincial staff their province; managers their
# assigned warehouses (and the quotas of the regions those sit in). Only admins and provincial staff
# (in their province) set quotas.


def readable_warehouses(session: Session, actor: Actor, region: str | None) -> list[ColumnElement[bool]]:
    """Conditions on ``Warehouse`` for the caller's scope and the region asked for.

    Asking for a region outside the scope is refused (403), never silently emptied.
    """
    principal = as_principal(actor)
    if principal.role is Role.PROVINCIAL:
        region = require_region_in_scope(principal, region)
    conditions = [region_filter(session, region)] if region else []
    if principal.role is Role.MANAGER:
        conditions.append(Warehouse.id.in_(sorted(principal.warehouse_ids)))
        if region and session.scalar(select(Warehouse.id).where(*conditions).limit(1)) is None:
            raise Forbidden(f"region {region} holds none of the warehouses {principal.username} reads", field="region")
    return conditions


def reads_warehouse(principal: Principal, warehouse: Warehouse) -> bool:
    """Whether the caller's scope holds the warehouse: provincial staff their province, managers their own."""
    if principal.role is Role.PROVINCIAL:
        return principal.in_province(warehouse.province_code)
    if principal.role is Role.MANAGER:
        return warehouse.id in principal.warehouse_ids
    return True


def require_warehouse_read(actor: Actor, warehouse: Warehouse) -> Principal:
    """A warehouse asked for by name must be one the caller reads (403 otherwise, never an empty report)."""
    principal = as_principal(actor)
    if not reads_warehouse(principal, warehouse):
        raise Forbidden(f"warehouse {warehouse.code} is outside what {principal.username} reads", field="warehouse")
    return principal


def readable_quotas(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """Quotas a caller reads: provincial staff their province's, managers those of their warehouses and of
    the regions their warehouses sit in; everyone else all (None)."""
    principal = as_principal(actor)
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


def require_quota_setting(actor: Actor, quota_province: str, field: str) -> Principal:
    """Setting reserve quotas: admins, and provincial staff inside their province."""
    principal = as_principal(actor)
    if principal.is_admin or principal.in_province(quota_province):
        return principal
    raise Forbidden(f"{principal.username} may not set reserve quotas in province {quota_province}", field=field)
