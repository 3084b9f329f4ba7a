"""Ledger imports: the record of each imported workbook, and stock counts applied in bulk.

A ledger states how much of each batch a warehouse holds, so importing it is a stocktake of every line:
the same rules as ``inventory.stock.take_stock``, taken from ``inventory.stock_rules`` (the count never
goes below what is reserved, a batch keeps one production and one expiry date, a new batch needs an
active warehouse, every change is a stocktake entry in the append-only ledger), applied to thousands of
lines with a handful of statements instead of several per line. A count equal to the quantity on hand
writes nothing, so importing the same ledger twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from sqlalchemy import (
    Insert,
    Select,
    bindparam,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal, require_stock_change
from inventory.audit import record_audit
from inventory.db import chunks, driver_rows, executemany, insert_many, next_ids
from inventory.errors import Conflict, DomainError, NotFound
from inventory.models import Item, LedgerImport, Movement, StockLine, Warehouse
from inventory.reference import MovementKind, Role
from inventory.stock import REASON_LIMIT
from inventory.stock_rules import (
    BatchDates,
    agree_batch_dates,
    batch_dates,
    checked_batch,
    require_active,
    require_count_covers_reserved,
)
from inventory.validation import check_quantity

_ZERO = Decimal(0)
# The columns written by ``insert_many``, in the order of the tuples below.
_NEW_LINE_COLUMNS = (
    "id",
    "warehouse_id",
    "item_id",
    "batch",
    "quantity",
    "reserved",
    "production_date",
    "expiry_date",
    "created_at",
    "updated_at",
)
_ENTRY_COLUMNS = (
    "stock_line_id",
    "kind",
    "delta",
    "quantity_after",
    "actor",
    "reason",
    "reference",
    "transfer_key",
    "occurred_at",
)


class StockCount(NamedTuple):
    """A counted quantity for one batch of one item in one warehouse; ``key`` is the caller's handle.

    A named tuple, not a frozen dataclass: as immutable, and built several times faster (an import makes
    one per stock line)."""

    key: object
    warehouse_id: int
    item_id: int
    batch: str
    counted: Decimal
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None
    no_expiry: bool = False  # said to never expire: the item's shelf life gives it no expiry date


@dataclass(slots=True)
class _PlannedLine:
    count: StockCount
    line_id: int | None  # None: a new batch line
    current: Decimal
    production_date: dt.date | None
    expiry_date: dt.date | None
    fill_dates: bool = False  # an existing line gains dates it did not have
    is_new: bool = False


@dataclass
class StockCountPlan:
    """What applying the counts would do, and the counts refused (with the rule they break)."""

    lines: list[_PlannedLine] = field(default_factory=list)
    unchanged: int = 0
    errors: list[tuple[object, DomainError]] = field(default_factory=list)
    province_by_warehouse: dict[int, str] = field(default_factory=dict)

    @property
    def new_lines(self) -> int:
        return sum(1 for line in self.lines if line.is_new)

    @property
    def changed_lines(self) -> int:
        return sum(1 for line in self.lines if not line.is_new)


def plan_stock_counts(
    session: Session,
    actor: Actor,
    counts: list[StockCount],
    warehouses: Mapping[int, Warehouse],
    *,
    registered: frozenset[int] = frozenset(),
) -> StockCountPlan:
    """Check every count against the rules and the current lines (locked on PostgreSQL); write nothing.

    ``registered`` are warehouses the same import has just registered together with their stock: an
    inactive one may still hold the stock it is registered with (a new batch elsewhere needs an active
    warehouse, as for a receipt).
    """
    plan = StockCountPlan()
    shelf_life = dict(session.execute(select(Item.id, Item.shelf_life_days)).all())
    refusals = _stock_change_refusals(actor, warehouses)
    plan.province_by_warehouse.update((key, warehouse.province_code) for key, warehouse in warehouses.items())
    existing = _locked_lines(session, sorted({count.warehouse_id for count in counts}))
    refused = {warehouse_id: error for warehouse_id, error in refusals.items() if error is not None}
    seen: set[tuple[int, int, str]] = set()
    # Looked up once, not per count (126,000 counts): each is a local name in the loop.
    add_seen, line_of, life_of = seen.add, existing.get, shelf_life.get
    verdicts = _CountVerdicts(warehouses, registered)
    plan_new, plan_existing = verdicts.new_batch, verdicts.existing
    lines, errors = plan.lines, plan.errors
    for count in counts:
        key = count[1:4]  # (warehouse_id, item_id, batch), a plain tuple
        try:
            if refused and key[0] in refused:
                raise refused[key[0]].with_traceback(None)  # one error for all its counts: no traceback piling up
            if key in seen:
                raise Conflict("the same batch of this item in this warehouse is counted twice", field="batch")
            add_seen(key)
            life = None if count.no_expiry else life_of(key[1])
            line = line_of(key)
            planned = plan_new(count, life) if line is None else plan_existing(count, line, life)
        except DomainError as error:
            errors.append((count.key, error))
            continue
        if planned is None:
            plan.unchanged += 1
        else:
            lines.append(planned)
    return plan


def _stock_change_refusals(actor: Actor, warehouses: Mapping[int, Warehouse]) -> dict[int, DomainError | None]:
    """For each warehouse, why ``actor`` may not change its stock (None: it may)."""
    refusals: dict[int, DomainError | None] = {}
    for warehouse_id, warehouse in warehouses.items():
        try:
            require_stock_change(actor, warehouse)
            refusals[warehouse_id] = None
        except DomainError as error:
            refusals[warehouse_id] = error
    return refusals


def _locked_lines(session: Session, warehouse_ids: list[int]) -> dict[tuple[int, int, str], tuple]:
    """The current lines of these warehouses by (warehouse, item, batch), locked for the write (PostgreSQL).

    Read as the driver's rows (``db.driver_rows``) and converted column by column, each distinct quantity and date
    once, by the columns' own result processors: a re-import's 126,000 lines in 0.1 s, where SQLAlchemy's result
    rows took 0.45 s. The values are the ones ``select(StockLine…)`` gives (``test_bulk_write_rows`` compares them).
    """
    existing: dict[tuple[int, int, str], tuple] = {}
    if not warehouse_ids:
        return existing
    session.flush()  # what the session holds pending is written first, as a query's autoflush would
    connection = session.connection()
    dialect = connection.dialect
    columns = StockLine.__table__.c
    quantity = columns.quantity.type.dialect_impl(dialect).result_processor(dialect, None)
    date = columns.expiry_date.type.dialect_impl(dialect).result_processor(dialect, None)
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    for chunk in chunks(warehouse_ids):
        statement = (
            "SELECT warehouse_id, item_id, batch, id, quantity, reserved, production_date, expiry_date FROM stock_line"
            f" WHERE warehouse_id IN ({', '.join([placeholder] * len(chunk))})"
            " ORDER BY id"  # rows locked in id order, as everywhere (no deadlock with other writers)
            + (" FOR UPDATE" if dialect.name == "postgresql" else "")
        )
        rows = driver_rows(connection, statement, chunk)
        if not rows:
            continue
        warehouses, items, batches, ids, quantities, reserved, produced, expires = zip(*rows, strict=True)
        existing.update(
            zip(
                zip(warehouses, items, batches, strict=True),
                zip(
                    ids,
                    _results(quantities, quantity),
                    _results(reserved, quantity),
                    _results(produced, date),
                    _results(expires, date),
                    strict=True,
                ),
                strict=True,
            )
        )
    return existing


def _results(values: tuple, process: Callable | None) -> Sequence:
    """A column as the driver gave it, through its type's result processor once per distinct value (the driver
    gives one type per column, None aside: the value alone keys it)."""
    if process is None:
        return values
    table = {value: process(value) for value in set(values)}
    return list(map(table.__getitem__, values))


class _CountVerdicts:
    """The checks of a count, each kept per distinct input.

    For a batch not yet in the warehouse (``new_batch``) the checks are: the count (``check_quantity``), the
    batch's text (``checked_batch``), then the dates given with the item's shelf life (``batch_dates``,
    ``agree_batch_dates``), then whether the warehouse may take a new batch (``require_active``); for a batch it
    holds (``existing``): the count, the dates given, then their agreement with the line's (``agree_batch_dates``).
    Each depends on its own inputs alone, and a national ledger repeats them (126,000 lines: 28,000 distinct
    counts, 4,500 pairs of dates), so each runs once per distinct input, in the same order; a refusal is the
    error that input raised.
    """

    def __init__(self, warehouses: Mapping[int, Warehouse], registered: frozenset[int]) -> None:
        self.warehouses = warehouses
        self.registered = registered
        # What each check answered for an input that passed it; the refusals of all of them, by (check, input).
        # Counts by text, not equality: Decimal("0E+13") == 0, but check_quantity refuses the one (its exponent).
        self.counts: dict[tuple[type, str], Decimal] = {}
        self.batches: dict[str, object] = {}
        self.given: dict[tuple, BatchDates] = {}
        self.agreed: dict[tuple, tuple[BatchDates, bool]] = {}
        self.active: dict[int, object] = {}
        self.refused: dict[tuple[Callable, object], DomainError] = {}

    def new_batch(self, count: StockCount, life: int | None) -> _PlannedLine:
        """A count of a batch the warehouse does not hold: its new line."""
        # Inputs already passed are looked up inline (no call: 126,000 counts); the first time, and every refused
        # input, go through ``_once``, which asks or raises the refusal again.
        counted = count.counted
        key = (counted.__class__, str(counted))  # by text: ``counts``
        if key not in self.counts:
            _once(self.counts, self.refused, key, check_quantity, counted, "quantity", allow_zero=True)
        batch = count.batch
        if batch not in self.batches:  # the text a new line keeps, as stock_line_for checks it
            _once(self.batches, self.refused, batch, checked_batch, batch)
        dates, _ = self.dates(count, life, None, None)  # a new batch has no dates of its own to agree with
        warehouse_id = count.warehouse_id
        # registered with this very stock: may be registered inactive
        if warehouse_id not in self.registered and warehouse_id not in self.active:
            warehouse = self.warehouses[warehouse_id]
            _once(self.active, self.refused, warehouse_id, require_active, warehouse, "warehouse_code")
        return _PlannedLine(count, None, _ZERO, dates[0], dates[1], False, True)

    def existing(self, count: StockCount, line: tuple, life: int | None) -> _PlannedLine | None:
        """A count against its existing line: the planned change, None when nothing changes."""
        key = (count.counted.__class__, str(count.counted))  # by text: ``counts``
        counted = self.counts.get(key)  # check_quantity's answer (a Decimal, never None)
        if counted is None:
            counted = _once(self.counts, self.refused, key, check_quantity, count.counted, "quantity", allow_zero=True)
        line_id, quantity, reserved, line_production, line_expiry = line
        dates, fill = self.dates(count, life, line_production, line_expiry)
        require_count_covers_reserved(counted, reserved, "quantity")
        if counted == quantity and not fill:
            return None
        return _PlannedLine(count, line_id, quantity, dates.production_date, dates.expiry_date, fill)

    def dates(
        self, count: StockCount, life: int | None, production_date: dt.date | None, expiry_date: dt.date | None
    ) -> tuple[BatchDates, bool]:
        """The dates a count gives (``batch_dates``) agreed with its line's (``agree_batch_dates``), and whether
        any was filled in; each step once per distinct input."""
        key = (count.production_date, count.expiry_date, life)
        given = self.given.get(key)
        if given is None:
            given = _once(self.given, self.refused, key, batch_dates, *key)
        key = (production_date, expiry_date, given)
        agreed = self.agreed.get(key)
        if agreed is None:
            agreed = _once(self.agreed, self.refused, key, _agreed_dates, *key)
        return agreed


def _once(passed: dict, refused: dict, key: object, check: Callable, *args: object, **kwargs: object) -> object:
    """What ``check`` returns for ``key``, asked once: kept in ``passed``, or its ``DomainError`` kept in ``refused``
    (by ``(check, key)``) and raised again for each later count of the same input (without its traceback, which
    would pile up)."""
    error = refused.get((check, key))
    if error is None:
        try:
            answer = passed[key] = check(*args, **kwargs)
            return answer
        except DomainError as raised:
            error = refused[check, key] = raised
    raise error.with_traceback(None)


def _agreed_dates(
    production_date: dt.date | None, expiry_date: dt.date | None, given: BatchDates
) -> tuple[BatchDates, bool]:
    """An existing line's dates with those a count gives (``agree_batch_dates``), and whether any was filled in."""
    return agree_batch_dates(BatchDates(production_date, expiry_date), given)


def write_stock_counts(
    session: Session, plan: StockCountPlan, *, actor: Actor, reference: str, reason: str
) -> dict[str, int]:
    """Apply a plan: new lines, changed quantities and filled-in dates, one stocktake entry per change.

    Each kind of write is one executemany; the conditional-UPDATE race of ``record_movement`` cannot
    happen here because the lines were locked when planned (SQLite: the whole write transaction is
    exclusive; PostgreSQL: ``SELECT … FOR UPDATE``).
    """
    now = dt.datetime.now(dt.UTC)
    new = [line for line in plan.lines if line.is_new]
    _insert_new_lines(session, new, now)
    _update_counted_lines(session, plan.lines, now)
    moved = _insert_stocktake_entries(
        session, plan.lines, now, actor=as_principal(actor).username, reason=reason[:REASON_LIMIT], reference=reference
    )
    _audit_by_province(session, actor, plan, reference)
    return {"lines_created": len(new), "lines_changed": len(plan.lines) - len(new), "movements": moved}


def _insert_new_lines(session: Session, new: list[_PlannedLine], now: dt.datetime) -> None:
    """Insert the new batch lines and give each planned line its id.

    ``insert_many`` (COPY, or executemany in chunks of ``db.WRITE_CHUNK``): no ORM bookkeeping, and never 126,000
    parameter dicts at once. Each line is inserted with the id the database would have given it (``next_ids``):
    nothing to read back by key afterwards (0.1-0.2 s on the national ledger), and INSERT … RETURNING over many
    rows is far slower here (SQLAlchemy re-sorts the returned rows batch by batch to match the parameters).
    """
    ids = next_ids(session, StockLine.__table__, len(new))
    for line, line_id in zip(new, ids, strict=True):
        line.line_id = line_id
    insert_many(
        session,
        StockLine.__table__,
        (
            (
                line.line_id,
                line.count.warehouse_id,
                line.count.item_id,
                line.count.batch,
                line.count.counted,
                _ZERO,  # one object: its bind conversion runs once
                line.production_date,
                line.expiry_date,
                now,
                now,
            )
            for line in new
        ),
        _NEW_LINE_COLUMNS,
    )


def _update_counted_lines(session: Session, lines: list[_PlannedLine], now: dt.datetime) -> None:
    """Existing lines: the counted quantity where it differs, and the dates a batch gains."""
    table = StockLine.__table__
    executemany(
        session,
        update(table)
        .where(table.c.id == bindparam("line_id"))
        .values(quantity=bindparam("counted"), updated_at=bindparam("now")),
        (
            {"line_id": line.line_id, "counted": line.count.counted, "now": now}
            for line in lines
            if not line.is_new and line.current != line.count.counted
        ),
    )
    executemany(
        session,
        update(table)
        .where(table.c.id == bindparam("line_id"))
        .values(production_date=bindparam("produced"), expiry_date=bindparam("expires")),
        (
            {"line_id": line.line_id, "produced": line.production_date, "expires": line.expiry_date}
            for line in lines
            if line.fill_dates
        ),
    )


def _insert_stocktake_entries(
    session: Session, lines: list[_PlannedLine], now: dt.datetime, *, actor: str, reason: str, reference: str
) -> int:
    """One stocktake entry in the append-only ledger per line whose quantity changed, in the lines' order; returns
    how many.

    A new line's entry is its count (the delta and the quantity after), which the line just inserted holds: a run
    of at least ``_COPIED_RUN`` new lines with consecutive ids gets its entries by one INSERT … SELECT from those
    lines, the database copying the values (SQLite: 0.40 s of CPU for the national ledger's 126,000 entries against
    1.1 s bound row by row; PostgreSQL: nothing to send). Entries are written in the lines' order either way, so
    they take the ids they always took.
    """
    written = 0
    by_row: list[_PlannedLine] = []
    for is_new, run in itertools.groupby(lines, key=attrgetter("is_new")):
        run = list(run)
        first, last = run[0].line_id, run[-1].line_id
        if is_new and len(run) >= _COPIED_RUN and last - first == len(run) - 1:  # type: ignore[operator]
            written += _insert_entries_by_row(session, by_row, now, actor=actor, reason=reason, reference=reference)
            by_row = []
            values = {"actor": actor, "reason": reason, "reference": reference, "now": now}
            written += session.execute(_ENTRIES_OF_NEW_LINES, {**values, "first": first, "last": last}).rowcount
        else:
            by_row.extend(run)
    return written + _insert_entries_by_row(session, by_row, now, actor=actor, reason=reason, reference=reference)


_COPIED_RUN = 1_000  # below that many new lines in a row, one more statement costs more than it saves


def _insert_entries_by_row(
    session: Session, lines: list[_PlannedLine], now: dt.datetime, *, actor: str, reason: str, reference: str
) -> int:
    return insert_many(
        session,
        Movement.__table__,
        (
            (
                line.line_id,
                MovementKind.STOCKTAKE,
                line.count.counted - line.current,
                line.count.counted,
                actor,
                reason,
                reference,
                None,
                now,
            )
            for line in lines
            if line.count.counted != line.current
        ),
        _ENTRY_COLUMNS,
    )


def _entries_of_new_lines() -> Insert:
    """The stocktake entries of the new lines with ids ``first`` to ``last`` (a line counted 0 changed nothing)."""
    lines, entries = StockLine.__table__, Movement.__table__
    return insert(entries).from_select(
        list(_ENTRY_COLUMNS),
        select(
            lines.c.id,
            literal(MovementKind.STOCKTAKE, entries.c.kind.type),
            lines.c.quantity,
            lines.c.quantity,
            bindparam("actor", type_=entries.c.actor.type),
            bindparam("reason", type_=entries.c.reason.type),
            bindparam("reference", type_=entries.c.reference.type),
            null(),
            bindparam("now", type_=entries.c.occurred_at.type),
        )
        .where(lines.c.id.between(bindparam("first"), bindparam("last")), lines.c.quantity != 0)
        .order_by(lines.c.id),  # the ids of the entries in the lines' order
    )


_ENTRIES_OF_NEW_LINES = _entries_of_new_lines()


def _audit_by_province(session: Session, actor: Actor, plan: StockCountPlan, reference: str) -> None:
    """One audit entry per province touched (provincial staff see their own): the ledger holds the detail."""
    by_province: dict[str, dict[str, int]] = {}
    for line in plan.lines:
        province = plan.province_by_warehouse.get(line.count.warehouse_id, "")
        tally = by_province.setdefault(province, {"lines_created": 0, "lines_changed": 0})
        tally["lines_created" if line.is_new else "lines_changed"] += 1
    for province, tally in sorted(by_province.items()):
        record_audit(
            session,
            actor,
            "stock.import",
            object_type="ledger_import",
            object_key=reference,
            province_code=province or None,
            after={"reference": reference, **tally},
        )


def record_import(session: Session, actor: Actor, *, file_name: str, sha256: str, **counts: int | bool) -> LedgerImport:
    """Add the import's record (flushed, so its id and ``reference`` exist for the ledger entries)."""
    record = LedgerImport(
        file_name=(file_name or "ledger.xlsx")[:255],
        sha256=sha256,
        actor=as_principal(actor).username,
        imported_at=dt.datetime.now(dt.UTC),
        **counts,
    )
    session.add(record)
    session.flush()
    return record


def previous_import(session: Session, sha256: str) -> LedgerImport | None:
    """The latest earlier import of the very same file, if any (re-importing is harmless, but worth saying)."""
    return session.scalar(
        select(LedgerImport).where(LedgerImport.sha256 == sha256).order_by(LedgerImport.id.desc()).limit(1)
    )


def list_imports(session: Session, actor: Actor) -> Select:
    """Import records newest first: administrators see all, everyone else their own."""
    principal = as_principal(actor)
    stmt = select(LedgerImport).order_by(LedgerImport.id.desc())
    if principal.role is not Role.ADMIN:
        stmt = stmt.where(LedgerImport.actor == principal.username)
    return stmt


def get_import(session: Session, actor: Actor, import_id: int) -> LedgerImport:
    record = session.get(LedgerImport, import_id)
    principal = as_principal(actor)
    if record is None or (principal.role is not Role.ADMIN and record.actor != principal.username):
        raise NotFound(f"no import {import_id}", field="import_id")
    return record
