"""data versions of the account tables, for the per-worker authentication cache

Revision ID: e4b7c2d9a1f6
Revises: 9d1e4c7a2f30
Create Date: 2026-11-30 08:00:00.000000

Each worker keeps the principals behind the tokens and web sessions it has seen, and drops them all
as soon as the account tables change (a token revoked, a user deactivated or re-scoped, a session
ended), whichever worker, host or script changed them: the same counters and triggers as the
warehouse index's (c26e5a993ea4). On PostgreSQL the triggers fire even in replica mode (ENABLE ALWAYS):
skipping them would leave a revoked token usable on workers that cached it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4b7c2d9a1f6'
down_revision = '9d1e4c7a2f30'
branch_labels = None
depends_on = None

ACCOUNT_TABLES = ('user_account', 'api_token', 'manager_warehouse', 'web_session')


def upgrade():
    op.bulk_insert(
        sa.table('data_version', sa.column('name', sa.String), sa.column('version', sa.BigInteger)),
        [{'name': table, 'version': 0} for table in ACCOUNT_TABLES],
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in ACCOUNT_TABLES:
        bump = f"UPDATE data_version SET version = version + 1 WHERE name = '{table}'"
        if postgres:
            op.execute(
                f"CREATE FUNCTION bump_{table}_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {bump}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION bump_{table}_version()"
            )
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_version")
        else:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_version_{action.lower()} AFTER {action} ON {table} BEGIN {bump}; END"
                )


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in ACCOUNT_TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS bump_{table}_version()")
        else:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_version_{action}")
    table = sa.table('data_version', sa.column('name', sa.String))
    op.execute(table.delete().where(table.c.name.in_(ACCOUNT_TABLES)))
