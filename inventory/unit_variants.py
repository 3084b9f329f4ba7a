"""An item's pack factors and unit variants: the services (the unit rules themselves are ``inventory/units.py``).

- ``unit_variant_for`` — the item holding a base item's stock counted in a unit that converts to nothing,
  created on first use (with a review record), found again on the next import;
- ``set_pack_factor`` — 1 ``unit`` = ``factor`` catalogue units of the item; a variant in that unit is then
  merged into the item by ledger movements (an adjustment out of each variant line, a receipt of the converted
  quantity into the item's line of the same warehouse and batch), all in the caller's transaction;
- ``items_to_review`` — what imports guessed about the catalogue (new items, inferred categories, variants).
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
from inventory.catalogue import ItemRef, create_item, get_item, item_names
from inventory.errors import Conflict, ValidationFailed
from inventory.models import Item, ItemReview, ItemUnit, ItemVariant, StockLine
from inventory.stock import adjust_stock, receive_stock
from inventory.units import canonical_unit, item_unit_factor, unit_factor, variant_code, variant_name
from inventory.validation import check_quantity, check_text, text_limit

NEW_ITEM, UNIT_VARIANT = "new_item", "unit_variant"
THOUSANDTH = Decimal("0.001")


def pack_factors(item: Item) -> list[tuple[str, Decimal]]:
    """The item's own (unit, factor) pairs, factor in its catalogue unit."""
    return [(pack.unit, pack.factor) for pack in item.pack_units]  # type: ignore[attr-defined]


def factor_to_item(item: Item, unit: str) -> Decimal | None:
    """How many catalogue units of ``item`` one ``unit`` is (families, then the item's pack factors), or None."""
    return item_unit_factor(unit, item.unit, pack_factors(item))


def variant_refs(session: Session, item_id: int) -> list[ItemRef]:
    """The unmerged unit variants of an item, as plain values (what nearest lists beside the item).

    From this worker's copy of the catalogue (``item_names``), reloaded when item_variant changes.
    """
    return list(item_names(session).variants_of(item_id))


def open_variant(item: Item, unit: str) -> Item | None:
    """The unmerged variant of ``item`` counted in ``unit``, if there is one."""
    wanted = canonical_unit(unit)
    for variant in item.unit_variants:  # type: ignore[attr-defined]
        if variant.merged_at is None and canonical_unit(variant.unit) == wanted:
            return variant.item
    return None


def unit_variant_for(session: Session, actor: Actor, item: Item, unit: str, *, reference: str = "") -> Item:
    """The item that holds ``item``'s stock counted in ``unit`` (which converts to nothing): found or added."""
    found = open_variant(item, unit)
    if found is not None:
        return found
    unit = check_text(unit, "unit", max_length=text_limit(Item.unit), required=True)
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
    flag_for_review(
        session,
        variant,
        UNIT_VARIANT,
        f"'{unit}' does not convert to the unit '{item.unit}' of {item.code} {item.name}: the stock is kept "
        f"apart in '{unit}'; set the factor (1 {unit} = ? {item.unit}) to merge it",
        reference,
    )
    session.flush()
    session.expire(item, ["unit_variants"])
    return variant


def flag_for_review(session: Session, item: Item, reason: str, detail: str, reference: str = "") -> None:
    """Record that a person should confirm something guessed about ``item`` (once per item and reason)."""
    exists = session.scalar(select(ItemReview.id).where(ItemReview.item_id == item.id, ItemReview.reason == reason))
    if exists is None:
        session.add(ItemReview(item_id=item.id, reason=reason, detail=detail[:500], reference=reference[:64]))


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

    The merge claims the variant with a conditional UPDATE (``merged_at IS NULL``), so two callers never both
    move its stock; each variant line leaves by an adjustment that the conditional stock UPDATE refuses when
    call-ups hold part of it (a 409: release them first), and arrives as a receipt of the converted quantity.
    """
    principal = require_catalogue_edit(actor)
    item = get_item(session, item_code, field="item_code")
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
            quantity=(quantity * factor).quantize(THOUSANDTH, rounding=ROUND_HALF_UP),
            actor=actor,
            batch=line.batch,
            production_date=line.production_date,
            expiry_date=line.expiry_date,
            reason=reason,
            reference=reference,
        )
    session.execute(
        update(ItemReview)
        .where(ItemReview.item_id == variant.id, ItemReview.resolved_by.is_(None))
        .values(resolved_by=as_principal(actor).username)
    )
    session.expire(item, ["unit_variants"])
    return len(lines)


@dataclass(frozen=True)
class ReviewEntry:
    """One item to confirm, for the review list: which, why, what was guessed, where it came from."""

    item_code: str
    item_name: str
    reason: str
    detail: str
    reference: str
    created_at: dt.datetime

    def to_dict(self) -> dict:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


def items_to_review(session: Session, *, reference: str | None = None) -> list[ReviewEntry]:
    """Unresolved catalogue reviews, oldest first; ``reference`` narrows to one import (IMPORT-<id>)."""
    stmt = (
        select(ItemReview, Item.code, Item.name)
        .join(Item, Item.id == ItemReview.item_id)
        .where(ItemReview.resolved_by.is_(None))
        .order_by(ItemReview.id)
    )
    if reference:
        stmt = stmt.where(ItemReview.reference == reference)
    return [
        ReviewEntry(code, name, review.reason, review.detail, review.reference, review.created_at)
        for review, code, name in session.execute(stmt)
    ]
