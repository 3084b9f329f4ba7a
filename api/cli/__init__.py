"""CLI commands (``flask --app wsgi …``): thin wrappers that call the same services as the API.

One module per group of commands; what they share is in ``api.cli.common`` (one transaction per
command, ``--as``) and ``api.service_calls`` (the service calls the routes make too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from flask import Flask
from sqlalchemy.exc import DBAPIError

from api.cli import backup, database, ledger, logistics, nearest, notify, reports, users, vocabulary
from inventory.db import is_missing_table

NO_SCHEMA = "the database has no schema yet: run `flask --app wsgi init-db` first"


def register_commands(app: Flask) -> None:
    database.register(app)
    users.register(app)
    nearest.register(app)
    ledger.register(app)
    reports.register(app)
    backup.register(app)
    notify.register(app)
    logistics.register(app)
    vocabulary.register(app)
    for name, command in app.cli.commands.items():
        if name != "init-db":
            _explain_missing_schema(command)


def _explain_missing_schema(command: click.Command) -> None:
    """A command run on a database without the schema (a new DATABASE_URL, init-db forgotten) stops with one
    line saying what to do, not SQLAlchemy's traceback of "no such table". Both the parsing of its arguments
    (``--as`` reads the accounts) and its run are covered; a group's run includes its subcommands'."""
    for method in ("make_context", "invoke"):
        original = getattr(command, method)

        def guarded(*args, _original=original, **kwargs):
            with _schema_hint():
                return _original(*args, **kwargs)

        setattr(command, method, guarded)


@contextlib.contextmanager
def _schema_hint() -> Iterator[None]:
    try:
        yield
    except DBAPIError as error:
        if is_missing_table(error):
            raise click.ClickException(NO_SCHEMA) from None
        raise
