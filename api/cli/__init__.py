"""CLI commands (``flask --app wsgi …``): thin wrappers that call the same services as the API.

One module per group of commands; what they share is in ``api.cli.common`` (one transaction per
command, ``--as``) and ``api.service_calls`` (the service calls the routes make too).
"""

from __future__ import annotations

from flask import Flask

from api.cli import database, ledger, nearest, reports, users, vocabulary


def register_commands(app: Flask) -> None:
    database.register(app)
    users.register(app)
    nearest.register(app)
    ledger.register(app)
    reports.register(app)
    vocabulary.register(app)
