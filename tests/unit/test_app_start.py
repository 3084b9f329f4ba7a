"""The app's start imports what serving needs; a library only one command or one request uses is imported there.

~45 processes start the app in a `make test` run (pytest jobs, gunicorn workers, CLI subprocesses), and every
gunicorn worker in production: Flask-Migrate with alembic, and openpyxl, were ~0.4 s of CPU at each start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.extensions import db

ROOT = Path(__file__).resolve().parents[2]
# Imported only by init-db and `flask db` (api/extensions.py, api/cli/database.py), and by the annotated upload's
# in-place edit (importers/annotate.py).
NOT_AT_START = ("flask_migrate", "alembic", "openpyxl")


def test_starting_the_app_leaves_the_migration_and_workbook_editing_libraries_unimported(db_kind, tmp_path):
    if db_kind != "sqlite":
        pytest.skip("what the app imports at its start does not depend on the database (a process of its own)")
    code = (
        "import json, sys\n"
        "import api\n"
        f"api.create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path / 'start.sqlite3'}', 'TESTING': True}})\n"
        f"print(json.dumps([name for name in {NOT_AT_START!r} if name in sys.modules]))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_flask_db_commands_still_run(app):
    """``flask db`` is Flask-Migrate's group, loaded when it runs, with the settings ``create_app`` gave it:
    ``db check`` reads the migrations, the database and the models, and fails (exit 1) when they differ."""
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["--help"])
    assert "Perform database migrations." in listed.output
    checked = runner.invoke(args=["db", "check"])
    assert checked.exit_code == 0, checked.output


def test_the_lazy_migration_settings_are_what_flask_migrate_would_keep(app):
    """``api.extensions.LazyMigrate`` reproduces Flask-Migrate's ``init_app``: the attributes migrations/env.py and
    Flask-Migrate's commands read must be the ones Flask-Migrate itself would store, so an upgrade of Flask-Migrate
    that changes them fails here, not in a migration."""
    from flask import Flask
    from flask_migrate import Migrate

    ours = app.extensions["migrate"]
    theirs_app = Flask("reference")
    Migrate(theirs_app, db, directory=ours.directory, **ours.configure_args)
    theirs = theirs_app.extensions["migrate"]
    assert (ours.db, ours.directory, ours.configure_args, ours.metadata) == (
        theirs.db,
        theirs.directory,
        theirs.configure_args,
        theirs.metadata,
    )
    public = {name for name in dir(theirs) if not name.startswith("_")}
    assert public <= {name for name in dir(ours) if not name.startswith("_")}
    assert type(ours.migrate) is type(theirs.migrate) and ours.migrate.directory == theirs.migrate.directory
