"""The small endpoints the page needs (no browser): map settings, its session, my warehouses."""

from __future__ import annotations

from api import create_app


def test_page_config_is_anonymous_and_comes_from_configuration(anonymous_client):
    answer = anonymous_client.get("/api/v1/page-config")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "tile_url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "tile_attribution": "© OpenStreetMap contributors",
        "demo": False,
    }


def test_map_tile_url_and_attribution_are_read_from_the_environment(database_url):
    from api.config import Config

    config = Config({"MAP_TILE_URL": "http://tiles.internal/{z}/{x}/{y}.png", "MAP_TILE_ATTRIBUTION": "内网底图"})
    app = create_app({**config.as_dict(), "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test"})
    answer = app.test_client().get("/api/v1/page-config")
    assert answer.get_json() == {
        "tile_url": "http://tiles.internal/{z}/{x}/{y}.png",
        "tile_attribution": "内网底图",
        "demo": False,
    }


def test_page_session_is_empty_before_login_and_gives_the_csrf_token_after(app, anonymous_client):
    from api.extensions import db
    from inventory.accounts import create_user
    from inventory.db import intends_to_write

    answer = anonymous_client.get("/api/v1/page/session")
    assert answer.status_code == 200
    assert answer.get_json() == {"user": None, "csrf_token": None}

    credentials = {"username": "li.na", "password": "a long enough password"}
    with intends_to_write():
        create_user(db.session, "tester", role="responder", **credentials)
        db.session.commit()
    login = anonymous_client.post("/api/v1/auth/login", json=credentials)
    token = login.get_json()["csrf_token"]
    state = anonymous_client.get("/api/v1/page/session").get_json()
    assert state == {"user": login.get_json()["user"], "csrf_token": token}
    logout = anonymous_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": state["csrf_token"]})
    assert logout.status_code == 204
    assert anonymous_client.get("/api/v1/page/session").get_json()["user"] is None


def test_my_warehouses_lists_a_managers_assignments_and_needs_a_login(client_for, anonymous_client, make_warehouse):
    make_warehouse("W-B")
    make_warehouse("W-A")
    make_warehouse("W-C")
    from api.extensions import db

    db.session.commit()
    manager = client_for("manager", warehouse_codes=["W-B", "W-A"])
    assert [w["code"] for w in manager.get("/api/v1/page/my-warehouses").get_json()] == ["W-A", "W-B"]
    assert client_for("responder").get("/api/v1/page/my-warehouses").get_json() == []
    assert anonymous_client.get("/api/v1/page/my-warehouses").status_code == 401
