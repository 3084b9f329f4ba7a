"""Ledger imports: the record of each imported workbook, and stock counts applied in bulk.

A ledger states how much of each batch a warehouse holds, so importing it is a stocktake of every line:
the same rules as ``inventory.stock.take_stock`` (the count never goes below what is reserved, a batch
keeps one production and one expiry date, a new batch needs an active warehouse, every change is a
stocktake entry in the append-only ledger), applied to thousands of lines with a handful of statements
instead of several per line. A count equal to the quantity on hand writes nothing, so importing the same
ledger twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from inventory.access import Actor, as_principal, require_stock_change, require_warehouse_management
from inventory.audit import record_audit, snapshot
from inventory.db import chunks, executemany, insert_many
from inventory.errors import Conflict, DomainError, NotFound, ValidationFailed
from inventory.models import Base, Item, Movement, StockLine, UTCDateTime, Warehouse, utcnow
from inventory.reference import MovementKind, Role, WarehouseStatus
from inventory.regions import resolve_region_path
from inventory.stock import REASON_LIMIT
from inventory.validation import check_code, check_coordinate, check_dates, check_quantity, check_text
from inventory.warehouses import ENUM_FIELDS, REQUIRED_FIELDS, TEXT_LIMITS, WAREHOUSE_FIELDS

REFERENCE_PREFIX = "IMPORT-"


class LedgerImport(Base):
    """One workbook imported for real (dry runs and refused files leave no trace): who, what, when, how much."""

    __tablename__ = "ledger_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    skip_invalid: Mapped[bool] = mapped_column(default=False)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    warehouses_created: Mapped[int] = mapped_column(Integer, default=0)
    warehouses_updated: Mapped[int] = mapped_column(Integer, default=0)
    items_created: Mapped[int] = mapped_column(Integer, default=0)
    lines_created: Mapped[int] = mapped_column(Integer, default=0)
    lines_changed: Mapped[int] = mapped_column(Integer, default=0)
    lines_unchanged: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def reference(self) -> str:
        """The ``reference`` of every ledger entry this import wrote (``GET /movements?reference=…``)."""
        return f"{REFERENCE_PREFIX}{self.id}"


@dataclass(frozen=True, slots=True)
class NewWarehouse:
    """A warehouse to register: the keywords ``create_warehouse`` takes; ``key`` is the caller's handle."""

    key: object
    code: str
    fields: dict[str, object]


@dataclass(frozen=True, slots=True)
class StockCount:
    """A counted quantity for one batch of one item in one warehouse; ``key`` is the caller's handle."""

    key: object
    warehouse_id: int
    item_id: int
    batch: str
    counted: Decimal
    production_date: dt.date | None = None
    expiry_date: dt.date | None = None


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


def register_warehouses(
    session: Session, actor: Actor, new: list[NewWarehouse]
) -> tuple[dict[object, Warehouse], list[tuple[object, DomainError]]]:
    """Register many warehouses at once under exactly the rules of ``create_warehouse``, in one INSERT.

    A national ledger registers thousands of warehouses; one ``create_warehouse`` each costs several
    round trips apiece. The checks are the same public ones the service composes (``check_code``,
    ``check_text`` with ``TEXT_LIMITS``, ``ENUM_FIELDS``, ``check_coordinate``, ``resolve_region_path``,
    ``require_warehouse_management``), in the same order, with the same messages; a test holds the two
    paths to the same verdicts. Returns the registered warehouses by key, and the refused keys with why.
    """
    errors: list[tuple[object, DomainError]] = []
    rows: list[dict] = []
    keys: dict[str, object] = {}
    taken: set[str] = set()
    for chunk in chunks([entry.code.strip() for entry in new]):
        taken.update(session.scalars(select(Warehouse.code).where(Warehouse.code.in_(chunk))))
    now = dt.datetime.now(dt.UTC)
    for entry in new:
        try:
            row = _warehouse_values(session, actor, entry, taken | set(keys))
        except DomainError as error:
            errors.append((entry.key, error))
            continue
        keys[row["code"]] = entry.key
        rows.append({**row, "created_at": now, "updated_at": now})
    registered: dict[object, Warehouse] = {}
    if rows:
        insert_many(session, Warehouse.__table__, rows)
        for chunk in chunks(list(keys)):
            for warehouse in session.scalars(select(Warehouse).where(Warehouse.code.in_(chunk))):
                registered[keys[warehouse.code]] = warehouse
                record_audit(
                    session,
                    actor,
                    "warehouse.create",
                    object_type="warehouse",
                    object_key=warehouse.code,
                    province_code=warehouse.province_code,
                    after=snapshot(warehouse),
                )
        session.flush()
    return registered, errors


def _warehouse_values(session: Session, actor: Actor, entry: NewWarehouse, taken: set[str]) -> dict[str, object]:
    """The column values of one new warehouse, checked as ``create_warehouse`` checks them."""
    code = check_code(entry.code)
    fields = entry.fields
    for name in REQUIRED_FIELDS:
        if fields.get(name) in (None, ""):
            raise ValidationFailed(f"{name} is required", field=name)
    if code in taken:
        raise Conflict(f"warehouse code {code!r} is already in use", field="code")
    unknown = set(fields) - WAREHOUSE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"unknown field {name}", field=name)
    values: dict[str, object] = {"code": code, "status": WarehouseStatus.ACTIVE}
    values.update({name: "" for name in TEXT_LIMITS if name != "name"})
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            values[name] = check_text(fields[name], name, max_length=limit, required=name == "name")  # type: ignore[arg-type]
    for name, enum_class in ENUM_FIELDS.items():
        if name in fields:
            try:
                values[name] = enum_class(fields[name])
            except ValueError as exc:
                allowed = ", ".join(m.value for m in enum_class)
                raise ValidationFailed(f"{fields[name]!r} is not one of {allowed}", field=name) from exc
    values["latitude"], values["longitude"] = check_coordinate(fields["latitude"], fields["longitude"])  # type: ignore[arg-type]
    path = resolve_region_path(session, fields["county_code"])  # type: ignore[arg-type]
    values["county_code"], values["city_code"], values["province_code"] = (
        path.county_code,
        path.city_code,
        path.province_code,
    )
    require_warehouse_management(actor, path.province_code)
    return values


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
    allowed: dict[int, DomainError | None] = {}
    for warehouse_id, warehouse in warehouses.items():
        try:
            require_stock_change(actor, warehouse)
            allowed[warehouse_id] = None
        except DomainError as error:
            allowed[warehouse_id] = error
        plan.province_by_warehouse[warehouse_id] = warehouse.province_code
    existing: dict[tuple[int, int, str], tuple] = {}
    wanted = sorted({count.warehouse_id for count in counts})
    for chunk in chunks(wanted):
        rows = session.execute(
            select(
                StockLine.warehouse_id,
                StockLine.item_id,
                StockLine.batch,
                StockLine.id,
                StockLine.quantity,
                StockLine.reserved,
                StockLine.production_date,
                StockLine.expiry_date,
            )
            .where(StockLine.warehouse_id.in_(chunk))
            .with_for_update()
        )
        for row in rows:
            existing[(row[0], row[1], row[2])] = row[3:]
    seen: set[tuple[int, int, str]] = set()
    for count in counts:
        key = (count.warehouse_id, count.item_id, count.batch)
        try:
            if allowed.get(count.warehouse_id) is not None:
                raise allowed[count.warehouse_id]  # type: ignore[misc]
            if key in seen:
                raise Conflict("the same batch of this item in this warehouse is counted twice", field="batch")
            seen.add(key)
            planned = _plan_one(count, existing.get(key), shelf_life.get(count.item_id), warehouses, registered)
        except DomainError as error:
            plan.errors.append((count.key, error))
            continue
        if planned is None:
            plan.unchanged += 1
        else:
            plan.lines.append(planned)
    return plan


def _plan_one(
    count: StockCount,
    line: tuple | None,
    shelf_life_days: int | None,
    warehouses: Mapping[int, Warehouse],
    registered: frozenset[int],
) -> _PlannedLine | None:
    counted = check_quantity(count.counted, "quantity", allow_zero=True)
    production, expiry = count.production_date, count.expiry_date
    if expiry is None and production is not None and shelf_life_days:
        expiry = production + dt.timedelta(days=shelf_life_days)
    check_dates(production, expiry)
    if line is None:
        warehouse = warehouses[count.warehouse_id]
        if warehouse.status is not WarehouseStatus.ACTIVE and warehouse.id not in registered:
            raise Conflict(f"warehouse {warehouse.code} is inactive and cannot receive stock", field="warehouse_code")
        return _PlannedLine(count, None, Decimal(0), production, expiry, is_new=True)
    line_id, quantity, reserved, line_production, line_expiry = line
    fill = False
    dates = {"production_date": line_production, "expiry_date": line_expiry}
    for name, given in (("production_date", production), ("expiry_date", expiry)):
        current = dates[name]
        if given is not None and current is not None and given != current:
            raise Conflict(f"this batch has {name.replace('_', ' ')} {current}, not {given}", field=name)
        if given is not None and current is None:
            dates[name], fill = given, True
    check_dates(dates["production_date"], dates["expiry_date"])
    if counted < reserved:
        raise Conflict(
            f"the count {_plain(counted)} is below the {_plain(reserved)} reserved for call-ups", field="quantity"
        )
    if counted == quantity and not fill:
        return None
    return _PlannedLine(count, line_id, quantity, dates["production_date"], dates["expiry_date"], fill)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def write_stock_counts(
    session: Session, plan: StockCountPlan, *, actor: Actor, reference: str, reason: str
) -> dict[str, int]:
    """Apply a plan: new lines, changed quantities and filled-in dates, one stocktake entry per change.

    Each kind of write is one executemany; the conditional-UPDATE race of ``record_movement`` cannot
    happen here because the lines were locked when planned (SQLite: the whole write transaction is
    exclusive; PostgreSQL: ``SELECT … FOR UPDATE``).
    """
    now = dt.datetime.now(dt.UTC)
    username = as_principal(actor).username
    reason = reason[:REASON_LIMIT]
    new = [line for line in plan.lines if line.is_new]
    # Core executemany in chunks of db.WRITE_CHUNK: no ORM bookkeeping, and never 126,000 parameter dicts at once.
    # The ids of new lines are read back by key: INSERT … RETURNING over many rows is far slower here
    # (SQLAlchemy re-sorts the returned rows batch by batch to match the parameters).
    last_id_before = session.scalar(select(func.max(StockLine.id))) or 0
    insert_many(
        session,
        StockLine.__table__,
        (
            {
                "warehouse_id": line.count.warehouse_id,
                "item_id": line.count.item_id,
                "batch": line.count.batch,
                "quantity": line.count.counted,
                "reserved": Decimal(0),
                "production_date": line.production_date,
                "expiry_date": line.expiry_date,
                "created_at": now,
                "updated_at": now,
            }
            for line in new
        ),
    )
    if new:
        # Only the rows just inserted (a primary-key range), not every line of their warehouses.
        rows = session.execute(
            select(StockLine.warehouse_id, StockLine.item_id, StockLine.batch, StockLine.id).where(
                StockLine.id > last_id_before
            )
        )
        ids = {(w, i, b): line_id for w, i, b, line_id in rows}
        for line in new:
            line.line_id = ids[(line.count.warehouse_id, line.count.item_id, line.count.batch)]
    table = StockLine.__table__
    executemany(
        session,
        update(table)
        .where(table.c.id == bindparam("line_id"))
        .values(quantity=bindparam("counted"), updated_at=bindparam("now")),
        (
            {"line_id": line.line_id, "counted": line.count.counted, "now": now}
            for line in plan.lines
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
            for line in plan.lines
            if line.fill_dates
        ),
    )
    moved = insert_many(
        session,
        Movement.__table__,
        (
            {
                "stock_line_id": line.line_id,
                "kind": MovementKind.STOCKTAKE,
                "delta": line.count.counted - line.current,
                "quantity_after": line.count.counted,
                "actor": username,
                "reason": reason,
                "reference": reference,
                "transfer_key": None,
                "occurred_at": now,
            }
            for line in plan.lines
            if line.count.counted != line.current
        ),
    )
    _audit_by_province(session, actor, plan, reference)
    return {"lines_created": len(new), "lines_changed": len(plan.lines) - len(new), "movements": moved}


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
