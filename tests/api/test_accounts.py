"""Accounts, tokens, web login with CSRF, failed-login limits and the audit log."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from sqlalchemy import select, text, update

from api.extensions import db
from inventory.accounts import create_token, create_user, hash_password, revoke_token, update_user, verify_password
from inventory.db import intends_to_write
from inventory.errors import ValidationFailed
from inventory.models import ApiToken, AuditEntry, Movement, User
from tests.conftest import bearer_client


def make_user(username: str, role: str = "viewer", password: str | None = "correct horse battery", **scope) -> None:
    with intends_to_write():
        create_user(db.session, "tester", username=username, role=role, password=password, **scope)
        db.session.commit()


def test_passwords_are_salted_scrypt_hashes():
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert stored != hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("wrong", stored)
    assert not verify_password("anything", None)


def test_tokens_are_stored_only_as_hashes(client, app):
    make_user("carol")
    response = client.post("/api/v1/users/carol/tokens", json={"name": "laptop", "days": 30})
    assert response.status_code == 201
    plain = response.json["token"]
    assert plain.startswith("emi_") and len(plain) > 40
    dump = "\n".join(str(row) for row in db.session.execute(text("SELECT * FROM api_token")))
    assert plain not in dump
    audit = "\n".join(str(row) for row in db.session.execute(text("SELECT before, after FROM audit_entry")))
    assert plain not in audit and "token_hash" not in audit
    assert bearer_client(app, plain).get("/api/v1/auth/me").json["username"] == "carol"
    listed = client.get("/api/v1/users/carol/tokens").json
    assert [t["prefix"] for t in listed] == [plain[:12]] and "token" not in listed[0]


def test_expired_and_revoked_tokens_get_401(client, app):
    make_user("dave")
    with intends_to_write():
        expiring, expiring_plain = create_token(db.session, "tester", username="dave")
        revoked, revoked_plain = create_token(db.session, "tester", username="dave")
        db.session.commit()
    assert bearer_client(app, expiring_plain).get("/api/v1/items").status_code == 200
    with intends_to_write():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.execute(update(ApiToken).where(ApiToken.id == expiring.id).values(expires_at=past))
        db.session.commit()
    assert client.delete(f"/api/v1/tokens/{revoked.id}").status_code == 200
    for plain in (expiring_plain, revoked_plain, "emi_not-a-token"):
        response = bearer_client(app, plain).get("/api/v1/items")
        assert response.status_code == 401
        assert response.json["title"] == "Unauthorized"


def test_deactivated_account_loses_its_tokens_at_once(client, app):
    make_user("erin")
    with intends_to_write():
        _, plain = create_token(db.session, "tester", username="erin")
        db.session.commit()
    assert client.patch("/api/v1/users/erin", json={"active": False}).status_code == 200
    assert bearer_client(app, plain).get("/api/v1/items").status_code == 401


def test_web_login_sets_a_session_and_writes_need_the_csrf_token(app, make_warehouse, session):
    make_warehouse("W1")
    session.commit()
    make_user("frank", role="provincial", province_code="110000")
    browser = app.test_client()
    response = browser.post("/api/v1/auth/login", json={"username": "frank", "password": "correct horse battery"})
    assert response.status_code == 200
    csrf = response.json["csrf_token"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert browser.get("/api/v1/auth/me").json == {
        "username": "frank",
        "role": "provincial",
        "province_code": "110000",
        "warehouse_codes": [],
        "warehouse_ids": [],
    }
    refused = browser.patch("/api/v1/warehouses/W1", json={"notes": "x"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json["detail"]
    wrong = browser.patch("/api/v1/warehouses/W1", json={"notes": "x"}, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    accepted = browser.patch("/api/v1/warehouses/W1", json={"notes": "x"}, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200
    assert browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_failed_logins_are_limited_per_account(app):
    """Per account and source; more in test_login_throttle.py (where a NAT's strangers no longer block anyone)."""
    make_user("gina")
    browser = app.test_client()
    for _ in range(5):
        response = browser.post("/api/v1/auth/login", json={"username": "gina", "password": "wrong password"})
        assert response.status_code == 401
        assert response.json["errors"] == {"password": ["wrong username or password"]}
    limited = browser.post("/api/v1/auth/login", json={"username": "gina", "password": "correct horse battery"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    # Other accounts from elsewhere are not affected.
    make_user("hank")
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert (
        other.post("/api/v1/auth/login", json={"username": "hank", "password": "correct horse battery"}).status_code
        == 200
    )


def test_unknown_user_and_wrong_password_look_the_same(app):
    make_user("judy")
    browser = app.test_client()
    browser.environ_base["HTTP_X_REQUEST_ID"] = "same-id"  # each answer quotes its request id: make it one
    unknown = browser.post("/api/v1/auth/login", json={"username": "nobody", "password": "whatever12"})
    wrong = browser.post("/api/v1/auth/login", json={"username": "judy", "password": "whatever12"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json


def test_audit_records_who_what_before_after_and_address(client, make_warehouse, session):
    make_warehouse("W1", county_code="110101")
    session.commit()
    response = client.patch(
        "/api/v1/warehouses/W1", json={"contact_phone": "010-8888"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert response.status_code == 200
    entry = client.get("/api/v1/audit", query_string={"action": "warehouse.update"}).json[0]
    assert entry["actor"] == "admin" and entry["address"] == "10.1.2.3"
    assert entry["object_key"] == "W1" and entry["province_code"] == "110000"
    assert entry["before"]["contact_phone"] == "" and entry["after"]["contact_phone"] == "010-8888"


def test_audit_is_scoped_to_the_province_and_closed_to_other_roles(client_for, make_warehouse, session, stocked_line):
    stocked_line(10, warehouse=make_warehouse("BJ", county_code="110101"))
    stocked_line(10, warehouse=make_warehouse("GD", county_code="440305", latitude=22.5, longitude=113.9))
    beijing = client_for("provincial", province_code="110000").get("/api/v1/audit", query_string={"page_size": 100})
    keys = {entry["object_key"] for entry in beijing.json if entry["object_type"] == "warehouse"}
    assert keys == {"BJ"}
    assert {entry["province_code"] for entry in beijing.json} == {"110000"}
    for role in ("manager", "responder", "viewer"):
        assert client_for(role).get("/api/v1/audit").status_code == 403


def test_ledger_records_the_authenticated_actor(client_for, stocked_line, make_warehouse):
    line = stocked_line(10, warehouse=make_warehouse("MINE"))
    manager = client_for("manager", username="mia", warehouse_codes=["MINE"])
    assert manager.post(f"/api/v1/stock-lines/{line.id}/issues", json={"quantity": 2}).status_code == 201
    actors = list(db.session.scalars(select(Movement.actor).order_by(Movement.id)))
    assert actors == ["tester", "mia"]


def test_cli_acts_as_the_named_operator(app, stocked_line):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "olga", "--role", "admin", "--password", "long enough pw"])
    assert created.exit_code == 0, created.output
    made = runner.invoke(args=["users", "create", "pete", "--role", "viewer", "--as", "olga"])
    assert made.exit_code == 0, made.output
    token = runner.invoke(args=["users", "token", "pete", "--days", "7", "--as", "olga"])
    assert token.exit_code == 0 and token.output.strip().splitlines()[-1].startswith("emi_")
    actors = set(db.session.scalars(select(AuditEntry.actor).where(AuditEntry.object_key == "pete")))
    assert actors == {"olga"}
    unknown = runner.invoke(args=["users", "create", "quin", "--role", "viewer", "--as", "ghost"])
    assert unknown.exit_code != 0 and "no account 'ghost'" in unknown.output


def test_demo_accounts_cover_every_role_and_are_written_to_a_file(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--scale", "small"])
    path = tmp_path / "accounts.txt"
    result = runner.invoke(args=["demo-accounts", "--file", str(path)])
    assert result.exit_code == 0, result.output
    text_ = path.read_text()
    for role in ("admin", "provincial", "manager", "responder", "viewer"):
        assert f"demo-{role}" in text_
    password = next(line for line in text_.splitlines() if line.startswith("demo-manager")).split("password=")[1]
    login = app.test_client().post("/api/v1/auth/login", json={"username": "demo-manager", "password": password})
    assert login.status_code == 200 and login.json["user"]["warehouse_ids"]
    assert len(login.json["user"]["warehouse_codes"]) == len(login.json["user"]["warehouse_ids"])
    again = runner.invoke(args=["demo-accounts", "--file", str(path)])
    assert again.exit_code == 0 and "exist" in again.output


def test_a_stale_session_cookie_never_blocks_a_new_login(app):
    make_user("rosa")
    browser = app.test_client()
    browser.post("/api/v1/auth/login", json={"username": "rosa", "password": "correct horse battery"})
    # The page lost its in-memory CSRF token (a reload): logging in again must still work.
    again = browser.post("/api/v1/auth/login", json={"username": "rosa", "password": "correct horse battery"})
    assert again.status_code == 200
    with intends_to_write():
        update_user(db.session, "tester", "rosa", active=False)
        db.session.commit()
    assert browser.get("/api/v1/health").status_code == 200
    assert browser.get("/api/v1/items").status_code == 401


def test_tokens_never_reach_the_logs(app, caplog):
    """Neither a good nor a refused token is written to any log, at any level."""
    import logging

    make_user("lara")
    with intends_to_write():
        _, plain = create_token(db.session, "tester", username="lara")
        db.session.commit()
    bogus = "emi_" + "x" * 43
    # Statement logging too (with parameters): the place a token would leak if code ever bound it.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        assert bearer_client(app, plain).get("/api/v1/items").status_code == 200
        assert bearer_client(app, bogus).get("/api/v1/items").status_code == 401
        assert bearer_client(app, plain).post("/api/v1/items", json={"code": "!"}).status_code in (403, 422)
    assert any("api_token" in record.getMessage() for record in caplog.records), "the token lookup was logged"
    assert plain not in caplog.text and bogus not in caplog.text


USER_KEYS = {"id", "username", "display_name", "role", "province_code", "active", "has_password", "warehouse_codes"}
USER_KEYS |= {"created_at"}
TOKEN_KEYS = {"id", "username", "name", "prefix", "created_at", "expires_at", "revoked_at", "created_by"}
PRINCIPAL_KEYS = {"username", "role", "province_code", "warehouse_codes", "warehouse_ids"}


def test_user_and_token_responses_have_exactly_their_keys_and_no_hash(client, app):
    created = client.post("/api/v1/users", json={"username": "xena", "role": "viewer", "password": "a long password"})
    responses = {
        "create": created,
        "list": client.get("/api/v1/users"),
        "get": client.get("/api/v1/users/xena"),
        "update": client.patch("/api/v1/users/xena", json={"display_name": "齐娜", "password": "another long one"}),
    }
    new_token = client.post("/api/v1/users/xena/tokens", json={"name": "laptop"})
    responses |= {"new token": new_token, "tokens": client.get("/api/v1/users/xena/tokens")}
    responses["revoke"] = client.delete(f"/api/v1/tokens/{new_token.json['id']}")
    browser = app.test_client()
    responses["login"] = browser.post("/api/v1/auth/login", json={"username": "xena", "password": "another long one"})
    responses |= {"me": browser.get("/api/v1/auth/me"), "page session": browser.get("/api/v1/page/session")}
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 200) | {
        "create": 201,
        "new token": 201,
    }
    for name in ("create", "get", "update"):
        assert set(responses[name].json) == USER_KEYS, name
    assert [set(user) for user in responses["list"].json] == [USER_KEYS] * len(responses["list"].json)
    assert set(responses["new token"].json) == TOKEN_KEYS | {"token"}
    assert [set(token) for token in responses["tokens"].json] == [TOKEN_KEYS]
    assert set(responses["revoke"].json) == TOKEN_KEYS
    for name in ("login", "page session"):
        assert set(responses[name].json) == {"user", "csrf_token"}, name
        assert set(responses[name].json["user"]) == PRINCIPAL_KEYS, name
    assert set(responses["me"].json) == PRINCIPAL_KEYS
    stored = db.session.execute(text("SELECT password_hash FROM user_account WHERE username = 'xena'")).scalar_one()
    for name, response in responses.items():
        body = response.get_data(as_text=True)
        assert "hash" not in body and stored not in body and "scrypt$" not in body, name


def test_a_token_made_while_its_account_is_deactivated_is_revoked_or_refused(app):
    """Racing on PostgreSQL (real threads, one connection each): ``create_token`` locks the account's row, so a
    deactivation either refuses the token (it came first) or revokes it with the others (it came second); a live
    token of a deactivated account would wake up at reactivation."""
    from tests.unit.racing import run_at_once

    make_user("tina")
    for _round in range(8):
        with intends_to_write():
            update_user(db.session, "tester", "tina", active=True)
            db.session.commit()
        answers = run_at_once(
            app,
            [
                lambda: create_token(db.session, "tester", username="tina"),
                lambda: update_user(db.session, "tester", "tina", active=False),
            ],
        )
        assert answers[1] == "done", answers
        live = db.session.scalars(
            select(ApiToken.id).where(ApiToken.revoked_at.is_(None), ApiToken.user.has(username="tina"))
        ).all()
        assert live == [], answers
        db.session.remove()


def test_two_revocations_of_one_token_at_once_revoke_it_once(app):
    """Racing on PostgreSQL (real threads, one connection each): both answer with the revoked token, and the
    first revocation's time and audit entry stand alone, as when the second comes after it."""
    from tests.unit.racing import run_at_once

    make_user("tom")
    for _round in range(8):
        with intends_to_write():
            token_id = create_token(db.session, "tester", username="tom")[0].id
            db.session.commit()
        db.session.remove()
        answers = run_at_once(app, [functools.partial(revoke_token, db.session, "tester", token_id)] * 2)
        assert answers == ["done", "done"], answers
        revoked = select(AuditEntry.id).where(
            AuditEntry.action == "token.revoke", AuditEntry.object_key == str(token_id)
        )
        assert len(db.session.scalars(revoked).all()) == 1
        db.session.remove()


def test_two_administrators_changing_one_account_at_once_leave_it_valid(app, make_warehouse, session):
    """Racing on PostgreSQL (real threads, one connection each): one administrator makes a manager a viewer
    (taking its warehouses away) while another assigns it a warehouse. Either order leaves a viewer without
    warehouses (the assignment after the demotion is refused); unlocked, both were done on the account as read
    and left a viewer holding a warehouse."""
    from tests.unit.racing import run_at_once

    make_warehouse("W1")
    make_warehouse("W2")
    session.commit()
    make_user("mia", role="manager", warehouse_codes=["W1"])
    for _round in range(8):
        with intends_to_write():
            update_user(db.session, "tester", "mia", role="manager", warehouse_codes=["W1"])
            db.session.commit()
        db.session.remove()
        answers = run_at_once(
            app,
            [
                functools.partial(update_user, db.session, "tester", "mia", role="viewer", warehouse_codes=[]),
                functools.partial(update_user, db.session, "tester", "mia", warehouse_codes=["W1", "W2"]),
            ],
        )
        assert answers[0] == "done", answers
        mia = db.session.scalar(select(User).where(User.username == "mia"))
        assert (mia.role.value, [w.code for w in mia.warehouses]) == ("viewer", []), answers
        db.session.remove()


def test_two_administrators_demoting_each_other_at_once_leave_one(app):
    """Racing on PostgreSQL (real threads, one connection each): the only two administrators make each other
    viewers. One is done, the other refused as the last active administrator; before, each locked the other's
    row first and one was aborted as a deadlock (retried once at the HTTP edge, never in the shell)."""
    from tests.unit.racing import run_at_once

    make_user("ann", role="admin")
    make_user("bob", role="admin")
    answers = run_at_once(
        app,
        [
            functools.partial(update_user, db.session, "ann", "bob", role="viewer"),
            functools.partial(update_user, db.session, "bob", "ann", role="viewer"),
        ],
    )
    assert sorted(answers)[0] == "done" and "last active administrator" in sorted(answers)[1], answers


def test_account_and_token_names_are_kept_without_the_characters_that_show_nothing(client):
    """Every kept text drops zero-width spaces, joiners and byte-order marks (validation.plain_text); a display
    name kept them, so one of only a zero-width space showed blank in the page's header and the audit."""
    created = client.post(
        "/api/v1/users", json={"username": "zw", "role": "viewer", "display_name": "\ufeff张\u200b三\u200d "}
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["display_name"] == "张三"
    changed = client.patch("/api/v1/users/zw", json={"display_name": "\u200b"})
    assert changed.status_code == 200 and changed.get_json()["display_name"] == ""
    with intends_to_write(), pytest.raises(ValidationFailed) as refused:  # the CLI's door: the service's own check
        update_user(db.session, "system", "zw", display_name="李\x07四")
    assert refused.value.field == "display_name"
    token = client.post("/api/v1/users/zw/tokens", json={"name": "\u200b笔记本\ufeff"})
    assert token.status_code == 201 and token.get_json()["name"] == "笔记本", token.get_json()
