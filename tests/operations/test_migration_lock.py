"""`flask --app wsgi db upgrade` refuses to run while another migration runs on the same database."""

from __future__ import annotations

import fcntl

import flask_migrate
import psycopg
from flask_migrate.cli import db as migrate_commands
from sqlalchemy.engine import make_url

MIGRATION_LOCK_KEY = 0x696E766D6967  # migrations/env.py


def test_a_second_migration_is_refused_while_one_runs(app, db_kind, database_url, monkeypatch):
    url = make_url(database_url)
    if db_kind == "postgresql":
        holder = psycopg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
        )
        holder.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")  # as a running migration holds it
    else:
        holder = open(f"{url.database}.migrate-lock", "a")  # noqa: SIM115
        fcntl.flock(holder, fcntl.LOCK_EX)
    runner = app.test_cli_runner()
    errors: list[str] = []  # Flask-Migrate logs the error and exits 1; alembic's fileConfig resets its handlers
    monkeypatch.setattr(flask_migrate.log, "error", errors.append)
    try:
        refused = runner.invoke(migrate_commands, ["upgrade"])
    finally:
        if db_kind == "postgresql":
            # Released before the next upgrade tries (it does not wait): a closed connection's backend lets its
            # locks go only when it exits, a moment later (likely why a CI run of 4234065 failed here).
            holder.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
        holder.close()
    assert refused.exit_code != 0
    assert any("another migration is running" in line for line in errors), errors

    done = runner.invoke(migrate_commands, ["upgrade"])
    assert done.exit_code == 0, done.output
