"""A command run on a database that has no schema yet says, in one line, to run init-db first."""

from __future__ import annotations

import pytest

from api import create_app
from api.cli import NO_SCHEMA
from api.extensions import db
from tests.empty_database import empty_database


@pytest.fixture
def database_without_schema(db_kind, database_template, tmp_path):
    """A database nobody ran init-db on: a new file, or a new PostgreSQL database."""
    with empty_database(db_kind, database_template, tmp_path, "cli_no_schema") as url:
        yield url


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
