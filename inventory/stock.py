"""Stock lines and the append-only ledger: where quantities change, one line at a time.

Every quantity and reservation change goes through ``record_movement``, ``reserve_stock`` and
``release_reservation`` here, with one exception: a ledger import applies thousands of stocktakes at
once through ``inventory.imports.write_stock_counts`` (bulk statements, one stocktake entry per
change), because one service call per line took minutes. Both paths take their line rules from
``inventory.stock_rules``, and a parity test holds them to the same verdicts.

Services never commit: the edge (request, CLI command, import) owns the transaction, so a
movement and its quantity change land together or not at all.

Over 400 lines because every operation on a line and the ledger's own checks (``ledger_mismatches``,
``reservation_mismatches``) sit next to ``record_movement``, the one statement they all rely on.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import (
    BigInteger,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from inventory.access import Actor, as_principal, require_stock_change
from inventory.audit import audit_json, audit_row, insert_audit
from inventory.catalogue import get_item, resolve_item
from inventory.driver_statements import DriverStatement
from inventory.errors import Conflict, InsufficientStock, NotFound, ValidationFailed
from inventory.models import (
    QUANTITY_SCALE,
    AuditEntry,
    CallUpLine,
    Item,
    Movement,
    Quantity,
    StockLine,
    UTCDateTime,
    Warehouse,
)
from inventory.reference import CallUpLineStatus, Category, MovementKind, WarehouseStatus
from inventory.regions import region_filter
from inventory.stock_rules import (
    BatchDates,
    agree_batch_dates,
    batch_dates,
    batch_expired,
    checked_batch,
    require_active,
    require_count_covers_reserved,
)
from inventory.system_texts import EXPIRED_ISSUE
from inventory.validation import MAX_QUANTITY, check_quantity, check_text, text_limit
from inventory.warehouses import get_warehouse

REASON_LIMIT = text_limit(Movement.reason)
REFERENCE_LIMIT = text_limit(Movement.reference)


@dataclass(frozen=True)
class Transfer:
    out: Movement
    into: Movement


# A line comes with its warehouse and item (one joined SELECT); the item's aliases only if someone reads them:
# no write or answer about a line needs them, and the eager selectin load cost a round trip each time.
LINE_LOADING = (joinedload(StockLine.item).lazyload(Item.aliases),)
# What the conditional UPDATEs return: the columns they change, to set on a line the session already holds.
_CHANGED = (StockLine.quantity, StockLine.reserved, StockLine.updated_at)

# The write path's statements, built once: building a statement and its cache key cost more CPU per
# movement than the database spent on it (a profile under load). Core statements on the tables: the
# ORM's bulk-update and unit-of-work machinery is not needed for one row whose values are all known.
_lines = StockLine.__table__
_delta, _release = bindparam("delta", type_=Quantity()), bindparam("release", type_=Quantity())
_MOVE = (
    update(_lines)
    .where(
        _lines.c.id == bindparam("line_id"),
        _lines.c.reserved >= _release,
        _lines.c.quantity + _delta >= _lines.c.reserved - _release,
        _lines.c.quantity <= bindparam("ceiling", type_=Quantity()),
    )
    .values(
        quantity=_lines.c.quantity + _delta,
        reserved=_lines.c.reserved - _release,
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
    .returning(_lines.c.quantity, _lines.c.reserved)  # updated_at is the "now" it was given
)
_MOVE_ROW = DriverStatement(_MOVE)
_LEDGER_COLUMNS = (
    "stock_line_id", "kind", "delta", "quantity_after", "actor", "reason", "reference", "transfer_key", "occurred_at"
)  # fmt: skip
_LEDGER_ENTRY = DriverStatement(insert(Movement.__table__).returning(Movement.__table__.c.id), _LEDGER_COLUMNS)
# On PostgreSQL one statement does a stock operation's three writes (data-modifying CTEs): the conditional
# UPDATE above, unchanged; the ledger entry from its RETURNING row; the audit entry from the ledger entry's,
# its JSON joined from the text Python wrote around the entry's id and quantity after (``_audit_after_parts``).
# The UPDATE matching no row writes nothing and returns no row, as the three statements did.
_moved = _MOVE.cte("moved")
_entries, _audits = Movement.__table__, AuditEntry.__table__
_now, _actor = bindparam("now", type_=UTCDateTime()), bindparam("actor", type_=String())
_entry = (
    insert(_entries)
    .from_select(
        _LEDGER_COLUMNS,
        select(
            bindparam("line_id", type_=Integer()),
            bindparam("kind", type_=_entries.c.kind.type),
            _delta,
            _moved.c.quantity,
            _actor,
            bindparam("reason", type_=String()),
            bindparam("reference", type_=String()),
            bindparam("transfer_key", type_=String()),
            _now,
        ),
    )
    .returning(_entries.c.id, _entries.c.quantity_after)
    .cte("entry")
)
_quantity_text = func.round(  # thousandths as str(Decimal) writes them: "7.500"
    cast(type_coerce(_entry.c.quantity_after, BigInteger), Numeric) / literal_column(str(10**QUANTITY_SCALE)),
    literal_column(str(QUANTITY_SCALE)),
)
_audit_text = (
    bindparam("after_head", type_=Text())
    + cast(_entry.c.id, Text)
    + bindparam("after_mid", type_=Text())
    + cast(_quantity_text, Text)
    + bindparam("after_tail", type_=Text())
)
_audit = (
    insert(_audits)
    .from_select(
        ("occurred_at", "actor", "address", "action", "object_type", "object_key", "province_code", "after"),
        select(
            _now,
            _actor,
            *(bindparam(name, type_=String()) for name in ("address", "action", "object_type", "object_key")),
            bindparam("province_code", type_=String()),
            _audit_text,
        ),
    )
    .cte("audit")
)
_MOVE_LOGGED = DriverStatement(
    select(_moved.c.quantity, _moved.c.reserved, _entry.c.id)
    .select_from(_moved)
    .join(_entry, literal_column("true"))
    .add_cte(_audit)
)
_as_quantity = Quantity().process_result_value  # the driver's integer thousandths as the Decimal the ORM gives
_new_movement = Movement.__mapper__.class_manager.new_instance  # an instance with its ORM state, no __init__


_LINE_BY_ID = select(StockLine).where(StockLine.id == bindparam("line_id")).options(*LINE_LOADING)


_LINE_MAPPER = StockLine.__mapper__


def _held_line(session: Session, stock_line_id: int) -> StockLine | None:
    """The line if the session holds it already, else None; a movement's session usually holds nothing, which is
    answered without building the identity key (a mapper look-up per call)."""
    identity_map = session.identity_map
    if not identity_map:
        return None
    return identity_map.get(_LINE_MAPPER.identity_key_from_primary_key((stock_line_id,)))


def get_stock_line(session: Session, stock_line_id: int) -> StockLine:
    if _held_line(session, stock_line_id) is not None:
        line = session.get(StockLine, stock_line_id, options=LINE_LOADING)  # held already: the session's rules
    else:  # a request's first read of the line: one statement built once (like _MOVE)
        line = session.execute(_LINE_BY_ID, {"line_id": stock_line_id}).scalar_one_or_none()
    if line is None:
        raise _no_line(stock_line_id)
    return line


def _no_line(stock_line_id: int) -> NotFound:
    return NotFound(f"no stock line {stock_line_id}", field="stock_line_id")


def list_stock_lines(
    session: Session,
    *,
    warehouse_code: str | None = None,
    item_code: str | None = None,
    category: Category | None = None,
    region: str | None = None,
    batch: str | None = None,
    expiring_before: dt.date | None = None,
    include_empty: bool = False,
) -> Select:
    """A select of stock lines, by default only those holding something."""
    stmt = select(StockLine).join(StockLine.warehouse).join(StockLine.item).order_by(StockLine.id)
    if warehouse_code:  # an unknown one: 404, as an unknown item (not an empty list that looks like no stock)
        stmt = stmt.where(StockLine.warehouse_id == get_warehouse(session, warehouse_code, field="warehouse").id)
    if item_code:  # a code, name or alias, as everywhere a person names an item (an unknown one: 404)
        stmt = stmt.where(StockLine.item_id == resolve_item(session, item_code, "item").id)
    if category is not None:
        stmt = stmt.where(Item.category == category)
    if region:
        stmt = stmt.where(region_filter(session, region))
    if batch is not None:
        stmt = stmt.where(StockLine.batch == batch)
    if expiring_before is not None:
        stmt = stmt.where(StockLine.expiry_date < expiring_before)
    if not include_empty:
        stmt = stmt.where(StockLine.quantity > 0)
    return stmt


def record_movement(
    session: Session,
    *,
    stock_line_id: int,
    delta: Decimal,
    kind: MovementKind,
    actor: Actor,
    reason: str = "",
    reference: str | None = None,
    transfer_key: str | None = None,
    release_reserved: Decimal = Decimal(0),
    field: str = "quantity",
    line: StockLine | LineFacts | None = None,
) -> Movement:
    """Apply ``delta`` atomically and append the ledger entry.

    The quantity never goes below what is reserved for call-ups (and so never below zero).
    ``release_reserved`` consumes a reservation in the same statement (a call-up dispatch).

    The conditional UPDATE is atomic on SQLite and PostgreSQL: no read-modify-write race and no
    lock held across Python code. ``line``: the line (or its facts) the caller read, for the entry's answer.
    """
    session.flush()  # what the caller added lands first, as the ORM's autoflush did before these Core statements
    values = _ledger_values(stock_line_id, delta, kind, actor, reason, reference, transfer_key)
    move = {"line_id": stock_line_id, "release": release_reserved, "delta": delta, "ceiling": MAX_QUANTITY - delta}
    changed = _MOVE_ROW.rows(session, {**move, "now": values["occurred_at"]})
    if not changed:
        raise _refusal(session, stock_line_id, delta, field)
    values["quantity_after"] = _as_quantity(changed[0][0], None)
    return _written_entry(session, _LEDGER_ENTRY.rows(session, values)[0][0], values, changed[0][1], line)


def _ledger_values(
    stock_line_id: int,
    delta: Decimal,
    kind: MovementKind,
    actor: Actor,
    reason: str,
    reference: str | None,
    transfer_key: str | None,
) -> dict:
    """A ledger entry's columns but ``quantity_after`` (the UPDATE's answer), its texts checked."""
    return {
        "stock_line_id": stock_line_id,
        "kind": kind,
        "delta": delta,
        "actor": as_principal(actor).username,
        "reason": check_text(reason, "reason", max_length=REASON_LIMIT),
        "reference": check_text(reference, "reference", max_length=REFERENCE_LIMIT) or None,
        "transfer_key": transfer_key,
        "occurred_at": dt.datetime.now(dt.UTC),  # also the line's updated_at
    }


def _refusal(session: Session, stock_line_id: int, delta: Decimal, field: str) -> Exception:
    """Why the conditional UPDATE changed nothing, read from the line as it is now (the request rolls back)."""
    line = get_stock_line(session, stock_line_id)
    session.refresh(line)
    if line.quantity + delta > MAX_QUANTITY:
        return ValidationFailed(f"a stock line holds at most {MAX_QUANTITY}", field=field)
    return InsufficientStock(stock_line_id, abs(delta), line.available, field=field)


def _written_entry(
    session: Session, entry_id: int, values: dict, reserved_after: int, line: StockLine | LineFacts | None = None
) -> Movement:
    """The ledger entry as written, and the line the session holds brought up to date (quantity, reserved,
    updated_at) without reading it again. The entry's ``stock_line`` is that line, else ``line`` (the caller's
    read: an object or plain facts), else the line read now.

    The entry has every column loaded and is in no session: the ORM did not insert it, so a rollback would
    not take it out of the session again, and SQLite would give its id to the next entry (a retried request
    then could not add that one). Nobody changes a ledger entry, so nothing needs it attached."""
    stock_line_id, now = values["stock_line_id"], values["occurred_at"]
    changed = (values["quantity_after"], _as_quantity(reserved_after, None), now)
    held = _refresh_cached(session, stock_line_id, changed)
    # The entry as the ORM would load it: its columns set as loaded state, not through the constructor's
    # instrumented attribute events (which cost a receipt more than its ledger INSERT), then detached.
    movement = _new_movement()
    movement.__dict__.update(values, id=entry_id)
    make_transient_to_detached(movement)
    # The answer reads its line: the one the session holds (no lazy load, which a detached entry cannot do).
    if held is None:
        held = line if line is not None else get_stock_line(session, stock_line_id)
    set_committed_value(movement, "stock_line", held)
    return movement


def _audit_movements(session: Session, actor: Actor, warehouse: Warehouse, *movements: Movement) -> None:
    """One audit entry per stock operation (the ledger holds the detail; this adds who and from where)."""
    first = movements[0]
    insert_audit(
        session,
        actor,
        f"stock.{first.kind.value}",
        object_type="stock_line",
        object_key=first.stock_line_id,
        province_code=warehouse.province_code,
        after=movements_audited(movements, first.reference),
    )


def movements_audited(movements, reference: str | None) -> dict:
    """What a stock operation's audit entry records as its state after: its ledger entries and reference."""
    return {
        "movements": [
            {
                "id": m.id,
                "stock_line_id": m.stock_line_id,
                "delta": str(m.delta),
                "quantity_after": str(m.quantity_after),
            }
            for m in movements
        ],
        "reference": reference,
    }


_ID_SLOT, _QUANTITY_SLOT = 0x1D1D1D1D, "\x00quantity\x00"  # placeholders, split out of the JSON text


def _audit_after_parts(stock_line_id: int, delta: Decimal, reference: str | None) -> tuple[str, str, str]:
    """The audit entry's ``after`` text of one movement, as ``audit_row`` writes it, cut around the two values
    only the database knows (the entry's id, the quantity after): ``_MOVE_LOGGED`` joins the pieces."""
    entry = SimpleNamespace(id=_ID_SLOT, stock_line_id=stock_line_id, delta=delta, quantity_after=_QUANTITY_SLOT)
    text = audit_json(movements_audited([entry], reference))
    head, rest = text.split(str(_ID_SLOT), 1)
    mid, tail = rest.split(json.dumps(_QUANTITY_SLOT)[1:-1], 1)
    return head, mid, tail


def _change_line(
    session: Session,
    line: StockLine | LineFacts,
    delta: Decimal,
    kind: MovementKind,
    actor: Actor,
    reason: str,
    reference: str | None,
    field: str = "quantity",
) -> Movement:
    """One checked stock operation on one line: the ledger entry and its audit entry.

    On PostgreSQL the three writes are one statement (``_MOVE_LOGGED``): one round trip instead of three.
    """
    if session.connection().dialect.name == "postgresql":
        session.flush()  # as record_movement does
        values = _ledger_values(line.id, delta, kind, actor, reason, reference, None)
        principal = as_principal(actor)
        audit = audit_row(principal, f"stock.{kind.value}", "stock_line", line.id, line.warehouse.province_code)
        after_head, after_mid, after_tail = _audit_after_parts(line.id, delta, values["reference"])
        changed = _MOVE_LOGGED.rows(
            session,
            {
                **audit,
                **values,
                "line_id": line.id,
                "release": Decimal(0),
                "ceiling": MAX_QUANTITY - delta,
                "now": values["occurred_at"],
                "after_head": after_head,
                "after_mid": after_mid,
                "after_tail": after_tail,
            },
        )
        if not changed:
            raise _refusal(session, line.id, delta, field)
        quantity, reserved, entry_id = changed[0]
        values["quantity_after"] = _as_quantity(quantity, None)
        return _written_entry(session, entry_id, values, reserved, line)
    movement = record_movement(
        session,
        stock_line_id=line.id,
        delta=delta,
        kind=kind,
        actor=actor,
        reason=reason,
        reference=reference,
        field=field,
        line=line,
    )
    _audit_movements(session, actor, line.warehouse, movement)
    return movement


def reserve_stock(session: Session, *, stock_line_id: int, quantity: Decimal) -> bool:
    """Hold ``quantity`` of a line for a call-up if that much is available; atomic, like issues.

    Two concurrent call-ups can never hold the same unit: the conditional UPDATE lets only one
    of them see enough available stock.
    """
    held = session.execute(
        update(StockLine)
        .where(StockLine.id == stock_line_id, StockLine.quantity - StockLine.reserved >= quantity)
        .values(reserved=StockLine.reserved + quantity)
        .returning(*_CHANGED)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if held is not None:
        _refresh_cached(session, stock_line_id, held)
    return held is not None


def release_reservation(session: Session, *, stock_line_id: int, quantity: Decimal) -> None:
    """Give back a reservation (declined or cancelled call-up line)."""
    released = session.execute(
        update(StockLine)
        .where(StockLine.id == stock_line_id, StockLine.reserved >= quantity)
        .values(reserved=StockLine.reserved - quantity)
        .returning(*_CHANGED)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if released is None:
        raise Conflict(f"stock line {stock_line_id} does not hold {quantity} in reserve", field="quantity")
    _refresh_cached(session, stock_line_id, released)


def _refresh_cached(session: Session, stock_line_id: int, changed) -> StockLine | None:
    """Core UPDATEs bypass the identity map: set what they changed (quantity, reserved, updated_at: their
    RETURNING row) on a line the session holds, so callers see the new values without reading the row again.
    Returns that line."""
    line = _held_line(session, stock_line_id)
    if line is not None:
        for column, value in zip(_CHANGED, changed, strict=True):
            set_committed_value(line, column.key, value)
    return line


def _insert_ignoring_duplicate(session: Session, values: dict) -> None:
    """INSERT … ON CONFLICT DO NOTHING, so two concurrent receipts of a new batch both succeed."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    session.execute(insert(StockLine).values(**values).on_conflict_do_nothing())


# A receipt's or an issue's reads as plain values (one driver-level SELECT each): the ORM's loading of three
# whole rows cost more CPU than the movement's write. They carry what the services read of a warehouse, an item
# and a line (the permission, an active warehouse, the batch's dates and shelf life, the answer's codes), under
# the same attribute names, so ``receive_stock``, ``issue_stock`` and the others take them as they take the rows.
@dataclass(frozen=True)
class WarehouseFacts:
    id: int
    code: str
    province_code: str
    status: WarehouseStatus


@dataclass(frozen=True)
class ItemFacts:
    id: int
    code: str
    shelf_life_days: int | None


@dataclass(frozen=True)
class LineFacts:
    id: int
    batch: str
    production_date: dt.date | None
    expiry_date: dt.date | None
    warehouse: WarehouseFacts
    item: ItemFacts


_WAREHOUSE_FACTS = (Warehouse.id, Warehouse.code, Warehouse.province_code, Warehouse.status)
_ITEM_FACTS = (Item.id, Item.code, Item.shelf_life_days)
_LINE_FACTS = (StockLine.id, StockLine.batch, StockLine.production_date, StockLine.expiry_date)
_W, _I, _L = len(_WAREHOUSE_FACTS), len(_ITEM_FACTS), len(_LINE_FACTS)  # where each record's columns end in a row


def _line_facts(row: tuple, warehouse: WarehouseFacts, item: ItemFacts) -> LineFacts:
    return LineFacts(*row, warehouse=warehouse, item=item)


_LINE_READ = DriverStatement(
    select(*_LINE_FACTS, *_WAREHOUSE_FACTS, *_ITEM_FACTS)
    .join(Warehouse, Warehouse.id == StockLine.warehouse_id)
    .join(Item, Item.id == StockLine.item_id)
    .where(StockLine.id == bindparam("line_id"))
)


def stock_line_facts(session: Session, stock_line_id: int) -> StockLine | LineFacts:
    """The line with its warehouse and item, for one stock operation on it: refused as ``get_stock_line``
    refuses a missing one. Plain facts (one driver read), or the session's object when it holds the line
    already (its state may be newer than the row's, as ``get_stock_line`` answers it)."""
    if _held_line(session, stock_line_id) is not None:
        return get_stock_line(session, stock_line_id)
    rows = _LINE_READ.values(session, {"line_id": stock_line_id})
    if not rows:
        raise _no_line(stock_line_id)
    row = rows[0]
    return _line_facts(row[:_L], WarehouseFacts(*row[_L : _L + _W]), ItemFacts(*row[_L + _W :]))


@dataclass(frozen=True)
class ReceiptTarget:
    warehouse: Warehouse | WarehouseFacts
    item: Item | ItemFacts
    line: StockLine | LineFacts | None  # the batch's line when it exists (None: look again when writing)


_RECEIPT_TARGET = DriverStatement(  # built once, like _MOVE
    select(*_WAREHOUSE_FACTS, *_ITEM_FACTS, *_LINE_FACTS)
    .select_from(Warehouse)
    .join(Item, Item.code == bindparam("item_code"))
    .outerjoin(
        StockLine,
        (StockLine.warehouse_id == Warehouse.id)
        & (StockLine.item_id == Item.id)
        & (StockLine.batch == bindparam("batch", type_=String())),
    )
    .where(Warehouse.code == bindparam("warehouse_code"))
)


def receipt_target(session: Session, *, warehouse_code: str, item_code: str, batch: str = "") -> ReceiptTarget:
    """A receipt's three reads in one SELECT: the warehouse, the item and the batch's existing line, as facts.

    Unknown codes are refused exactly as ``get_warehouse`` and ``get_item`` refuse them (warehouse
    first). A batch the text rules refuse finds no line here; ``stock_line_for`` refuses it later,
    after the permission check, as before.
    """
    try:
        batch_key: str | None = checked_batch(batch)
    except ValidationFailed:
        batch_key = None
    rows = _RECEIPT_TARGET.values(
        session, {"warehouse_code": warehouse_code, "item_code": item_code, "batch": batch_key}
    )
    if not rows:  # which one is missing, named as the single lookups name it
        return ReceiptTarget(get_warehouse(session, warehouse_code), get_item(session, item_code, aliases=False), None)
    row = rows[0]
    warehouse, item = WarehouseFacts(*row[:_W]), ItemFacts(*row[_W : _W + _I])
    line = _line_facts(row[_W + _I :], warehouse, item) if row[_W + _I] is not None else None
    return ReceiptTarget(warehouse, item, line)


_LINE_OF_BATCH = (  # built once, like _MOVE (building it cost a receipt more than its own read)
    select(StockLine)
    .where(
        StockLine.warehouse_id == bindparam("warehouse_id"),
        StockLine.item_id == bindparam("item_id"),
        StockLine.batch == bindparam("batch"),
    )
    .options(*LINE_LOADING)
)


def stock_line_for(
    session: Session,
    *,
    warehouse: Warehouse | WarehouseFacts,
    item: Item | ItemFacts,
    batch: str = "",
    production_date: dt.date | None = None,
    expiry_date: dt.date | None = None,
    found: StockLine | LineFacts | None = None,
) -> StockLine | LineFacts:
    """The line for (warehouse, item, batch), created empty if missing.

    A batch has one production and one expiry date: dates given for an existing batch must agree
    with it (missing ones are filled in). With a shelf life, expiry follows from production.
    ``found``: the line (or its facts), when the caller already read it (``receipt_target``).
    """
    batch = checked_batch(batch)
    production_date, expiry_date = batch_dates(production_date, expiry_date, item.shelf_life_days)
    key = {"warehouse_id": warehouse.id, "item_id": item.id, "batch": batch}
    line = found if found is not None else session.scalar(_LINE_OF_BATCH, key)
    if line is None:
        now = dt.datetime.now(dt.UTC)
        _insert_ignoring_duplicate(
            session,
            {
                "warehouse_id": warehouse.id,
                "item_id": item.id,
                "batch": batch,
                "quantity": Decimal(0),
                "production_date": production_date,
                "expiry_date": expiry_date,
                "created_at": now,
                "updated_at": now,
            },
        )
        line = session.scalars(_LINE_OF_BATCH, key).one()  # ours, or a concurrent receipt's: it exists now

    def conflict(field: str, current: dt.date, given: dt.date) -> str:
        return f"batch {batch!r} of {item.code} in {warehouse.code} has {field} {current}, not {given}"

    dates, filled = agree_batch_dates(
        BatchDates(line.production_date, line.expiry_date), BatchDates(production_date, expiry_date), conflict
    )
    if filled:
        if not isinstance(line, StockLine):  # plain facts: the row itself, to write the dates on
            line = get_stock_line(session, line.id)
        line.production_date, line.expiry_date = dates
    session.flush()
    return line


def receive_stock(
    session: Session,
    *,
    warehouse: Warehouse | WarehouseFacts,
    item: Item | ItemFacts,
    quantity: object,
    actor: Actor,
    batch: str = "",
    production_date: dt.date | None = None,
    expiry_date: dt.date | None = None,
    reason: str = "",
    reference: str | None = None,
    line: StockLine | LineFacts | None = None,
) -> Movement:
    """Receive into the (warehouse, item, batch) line; ``line``: that line if the caller already read it."""
    require_stock_change(actor, warehouse)
    quantity = check_quantity(quantity)
    line = stock_line_for(
        session,
        warehouse=require_active(warehouse, "warehouse_code"),
        item=item,
        batch=batch,
        production_date=production_date,
        expiry_date=expiry_date,
        found=line,
    )
    return _change_line(session, line, quantity, MovementKind.RECEIPT, actor, reason, reference)


def issue_stock(
    session: Session,
    *,
    line: StockLine | LineFacts,
    quantity: object,
    actor: Actor,
    reason: str = "",
    reference: str | None = None,
    allow_expired: bool = False,
) -> Movement:
    """Issue from a line. A batch past its expiry date (business today) is refused unless the caller
    says ``allow_expired`` and gives a reason; the ledger entry's reason then records it."""
    require_stock_change(actor, line.warehouse)
    quantity = check_quantity(quantity)
    reason = expired_issue_reason(line, allow_expired, reason)
    return _change_line(session, line, -quantity, MovementKind.ISSUE, actor, reason, reference)


def expired_issue_reason(
    line: StockLine | LineFacts, allow_expired: bool, reason: str, *, field: str = "reason", room: int = REASON_LIMIT
) -> str:
    """The reason to record for an issue from ``line``: an expired batch is refused unless allowed with a reason.

    ``field`` names the caller's input for the reason; ``room`` is how much of the ledger's reason it may fill.
    """
    if not batch_expired(line.expiry_date):
        return reason
    if not allow_expired:
        raise Conflict(
            f"batch {line.batch!r} of stock line {line.id} expired on {line.expiry_date}; "
            "to issue it anyway send allow_expired=true with a reason",
            field="allow_expired",
        )
    marker = EXPIRED_ISSUE.text(date=line.expiry_date.isoformat(), reason="")
    given = check_text(reason, field, max_length=room - len(marker), required=True)
    return marker + given


def transfer_stock(
    session: Session,
    *,
    line: StockLine,
    to_warehouse: Warehouse,
    quantity: object,
    actor: Actor,
    reason: str = "",
    reference: str | None = None,
) -> Transfer:
    """Move stock to the same item and batch in another warehouse: two entries sharing one key."""
    require_stock_change(actor, line.warehouse)
    quantity = check_quantity(quantity)
    if to_warehouse.id == line.warehouse_id:
        raise ValidationFailed("a transfer needs another warehouse", field="to_warehouse_code")
    target = stock_line_for(
        session,
        warehouse=require_active(to_warehouse, "to_warehouse_code"),
        item=line.item,
        batch=line.batch,
        production_date=line.production_date,
        expiry_date=line.expiry_date,
    )
    # Lock both rows in id order first: two transfers in opposite directions would otherwise each
    # hold one row and wait for the other (a deadlock on PostgreSQL; SQLite ignores FOR UPDATE).
    session.execute(
        select(StockLine.id).where(StockLine.id.in_((line.id, target.id))).order_by(StockLine.id).with_for_update()
    )
    key = str(uuid.uuid4())
    common = {"actor": actor, "reason": reason, "reference": reference, "transfer_key": key}
    out = record_movement(session, stock_line_id=line.id, delta=-quantity, kind=MovementKind.TRANSFER_OUT, **common)
    into = record_movement(session, stock_line_id=target.id, delta=quantity, kind=MovementKind.TRANSFER_IN, **common)
    _audit_movements(session, actor, line.warehouse, out, into)
    return Transfer(out=out, into=into)


def adjust_stock(
    session: Session,
    *,
    line: StockLine | LineFacts,
    delta: object,
    actor: Actor,
    reason: str,
    reference: str | None = None,
) -> Movement:
    """A correction (damage, loss, a mistaken entry reversed); it must say why."""
    require_stock_change(actor, line.warehouse)
    delta = check_quantity(delta, "delta", signed=True)
    reason = check_text(reason, "reason", max_length=REASON_LIMIT, required=True)
    return _change_line(session, line, delta, MovementKind.ADJUSTMENT, actor, reason, reference, "delta")


def take_stock(
    session: Session,
    *,
    line: StockLine | LineFacts,
    counted_quantity: object,
    actor: Actor,
    reason: str = "",
    reference: str | None = None,
) -> Movement:
    """Set the counted quantity; the entry records the difference (zero when the count agrees).

    The line is locked first (FOR UPDATE on PostgreSQL; SQLite write transactions are already
    exclusive), so no issue slips in between reading the quantity and writing the difference.
    """
    require_stock_change(actor, line.warehouse)
    counted = check_quantity(counted_quantity, "counted_quantity", allow_zero=True)
    current, reserved = session.execute(
        select(StockLine.quantity, StockLine.reserved).where(StockLine.id == line.id).with_for_update()
    ).one()
    require_count_covers_reserved(counted, reserved, "counted_quantity")  # read under the lock: nothing slips in
    delta = counted - current
    return _change_line(session, line, delta, MovementKind.STOCKTAKE, actor, reason, reference, "counted_quantity")


def list_movements(
    session: Session,
    *,
    stock_line_id: int | None = None,
    warehouse_code: str | None = None,
    item_code: str | None = None,
    kind: MovementKind | None = None,
    reference: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select:
    """A select of ledger entries, oldest first."""
    stmt = select(Movement).join(Movement.stock_line).order_by(Movement.id)
    if stock_line_id is not None:
        stmt = stmt.where(Movement.stock_line_id == stock_line_id)
    if warehouse_code:
        stmt = stmt.where(StockLine.warehouse_id == get_warehouse(session, warehouse_code, field="warehouse").id)
    if item_code:
        stmt = stmt.where(StockLine.item_id == resolve_item(session, item_code, "item").id)
    if kind is not None:
        stmt = stmt.where(Movement.kind == kind)
    if reference:
        stmt = stmt.where(Movement.reference == reference)
    if since is not None:
        stmt = stmt.where(Movement.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(Movement.occurred_at <= until)
    return stmt


def quantity_as_of(session: Session, stock_line_id: int, moment: dt.datetime) -> Decimal:
    """The quantity on hand at ``moment``: the sum of the entries up to it."""
    total = session.scalar(
        select(func.coalesce(func.sum(Movement.delta), 0)).where(
            Movement.stock_line_id == stock_line_id, Movement.occurred_at <= moment
        )
    )
    return Decimal(total)


def ledger_mismatches(session: Session) -> list[tuple[int, Decimal, Decimal]]:
    """Stock lines whose cached quantity differs from the sum of their ledger: (id, quantity, sum)."""
    sums = (
        select(Movement.stock_line_id, func.sum(Movement.delta).label("total"))
        .group_by(Movement.stock_line_id)
        .subquery()
    )
    rows = session.execute(
        select(StockLine.id, StockLine.quantity, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.stock_line_id == StockLine.id)
        .where(StockLine.quantity != func.coalesce(sums.c.total, 0))
    )
    return [(row[0], row[1], Decimal(row[2])) for row in rows]


def reservation_mismatches(session: Session) -> list[tuple[int, Decimal, Decimal]]:
    """Stock lines whose ``reserved`` differs from their call-up lines still reserved: (id, reserved, sum)."""
    held = (
        select(CallUpLine.stock_line_id, func.sum(CallUpLine.quantity).label("total"))
        .where(CallUpLine.status == CallUpLineStatus.RESERVED)
        .group_by(CallUpLine.stock_line_id)
        .subquery()
    )
    rows = session.execute(
        select(StockLine.id, StockLine.reserved, func.coalesce(held.c.total, 0))
        .outerjoin(held, held.c.stock_line_id == StockLine.id)
        .where(StockLine.reserved != func.coalesce(held.c.total, 0))
        .order_by(StockLine.id)
    )
    return [(row[0], row[1], Decimal(row[2])) for row in rows]
