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
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, backref, mapped_column, relationship

from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    Category,
    DeliveryChannel,
    DeliveryStatus,
    IncidentStatus,
    IncidentType,
    MovementKind,
    NotificationKind,
    RegionLevel,
    ReserveType,
    Role,
    ShipmentKind,
    ShipmentStatus,
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
    # The two entries of one transfer share this key; most entries have none (partial index below).
    transfer_key: Mapped[str | None] = mapped_column(String(36))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    stock_line: Mapped[StockLine] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_movement_stock_line_id_id", "stock_line_id", "id"),
        # Only transfers carry a key: an index of every entry's NULL cost each receipt, issue and imported
        # line an index insert for nothing (0.13 s of the national import's 126,000 entries on PostgreSQL).
        # "transfer_key = :k" implies IS NOT NULL, so both databases still use it for a transfer's lookup.
        Index(
            "ix_movement_transfer_key",
            "transfer_key",
            postgresql_where=text("transfer_key IS NOT NULL"),
            sqlite_where=text("transfer_key IS NOT NULL"),
        ),
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
    # The incident record it was raised against (logistics); older call-ups name their incident only.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    incident: Mapped[EmergencyIncident | None] = relationship(lazy="joined", back_populates="callups")

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


# --- branch i18n: a flag the database carries about itself -----------------------------------------------------


class SiteFlag(Base):
    """A fact about this database as a whole: ``demo`` (its value the scale) once invented data was seeded into it.

    Kept in the database, not the configuration, so every worker, export and copy of the file knows it.
    """

    __tablename__ = "site_flag"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), default="")
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- notify branch: the outbox, the in-page inbox, delivery settings and the delivery log ---------------------


class OutboxEvent(Base):
    """Something an account must be told, written in the same transaction as the change that caused it.

    Nothing is sent while the request runs: ``flask --app wsgi deliver`` sends its deliveries later,
    so a mail server that is down delays the mail and never fails (or loses) the change.
    """

    __tablename__ = "outbox_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, "notification_kind"), index=True)
    # JSON text: the facts of the event (codes, names, quantities as strings), enough to render any message.
    payload: Mapped[str] = mapped_column(Text)
    # Events that must happen once (a day's digest per account) carry a key the database keeps unique.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Notification(Base):
    """One event in one account's in-page inbox."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[OutboxEvent] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_notification_event_id"),
        Index("ix_notification_user_id_id", "user_id", "id"),
    )


class NotificationSetting(Base):
    """Where an account's email and webhook deliveries go; the webhook secret signs every body (HMAC-SHA256)."""

    __tablename__ = "notification_setting"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    webhook_secret: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NotificationSubscription(Base):
    """An account opted in to one kind of event on one channel (email or webhook); no row, no delivery."""

    __tablename__ = "notification_subscription"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, "notification_kind"), primary_key=True)
    channel: Mapped[DeliveryChannel] = mapped_column(enum_column(DeliveryChannel, "delivery_channel"), primary_key=True)


class OutboxDelivery(Base):
    """One event to send to one account on one channel; claimed by one worker at a time (``claimed_by``)."""

    __tablename__ = "outbox_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    channel: Mapped[DeliveryChannel] = mapped_column(enum_column(DeliveryChannel, "delivery_channel"))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker's claim: its token and until when. A claim past its time (the worker died) may be taken again.
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")

    event: Mapped[OutboxEvent] = relationship(lazy="joined")
    log: Mapped[list[DeliveryAttempt]] = relationship(lazy="selectin", order_by="DeliveryAttempt.id")

    __table_args__ = (
        Index("ix_outbox_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )


class DeliveryAttempt(Base):
    """The delivery log: one row per attempt, whatever its outcome."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("outbox_delivery.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    worker: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500), default="")
    # sent, retry (a transient failure: tried again later) or failed (given up).
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# --- logistics (branch logistics): incidents, shipments and receipt, consumption, settlement prices ---


class EmergencyIncident(TimestampMixin, Base):
    """An incident record (事件) grouping its call-ups, shipments, consumption and returns."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    incident_type: Mapped[IncidentType] = mapped_column(enum_column(IncidentType, "incident_type"))
    place: Mapped[str] = mapped_column(String(200), default="")
    county_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[IncidentStatus] = mapped_column(enum_column(IncidentStatus, "incident_status"), index=True)
    lead_organisation: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    callups: Mapped[list[CallUp]] = relationship(lazy="selectin", order_by="CallUp.id", back_populates="incident")


class Shipment(TimestampMixin, Base):
    """Stock on the road (发运): from a warehouse to an incident, between warehouses, or back (归还).

    A dispatch has no target warehouse (it goes to the incident's site); a return has no source
    warehouse (it comes from the site). Each line says what left and, once received, what arrived.
    """

    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[ShipmentKind] = mapped_column(enum_column(ShipmentKind, "shipment_kind"))
    status: Mapped[ShipmentStatus] = mapped_column(enum_column(ShipmentStatus, "shipment_status"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    source_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"), index=True)
    target_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(200), default="")
    vehicle: Mapped[str] = mapped_column(String(64), default="")
    driver: Mapped[str] = mapped_column(String(64), default="")
    driver_phone: Mapped[str] = mapped_column(String(32), default="")
    departed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    eta: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    sent_by: Mapped[str] = mapped_column(String(64))
    received_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set once, by the conditional update that first finds it past its ETA (the overdue event's call site).
    overdue_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    source_warehouse: Mapped[Warehouse | None] = relationship(lazy="joined", foreign_keys=[source_warehouse_id])
    target_warehouse: Mapped[Warehouse | None] = relationship(lazy="joined", foreign_keys=[target_warehouse_id])
    incident: Mapped[EmergencyIncident | None] = relationship(lazy="joined")
    lines: Mapped[list[ShipmentLine]] = relationship(lazy="selectin", order_by="ShipmentLine.id")


class ShipmentLine(Base):
    """One batch on a shipment: sent, then received, short or damaged (short + damaged = lost in transit)."""

    __tablename__ = "shipment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), index=True)
    # A dispatch: the call-up line sent; a return: the call-up line whose stock comes back.
    callup_line_id: Mapped[int | None] = mapped_column(ForeignKey("callup_line.id"), index=True)
    # The batch it left (dispatch, transfer) or came from originally (return: batch and expiry kept).
    stock_line_id: Mapped[int] = mapped_column(ForeignKey("stock_line.id"), index=True)
    # The batch line it arrived in at a target warehouse (transfer, return), once received.
    target_stock_line_id: Mapped[int | None] = mapped_column(ForeignKey("stock_line.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    received: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    short: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    damaged: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    discrepancy_reason: Mapped[str] = mapped_column(String(500), default="")

    stock_line: Mapped[StockLine] = relationship(lazy="joined", foreign_keys=[stock_line_id])
    item: Mapped[Item] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received >= 0 AND short >= 0 AND damaged >= 0", name="outcome_not_negative"),
        CheckConstraint("received + short + damaged <= quantity", name="outcome_within_quantity"),
    )

    @property
    def lost(self) -> Decimal:
        return self.short + self.damaged

    @property
    def ledger_key(self) -> str:
        """The ``transfer_key`` of the ledger entries this line wrote (out at the source, in at the target)."""
        return f"SHL-{self.id}"


class Consumption(Base):
    """Stock used at the incident (消耗), written off against one call-up line (append-only)."""

    __tablename__ = "consumption"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    callup_line_id: Mapped[int] = mapped_column(ForeignKey("callup_line.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class UnitPrice(TimestampMixin, Base):
    """The agreed price of an item taken from one source warehouse (from its reserve agreement), per unit."""

    __tablename__ = "unit_price"

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Quantity)
    agreement: Mapped[str] = mapped_column(String(200), default="")
    set_by: Mapped[str] = mapped_column(String(64))

    warehouse: Mapped[Warehouse] = relationship(lazy="joined")
    item: Mapped[Item] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("warehouse_id", "item_id", name="uq_unit_price_warehouse_item"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )


# --- fieldvalues: vocabularies staff extend, an item's pack factors, unit variants, items to review ---------


class ReserveTypeWord(Base):
    """A word a ledger writes for a reserve type (协议储备 → third_party), added by staff beyond the shipped list."""

    __tablename__ = "reserve_type_word"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(64), unique=True)
    reserve_type: Mapped[ReserveType] = mapped_column(enum_column(ReserveType, "reserve_type"))
    added_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemUnit(Base):
    """An item's own pack factor: one ``unit`` holds ``factor`` of the item's catalogue unit (1 包 = 10 张)."""

    __tablename__ = "item_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    unit: Mapped[str] = mapped_column(String(16))
    factor: Mapped[Decimal] = mapped_column(Quantity)
    set_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded on access, not with every Item: a stock write loads an item and must not pay for these.
    item: Mapped[Item] = relationship(backref=backref("pack_units", lazy="select"))

    __table_args__ = (
        UniqueConstraint("item_id", "unit", name="uq_item_unit_item_unit"),
        CheckConstraint("factor > 0", name="factor_positive"),
    )


class ItemVariant(Base):
    """Stock of ``base_item`` counted in a ``unit`` that converts to nothing: kept as its own item, never summed.

    ``item`` is the catalogue item holding that stock (its unit is ``unit``). Setting a pack factor for the
    unit later moves the variant's stock into the base item by ledger movements and sets ``merged_at``.
    """

    __tablename__ = "item_variant"

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    base_item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    unit: Mapped[str] = mapped_column(String(16))
    merged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[Item] = relationship(foreign_keys=[item_id])
    base_item: Mapped[Item] = relationship(foreign_keys=[base_item_id], backref=backref("unit_variants", lazy="select"))

    __table_args__ = (UniqueConstraint("base_item_id", "unit", name="uq_item_variant_base_item_unit"),)


# --- fieldsheets: column-mapping profiles for ledgers whose headers no vocabulary foresaw -------------------


class ImportProfile(Base):
    """A saved column mapping (header → ledger field, "" to ignore) and the header rows it was made for.

    ``mapping`` and ``header_signatures`` are JSON text (``inventory.import_profiles`` reads and writes them):
    a later workbook whose sheet has one of those header rows gets the mapping without being asked.
    """

    __tablename__ = "import_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    mapping: Mapped[str] = mapped_column(Text)
    header_signatures: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportReviewItem(Base):
    """Something an import decided that a person should look at: a new warehouse or item, a fuzzy match, a unit
    variant, warehouse details that differed between rows. ``rows`` is JSON text: [[sheet, row], …].

    The one review store: the catalogue review (``GET /catalogue-reviews``) is its open new-item and
    unit-variant entries. ``status`` moves once, open → confirmed or corrected (a conditional UPDATE in
    ``inventory.import_review``). ``import_id`` is empty only for catalogue reviews recorded before this table
    held them whose import could not be found (migration 9c3e5a7b1d42).
    """

    __tablename__ = "import_review_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_import.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # the warehouse or item code it is about
    detail: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str] = mapped_column(String(64), default="")  # the code a correction pointed to
    resolved_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
