"""The migrations build exactly the schema the models describe, on each database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.extensions import db
from inventory.models import Base


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_data_version_counts_changes_from_any_writer(session, make_warehouse):
    from inventory.db import data_version
    from inventory.warehouses import update_warehouse

    before = data_version(session, "warehouse")
    warehouse = make_warehouse()
    after_create = data_version(session, "warehouse")
    update_warehouse(session, "tester", warehouse.code, name="改名")
    assert before < after_create < data_version(session, "warehouse")


def _partial_indexes(connection) -> set[str]:
    """The names of the database's partial indexes (alembic's comparison does not look at predicates)."""
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indpred IS NOT NULL")
        )
        return {name for (name,) in rows}
    names = set()
    for (table,) in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")):
        for row in connection.execute(text(f'PRAGMA index_list("{table}")')):
            if row.partial:
                names.add(row.name)
    return names


def test_the_migrations_make_partial_exactly_the_indexes_the_models_make_partial(app):
    dialect = db.engine.dialect.name
    wanted = {
        index.name
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.dialect_options[dialect]["where"] is not None
    }
    assert "ix_movement_transfer_key" in wanted  # only transfers carry a key: the others' NULLs are not indexed
    with db.engine.connect() as connection:
        assert _partial_indexes(connection) == wanted


def test_a_transfer_s_entries_are_found_by_the_partial_index(app):
    from sqlalchemy import text

    query = "SELECT id FROM movement WHERE transfer_key = 'k'"
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {query}")))
        else:
            plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}")))
    assert "ix_movement_transfer_key" in plan
