"""The one review store (``inventory.import_review``): an item's entries settle together, and only once."""

from __future__ import annotations

from api.extensions import db
from inventory.access import Principal
from inventory.errors import Conflict
from inventory.import_review import (
    NEW_ITEM,
    NEW_WAREHOUSE,
    ReviewEntry,
    catalogue_reviews,
    confirm_review,
    record_review,
    review_list,
)
from inventory.imports import record_import
from inventory.reference import Role
from tests.unit.racing import run_at_once

ADMIN = Principal(username="root", role=Role.ADMIN)


def _two_imports_listing_one_item(session) -> tuple[int, int]:
    ids = []
    for name in ("a.xlsx", "b.xlsx"):
        record = record_import(session, ADMIN, file_name=name, sha256=name)
        entries = [ReviewEntry(NEW_ITEM, "PD-001", "added", [("台账", 2)])]
        entries.append(ReviewEntry(NEW_WAREHOUSE, "W-1", "registered", [("台账", 2)]))
        record_review(session, record.id, entries)
        ids.append(record.id)
    session.commit()
    return ids[0], ids[1]


def _entry_id(session, import_id: int, kind: str) -> int:
    [entry] = review_list(session, ADMIN, import_id)[kind]
    return entry.id


def test_confirming_an_item_settles_it_in_every_import_that_listed_it(session):
    first, second = _two_imports_listing_one_item(session)
    assert [(review.item_code, review.import_id) for review in catalogue_reviews(session)] == [("PD-001", first)]

    confirm_review(session, ADMIN, first, _entry_id(session, first, NEW_ITEM))
    session.commit()

    assert catalogue_reviews(session) == []
    [later] = review_list(session, ADMIN, second)[NEW_ITEM]
    assert (later.status, later.resolved_by) == ("confirmed", "root")
    [warehouse] = review_list(session, ADMIN, second)[NEW_WAREHOUSE]
    assert warehouse.status == "open"  # a warehouse entry is about its own import only


def test_two_people_confirming_one_entry_at_once_settle_it_once(app, session, db_kind):
    first, _second = _two_imports_listing_one_item(session)
    entry_id = _entry_id(session, first, NEW_ITEM)
    session.remove()

    outcomes = run_at_once_or_in_turn(app, db_kind, lambda: confirm_review(db.session, ADMIN, first, entry_id))

    assert sorted(outcomes) == ["done", f"refused: review entry {entry_id} is already settled"]


def run_at_once_or_in_turn(app, db_kind, job) -> list[str]:
    """Two threads at once on PostgreSQL; on SQLite (one writer) the second runs after the first."""

    if db_kind == "postgresql":
        return run_at_once(app, [job, job])
    outcomes = []
    for _ in range(2):
        try:
            job()
            db.session.commit()
            outcomes.append("done")
        except Conflict as refused:
            db.session.rollback()
            outcomes.append(f"refused: {refused.message}")
    return outcomes
