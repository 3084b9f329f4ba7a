"""An item's pack factors and unit variants: the services (the unit rules themselves are ``inventory/units.py``).

- ``unit_variant_for`` — the item holding a base item's stock counted in a unit that converts to nothing,
  created on first use, found again on the next import (the importer puts it on the import's review list);
- ``set_pack_factor`` — 1 ``unit`` = ``factor`` catalogue units of the item; a variant in that unit is then
  merged into the item by ledger movements (an adjustment out of each variant line, a receipt of the converted
  quantity into the item's line of the same warehouse and batch), all in the caller's transaction, and the
  variant's review entries are closed (``inventory.import_review``, the one review store).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal, require_catalogue_edit
from inventory.audit import record_audit
from inventory.catalogue import create_item, get_item
from inventory.db import chunks
from inventory.errors import Conflict, ValidationFailed
from inventory.import_review import UNIT_VARIANT, close_item_reviews
from inventory.models import Item, ItemUnit, ItemVariant, StockLine
from inventory.stock import adjust_stock, receive_stock
from inventory.units import (
    canonical_unit,
    in_item_unit,
    item_unit_factor,
    unit_factor,
    variant_code,
    variant_name,
)
from inventory.validation import check_quantity, check_text, text_limit

THOUSANDTH = Decimal("0.001")


def pack_factors(item: Item) -> list[tuple[str, Decimal]]:
    """The item's own (unit, factor) pairs, factor in its catalogue unit."""
    return [(pack.unit, pack.factor) for pack in item.pack_units]  # type: ignore[attr-defined]


def factor_to_item(item: Item, unit: str) -> Decimal | None:
    """How many catalogue units of ``item`` one ``unit`` is (families, then the item's pack factors), or None."""
    return item_unit_factor(unit, item.unit, pack_factors(item))


def open_variant(item: Item, unit: str) -> Item | None:
    """The unmerged variant of ``item`` counted in ``unit``, if there is one."""
    wanted = canonical_unit(unit)
    for variant in item.unit_variants:  # type: ignore[attr-defined]
        if variant.merged_at is None and canonical_unit(variant.unit) == wanted:
            return variant.item
    return None


def unit_variant_for(session: Session, actor: Actor, item: Item, unit: str) -> Item:
    """The item that holds ``item``'s stock counted in ``unit`` (which converts to nothing): found or added."""
    found = open_variant(item, unit)
    if found is not None:
        return found
    unit = check_text(unit, "unit", max_length=text_limit(Item.unit), required=True)
    try:
        with session.begin_nested():
            variant = create_item(
                session,
                actor,
                code=variant_code(item.code, unit),
                name=variant_name(item.name, unit)[: text_limit(Item.name)],
                category=item.category.value,
                specification=item.specification,
                unit=unit,
            )
            session.add(ItemVariant(item_id=variant.id, base_item_id=item.id, unit=unit))
            session.flush()
    except (Conflict, IntegrityError):
        # Added since ``item``'s variants were read, by a request committed meanwhile (two imports counting the
        # item in this unit at once, PostgreSQL): that one is the variant wanted; any other refusal stands.
        session.expire(item, ["unit_variants"])
        found = open_variant(item, unit)
        if found is None:
            raise
        return found
    session.expire(item, ["unit_variants"])
    return variant


def hold_item_units(session: Session, item_ids: list[int]) -> None:
    """Hold these items' pack factors and unit variants as they are until the commit, read again now.

    For a caller that put stock counted in an item's unit into its variant, or into a new one (an import): a
    factor set meanwhile (``set_pack_factor``, which locks the item's row to change it) has either committed,
    and is read here (the caller looks its units up again), or waits for the caller's commit before merging the
    variant with the stock it now holds. PostgreSQL: FOR SHARE on the items' rows; SQLite's writes are serial.
    """
    for chunk in chunks(sorted(set(item_ids))):
        items = session.scalars(
            select(Item).where(Item.id.in_(chunk)).order_by(Item.id).with_for_update(read=True, of=Item)
        ).all()
        for item in items:
            session.expire(item, ["pack_units", "unit_variants"])


@dataclass(frozen=True)
class Merged:
    """What ``set_pack_factor`` did: the factor, and the variant lines moved into the item."""

    item_code: str
    unit: str
    factor: Decimal
    variant_code: str | None
    lines_moved: int


def set_pack_factor(session: Session, actor: Actor, item_code: str, unit: str, factor: object) -> Merged:
    """1 ``unit`` = ``factor`` of the item's catalogue unit; an open variant in that unit merges into the item.

    The item's row is locked first, so an import that holds the item's units (``hold_item_units``) finishes
    before, its counts merged with the rest, or reads the factor after. The merge claims the variant with a
    conditional UPDATE (``merged_at IS NULL``), so two callers never both
    move its stock; each variant line leaves by an adjustment that the conditional stock UPDATE refuses when
    call-ups hold part of it (a 409: release them first), and arrives as a receipt of the converted quantity.
    """
    principal = require_catalogue_edit(actor)
    # locked to the commit: an import counting the item in its units holds it (``hold_item_units``) meanwhile
    item = get_item(session, item_code, field="item_code", lock="edit")
    unit = check_text(unit, "unit", max_length=text_limit(ItemUnit.unit), required=True)
    factor = check_quantity(factor, "factor")
    if factor <= 0:
        raise ValidationFailed("the factor must be greater than 0", field="factor")
    family = unit_factor(unit, item.unit)
    if family is not None:
        raise ValidationFailed(
            f"'{unit}' already converts to '{item.unit}' "
            f"(1 {unit} = {family.normalize():f} {item.unit}): nothing to set",
            field="unit",
        )
    try:
        with session.begin_nested():
            session.add(ItemUnit(item_id=item.id, unit=unit, factor=factor, set_by=principal.username))
    except IntegrityError as exc:
        raise Conflict(f"{item.code} already has a factor for '{unit}'", field="unit") from exc
    record_audit(
        session,
        actor,
        "item.pack_factor",
        object_type="item",
        object_key=item.code,
        after={"unit": unit, "factor": str(factor)},
    )
    session.expire(item, ["pack_units"])
    variant = open_variant(item, unit)
    if variant is None:
        return Merged(item.code, unit, factor, None, 0)
    return Merged(item.code, unit, factor, variant.code, _merge_variant(session, actor, item, variant, factor))


def _merge_variant(session: Session, actor: Actor, item: Item, variant: Item, factor: Decimal) -> int:
    claimed = session.execute(
        update(ItemVariant)
        .where(ItemVariant.item_id == variant.id, ItemVariant.merged_at.is_(None))
        .values(merged_at=dt.datetime.now(dt.UTC))
    ).rowcount
    if claimed != 1:
        raise Conflict(f"{variant.code} is being or has been merged into {item.code}", field="unit")
    reference = f"UNIT-MERGE-{variant.code}"
    reason = f"单位换算并入 {item.code}：1 {variant.unit} = {factor.normalize():f} {item.unit}"
    lines = session.scalars(
        select(StockLine).where(StockLine.item_id == variant.id, StockLine.quantity > 0).order_by(StockLine.id)
    ).all()
    for line in lines:
        quantity = line.quantity
        adjust_stock(session, line=line, delta=-quantity, actor=actor, reason=reason, reference=reference)
        receive_stock(
            session,
            warehouse=line.warehouse,
            item=item,
            quantity=in_item_unit(quantity, factor).quantize(THOUSANDTH, rounding=ROUND_HALF_UP),
            actor=actor,
            batch=line.batch,
            production_date=line.production_date,
            expiry_date=line.expiry_date,
            reason=reason,
            reference=reference,
        )
    # the variant is settled: its review entries, in whichever import listed them, point to the item
    close_item_reviews(session, UNIT_VARIANT, variant.code, "corrected", item.code, as_principal(actor).username)
    session.expire(item, ["unit_variants"])
    return len(lines)
