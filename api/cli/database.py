"""``init-db``, ``seed-demo`` and ``check-ledger``: the schema, the reference data, the demo, the invariants."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import click
from flask import Flask, g
from sqlalchemy import func, select

from api.cli.common import one_transaction
from api.extensions import db
from inventory.catalogue import seed_catalogue
from inventory.demo import SCALES, seed_demo
from inventory.logistics_checks import logistics_mismatches
from inventory.models import Warehouse
from inventory.regions import load_regions
from inventory.stock import ledger_mismatches, reservation_mismatches

# pg_advisory_lock key of init-db: any fixed bigint no other code uses ("invinit" in ASCII).
INIT_DB_LOCK_KEY = 0x696E76696E6974


@contextlib.contextmanager
def init_db_lock() -> Iterator[None]:
    """One init-db at a time per database; the others wait, then find the schema up to date.

    PostgreSQL: a session-level advisory lock held on a connection of its own for the whole
    command. SQLite: an exclusive ``flock`` on ``<database file>.init-lock`` (POSIX; the standard
    library's fcntl, no extra dependency). An in-memory SQLite database has no one to race with.
    """
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({INIT_DB_LOCK_KEY})")
            connection.commit()  # the lock is the session's: do not sit idle in a transaction
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({INIT_DB_LOCK_KEY})")
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    with Path(f"{database}.init-lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the schema, then load the regions and the shipped catalogue.

        Safe to run several at once (deploy scripts, replicas starting together): they take turns.
        """
        with init_db_lock():
            g.migration_lock_wait = True  # init-db waits for a running `db upgrade` rather than refusing
            from flask_migrate import upgrade  # alembic: only when migrating (api/extensions.py)

            upgrade()
            with one_transaction():
                regions = load_regions(db.session)
                items = seed_catalogue(db.session)
        click.echo(f"schema up to date; regions: {regions}; catalogue items added: {items}")

    @app.cli.command("seed-demo")
    @click.option("--scale", type=click.Choice(list(SCALES)), default="national", show_default=True)
    @click.option("--seed", type=int, default=2026, show_default=True, help="random seed (same seed, same data)")
    @click.option("--force", is_flag=True, help="add the demo even if the database already has warehouses")
    @click.option("--if-empty", is_flag=True, help="do nothing (successfully) if the database has warehouses")
    def seed_demo_command(scale: str, seed: int, force: bool, if_empty: bool) -> None:
        """Create the demo dataset: warehouses over the real counties, stock by batch, opening receipts."""
        if if_empty and db.session.scalar(select(func.count()).select_from(Warehouse)):
            click.echo("database already has warehouses; demo data not added")
            return
        started = time.perf_counter()

        def progress(step: str) -> None:
            click.echo(f"  {time.perf_counter() - started:5.1f} s  {step}", err=True)

        click.echo(f"seeding the {scale} demo dataset (invented warehouses, marked as a demo database)…", err=True)
        with one_transaction():
            counts = seed_demo(db.session, scale, seed=seed, force=force, progress=progress)
        click.echo(f"demo dataset ({scale}) created in {time.perf_counter() - started:.1f} s: {counts}")

    @app.cli.command("check-ledger")
    def check_ledger() -> None:
        """Verify the stock and logistics invariants; exit status 1 if any is broken.

        on hand = the sum of the line's ledger entries; reserved = the sum of its call-up lines still reserved;
        per shipment line the ledger matches what left and arrived; per call-up line dispatched = in transit +
        received + lost and received = consumed + returned + on site (nothing on site once the incident closes).
        """
        mismatches = ledger_mismatches(db.session)
        for line_id, quantity, total in mismatches[:50]:
            click.echo(f"stock line {line_id}: quantity {quantity} but ledger sums to {total}")
        held_wrong = reservation_mismatches(db.session)
        for line_id, reserved, total in held_wrong[:50]:
            click.echo(f"stock line {line_id}: reserved {reserved} but its reserved call-up lines hold {total}")
        logistics = logistics_mismatches(db.session)
        for problem in logistics[:50]:
            click.echo(problem)
        if mismatches or held_wrong or logistics:
            raise click.ClickException(
                f"{len(mismatches)} stock lines disagree with their ledger, "
                f"{len(held_wrong)} with their call-up reservations; {len(logistics)} logistics totals do not close"
            )
        click.echo(
            "every stock line agrees with its ledger and its call-up reservations; "
            "every shipment and call-up line's totals close"
        )
