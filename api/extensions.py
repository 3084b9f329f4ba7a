"""Extension objects, bound to an app in ``create_app``: nothing connects at import time."""

import contextvars

import click
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession

from inventory.models import Base

REPLICA_BIND = "replica"
# Set by api.replica for the requests it routes to the streaming replica; everything else reads the primary.
read_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("read_from_replica", default=False)


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending a replica-routed request's queries to the replica bind."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and read_from_replica.get():
            replica = self._db.engines.get(REPLICA_BIND)
            if replica is not None:
                return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})


class MigrationSettings:
    """What Flask-Migrate's ``init_app`` keeps in ``app.extensions["migrate"]``, without importing Flask-Migrate.

    Flask-Migrate brings in alembic, mako, pygments and argparse: ~0.4 s of CPU at every start of the app (each
    gunicorn worker, pytest job and CLI process), used only by ``init-db``, ``flask db`` and a worker's first
    ``/ready`` (``observability.migration_heads``, once per process: that answer costs the ~0.4 s). Its ``Migrate``
    is made when a migration asks for it (``upgrade()`` reads ``.migrate``; migrations/env.py ``.db`` and
    ``.configure_args``)."""

    def __init__(self, db, directory: str, **configure_args) -> None:
        self.db = db
        self.directory = directory
        self.configure_args = configure_args
        self._migrate = None

    @property
    def metadata(self):
        return self.db.metadata

    @property
    def migrate(self):
        if self._migrate is None:
            from flask_migrate import Migrate

            self._migrate = Migrate(db=self.db, directory=self.directory, **self.configure_args)
        return self._migrate


class MigrationCommands(click.Group):
    """``flask db ...``: Flask-Migrate's command group, imported when it runs (listed by ``flask --help``)."""

    def make_context(self, info_name, args, parent=None, **extra):
        from flask_migrate.cli import db as commands

        return commands.make_context(info_name, args, parent=parent, **extra)


class LazyMigrate:
    """``Migrate().init_app`` as Flask-Migrate does it (the settings and the ``db`` commands), imported lazily."""

    def init_app(self, app, db, directory: str = "migrations", **configure_args) -> None:
        app.extensions["migrate"] = MigrationSettings(db, str(directory), **configure_args)
        app.cli.add_command(MigrationCommands("db", help="Perform database migrations."))


migrate = LazyMigrate()
