"""the ledger's transfer-key index holds transfers only

Revision ID: b3f1c8e2d4a7
Revises: a5d3f7c1b9e2
Create Date: 2026-12-01 14:30:00.000000

Only the two entries of a transfer carry a ``transfer_key``; every other entry (receipts, issues,
stocktakes, an import's 126,000 counted lines) stored a NULL in the index, an index insert for
nothing on every write. ``transfer_key = :k`` implies ``transfer_key IS NOT NULL``, so PostgreSQL and
SQLite still use the partial index for a transfer's lookup.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b3f1c8e2d4a7"
down_revision = "a5d3f7c1b9e2"
branch_labels = None
depends_on = None

ONLY_TRANSFERS = sa.text("transfer_key IS NOT NULL")


def upgrade():
    op.drop_index("ix_movement_transfer_key", table_name="movement")
    op.create_index(
        "ix_movement_transfer_key",
        "movement",
        ["transfer_key"],
        postgresql_where=ONLY_TRANSFERS,
        sqlite_where=ONLY_TRANSFERS,
    )


def downgrade():
    op.drop_index("ix_movement_transfer_key", table_name="movement")
    op.create_index("ix_movement_transfer_key", "movement", ["transfer_key"])
