import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app, g

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically; it must not silence the loggers that already exist (the
# app's own, when ``init-db`` migrates in a process that goes on serving or testing).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


# pg_advisory_xact_lock key of a migration run ("invmig" in ASCII); init-db holds its own key around it.
MIGRATION_LOCK_KEY = 0x696E766D6967


class MigrationAlreadyRunning(RuntimeError):
    pass


def _refusal() -> MigrationAlreadyRunning:
    return MigrationAlreadyRunning(
        "another migration is running on this database (flask db upgrade or init-db elsewhere); "
        "nothing was changed: wait for it to finish, then run this again"
    )


def _lock_migrations(connection) -> None:
    """One migration run at a time per database: a second one refuses at once (init-db waits its turn).

    PostgreSQL: a transaction-level advisory lock, released with the migration's own transaction.
    SQLite: an exclusive flock on ``<database file>.migrate-lock``, released when this process ends.
    """
    wait = bool(g.get("migration_lock_wait"))
    if connection.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        granted = connection.exec_driver_sql(f"SELECT {function}({MIGRATION_LOCK_KEY})").scalar()
        if not wait and not granted:
            raise _refusal()
        return
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:":
        return
    import fcntl

    lock_file = open(f"{database}.migrate-lock", "a")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise _refusal() from None
    g.migration_lock_file = lock_file


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        if connection.dialect.name == "sqlite":
            # SQLite batch migrations copy and drop tables; with foreign keys enforced, dropping a
            # referenced table fails. Turn them off for the migration (outside any transaction).
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

        with context.begin_transaction():
            _lock_migrations(connection)
            context.run_migrations()
        lock_file = g.pop("migration_lock_file", None)
        if lock_file is not None:
            lock_file.close()  # releases the flock


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
