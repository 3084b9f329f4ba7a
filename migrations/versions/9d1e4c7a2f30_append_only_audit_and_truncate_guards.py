"""append-only audit log; ledger and audit log refuse TRUNCATE and replica mode

Revision ID: 9d1e4c7a2f30
Revises: 5e55101a0e7d
Create Date: 2026-11-24 10:00:00.000000

The stock ledger (``movement``) already refuses UPDATE and DELETE. This makes the audit log
(``audit_entry``) refuse them too, on both databases, and on PostgreSQL closes the two remaining
gaps: ``TRUNCATE`` (row triggers do not fire for it; a BEFORE TRUNCATE statement trigger does) and
``SET session_replication_role = replica`` (which skips ordinary triggers; ``ENABLE ALWAYS`` ones
still fire).

What remains is the table owner: it can ``ALTER TABLE … DISABLE TRIGGER``. Run the application
under a separate role that does not own the tables (docs/security.md has the REVOKE recipe).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9d1e4c7a2f30'
down_revision = '5e55101a0e7d'
branch_labels = None
depends_on = None

AUDIT_MESSAGE = "the audit log is append-only"
# Triggers that must fire even in replica mode, per table.
ALWAYS = {
    "movement": ("movement_append_only", "movement_no_truncate"),
    "audit_entry": ("audit_entry_append_only", "audit_entry_no_truncate"),
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{AUDIT_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
        op.execute(
            "CREATE FUNCTION refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME; END $$"
        )
        for table in ALWAYS:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()"
            )
        for table, triggers in ALWAYS.items():
            for trigger in triggers:
                op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")
    else:
        # SQLite has no TRUNCATE; its "DELETE FROM t" shortcut is not taken when a DELETE trigger exists.
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{action.lower()} BEFORE {action} ON audit_entry "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_MESSAGE}'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE movement ENABLE TRIGGER movement_append_only")
        for table in ALWAYS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS refuse_truncate()")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_entry_no_{action}")
