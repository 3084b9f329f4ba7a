"""The ledger and the audit log are append-only in the database itself, whoever connects.

Row triggers refuse UPDATE and DELETE on both databases; on PostgreSQL a statement trigger also
refuses TRUNCATE, and the triggers are ENABLE ALWAYS so ``session_replication_role = replica``
(which skips ordinary triggers) does not switch them off.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from inventory.models import AuditEntry, Movement


@pytest.fixture
def postgresql_only(db_kind):
    if db_kind != "postgresql":
        pytest.skip("TRUNCATE and replication roles are PostgreSQL's")


def _counts(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Movement)),
        session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def test_the_database_refuses_to_edit_or_delete_an_audit_entry(session, stocked_line):
    stocked_line(10)
    entry_id = session.scalar(select(func.min(AuditEntry.id)))
    actor = session.get(AuditEntry, entry_id).actor
    session.rollback()
    for statement in (
        "UPDATE audit_entry SET actor = 'someone-else' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
        "DELETE FROM audit_entry",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement), {"id": entry_id})
        session.rollback()
    assert session.get(AuditEntry, entry_id).actor == actor != "someone-else"


@pytest.mark.parametrize("statement", ["TRUNCATE movement", "TRUNCATE audit_entry", "TRUNCATE stock_line CASCADE"])
def test_truncate_of_the_ledger_or_the_audit_log_is_refused(session, stocked_line, postgresql_only, statement):
    stocked_line(10)
    before = _counts(session)
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        session.execute(text(statement))
    session.rollback()
    assert _counts(session) == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE movement SET delta = 1",
        "DELETE FROM movement",
        "UPDATE audit_entry SET actor = 'x'",
        "DELETE FROM audit_entry",
        "TRUNCATE movement, audit_entry",
    ],
)
def test_replica_mode_does_not_skip_the_guards(session, stocked_line, postgresql_only, statement):
    stocked_line(10)
    before = _counts(session)
    session.execute(text("SET LOCAL session_replication_role = replica"))
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert _counts(session) == before
