"""Readiness models: the minimum reserves provinces and the nation expect to hold.

Kept out of ``inventory.models`` so the readiness feature can change on its own; the model sits on the
same ``Base`` (one metadata, one migration chain). ``inventory.readiness`` imports this module, so
loading the services (or the routes that call them) registers the table.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.models import Base, Item, Quantity, Region, TimestampMixin, Warehouse, enum_column
from inventory.reference import Category


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
