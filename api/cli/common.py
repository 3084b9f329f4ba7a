"""What every command module shares: one transaction per command, and ``--as`` (who a command acts as).

Each command is one transaction: it commits at the end or, on any error, writes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import click

from api.extensions import db
from inventory.access import SYSTEM_USERNAME, Principal
from inventory.accounts import get_user, principal_for
from inventory.db import intends_to_write
from inventory.errors import DomainError


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


class OutputFile(click.Path):
    """A file a command writes (``-o``, ``--report``): refused before any work when its directory is missing or
    read-only, naming the option; else the command did its work and then died with a traceback."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value, param, ctx) -> Path:
        path = super().convert(value, param, ctx)
        directory = path.absolute().parent
        if not directory.is_dir():
            self.fail(f"directory {str(directory)!r} does not exist", param, ctx)
        if not os.access(directory, os.W_OK):
            self.fail(f"directory {str(directory)!r} is not writable", param, ctx)
        return path


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
            if not user.active:
                raise click.BadParameter(f"account {username!r} is deactivated")
            return principal_for(user, address="cli")  # plain data: it outlives the read
        except DomainError as error:
            raise click.BadParameter(f"no account {username!r} (create it with `users create`)") from error
        finally:
            # End this read so the command's own transaction starts with its write intent (on SQLite,
            # BEGIN IMMEDIATE); a snapshot kept open here would fail its first write if the web wrote meanwhile.
            db.session.rollback()

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


def utc_minute(moment: dt.datetime | str) -> str:
    """A moment for a terminal: to the minute, in UTC, saying so (the API's ISO text or a datetime)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # the database's UTC, as stored
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
