"""Web sessions that end: logout and account changes end them at once, whoever holds the cookie."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from api.extensions import db
from inventory.accounts import create_user
from inventory.db import intends_to_write
from inventory.models import AuditEntry
from tests.conftest import bearer_client

PASSWORD = "correct horse battery"


def make_user(username: str, role: str = "admin", **scope) -> None:
    with intends_to_write():
        create_user(db.session, "tester", username=username, role=role, password=PASSWORD, **scope)
        db.session.commit()


def log_in(app, username: str, address: str = "127.0.0.1"):
    """A browser logged in as ``username``, its CSRF token and the session cookie's value."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    response = browser.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.json
    return browser, response.json["csrf_token"], browser.get_cookie("session").value


def replay(app, cookie: str):
    """Another client presenting a captured cookie (what an attacker who copied it would do)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_logout_ends_the_session_even_for_a_captured_cookie(app, stocked_line):
    line = stocked_line(10)
    make_user("sam")
    browser, csrf, cookie = log_in(app, "sam")
    assert replay(app, cookie).get("/api/v1/auth/me").status_code == 200
    assert browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    thief = replay(app, cookie)
    assert thief.get("/api/v1/auth/me").status_code == 401
    issue = thief.post(f"/api/v1/stock-lines/{line.id}/issues", json={"quantity": 1}, headers={"X-CSRF-Token": csrf})
    assert issue.status_code == 401
    # In the order written: on PostgreSQL a heap emptied by DELETE (the reset between tests) returns rows in
    # whatever slots they filled, not in insertion order.
    audit = select(AuditEntry.action).where(AuditEntry.object_key == "sam").order_by(AuditEntry.id)
    actions = list(db.session.scalars(audit))
    assert actions == ["user.create", "user.login", "user.logout"]
    # Logging in again works, with a new session.
    _, _, again = log_in(app, "sam")
    assert again != cookie and replay(app, again).get("/api/v1/auth/me").status_code == 200


def test_logout_ends_only_that_session(app):
    make_user("sue")
    laptop, csrf, _ = log_in(app, "sue")
    phone, _, _ = log_in(app, "sue")
    assert laptop.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert laptop.get("/api/v1/auth/me").status_code == 401
    assert phone.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"password": "a brand new password"}, "password"),
        ({"active": False}, "deactivated"),
        ({"role": "viewer"}, "role"),
        ({"role": "provincial", "province_code": "110000"}, "role"),
        ({"warehouse_codes": ["W1"]}, "scope"),
    ],
)
def test_account_changes_end_every_session_of_the_user(app, client, make_warehouse, session, change, reason):
    make_warehouse("W1")
    session.commit()
    make_user("tom", role="manager" if "warehouse_codes" in change else "admin")
    _, _, first = log_in(app, "tom")
    _, _, second = log_in(app, "tom", address="10.0.0.2")
    make_user("uma")
    _, _, bystander = log_in(app, "uma")
    assert client.patch("/api/v1/users/tom", json=change).status_code == 200
    for cookie in (first, second):
        assert replay(app, cookie).get("/api/v1/auth/me").status_code == 401
    assert replay(app, bystander).get("/api/v1/auth/me").status_code == 200
    entry = client.get("/api/v1/audit", query_string={"action": "user.sessions_end", "object_key": "tom"}).json
    assert [(e["actor"], e["after"]) for e in entry] == [("admin", {"reason": reason, "sessions": 2})]


def test_an_unrelated_change_keeps_the_sessions(app, client):
    make_user("val")
    _, _, cookie = log_in(app, "val")
    assert client.patch("/api/v1/users/val", json={"display_name": "瓦尔", "role": "admin"}).status_code == 200
    assert replay(app, cookie).get("/api/v1/auth/me").status_code == 200
    assert client.get("/api/v1/audit", query_string={"action": "user.sessions_end"}).json == []


def test_the_cli_password_reset_ends_sessions(app):
    make_user("wes")
    _, _, cookie = log_in(app, "wes")
    result = app.test_cli_runner().invoke(args=["users", "set-password", "wes"], input="another long one\n" * 2)
    assert result.exit_code == 0, result.output
    assert replay(app, cookie).get("/api/v1/auth/me").status_code == 401


def test_the_last_active_administrator_cannot_be_demoted_or_deactivated(client, token_for):
    for change in ({"active": False}, {"role": "viewer"}):
        refused = client.patch("/api/v1/users/admin", json=change)
        assert refused.status_code == 409 and "last active administrator" in refused.json["detail"], refused.json
    token_for("admin", username="second-admin")
    assert client.patch("/api/v1/users/second-admin", json={"role": "viewer"}).status_code == 200
    token_for("admin", username="third-admin")
    assert client.patch("/api/v1/users/third-admin", json={"active": False}).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 200


def test_deactivation_revokes_tokens_so_reactivation_does_not_bring_them_back(app, client, token_for):
    token = token_for("viewer", username="vera")
    vera = bearer_client(app, token)
    assert vera.get("/api/v1/auth/me").status_code == 200
    assert client.patch("/api/v1/users/vera", json={"active": False}).status_code == 200
    assert client.patch("/api/v1/users/vera", json={"active": True}).status_code == 200
    assert vera.get("/api/v1/auth/me").status_code == 401


def test_a_csrf_header_of_non_ascii_bytes_is_refused_not_a_server_error(app):
    """An X-CSRF-Token of UTF-8 bytes (中, as a WSGI server hands them on: latin-1 text) was a 500:
    hmac.compare_digest refuses str holding non-ASCII characters. It is a wrong token: 403 naming the header."""
    make_user("sid")
    browser, _csrf, _cookie = log_in(app, "sid")
    response = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "中".encode().decode("latin-1")})
    assert response.status_code == 403 and response.json["code"] == "csrf_missing"


@pytest.mark.slow
def test_a_login_checking_the_old_password_while_it_changes_keeps_no_session(app, monkeypatch):
    """Real threads, one connection each: an administrator changes the password and commits while a login is
    checking the old one. The change ends the sessions it finds; the login must not add one after it (PostgreSQL's
    READ COMMITTED: the session's foreign key takes only KEY SHARE on the account, which does not wait)."""
    from inventory import accounts

    make_user("xia", role="viewer")
    real_verify = accounts.verify_password
    changed = threading.Event()

    def change_password() -> None:
        with app.app_context(), intends_to_write():
            accounts.update_user(db.session, "tester", "xia", password="a brand new password")
            db.session.commit()
            db.session.remove()
        changed.set()

    change = threading.Thread(target=change_password)

    def verify_then_change(password: str, stored: str | None) -> bool:
        matches = real_verify(password, stored)
        change.start()
        changed.wait(timeout=2)  # SQLite: the change waits for the login's write lock instead
        return matches

    monkeypatch.setattr(accounts, "verify_password", verify_then_change)
    browser = app.test_client()
    login = browser.post("/api/v1/auth/login", json={"username": "xia", "password": PASSWORD})
    change.join(timeout=30)
    assert changed.is_set()
    if login.status_code == 200:  # it came first: the change then ended its session
        assert browser.get("/api/v1/auth/me").status_code == 401
    else:
        assert login.status_code == 401, login.json
