"""Each worker caches who a token or a web session is; a change to an account still counts at once, everywhere.

The second worker below is a second app with its own engine, and so its own cache, on the same
database, as another gunicorn worker (or another host) would be. It authenticates first, so the
answer is cached there; then the first worker changes the account, and the second must see it on
its very next request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from api import create_app
from api.extensions import db
from tests.api.test_sessions import PASSWORD, make_user
from tests.conftest import bearer_client


@contextlib.contextmanager
def other_worker(database_url: str) -> Iterator:
    other = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test"})
    yield other
    with other.app_context():
        db.engine.dispose()


def token_id_of(client, username: str) -> int:
    return client.get(f"/api/v1/users/{username}/tokens").json[-1]["id"]


def test_a_cached_token_costs_one_statement_and_reads_no_account_table(database_url, token_for):
    token = token_for("viewer", username="cached")
    with other_worker(database_url) as worker:
        viewer = bearer_client(worker, token)
        assert viewer.get("/api/v1/auth/me").status_code == 200
        with worker.app_context():
            engine = db.engine
        sent: list[str] = []
        listener = lambda *args: sent.append(args[2])  # noqa: E731 (conn, cursor, statement, …)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert viewer.get("/api/v1/auth/me").json["username"] == "cached"
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    queries = [statement for statement in sent if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(queries) == 1 and "data_version" in queries[0], sent


@pytest.mark.parametrize(
    ("change", "effect"),
    [
        ("revoke", 401),
        ({"active": False}, 401),
        ({"role": "viewer", "warehouse_codes": []}, {"role": "viewer", "warehouse_ids": []}),
        ({"warehouse_codes": ["W2"]}, "W2"),
    ],
)
def test_a_token_cached_by_another_worker_follows_account_changes_at_once(
    app, database_url, client, token_for, make_warehouse, change, effect
):
    first = make_warehouse("W1")
    second = make_warehouse("W2")
    db.session.commit()
    token = token_for("manager", username="mia", warehouse_codes=["W1"])
    with other_worker(database_url) as worker:
        mia = bearer_client(worker, token)
        before = mia.get("/api/v1/auth/me")
        assert before.json == {
            "username": "mia",
            "role": "manager",
            "province_code": None,
            "warehouse_ids": [first.id],
            "warehouse_codes": ["W1"],
        }
        if change == "revoke":
            assert client.delete(f"/api/v1/tokens/{token_id_of(client, 'mia')}").status_code in (200, 204)
        else:
            assert client.patch("/api/v1/users/mia", json=change).status_code == 200, change
        after = mia.get("/api/v1/auth/me")
    if effect == 401:
        assert after.status_code == 401, after.json
    elif effect == "W2":
        assert (after.json["warehouse_ids"], after.json["warehouse_codes"]) == ([second.id], ["W2"])
    else:
        assert {key: after.json[key] for key in effect} == effect


def test_a_web_session_cached_by_another_worker_ends_at_once(app, database_url):
    make_user("wes")
    with other_worker(database_url) as worker:
        here = app.test_client()
        login = here.post("/api/v1/auth/login", json={"username": "wes", "password": PASSWORD})
        assert login.status_code == 200, login.json
        there = worker.test_client()
        there.set_cookie("session", here.get_cookie("session").value)
        assert there.get("/api/v1/auth/me").status_code == 200
        assert there.get("/api/v1/auth/me").status_code == 200  # now from that worker's cache
        logout = here.post("/api/v1/auth/logout", headers={"X-CSRF-Token": login.json["csrf_token"]})
        assert logout.status_code == 204
        assert there.get("/api/v1/auth/me").status_code == 401


def test_a_search_on_the_lean_path_refuses_a_token_revoked_by_another_worker_at_once(
    app, database_url, client, token_for
):
    """The lean path's login reads the token's memo inside the search's read transaction (``db.reading``):
    its data-version check still sees a revocation committed elsewhere before the next search."""
    token = token_for("responder", username="rita")
    search = {"lat": 39.93, "lon": 116.42, "item": "活性炭"}
    with other_worker(database_url) as worker:
        rita = bearer_client(worker, token)
        assert rita.get("/api/v1/nearest", query_string=search).status_code == 200
        assert rita.get("/api/v1/nearest", query_string=search).status_code == 200  # from the worker's memo
        assert client.delete(f"/api/v1/tokens/{token_id_of(client, 'rita')}").status_code in (200, 204)
        after = rita.get("/api/v1/nearest", query_string=search)
    assert after.status_code == 401, after.get_json()
