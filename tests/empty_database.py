"""A database of a test's own with no schema in it (a test that runs init-db or the migrations itself)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def empty_database(db_kind: str, database_template: str, tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new, empty database called ``name``: a file under ``tmp_path``, or a new PostgreSQL database
    on the test server (dropped afterwards)."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        return
    url = make_url(database_template)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
