"""The application's database role (deploy/roles.sql) serves the API but cannot alter the ledger."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from api import create_app
from api.extensions import db
from tests.conftest import bearer_client

ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "roles.sql"


@pytest.fixture
def app_role_url(postgresql_only, database_url):
    """The test database as ``inventory_app``, with exactly the rights deploy/roles.sql grants."""
    owner = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(owner, autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS inventory_app")
        connection.execute("CREATE ROLE inventory_app LOGIN")
        connection.execute(ROLES_SQL.read_text())
    yield make_url(database_url).set(username="inventory_app").render_as_string(hide_password=False)
    with psycopg.connect(owner, autocommit=True) as connection:
        connection.execute("DROP OWNED BY inventory_app")
        connection.execute("DROP ROLE inventory_app")


def test_the_application_role_serves_the_api_but_cannot_alter_the_ledger(app, app_role_url, stocked_line, token_for):
    line_id = stocked_line(100).id
    token = token_for("admin")
    db.session.remove()
    served = create_app({"SQLALCHEMY_DATABASE_URI": app_role_url, "TESTING": True, "SECRET_KEY": "test"})
    client = bearer_client(served, token)
    issued = client.post(f"/api/v1/stock-lines/{line_id}/issues", json={"quantity": 5})
    assert issued.status_code == 201, issued.get_data(as_text=True)
    assert served.test_client().get("/ready").json["status"] == "ready"
    with served.app_context():
        db.engine.dispose()

    connection_url = make_url(app_role_url).set(drivername="postgresql").render_as_string(hide_password=False)
    for statement in (
        "UPDATE movement SET delta = 1",
        "DELETE FROM movement",
        "TRUNCATE movement",
        "UPDATE audit_entry SET actor = 'x'",
        "DELETE FROM audit_entry",
        "DELETE FROM alembic_version",
    ):
        with psycopg.connect(connection_url) as connection, pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(statement)
    for statement in (
        "ALTER TABLE movement DISABLE TRIGGER movement_no_truncate",
        "ALTER TABLE movement DROP COLUMN reason",
    ):
        with (
            psycopg.connect(connection_url) as connection,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="owner"),
        ):
            connection.execute(statement)
