"""A warehouse edited by two people at once: the second edit is checked against what the first committed.

Real threads, each with its own connection, against the real database (PostgreSQL's READ COMMITTED shows the
race; SQLite's single writer hides it).
"""

from __future__ import annotations

import functools
import threading

import pytest
from sqlalchemy import select

from api.extensions import db
from inventory import warehouses
from inventory.access import Principal
from inventory.db import intends_to_write
from inventory.errors import Forbidden
from inventory.models import AuditEntry
from inventory.reference import Role
from tests.unit.racing import run_at_once

pytestmark = pytest.mark.slow

BEIJING_STAFF = Principal(username="bj", role=Role.PROVINCIAL, province_code="110000")


def test_a_move_out_of_the_province_is_not_undone_by_that_province_s_edit_at_once(
    app, session, make_warehouse, monkeypatch
):
    """An administrator moves a warehouse from Beijing to Tianjin while Beijing's staff move it within Beijing.
    Either Beijing's edit came first (then the warehouse ends in Tianjin) or it is refused (it is no longer
    Beijing's): never both done with the warehouse back in Beijing, the administrator's move lost."""
    code = make_warehouse(county_code="110101").code
    session.commit()
    session.remove()
    real_resolve = warehouses.resolve_region_path
    moved = threading.Event()

    def move_to_tianjin() -> None:
        with app.app_context(), intends_to_write():
            warehouses.update_warehouse(db.session, "tester", code, county_code="120101")
            db.session.commit()
            db.session.remove()
        moved.set()

    mover = threading.Thread(target=move_to_tianjin)

    def resolve_while_it_moves(*args, **kwargs):
        if not mover.is_alive() and not moved.is_set():  # Beijing's edit, the warehouse read: the move now
            mover.start()
            moved.wait(timeout=2)  # with the warehouse's row locked, the move waits for this edit instead
        return real_resolve(*args, **kwargs)

    monkeypatch.setattr(warehouses, "resolve_region_path", resolve_while_it_moves)
    with intends_to_write():
        try:
            warehouses.update_warehouse(db.session, BEIJING_STAFF, code, county_code="110105")
            db.session.commit()
            beijing = "done"
        except Forbidden:
            db.session.rollback()
            beijing = "refused"
    db.session.remove()
    mover.join(timeout=30)
    assert moved.is_set()
    assert warehouses.get_warehouse(db.session, code).county_code == "120101", beijing


def test_two_deletions_of_one_warehouse_at_once_delete_it_once(app, session, make_warehouse):
    code = make_warehouse().code
    session.commit()
    session.remove()
    outcomes = run_at_once(app, [functools.partial(warehouses.delete_warehouse, db.session, "tester", code)] * 2)
    assert sorted(outcomes) == ["done", f"refused: no warehouse with code {code!r}"], outcomes
    deleted = select(AuditEntry.id).where(AuditEntry.action == "warehouse.delete", AuditEntry.object_key == code)
    assert len(db.session.scalars(deleted).all()) == 1
