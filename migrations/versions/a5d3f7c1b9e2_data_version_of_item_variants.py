"""data version of item_variant, for the per-worker item names that list unit variants

Revision ID: a5d3f7c1b9e2
Revises: 9c3e5a7b1d42
Create Date: 2026-11-30 11:00:00.000000

Each worker keeps an item's unit variants with the item names (the nearest search lists them beside the
item), and reloads them when item_variant changes: a variant merged by a pack factor only updates its
item_variant row. The same counter and triggers as the item table's (c26e5a993ea4).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a5d3f7c1b9e2"
down_revision = "9c3e5a7b1d42"
branch_labels = None
depends_on = None

TABLE = "item_variant"


def upgrade():
    op.bulk_insert(
        sa.table("data_version", sa.column("name", sa.String), sa.column("version", sa.BigInteger)),
        [{"name": TABLE, "version": 0}],
    )
    bump = f"UPDATE data_version SET version = version + 1 WHERE name = '{TABLE}'"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION bump_{TABLE}_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {bump}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION bump_{TABLE}_version()"
        )
    else:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_version_{action.lower()} AFTER {action} ON {TABLE} BEGIN {bump}; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_version ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS bump_{TABLE}_version()")
    else:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_version_{action}")
    table = sa.table("data_version", sa.column("name", sa.String))
    op.execute(table.delete().where(table.c.name == TABLE))
