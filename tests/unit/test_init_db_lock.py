"""Several ``init-db`` at once on a fresh database (replicas starting together): one migrates, the others
wait their turn and find the schema up to date; every one exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from api.config import normalise_database_url
from inventory.models import Region
from inventory.regions import read_region_file

PROCESSES = 3
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_database_url(db_kind, database_template, tmp_path):
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg

    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = make_url(database_template).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_concurrent_init_db_on_a_fresh_database_all_succeed_once(fresh_database_url):
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "SECRET_KEY": "test"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "init-db"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]

    regions = len(read_region_file())
    inserted = [int(n) for out, _ in outputs for n in re.findall(r"'inserted': (\d+)", out)]
    assert sum(inserted) == regions  # the regions were loaded once, by whichever ran first

    engine = create_engine(normalise_database_url(fresh_database_url))
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            assert len(versions) == 1
            assert connection.scalar(select(func.count()).select_from(Region)) == regions
    finally:
        engine.dispose()
