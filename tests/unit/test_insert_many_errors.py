"""``db.insert_many`` writes through the driver (COPY on PostgreSQL, executemany on SQLite): a driver error there
is raised as SQLAlchemy raises it from ``execute``, so the API answers a constraint with 409, not a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from inventory.db import insert_many
from inventory.models import DataVersion


def test_a_constraint_met_by_a_bulk_insert_is_sqlalchemy_s_integrity_error(session):
    names = list(session.scalars(select(DataVersion.name)))
    assert names, "the migrations seed the data versions"
    savepoint = session.begin_nested()
    with pytest.raises(IntegrityError):  # not the driver's own UniqueViolation / sqlite3.IntegrityError
        insert_many(session, DataVersion.__table__, [("a-new-one", 1), (names[0], 1)], ("name", "version"))
    savepoint.rollback()
    assert sorted(session.scalars(select(DataVersion.name))) == sorted(names)  # nothing half-written, still usable
