"""CLI commands and the demo dataset: same services, one transaction per command."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from api.extensions import db
from inventory.db import intends_to_write
from inventory.models import Item, Movement, Region, StockLine, Warehouse
from inventory.reference import RegionLevel, ReserveType
from inventory.stock import ledger_mismatches


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_init_db_is_idempotent_and_loads_regions_and_catalogue(app):
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "'inserted': 0" in result.output
    assert count(Item) == 61
    assert db.session.scalar(select(func.count()).where(Region.level == RegionLevel.COUNTY)) > 2800


def test_seed_demo_small_creates_a_consistent_dataset(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--scale", "small"])
    assert result.exit_code == 0, result.output
    assert count(Warehouse) == 80
    assert count(StockLine) == 1300
    assert count(Movement) == 1300
    # The opening receipts' reason is read on the Chinese page's ledger: no English phrase there.
    assert set(db.session.scalars(select(Movement.reason).distinct())) == {"演示数据期初结存"}
    assert ledger_mismatches(db.session) == []
    reserve_types = set(db.session.scalars(select(Warehouse.reserve_type).distinct()))
    assert reserve_types == set(ReserveType)
    # Every warehouse sits in a real county, near that county's coordinate.
    rows = db.session.execute(
        select(Warehouse.latitude, Warehouse.longitude, Region.latitude, Region.longitude).join(
            Region, Region.code == Warehouse.county_code
        )
    ).all()
    assert len(rows) == 80
    assert all(abs(a - c) <= 0.1 and abs(b - d) <= 0.1 for a, b, c, d in rows)
    assert db.session.scalar(select(func.min(StockLine.quantity))) > 0


def test_seed_demo_refuses_a_non_empty_database_unless_forced(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo", "--scale", "small"]).exit_code == 0
    refused = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert refused.exit_code != 0
    assert "already holds 80 warehouses" in refused.output and "add --force to seed-demo" in refused.output
    assert count(Warehouse) == 80
    skipped = runner.invoke(args=["seed-demo", "--scale", "small", "--if-empty"])
    assert skipped.exit_code == 0 and count(Warehouse) == 80
    forced = runner.invoke(args=["seed-demo", "--scale", "small", "--force", "--seed", "7"])
    assert forced.exit_code == 0, forced.output
    assert count(Warehouse) == 160
    assert ledger_mismatches(db.session) == []


def test_check_ledger_reports_agreement(app):
    app.test_cli_runner().invoke(args=["seed-demo", "--scale", "small"])
    result = app.test_cli_runner().invoke(args=["check-ledger"])
    assert result.exit_code == 0
    assert "agrees" in result.output


@pytest.mark.corrupts_ledger
@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE stock_line SET quantity = quantity + 1", "disagree with their ledger"),
        ("UPDATE stock_line SET reserved = 1000", "reserved 1.000 but its reserved call-up lines hold 0.000"),
    ],
)
def test_check_ledger_fails_with_status_1_on_either_invariant(app, stocked_line, statement, expected):
    stocked_line(10)
    with intends_to_write():
        db.session.execute(text(statement))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["check-ledger"])
    assert result.exit_code == 1, result.output
    assert expected in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["export-ledger", "-o", "{missing}/ledger.xlsx"],
        ["backup", "-o", "{missing}/copy.db"],
        ["settlement", "INC-NONE", "-o", "{missing}/sheet.xlsx"],
        ["import-ledger", "{ledger}", "--dry-run", "--report", "{missing}/report.xlsx"],
    ],
)
def test_an_output_file_in_a_missing_directory_is_refused_naming_the_option(app, tmp_path, args):
    """These commands once did their work and then died with a traceback (FileNotFoundError, FileCreateError)."""
    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(b"")
    missing = tmp_path / "no-such-directory"
    filled = [arg.format(missing=missing, ledger=ledger) for arg in args]
    result = app.test_cli_runner().invoke(args=filled)
    assert result.exit_code == 2, result.output
    assert f"directory '{missing}' does not exist" in result.output and "Traceback" not in result.output
    assert not missing.exists()


def test_demo_accounts_whose_file_cannot_be_written_are_not_created(app, tmp_path):
    """The accounts were committed before their file was written: a file that failed left accounts whose
    passwords and tokens nobody had, and the next run said they existed."""
    from sqlalchemy import select

    from api.extensions import db
    from inventory.models import User

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = app.test_cli_runner().invoke(args=["demo-accounts", "--file", str(blocker / "accounts.txt")])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username.like("demo-%"))) is None
    written = tmp_path / "accounts.txt"
    assert app.test_cli_runner().invoke(args=["demo-accounts", "--file", str(written)]).exit_code == 0
    assert "demo-admin" in written.read_text()
