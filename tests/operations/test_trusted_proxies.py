"""Behind a load balancer: X-Forwarded-For names the client only when TRUSTED_PROXY_COUNT says so (api.proxies).

Every use of the client address reads the same ``request.remote_addr``: the audit log, the login throttle and
the /metrics allow-list are each checked both ways, with a header a client forged and with one a balancer wrote.
"""

from __future__ import annotations

from api.extensions import db
from inventory.accounts import create_user
from inventory.db import intends_to_write

BALANCER = "10.0.0.5"  # the TCP peer of every request that comes through the load balancer
PASSWORD = "correct horse battery"


def audited_address(client, **request) -> str:
    """Change a warehouse as the client, return the address its audit entry recorded."""
    answer = client.patch("/api/v1/warehouses/W1", json={"contact_phone": "010-8888"}, **request)
    assert answer.status_code == 200
    return client.get("/api/v1/audit", query_string={"action": "warehouse.update"}).json[0]["address"]


def login(app, password: str, remote: str, forwarded: str):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = remote
    return browser.post(
        "/api/v1/auth/login", json={"username": "olga", "password": password}, headers={"X-Forwarded-For": forwarded}
    )


def make_olga() -> None:
    with intends_to_write():
        create_user(db.session, "tester", username="olga", role="viewer", password=PASSWORD)
        db.session.commit()


def test_a_forged_forwarded_for_is_ignored_by_default(app, client, make_warehouse, session):
    make_warehouse("W1", county_code="110101")
    session.commit()
    forged = {"headers": {"X-Forwarded-For": "198.51.100.7"}, "environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert audited_address(client, **forged) == "203.0.113.9"
    # An outsider claiming to be the host itself is still an outsider.
    outsider = app.test_client()
    outsider.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert outsider.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    # A guesser who claims a new address on each try is throttled all the same: the source is the TCP peer.
    make_olga()
    statuses = [login(app, "wrong password", "203.0.113.9", f"198.51.100.{n}").status_code for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2


def test_with_trusted_proxies_the_client_is_the_address_the_balancer_saw(app, client, make_warehouse, session):
    app.config["TRUSTED_PROXY_COUNT"] = 1
    make_warehouse("W1", county_code="110101")
    session.commit()
    # The client wrote "127.0.0.1" itself; the balancer appended the address it received from: only that counts.
    through = {"headers": {"X-Forwarded-For": "127.0.0.1, 198.51.100.7"}, "environ_base": {"REMOTE_ADDR": BALANCER}}
    assert audited_address(client, **through) == "198.51.100.7"
    assert audited_address(client, environ_base={"REMOTE_ADDR": BALANCER}) == BALANCER  # no header: the peer

    scraper = app.test_client()
    scraper.environ_base["REMOTE_ADDR"] = BALANCER
    assert scraper.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}).status_code == 403
    app.config["METRICS_ALLOW"] = ["10.9.0.0/24"]  # the monitoring network, not the balancer's
    assert scraper.get("/metrics", headers={"X-Forwarded-For": "10.9.0.3"}).status_code == 200
    assert scraper.get("/metrics").status_code == 403  # the balancer itself is not the monitoring network

    # The throttle counts per real client: a guesser behind the balancer does not slow another user of it.
    make_olga()
    statuses = [login(app, "wrong password", BALANCER, "203.0.113.9").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert login(app, PASSWORD, BALANCER, "198.51.100.20").status_code == 200


def test_two_trusted_proxies_take_the_second_address_from_the_right(app, client, make_warehouse, session):
    app.config["TRUSTED_PROXY_COUNT"] = 2  # a cloud balancer, then nginx on the host
    make_warehouse("W1", county_code="110101")
    session.commit()
    chain = {"headers": {"X-Forwarded-For": "10.1.1.1, 198.51.100.7, 10.0.0.2"}, "environ_base": {"REMOTE_ADDR": "::1"}}
    assert audited_address(client, **chain) == "198.51.100.7"
