"""Who may do what: the object-level rules every service applies, whatever route called it.

A ``Principal`` is the caller as the services see it. A plain string actor means a trusted
operator with shell access (CLI commands, seeding): recorded by name, allowed everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inventory.errors import Forbidden
from inventory.models import Warehouse
from inventory.reference import Role

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
