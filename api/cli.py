"""CLI commands (``flask --app wsgi …``): thin wrappers that call the same services as the API.

Each command is one transaction: it commits at the end or, on any error, writes nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade

from api.extensions import db
from inventory.access import SYSTEM_USERNAME, Principal
from inventory.accounts import get_user, principal_for
from inventory.catalogue import seed_catalogue
from inventory.db import intends_to_write
from inventory.demo import SCALES, seed_demo
from inventory.errors import DomainError
from inventory.regions import load_regions
from inventory.stock import ledger_mismatches, reservation_mismatches


@contextlib.contextmanager
def one_transaction() -> Iterator[None]:
    """Commit what the block did, or roll it all back and report a domain error as a CLI error."""
    with intends_to_write():
        try:
            yield
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        except BaseException:
            db.session.rollback()
            raise


def account_option(*, dest: str = "operator"):
    """``--as NAME``: who a command acts as.

    With ``--as`` the command acts exactly as that account would through the API: its role and
    scope (a provincial account imports and exports its own province only, a viewer writes
    nothing), recorded under its name with address ``cli``. A deactivated account is refused.
    Without it the command is the trusted shell operator ``system``: full rights, and the ledger
    and the audit log say ``system`` from ``cli``.
    """

    def resolve(ctx: click.Context, param: click.Parameter, username: str) -> Principal:
        if username == SYSTEM_USERNAME:
            return Principal.operator()
        try:
            user = get_user(db.session, username)
        except DomainError as error:
            raise click.BadParameter(f"no account {username!r} (create it with `users create`)") from error
        if not user.active:
            raise click.BadParameter(f"account {username!r} is deactivated")
        return principal_for(user, address="cli")

    return click.option(
        "--as",
        dest,
        default=SYSTEM_USERNAME,
        show_default=True,
        metavar="USERNAME",
        callback=resolve,
        help="act as this account, with its role and scope as in the API (default: the operator, recorded as system)",
    )


operator_option = account_option()

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


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the schema, then load the regions and the shipped catalogue.

        Safe to run several at once (deploy scripts, replicas starting together): they take turns.
        """
        with init_db_lock():
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
        from sqlalchemy import func, select

        from inventory.models import Warehouse

        if if_empty and db.session.scalar(select(func.count()).select_from(Warehouse)):
            click.echo("database already has warehouses; demo data not added")
            return
        started = time.perf_counter()
        with one_transaction():
            counts = seed_demo(db.session, scale, seed=seed, force=force)
        click.echo(f"demo dataset ({scale}) created in {time.perf_counter() - started:.1f} s: {counts}")

    @app.cli.command("check-ledger")
    def check_ledger() -> None:
        """Verify the two stock invariants; exit status 1 if either is broken.

        on hand = the sum of the line's ledger entries; reserved = the sum of its call-up lines still reserved.
        """
        mismatches = ledger_mismatches(db.session)
        for line_id, quantity, total in mismatches[:50]:
            click.echo(f"stock line {line_id}: quantity {quantity} but ledger sums to {total}")
        held_wrong = reservation_mismatches(db.session)
        for line_id, reserved, total in held_wrong[:50]:
            click.echo(f"stock line {line_id}: reserved {reserved} but its reserved call-up lines hold {total}")
        if mismatches or held_wrong:
            raise click.ClickException(
                f"{len(mismatches)} stock lines disagree with their ledger, "
                f"{len(held_wrong)} with their call-up reservations"
            )
        click.echo("every stock line agrees with its ledger and its call-up reservations")

    from api import users_cli

    users_cli.register(app)

    from api import nearest_cli

    nearest_cli.register(app)

    from api import ledger_cli

    ledger_cli.register(app)

    from api import report_cli

    report_cli.register(app)
