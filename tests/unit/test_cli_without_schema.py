"""A command run on a database that has no schema yet says, in one line, to run init-db first."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api import create_app
from api.cli import NO_SCHEMA
from api.extensions import db


@pytest.fixture
def database_without_schema(db_kind, database_template, tmp_path):
    """A database nobody ran init-db on: a new file, or a new PostgreSQL database."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'no-schema.sqlite3'}"
        return
    url = make_url(database_template)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS cli_no_schema"))
        connection.execute(sa.text("CREATE DATABASE cli_no_schema"))
    yield url.set(database="cli_no_schema").render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS cli_no_schema WITH (FORCE)"))
    admin.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ["check-ledger"],  # the command itself reads
        ["users", "list"],  # a group's subcommand
        ["settlement", "INC-1", "--as", "admin"],  # --as reads the accounts while the arguments are parsed
    ],
)
def test_a_command_on_a_database_without_the_schema_says_to_run_init_db(database_without_schema, args):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_without_schema, "TESTING": True, "SECRET_KEY": "test"})
    with app.app_context():  # as `flask` gives every command (the test runner leaves it to the caller)
        result = app.test_cli_runner().invoke(args=args)
        db.engine.dispose()
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [f"Error: {NO_SCHEMA}"]
    assert "init-db" in NO_SCHEMA
