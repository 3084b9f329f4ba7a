"""Catalogue entries, quotas and added words deleted (or edited) by two people at once.

Real threads, each with its own connection, against the real database (PostgreSQL's READ COMMITTED shows the
races; SQLite's single writer hides them): the second deletion finds nothing (404) instead of deleting nothing,
an edit racing a deletion is either done first or finds nothing, never a 500.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time

import pytest
from sqlalchemy import func, select

from api.extensions import db
from inventory.catalogue import create_item, delete_item, update_item
from inventory.db import intends_to_write
from inventory.errors import Conflict, NotFound
from inventory.models import AuditEntry
from inventory.quotas import create_quota, delete_quota, update_quota
from inventory.vocabulary import add_reserve_type_word, remove_reserve_type_word
from tests.unit.racing import run_at_once

pytestmark = pytest.mark.slow

ROUNDS = 4


def _item(session, number: int) -> tuple[str, str]:
    code = f"RACE-{number}"
    create_item(session, "tester", code=code, name=f"竞争物资{number}", category="other", unit="个")
    return code, f"no item with code {code!r}"


def _quota(session, number: int) -> tuple[int, str]:
    from inventory.warehouses import create_warehouse

    warehouse = create_warehouse(
        session,
        "tester",
        code=f"RQ{number}",
        name=f"竞争仓库{number}",
        reserve_type="government",
        county_code="110101",
        latitude=39.93,
        longitude=116.42,
        level="county",
    )
    quota = create_quota(session, "tester", minimum=10, warehouse=warehouse.code, item="PD-001")
    return quota.id, f"no reserve quota {quota.id}"


def _word(session, number: int) -> tuple[str, str]:
    word = f"竞争储备{number}"
    add_reserve_type_word(session, "tester", word, "third_party")
    return word, f"no added reserve type word {word!r}"


DELETIONS = {
    "item": (_item, delete_item, "item.delete"),
    "quota": (_quota, delete_quota, "quota.delete"),
    "word": (_word, remove_reserve_type_word, "vocabulary.reserve_type_word.delete"),
}


@pytest.mark.parametrize("kind", DELETIONS)
def test_two_deletions_at_once_delete_once(app, session, kind):
    make, delete, action = DELETIONS[kind]
    for number in range(ROUNDS):
        key, gone = make(session, number)
        session.commit()
        before = session.scalar(select(func.max(AuditEntry.id)))  # SQLite gives a deleted quota's id again
        session.remove()
        outcomes = run_at_once(app, [functools.partial(delete, db.session, "tester", key)] * 2)
        assert sorted(outcomes) == ["done", f"refused: {gone}"], outcomes
        audited = select(AuditEntry.id).where(
            AuditEntry.action == action, AuditEntry.object_key == str(key), AuditEntry.id > before
        )
        assert len(db.session.scalars(audited).all()) == 1
        db.session.remove()


EDITS = {
    "item": (_item, delete_item, "inventory.catalogue", "_apply_item_fields", {"name": "改名物资"}, update_item),
    "quota": (_quota, delete_quota, "inventory.quotas", "check_quantity", {"minimum": 20}, update_quota),
}


@pytest.mark.parametrize("kind", EDITS)
def test_an_edit_racing_a_deletion_is_done_first_or_finds_nothing(app, session, monkeypatch, kind):
    """The deletion is committed from another thread and connection while the edit is between its read and its
    write; an edit that holds the row waits for nothing and the deletion follows it."""
    make, delete, module, step, change, edit = EDITS[kind]
    key, gone = make(session, 0)
    session.commit()
    session.remove()
    deleted = threading.Event()

    def delete_it() -> None:
        with app.app_context(), intends_to_write():
            delete(db.session, "tester", key)
            db.session.commit()
            db.session.remove()
        deleted.set()

    deleter = threading.Thread(target=delete_it)
    real_step = getattr(importlib.import_module(module), step)

    def step_while_it_is_deleted(*args, **kwargs):
        if not deleter.is_alive() and not deleted.is_set():
            deleter.start()
            deleted.wait(timeout=2)  # with the row locked, the deletion waits for the edit instead
        return real_step(*args, **kwargs)

    monkeypatch.setattr(importlib.import_module(module), step, step_while_it_is_deleted)
    with intends_to_write():
        try:
            edit(db.session, "tester", key, **change)
            db.session.commit()
            edited = "done"
        except NotFound as refused:
            db.session.rollback()
            edited = f"refused: {refused.message}"
    db.session.remove()
    deleter.join(timeout=30)
    assert deleted.is_set()
    assert edited in ("done", f"refused: {gone}"), edited


def test_a_change_of_unit_waits_for_a_quota_being_added_and_counts_it(app, session, db_kind):
    """A quota of 100 个 added while an item's unit changed to 吨: the change read "nothing counted in 个" before
    the quota committed (the edit's NO KEY UPDATE lock does not meet the quota's foreign-key check), and the
    quota was read as 100 吨 from then on. The change now locks the item FOR UPDATE and waits for it."""
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer: the race exists on PostgreSQL only")
    code, _gone = _item(session, 9)
    _quota_id, _ = _quota(session, 9)  # a warehouse RQ9 (its quota is for PD-001)
    session.commit()
    session.remove()
    adding, added = threading.Event(), threading.Event()

    def add_quota() -> None:
        with app.app_context(), intends_to_write():
            create_quota(db.session, "tester", minimum=100, warehouse="RQ9", item=code)
            db.session.flush()  # inserted, its foreign key checked: the item held FOR KEY SHARE until the commit
            adding.set()
            time.sleep(0.5)
            db.session.commit()
            db.session.remove()
        added.set()

    adder = threading.Thread(target=add_quota)
    adder.start()
    assert adding.wait(timeout=10)
    with intends_to_write():
        try:
            update_item(db.session, "tester", code, unit="吨")
            db.session.commit()
            changed = "done"
        except Conflict as refused:
            db.session.rollback()
            changed = f"refused: {refused.message}"
    db.session.remove()
    adder.join(timeout=30)
    assert added.is_set()
    assert changed.startswith("refused: ") and "its unit cannot change" in changed, changed
