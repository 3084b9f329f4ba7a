"""Two app hosts (two gunicorn instances, two workers each) on one PostgreSQL behave as one host.

Everything that must be shared lives in the database: web sessions, the login throttle, the data
versions that make each worker reload its caches, and the call-up lines' statuses.
"""

from __future__ import annotations

import json
import re
import threading

import requests

from api.extensions import db
from inventory.accounts import create_user
from inventory.db import intends_to_write

PASSWORD = "correct horse battery"
API = "/api/v1"
TRIES = 10  # requests per check: gunicorn hands each to either worker, so both are asked (all but surely)


def _login(base: str, username: str, password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    return browser, browser.post(f"{base}{API}/auth/login", json={"username": username, "password": password})


def _nearest_codes(base: str, token: str) -> list[set[str]]:
    answers = []
    for _ in range(TRIES):
        response = requests.get(
            f"{base}{API}/nearest",
            params={"lat": 39.9, "lon": 116.4, "item": "PD-001"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        answers.append({result["warehouse"]["code"] for result in response.json()["results"]})
    return answers


def test_sessions_throttle_caches_and_callups_are_shared_by_two_hosts(
    app, postgresql_only, database_url, host, token_for
):
    with intends_to_write():
        create_user(db.session, "tester", username="hana", role="admin", password=PASSWORD)
        create_user(db.session, "tester", username="ivan", role="viewer", password=PASSWORD)
        db.session.commit()
    token = token_for("admin")
    db.session.remove()
    first, second = host(database_url, LOG_FORMAT="json"), host(database_url)
    auth = {"Authorization": f"Bearer {token}"}

    # A session started on one host is the same session on the other, and ends on both at once.
    browser, login = _login(first, "hana")
    assert login.status_code == 200, login.text
    assert browser.get(f"{second}{API}/auth/me").json()["username"] == "hana"
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    assert browser.post(f"{second}{API}/auth/logout", headers=csrf).status_code == 204
    stolen = requests.Session()
    stolen.cookies.update({"session": login.cookies["session"]})
    assert stolen.get(f"{first}{API}/auth/me").status_code == 401

    # The throttle counts guesses on every host together: 5 free, spread over both, then 429 on either.
    guesses = [_login(base, "ivan", "wrong")[1].status_code for base in (first, second, first, second, first)]
    assert guesses == [401] * 5
    assert _login(second, "ivan", "wrong")[1].status_code == 429
    assert _login(first, "ivan")[1].status_code == 429  # even the right password waits its turn

    # A warehouse change made through one host reloads every worker's cache on the other.
    warehouse = {
        "code": "TWO-HOSTS",
        "name": "两主机测试库",
        "reserve_type": "government",
        "county_code": "110101",
        "latitude": 39.93,
        "longitude": 116.42,
        "level": "county",
    }
    assert requests.post(f"{first}{API}/warehouses", json=warehouse, headers=auth).status_code == 201
    receipt = {"warehouse_code": "TWO-HOSTS", "item_code": "PD-001", "quantity": 100, "batch": "B1"}
    assert requests.post(f"{first}{API}/receipts", json=receipt, headers=auth).status_code == 201
    assert all("TWO-HOSTS" in codes for codes in _nearest_codes(second, token))
    patched = requests.patch(f"{first}{API}/warehouses/TWO-HOSTS", json={"status": "inactive"}, headers=auth)
    assert patched.status_code == 200, patched.text
    assert all("TWO-HOSTS" not in codes for codes in _nearest_codes(second, token))
    assert requests.patch(f"{second}{API}/warehouses/TWO-HOSTS", json={"status": "active"}, headers=auth).ok
    assert all("TWO-HOSTS" in codes for codes in _nearest_codes(first, token))

    # A call-up line decided on both hosts at the same moment is dispatched once.
    callup = requests.post(
        f"{second}{API}/callups",
        json={"incident_name": "两主机", "lat": 39.93, "lon": 116.42, "needs": [{"item": "PD-001", "quantity": 5}]},
        headers=auth,
    )
    assert callup.status_code == 201, callup.text
    (line,) = callup.json()["lines"]
    start = threading.Barrier(4)
    statuses: list[int] = []

    def dispatch(base: str) -> None:
        start.wait()
        statuses.append(
            requests.post(f"{base}{API}/callup-lines/{line['id']}/dispatch", json={}, headers=auth).status_code
        )

    racers = [threading.Thread(target=dispatch, args=(base,)) for base in (first, second, first, second)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses) == [200, 409, 409, 409], statuses
    code = callup.json()["code"]
    for base in (first, second):
        assert requests.get(f"{base}{API}/callups/{code}", headers=auth).json()["status"] == "completed"

    # Each host's /metrics adds up its own workers' counters; its JSON log has one line per request.
    exposition = requests.get(f"{first}/metrics", timeout=30).text
    nearest = re.search(
        r'inventory_http_requests_total\{endpoint="nearest.Nearest",method="GET",status="200"\} (\S+)', exposition
    )
    assert nearest is not None and float(nearest.group(1)) == TRIES, exposition[:2000]
    traced = requests.get(f"{first}{API}/auth/me", headers={"X-Request-ID": "trace-two-hosts-1"})
    assert (
        traced.status_code == 401
        and traced.json()["request_id"] == traced.headers["X-Request-ID"] == "trace-two-hosts-1"
    )
    (first_process,) = [process for process in host.processes if process.args[-2].endswith(first.rsplit(":", 1)[1])]
    logged = [json.loads(line) for line in first_process.log_path.read_text().splitlines() if line.startswith("{")]
    (line,) = [entry for entry in logged if entry.get("request_id") == "trace-two-hosts-1"]
    assert line["endpoint"] == "auth.Me" and line["status"] == 401 and line["duration_ms"] >= 0
    assert any((entry.get("account") or "").startswith("admin-") for entry in logged)  # the token's account
