"""Settlement (结算): what an incident owes each enterprise, third-party and production-capacity source.

Per source warehouse and item: the quantity consumed and lost (on the way out or back) at the agreed
unit price; government reserves are not paid but replenished (补充储备), so their rows are requests
to restock the same quantities. The figures come from ``incidents.line_accounts`` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inventory.access import (
    Actor,
    as_principal,
    readable_warehouses,
    reads_warehouse,
    require_warehouse_management,
    require_warehouse_read,
)
from inventory.audit import record_audit
from inventory.errors import Forbidden, ValidationFailed
from inventory.incidents import grouped, incident_lines, line_accounts
from inventory.models import EmergencyIncident, Item, UnitPrice, Warehouse
from inventory.reference import ReserveType, Role
from inventory.validation import MAX_QUANTITY, check_quantity, check_text, text_limit
from inventory.warehouses import get_warehouse

CENT = Decimal("0.01")


def set_unit_price(
    session: Session, actor: Actor, *, warehouse: Warehouse, item: Item, price: object, agreement: str = ""
) -> UnitPrice:
    """The agreed price of an item from a source (admins; provincial staff in the source's province).

    The source's price is locked before it is read for the audit entry, so an editor changing it at the same time
    waits, and each entry's ``before`` is the price it replaced; with no price yet, the first insert wins and a
    second editor, refused by the unique key, locks and changes that one. The audit entry follows the change in
    the caller's transaction.
    """
    principal = require_warehouse_management(actor, warehouse.province_code)
    if warehouse.reserve_type is ReserveType.GOVERNMENT:
        raise ValidationFailed("government reserves are replenished, not paid: no unit price", field="warehouse_code")
    price = check_quantity(price, "price", allow_zero=True)
    if price > MAX_QUANTITY:
        raise ValidationFailed(f"a price is at most {MAX_QUANTITY}", field="price")
    agreement = check_text(agreement, "agreement", max_length=text_limit(UnitPrice.agreement))
    values = {"price": price, "agreement": agreement, "set_by": principal.username}
    locked = (
        select(UnitPrice)
        .where(UnitPrice.warehouse_id == warehouse.id, UnitPrice.item_id == item.id)
        .with_for_update(of=UnitPrice)  # the price's row, not its joined warehouse and item
        .execution_options(populate_existing=True)
    )
    unit_price = session.scalar(locked)
    inserted = False
    if unit_price is None:
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
        statement = insert(UnitPrice).values(warehouse_id=warehouse.id, item_id=item.id, **values)
        inserted = (
            session.execute(
                statement.on_conflict_do_nothing(index_elements=["warehouse_id", "item_id"]).returning(UnitPrice.id)
            ).scalar()
            is not None
        )
        unit_price = session.scalars(locked).one()  # an insert that lost to another editor's waited for its commit
    before = None
    if not inserted:
        before = {"price": str(unit_price.price), "agreement": unit_price.agreement}
        unit_price.price, unit_price.agreement, unit_price.set_by = price, agreement, principal.username
        session.flush()  # the change first: one the database refuses leaves no audit entry behind
    record_audit(
        session,
        actor,
        "settlement.price",
        object_type="unit_price",
        object_key=f"{warehouse.code}/{item.code}",
        province_code=warehouse.province_code,
        before=before,
        after={"price": str(price), "agreement": agreement},
    )
    return unit_price


def list_unit_prices(session: Session, actor: Actor, *, warehouse_code: str | None = None) -> Select:
    require_settlement_reader(actor)
    stmt = select(UnitPrice).join(UnitPrice.warehouse).order_by(UnitPrice.id)
    # Provincial staff their province, managers their own sources: as the settlement sheet (``reads_warehouse``).
    stmt = stmt.where(*readable_warehouses(session, actor, None))
    if warehouse_code:  # one outside the caller's sources is refused (403), never answered with no prices
        warehouse = get_warehouse(session, warehouse_code, field="warehouse")
        require_warehouse_read(actor, warehouse)
        stmt = stmt.where(UnitPrice.warehouse_id == warehouse.id)
    return stmt


@dataclass(frozen=True)
class SettlementRow:
    warehouse: Warehouse
    item: Item
    dispatched: Decimal
    received: Decimal
    lost: Decimal  # on the way out and back
    consumed: Decimal
    returned: Decimal
    charged: Decimal  # consumed + lost: what the source does not get back
    unit_price: Decimal | None
    amount: Decimal | None

    @property
    def replenish(self) -> bool:
        return self.warehouse.reserve_type is ReserveType.GOVERNMENT


@dataclass(frozen=True)
class SettlementSheet:
    incident: EmergencyIncident
    rows: list[SettlementRow]  # paid sources (enterprise, third-party, production capacity)
    replenishment: list[SettlementRow]  # government reserves to restock
    total_amount: Decimal
    unpriced: int  # rows charged something without an agreed price


def settlement_sheet(
    session: Session, actor: Actor, incident: EmergencyIncident, *, warehouse_code: str | None = None
) -> SettlementSheet:
    """The incident's sheet, per source and item, clipped to the caller's province (or their warehouses)."""
    require_settlement_reader(actor)
    # an unknown one: 404, not a sheet with no rows
    only = get_warehouse(session, warehouse_code, field="warehouse") if warehouse_code else None
    principal = as_principal(actor)
    # Refused whether or not it has lines in the incident: an empty sheet for one and a 403 for another told a
    # manager which warehouses outside theirs took part.
    if only is not None and not reads_warehouse(principal, only):
        raise Forbidden(f"{principal.username} may not read the settlement of {warehouse_code}", field="warehouse")
    lines = incident_lines(incident)
    totals = grouped(line_accounts(session, lines), lines)
    warehouses = {line.warehouse_id: line.warehouse for line in lines}
    items = {line.item_id: line.item for line in lines}
    prices = {
        (price.warehouse_id, price.item_id): price.price
        for price in session.scalars(select(UnitPrice).where(UnitPrice.warehouse_id.in_(list(warehouses))))
    }
    rows, replenishment = [], []
    for (warehouse_id, item_id), account in sorted(
        totals.items(), key=lambda pair: (warehouses[pair[0][0]].code, items[pair[0][1]].code)
    ):
        warehouse = warehouses[warehouse_id]
        if only is not None and warehouse_id != only.id:
            continue
        if not reads_warehouse(principal, warehouse):  # the roles require_settlement_reader lets in
            continue
        government = warehouse.reserve_type is ReserveType.GOVERNMENT
        price = None if government else prices.get((warehouse_id, item_id))
        lost = account.lost + account.return_lost
        row = SettlementRow(
            warehouse=warehouse,
            item=items[item_id],
            dispatched=account.dispatched,
            received=account.received,
            lost=lost,
            consumed=account.consumed,
            returned=account.returned,
            charged=account.charged,
            unit_price=price,
            amount=(price * account.charged).quantize(CENT) if price is not None else None,
        )
        (replenishment if government else rows).append(row)
    return SettlementSheet(
        incident=incident,
        rows=rows,
        replenishment=replenishment,
        total_amount=sum((row.amount for row in rows if row.amount is not None), Decimal(0)),
        unpriced=sum(1 for row in rows if row.amount is None and row.charged),
    )


def require_settlement_reader(actor: Actor) -> None:
    """Settlement is money: administrators, provincial staff (their province) and managers (their sources)."""
    principal = as_principal(actor)
    if principal.role not in (Role.ADMIN, Role.PROVINCIAL, Role.MANAGER):
        raise Forbidden(f"the {principal.role.value} role has no access to settlement")
