"""Read-only endpoints read from a real streaming replica; writes, their authors and a stale or dead replica do not.

The standby is a pg_basebackup of the test server, streaming from it. Pausing its replay freezes what it
shows, so an answer tells which database it came from.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from api import create_app
from api.extensions import db
from api.replica import STICKY_COOKIE
from tests.conftest import bearer_client

API = "/api/v1"


def _replica_app(database_url: str, replica_url: str, max_lag: float):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_BINDS": {"replica": replica_url.replace("postgresql://", "postgresql+psycopg://")},
            "REPLICA_MAX_LAG_SECONDS": max_lag,
            "REPLICA_CHECK_SECONDS": 0,  # ask the replica on every request: the test changes it between requests
            "TESTING": True,
            "SECRET_KEY": "test",
        }
    )


def _caught_up(primary_url: str, replica_url: str) -> None:
    with psycopg.connect(primary_url) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + 30
    with psycopg.connect(replica_url, autocommit=True) as replica:
        while not replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)


def _quantity(client, warehouse: str) -> float:
    response = client.get(f"{API}/stock-lines", query_string={"warehouse": warehouse})
    assert response.status_code == 200, response.get_data(as_text=True)
    return sum(line["quantity"] for line in response.json)


@pytest.fixture
def stocked(app, standby, make_warehouse, stocked_line):
    """A stock line written after the standby started (so it has a replayed commit to date its lag by)."""
    stocked_line(100, warehouse=make_warehouse("REPLICA-WH"))
    db.session.remove()
    primary_url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    _caught_up(primary_url, standby.url)
    return primary_url


def test_reads_go_to_a_fresh_replica_writes_and_their_authors_to_the_primary(app, standby, stocked, token_for):
    replica_app = _replica_app(stocked, standby.url, max_lag=60)
    with psycopg.connect(standby.url, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        # Created on the primary only: authentication reads the primary even when the list reads the replica.
        reader = bearer_client(replica_app, token_for("viewer"))
        writer = bearer_client(replica_app, token_for("admin"))
        receipt = {"warehouse_code": "REPLICA-WH", "item_code": "PD-001", "quantity": 10, "batch": "B1"}
        written = writer.post(f"{API}/receipts", json=receipt)
        assert written.status_code == 201, written.get_data(as_text=True)
        assert writer.get_cookie(STICKY_COOKIE) is not None

        assert _quantity(reader, "REPLICA-WH") == 100  # the replica, frozen before the receipt
        assert _quantity(writer, "REPLICA-WH") == 110  # the writer reads its own write (the primary)
        nearest = reader.get(f"{API}/nearest", query_string={"lat": 39.93, "lon": 116.42, "item": "PD-001"})
        assert nearest.json["results"][0]["total_available"] == 100  # the search reads the replica too
        single = reader.get(f"{API}/stock-lines/{written.json['stock_line_id']}")
        assert single.json["quantity"] == 110  # one object, not a list: always the primary
        ready = replica_app.test_client().get("/ready").json
        assert ready["replica"]["reads"] == "replica", ready

        # Past the lag bound the replica is skipped; the same request reads the primary.
        strict_app = _replica_app(stocked, standby.url, max_lag=0)
        assert _quantity(bearer_client(strict_app, token_for("viewer")), "REPLICA-WH") == 110
        assert strict_app.test_client().get("/ready").json["replica"]["reads"] == "primary"

        replica.execute("SELECT pg_wal_replay_resume()")
    _caught_up(stocked, standby.url)
    assert _quantity(reader, "REPLICA-WH") == 110

    # A replica that is down is skipped: the answer comes from the primary, not a 503.
    standby.stop()
    assert (
        _quantity(bearer_client(_replica_app(stocked, standby.url, max_lag=60), token_for("viewer")), "REPLICA-WH")
        == 110
    )
    for engine in (replica_app, strict_app):
        with engine.app_context():
            db.engine.dispose()
            db.engines["replica"].dispose()
