"""The restore drill: a backup taken while writes go on restores, elsewhere, to one consistent moment."""

from __future__ import annotations

import stat
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api import create_app
from api.extensions import db
from inventory.db import intends_to_write
from inventory.models import Movement, StockLine, Warehouse
from inventory.stock import adjust_stock, get_stock_line

WRITE_SECONDS = 0.4  # writes before and after the backup starts


@pytest.fixture
def empty_database_url(db_kind, database_url, tmp_path):
    """A new, empty database next to the test one: a file (SQLite) or a database on the same server."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"restored_{uuid.uuid4().hex[:8]}"
    admin = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_backup_taken_during_writes_restores_to_one_moment(
    app, stocked_line, make_warehouse, tmp_path, empty_database_url
):
    line_ids = [stocked_line(1000, warehouse=make_warehouse()).id for _ in range(3)]
    db.session.remove()
    stop = threading.Event()
    written: list[int] = []  # movement ids in commit order (one writer: also id order)

    def write() -> None:
        with app.app_context():
            turn = 0
            while not stop.is_set():
                with intends_to_write():
                    line = get_stock_line(db.session, line_ids[turn % 3])
                    movement = adjust_stock(db.session, line=line, delta=Decimal(-1), actor="drill", reason="盘点差异")
                    db.session.commit()
                    written.append(movement.id)
                db.session.remove()
                turn += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(WRITE_SECONDS)
        before = len(written)
        backup_file = tmp_path / "inventory.backup"
        result = app.test_cli_runner().invoke(args=["backup", "-o", str(backup_file)])
        after = len(written)
        time.sleep(WRITE_SECONDS)
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert len(written) > after  # the database kept serving writes around the backup
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600  # password hashes inside: the owner's eyes only

    restored_app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True, "SECRET_KEY": "test"})
    restored_cli = restored_app.test_cli_runner()
    with restored_app.app_context():  # the CLI runs in the app context already pushed, so push this one
        restored = restored_cli.invoke(args=["restore", str(backup_file)])
        assert restored.exit_code == 0, restored.output
        checked = restored_cli.invoke(args=["check-ledger"])
        assert checked.exit_code == 0, checked.output
        db.session.remove()  # each command is a process of its own in real life: end check-ledger's read
        again = restored_cli.invoke(args=["restore", str(backup_file)])
        assert again.exit_code != 0 and "not empty" in again.output  # never over a database in use

        restored_ids = set(db.session.scalars(select(Movement.id)))
        restored_quantities = dict(db.session.execute(select(StockLine.id, StockLine.quantity)).all())
        restored_warehouses = db.session.scalar(select(func.count()).select_from(Warehouse))
        db.session.remove()
        db.engine.dispose()
    last = max(restored_ids)
    primary_ids = set(db.session.scalars(select(Movement.id)))
    # One moment: every entry committed up to the last restored one, and none after it.
    assert restored_ids == {movement_id for movement_id in primary_ids if movement_id <= last}
    drill_entries = restored_ids & set(written)
    assert before <= len(drill_entries) <= after, (before, len(drill_entries), after)
    expected = {
        line_id: db.session.scalar(
            select(func.sum(Movement.delta)).where(Movement.stock_line_id == line_id, Movement.id <= last)
        )
        for line_id in line_ids
    }
    assert {line_id: restored_quantities[line_id] for line_id in line_ids} == expected
    assert restored_warehouses == db.session.scalar(select(func.count()).select_from(Warehouse)) == 3
