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
