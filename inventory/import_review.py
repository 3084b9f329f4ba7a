"""The review list of an import: what it decided on its own, for a person to confirm or correct.

The importer records, per import, the warehouses it registered, the items it added, the matches it guessed,
the unit variants it kept and the warehouse details that differed between rows, each with the rows it came
from. Confirming closes an entry. Correcting one points the stock elsewhere *by ledger movements*: a new
warehouse that was really warehouse X has its stock transferred to X; an item that was really item Y has
its stock adjusted out of the one and into Y (same warehouse, batch and dates). Nothing is edited in place.

It is the one review store: the catalogue review (``GET /catalogue-reviews``, ``vocabulary review``) is
``catalogue_reviews`` — the open new-item and unit-variant entries, one per item — and settling an item's entry
settles it for every import that listed the item. Merging a unit variant by its pack factor
(``inventory.unit_variants``) closes its entries through ``close_item_reviews``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal
from inventory.catalogue import get_item
from inventory.db import insert_many
from inventory.errors import Conflict, ValidationFailed
from inventory.imports import get_import
from inventory.models import REFERENCE_PREFIX, ImportReviewItem, Item, LedgerImport, Movement, StockLine, Warehouse
from inventory.reference import ReviewKind
from inventory.stock import adjust_stock, stock_line_for, transfer_stock
from inventory.system_texts import IMPORT_REVIEW
from inventory.warehouses import get_warehouse

# The kinds as the stored codes (ReviewKind labels them for people).
NEW_WAREHOUSE = ReviewKind.NEW_WAREHOUSE.value
NEW_ITEM = ReviewKind.NEW_ITEM.value
FUZZY_MATCH = ReviewKind.FUZZY_MATCH.value
UNIT_VARIANT = ReviewKind.UNIT_VARIANT.value
DETAIL_CONFLICT = ReviewKind.DETAIL_CONFLICT.value
KINDS = tuple(kind.value for kind in ReviewKind)
# What is about the catalogue rather than the import: listed once per item by ``catalogue_reviews``.
CATALOGUE_KINDS = (NEW_ITEM, UNIT_VARIANT)
# What a correction points to: another warehouse, or another item.
CORRECTS_WAREHOUSE = frozenset({NEW_WAREHOUSE})
CORRECTS_ITEM = frozenset({NEW_ITEM, FUZZY_MATCH})
MAX_ROWS_KEPT = 200  # rows listed per entry: enough to find them all in the workbook


@dataclass
class ReviewEntry:
    """One thing to review, as the importer gathers it."""

    kind: str
    subject: str
    detail: str = ""
    rows: list[tuple[str, int]] = field(default_factory=list)


def record_review(session: Session, import_id: int, entries: list[ReviewEntry]) -> None:
    created_at = dt.datetime.now(dt.UTC)
    insert_many(
        session,
        ImportReviewItem.__table__,
        (  # a tuple of the columns below per entry, no dict (a national ledger: 7,600 entries)
            (
                import_id,
                entry.kind,
                entry.subject,
                entry.detail,
                _rows_json(entry.rows[:MAX_ROWS_KEPT]),
                "open",
                "",
                "",
                created_at,
            )
            for entry in entries
        ),
        _REVIEW_COLUMNS,
    )


_REVIEW_COLUMNS = (
    "import_id",
    "kind",
    "subject",
    "detail",
    "rows",
    "status",
    "resolution",
    "resolved_by",
    "created_at",
)
# ``json.dumps(rows, ensure_ascii=False)``, its encoder made once rather than once per entry.
_rows_json = json.JSONEncoder(ensure_ascii=False).encode


def review_list(session: Session, actor: Actor, import_id: int) -> dict[str, list[ImportReviewItem]]:
    """An import's review entries grouped by kind (every kind present, in ``KINDS`` order)."""
    get_import(session, actor, import_id)  # who may see the import may see its review
    grouped: dict[str, list[ImportReviewItem]] = {kind: [] for kind in KINDS}
    query = select(ImportReviewItem).where(ImportReviewItem.import_id == import_id).order_by(ImportReviewItem.id)
    for entry in session.scalars(query):
        grouped.setdefault(entry.kind, []).append(entry)
    return grouped


def confirm_review(session: Session, actor: Actor, import_id: int, entry_id: int) -> ImportReviewItem:
    """The import decided well: the entry is closed, nothing moves."""
    entry = _entry(session, actor, import_id, entry_id)
    username = as_principal(actor).username
    _settle(session, entry, "confirmed", "", username)
    if entry.kind in CATALOGUE_KINDS:
        close_item_reviews(session, entry.kind, entry.subject, "confirmed", "", username)
    return entry


def correct_review(session: Session, actor: Actor, import_id: int, entry_id: int, code: str) -> ImportReviewItem:
    """The import decided wrong: its stock moves to warehouse or item ``code`` by ledger movements."""
    entry = _entry(session, actor, import_id, entry_id)
    record = session.get(LedgerImport, import_id)
    username = as_principal(actor).username
    if entry.kind in CORRECTS_WAREHOUSE:
        target = get_warehouse(session, code)
        _settle(session, entry, "corrected", target.code, username)  # first: a second correction moves nothing
        _move_to_warehouse(session, actor, entry.subject, target, record)
    elif entry.kind in CORRECTS_ITEM:
        target_item = get_item(session, code)
        _settle(session, entry, "corrected", target_item.code, username)
        if entry.kind in CATALOGUE_KINDS:
            close_item_reviews(session, entry.kind, entry.subject, "corrected", target_item.code, username)
        _move_to_item(session, actor, entry.subject, target_item, record)
    else:
        raise ValidationFailed(f"a {entry.kind} entry is confirmed, not corrected", field="code")
    return entry


def close_item_reviews(session: Session, kind: str, item_code: str, status: str, resolution: str, username: str) -> int:
    """Settle every open ``kind`` entry about item ``item_code`` (whichever import listed it); how many.

    A conditional UPDATE (``status = 'open'``): an entry someone else settled meanwhile keeps their decision.
    """
    return session.execute(
        update(ImportReviewItem)
        .where(ImportReviewItem.kind == kind, ImportReviewItem.subject == item_code, ImportReviewItem.status == "open")
        .values(status=status, resolution=resolution, resolved_by=username)
        .execution_options(synchronize_session=False)
    ).rowcount


@dataclass(frozen=True)
class CatalogueReview:
    """One item to confirm, for the catalogue review: which, why, what was guessed, where it came from."""

    item_code: str
    item_name: str
    reason: str
    detail: str
    reference: str
    created_at: dt.datetime
    import_id: int | None
    entry_id: int

    def to_dict(self) -> dict:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


def catalogue_reviews(session: Session, *, import_id: int | None = None) -> list[CatalogueReview]:
    """The open new-item and unit-variant entries, one per item and kind (the earliest), oldest first.

    ``import_id`` narrows to what one import listed. ``reference`` says where, in English as every service
    text is (``IMPORT-<id> sheet <sheet> row <n>``); the API shows it in the reader's language.
    """
    # The earliest entry of each item and kind, chosen by the database: other imports' repeats are never read.
    earliest = (
        select(func.min(ImportReviewItem.id))
        .where(ImportReviewItem.kind.in_(CATALOGUE_KINDS), ImportReviewItem.status == "open")
        .group_by(ImportReviewItem.kind, ImportReviewItem.subject)
    )
    if import_id is not None:
        earliest = earliest.where(ImportReviewItem.import_id == import_id)
    query = (
        select(ImportReviewItem, Item.name)
        .join(Item, Item.code == ImportReviewItem.subject)
        .where(ImportReviewItem.id.in_(earliest))
        .order_by(ImportReviewItem.id)
    )
    return [
        CatalogueReview(
            entry.subject,
            item_name,
            entry.kind,
            entry.detail,
            _where(entry),
            entry.created_at,
            entry.import_id,
            entry.id,
        )
        for entry, item_name in session.execute(query)
    ]


def _where(entry: ImportReviewItem) -> str:
    parts = [f"{REFERENCE_PREFIX}{entry.import_id}"] if entry.import_id is not None else []
    rows = json.loads(entry.rows)
    if rows:
        sheet, row = rows[0]
        parts.append(f"sheet {sheet} row {row}")
    return " ".join(parts)


def _entry(session: Session, actor: Actor, import_id: int, entry_id: int) -> ImportReviewItem:
    get_import(session, actor, import_id)
    entry = session.get(ImportReviewItem, entry_id)
    if entry is None or entry.import_id != import_id:
        raise ValidationFailed(f"import {import_id} has no review entry {entry_id}", field="entry_id")
    return entry


def _settle(session: Session, entry: ImportReviewItem, status: str, resolution: str, username: str) -> None:
    """open → ``status``, once: a conditional UPDATE, so two people settling it at once cannot both succeed."""
    settled = session.execute(
        update(ImportReviewItem)
        .where(ImportReviewItem.id == entry.id, ImportReviewItem.status == "open")
        .values(status=status, resolution=resolution, resolved_by=username)
        .execution_options(synchronize_session=False)
    ).rowcount
    if settled != 1:
        raise Conflict(f"review entry {entry.id} is already settled", field="entry_id")
    session.refresh(entry)


def _lines_of_import(session: Session, record: LedgerImport, *conditions) -> list[StockLine]:
    """Stock lines the import wrote to, narrowed by ``conditions``, in id order (the lock order)."""
    touched = select(Movement.stock_line_id).where(Movement.reference == record.reference)
    query = select(StockLine).where(StockLine.id.in_(touched), *conditions).order_by(StockLine.id)
    return list(session.scalars(query))


def _move_to_warehouse(session: Session, actor: Actor, code: str, target: Warehouse, record: LedgerImport) -> None:
    source = get_warehouse(session, code)
    if source.id == target.id:
        raise ValidationFailed("the correction names the same warehouse", field="code")
    reason = IMPORT_REVIEW.text(source=source.code, target=target.code)
    for line in _lines_of_import(session, record, StockLine.warehouse_id == source.id):
        if line.quantity > 0:
            transfer_stock(
                session,
                line=line,
                to_warehouse=target,
                quantity=line.quantity,
                actor=actor,
                reason=reason,
                reference=record.reference,
            )


def _move_to_item(session: Session, actor: Actor, code: str, target: Item, record: LedgerImport) -> None:
    source = get_item(session, code)
    if source.id == target.id:
        raise ValidationFailed("the correction names the same item", field="code")
    if source.unit != target.unit:
        raise ValidationFailed(
            f"{source.name} is counted in {source.unit} and {target.name} in {target.unit}: set a conversion first",
            field="code",
        )
    reason = IMPORT_REVIEW.text(source=source.code, target=target.code)
    for line in _lines_of_import(session, record, StockLine.item_id == source.id):
        quantity = Decimal(line.quantity)
        if quantity <= 0:
            continue
        into = stock_line_for(
            session,
            warehouse=line.warehouse,
            item=target,
            batch=line.batch,
            production_date=line.production_date,
            expiry_date=line.expiry_date,
        )
        adjust_stock(session, line=line, delta=-quantity, actor=actor, reason=reason, reference=record.reference)
        adjust_stock(session, line=into, delta=quantity, actor=actor, reason=reason, reference=record.reference)
