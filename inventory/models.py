"""Typed SQLAlchemy models. The database enforces what it can (unique, check, foreign key, not null)
as the last line of defence behind the services.

Every table is defined here, and only here: importing this module registers the whole schema on
``Base.metadata`` (what Alembic autogenerate and ``tests/unit/test_migrations.py`` compare), and no
table appears as a side effect of importing a service. That is why the module runs past 400 lines.
"""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    Category,
    MovementKind,
    RegionLevel,
    ReserveType,
    Role,
    WarehouseLevel,
    WarehouseStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

QUANTITY_SCALE = 3  # thousandths: 1 g in a tonne, 1 mm in a metre
REFERENCE_PREFIX = "IMPORT-"  # the movement reference of a ledger import: IMPORT-<ledger_import.id>


class Quantity(TypeDecorator):
    """A Decimal with three decimal places, stored as an integer count of thousandths.

    SQLite has no decimal type: NUMERIC columns hold floats there, and the atomic
    ``quantity + delta >= 0`` check would then misjudge 0.3 - 0.1 - 0.2. Integers are exact on
    both SQLite and PostgreSQL, so the same SQL arithmetic stays exact everywhere.
    """

    impl = BigInteger
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator):
        """Sums and differences of quantities stay quantities.

        Without this, ``quantity - reserved`` would be a plain integer expression, and a Decimal
        compared with it would be bound as-is instead of as thousandths.
        """

        def _adapt_expression(self, op, other_comparator):
            if op in (operator.add, operator.sub) and isinstance(other_comparator.type, Quantity):
                return op, self.type
            return super()._adapt_expression(op, other_comparator)

    def process_bind_param(self, value: Decimal | int | str | None, dialect: object) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(QUANTITY_SCALE)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"quantity {value} has more than {QUANTITY_SCALE} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-QUANTITY_SCALE)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC (SQLite keeps no zone) and returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enum_column(enum_class: type, name: str) -> Enum:
    """Store an enum by its value (a stable code) as VARCHAR with a CHECK, on every database."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        name=name,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Region(Base):
    """A GB/T 2260 unit: province, prefecture-level city or county-level unit."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, "region_level"), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    # True when the coordinate is the parent's, because the unit could not be located itself.
    approximate: Mapped[bool] = mapped_column(default=False)

    parent: Mapped[Region | None] = relationship(remote_side=[code], lazy="joined", join_depth=2)

    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )


class Warehouse(TimestampMixin, Base):
    __tablename__ = "warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reserve_type: Mapped[ReserveType] = mapped_column(enum_column(ReserveType, "reserve_type"), index=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    # The county is the source of truth; city and province are derived from it on write so that
    # filtering by any level is one indexed equality.
    county_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    city_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float] = mapped_column(index=True)
    longitude: Mapped[float]
    contact_person: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    level: Mapped[WarehouseLevel] = mapped_column(enum_column(WarehouseLevel, "warehouse_level"))
    status: Mapped[WarehouseStatus] = mapped_column(
        enum_column(WarehouseStatus, "warehouse_status"), default=WarehouseStatus.ACTIVE, index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")

    county: Mapped[Region] = relationship(foreign_keys=[county_code], lazy="joined")

    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )


class Item(TimestampMixin, Base):
    """A material in the catalogue."""

    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"), index=True)
    specification: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(16))
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)

    aliases: Mapped[list[ItemAlias]] = relationship(
        back_populates="item", cascade="all, delete-orphan", lazy="selectin", order_by="ItemAlias.alias"
    )

    __table_args__ = (CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life_positive"),)


class ItemAlias(Base):
    """Another name people use for an item (活性炭 / 颗粒活性炭 / activated carbon)."""

    __tablename__ = "item_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(100), unique=True)

    item: Mapped[Item] = relationship(back_populates="aliases")


class StockLine(TimestampMixin, Base):
    """Stock of one item, one batch, in one warehouse. ``quantity`` is a cache of the ledger sum."""

    @property
    def available(self) -> Decimal:
        return self.quantity - self.reserved

    __tablename__ = "stock_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    # '' means "no batch": NULL would let duplicates through the unique constraint.
    batch: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    # Held for confirmed call-ups; issues may only take ``quantity - reserved``.
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")
    production_date: Mapped[dt.date | None] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date, index=True)

    warehouse: Mapped[Warehouse] = relationship(lazy="joined")
    item: Mapped[Item] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("warehouse_id", "item_id", "batch", name="uq_stock_line_warehouse_item_batch"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= quantity", name="reserved_within_quantity"),
        CheckConstraint(
            "expiry_date IS NULL OR production_date IS NULL OR expiry_date >= production_date",
            name="expiry_after_production",
        ),
    )


class Movement(Base):
    """One append-only ledger entry. Never updated or deleted: mistakes are reversed by new entries."""

    __tablename__ = "movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_line_id: Mapped[int] = mapped_column(ForeignKey("stock_line.id"))
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind, "movement_kind"), index=True)
    delta: Mapped[Decimal] = mapped_column(Quantity)
    quantity_after: Mapped[Decimal] = mapped_column(Quantity)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    # The two entries of one transfer share this key.
    transfer_key: Mapped[str | None] = mapped_column(String(36), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    stock_line: Mapped[StockLine] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_movement_stock_line_id_id", "stock_line_id", "id"),
        CheckConstraint("quantity_after >= 0", name="quantity_after_not_negative"),
        CheckConstraint("delta <> 0 OR kind = 'stocktake'", name="delta_not_zero"),
    )


class DataVersion(Base):
    """A counter per table that database triggers bump on every change to that table.

    Workers cache slow-changing data (warehouse coordinates) and compare one integer per request
    to know whether another worker or an import changed it.
    """

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


manager_warehouse = Table(
    "manager_warehouse",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("warehouse_id", ForeignKey("warehouse.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(TimestampMixin, Base):
    """An account. ``province_code`` scopes provincial staff; managers get assigned warehouses."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    # None: no web login (token-only or system account).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)

    warehouses: Mapped[list[Warehouse]] = relationship(secondary=manager_warehouse, lazy="selectin")

    __table_args__ = (
        CheckConstraint("role <> 'provincial' OR province_code IS NOT NULL", name="provincial_has_province"),
    )


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak reveals no usable token."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))

    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Login attempts per (account, source address), kept in the database so the limits hold
    across workers and hosts (see inventory.throttle). A row with username "*" counts a
    source over all accounts; one with address "*", an account over all unknown sources."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(45), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_allowed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the account logged in from this address: a known source, not blocked by strangers.
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A web login. The cookie carries a random token; only its SHA-256 is stored, as the key.

    Kept in the database (not only in the signed cookie) so ending it works at once on every
    worker and host: a session with ``ended_at`` set, or past ``expires_at``, is refused.
    """

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why it ended: logout, password, deactivated, role, scope.
    end_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship(lazy="joined")


class AuditEntry(Base):
    """Who changed what, when, from where, with the state before and after (JSON text)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(45), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(64))
    # The province the object belongs to, so provincial staff see their own province's trail.
    province_code: Mapped[str | None] = mapped_column(String(6), index=True)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class CallUp(TimestampMixin, Base):
    """A call-up order: an incident's needs, reserved at once from the nearest stock."""

    __tablename__ = "callup"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    incident_name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float]
    longitude: Mapped[float]
    county_code: Mapped[str | None] = mapped_column(String(6))
    radius_km: Mapped[float]
    reserve_type_preference: Mapped[str] = mapped_column(String(100), default="")
    # page branch: the reserve types the order may draw on, comma-separated ("" = all), kept so a
    # re-plan after a decline honours the same filter the requester chose.
    reserve_types: Mapped[str] = mapped_column(String(100), default="", server_default="")
    requester: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[CallUpStatus] = mapped_column(enum_column(CallUpStatus, "callup_status"), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")

    needs: Mapped[list[CallUpNeed]] = relationship(lazy="selectin", order_by="CallUpNeed.id")
    lines: Mapped[list[CallUpLine]] = relationship(lazy="selectin", order_by="CallUpLine.id")
    events: Mapped[list[CallUpEvent]] = relationship(lazy="selectin", order_by="CallUpEvent.id")


class CallUpNeed(Base):
    __tablename__ = "callup_need"

    id: Mapped[int] = mapped_column(primary_key=True)
    callup_id: Mapped[int] = mapped_column(ForeignKey("callup.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    requested: Mapped[Decimal] = mapped_column(Quantity)

    item: Mapped[Item] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("requested > 0", name="requested_positive"),)


class CallUpLine(Base):
    """One batch in one warehouse, reserved for the call-up until dispatched, declined or cancelled."""

    __tablename__ = "callup_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    callup_id: Mapped[int] = mapped_column(ForeignKey("callup.id"), index=True)
    stock_line_id: Mapped[int] = mapped_column(ForeignKey("stock_line.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    distance_km: Mapped[float]
    status: Mapped[CallUpLineStatus] = mapped_column(enum_column(CallUpLineStatus, "callup_line_status"), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")

    stock_line: Mapped[StockLine] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse] = relationship(lazy="joined")
    item: Mapped[Item] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class CallUpEvent(Base):
    """The status history of a call-up (append-only)."""

    __tablename__ = "callup_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    callup_id: Mapped[int] = mapped_column(ForeignKey("callup.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("callup_line.id"))
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReserveQuota(TimestampMixin, Base):
    """A minimum quantity to hold: of one item or a whole category, in one warehouse or one region.

    Exactly one target (warehouse or region at any level) and exactly one material (item or category).
    Four unique constraints make a target hold one quota per material: a unique constraint ignores rows
    with a NULL in it, so each constraint only bites on its own kind of quota, on both databases.
    """

    __tablename__ = "reserve_quota"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No separate indexes on the targets: the unique constraints below lead with them.
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    category: Mapped[Category | None] = mapped_column(enum_column(Category, "category"))
    minimum: Mapped[Decimal] = mapped_column(Quantity)
    note: Mapped[str] = mapped_column(String(500), default="")
    set_by: Mapped[str] = mapped_column(String(64))

    warehouse: Mapped[Warehouse | None] = relationship(lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    item: Mapped[Item | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(warehouse_id IS NULL) <> (region_code IS NULL)", name="one_target"),
        CheckConstraint("(item_id IS NULL) <> (category IS NULL)", name="one_material"),
        CheckConstraint("minimum > 0", name="minimum_positive"),
        UniqueConstraint("warehouse_id", "item_id", name="uq_reserve_quota_warehouse_item"),
        UniqueConstraint("warehouse_id", "category", name="uq_reserve_quota_warehouse_category"),
        UniqueConstraint("region_code", "item_id", name="uq_reserve_quota_region_item"),
        UniqueConstraint("region_code", "category", name="uq_reserve_quota_region_category"),
    )

    @property
    def target_code(self) -> str:
        """The warehouse code or the region code (read through the relationships: set before a flush)."""
        return self.warehouse.code if self.warehouse is not None else self.region.code

    @property
    def material_code(self) -> str:
        return self.item.code if self.item is not None else Category(self.category).value

    @property
    def province_code(self) -> str:
        """The province of the target; GB/T 2260 codes start with their province's two digits."""
        if self.warehouse is not None:
            return self.warehouse.province_code
        return self.region.code[:2] + "0000"


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
