"""Login throttling slows an attacker, not the account's owner, and does not reveal who exists."""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time

from sqlalchemy import update

from api.extensions import db
from inventory import accounts, throttle
from inventory.accounts import create_user
from inventory.db import intends_to_write
from inventory.models import LoginThrottle

PASSWORD = "correct horse battery"


def make_user(username: str) -> None:
    with intends_to_write():
        create_user(db.session, "tester", username=username, role="viewer", password=PASSWORD)
        db.session.commit()


def attempt(app, username: str, password: str, address: str):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser.post("/api/v1/auth/login", json={"username": username, "password": password})


def let_time_pass() -> None:
    """As if every delay had run out (tests do not sleep through minutes)."""
    with intends_to_write():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.execute(update(LoginThrottle).values(next_allowed_at=past))
        db.session.commit()


def test_guesses_from_elsewhere_do_not_lock_the_owner_out(app):
    make_user("gail")
    assert attempt(app, "gail", PASSWORD, "10.0.0.1").status_code == 200  # the owner's usual place
    statuses = [attempt(app, "gail", "wrong password", "203.0.113.9").status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    assert attempt(app, "gail", PASSWORD, "10.0.0.1").status_code == 200
    assert attempt(app, "gail", PASSWORD, "10.0.0.2").status_code == 200  # a new place, not the attacker's


def test_the_delay_grows_per_account_and_source_and_is_capped(app):
    make_user("hal")
    for _ in range(5):
        assert attempt(app, "hal", "wrong password", "203.0.113.9").status_code == 401
    delays = []
    for _ in range(8):
        refused = attempt(app, "hal", PASSWORD, "203.0.113.9")  # even the right password waits its turn
        assert refused.status_code == 429
        delays.append(int(refused.headers["Retry-After"]))
        let_time_pass()
        assert attempt(app, "hal", "wrong password", "203.0.113.9").status_code == 401
    assert [round(d, -1) for d in delays[:5]] == [30, 60, 120, 240, 480]
    assert delays[5:] == [900, 900, 900]
    # Once the delay has passed the owner gets in, and the count starts again.
    let_time_pass()
    assert attempt(app, "hal", PASSWORD, "203.0.113.9").status_code == 200
    assert attempt(app, "hal", "wrong password", "203.0.113.9").status_code == 401


def test_strangers_failures_behind_one_address_do_not_block_its_users(app):
    make_user("ike")
    make_user("jan")
    assert attempt(app, "ike", PASSWORD, "198.51.100.7").status_code == 200
    for n in range(25):  # more than the old per-address limit of 20
        assert attempt(app, f"nobody{n}", "wrong password", "198.51.100.7").status_code == 401
    assert attempt(app, "ike", PASSWORD, "198.51.100.7").status_code == 200
    assert attempt(app, "jan", PASSWORD, "198.51.100.7").status_code == 200


def test_a_source_has_a_generous_cap_that_spares_known_accounts(app, monkeypatch):
    assert throttle.SOURCE_FREE_ATTEMPTS >= 100
    monkeypatch.setattr(throttle, "SOURCE_FREE_ATTEMPTS", 4)
    make_user("kim")
    make_user("lee")
    assert attempt(app, "kim", PASSWORD, "198.51.100.8").status_code == 200
    for n in range(4):
        assert attempt(app, f"nobody{n}", "wrong password", "198.51.100.8").status_code == 401
    assert attempt(app, "nobody9", "wrong password", "198.51.100.8").status_code == 429
    assert attempt(app, "lee", PASSWORD, "198.51.100.8").status_code == 429  # new here: waits like a stranger
    assert attempt(app, "kim", PASSWORD, "198.51.100.8").status_code == 200  # known here: not blocked


def test_unknown_and_known_usernames_take_the_same_time(app):
    make_user("mel")
    timings: dict[str, list[float]] = {"unknown": [], "known": []}
    for n in range(10):
        for kind, username in (("unknown", f"ghost{n}"), ("known", "mel")):
            started = time.perf_counter()
            response = attempt(app, username, "wrong password", f"192.0.2.{n + 1}")
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401
    ratio = statistics.median(timings["unknown"]) / statistics.median(timings["known"])
    assert 0.5 < ratio < 2, timings


def test_parallel_guesses_check_at_most_the_limit(app, monkeypatch):
    """Real threads, each request on its own connection: the attempt counter is atomic."""
    make_user("ned")
    checked = []
    lock = threading.Lock()
    real_verify = accounts.verify_password

    def counting_verify(password: str, stored: str | None) -> bool:
        with lock:
            checked.append(password)
        return real_verify(password, stored)

    monkeypatch.setattr(accounts, "verify_password", counting_verify)
    guesses = 12
    barrier = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(n: int) -> None:
        barrier.wait()
        response = attempt(app, "ned", f"wrong password {n}", "203.0.113.50")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == guesses
    assert len(checked) <= throttle.PAIR_FREE_ATTEMPTS == 5
    assert sorted(statuses) == [401] * len(checked) + [429] * (guesses - len(checked))
