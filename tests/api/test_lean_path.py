"""The lean path (api/lean.py) answers GET /nearest, POST /receipts and POST /stock-lines/{id}/issues exactly as
Flask's path, and leaves everything else to it.

Each request goes through the app as gunicorn calls it (the trusted-proxy layer, then the lean path) and
straight to Flask's own WSGI app (the lean path's fallback), on the same database: status, headers (all of
them, in order; the date and a newly made request id apart), body bytes, the metrics and the JSON log line
must be the same. A write refused on the lean path writes nothing there (ledger and audit rows counted); a
database error on it is Flask's first attempt, never a second write.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from pathlib import Path

import pytest
from flask import g
from geopy.distance import geodesic
from werkzeug.test import EnvironBuilder, run_wsgi_app

from api import metrics
from api.lean import (
    ISSUES_ENDPOINT,
    NEAREST_ENDPOINT,
    PLAIN_SEARCH,
    RECEIPTS_ENDPOINT,
    STANDS_IN_FOR,
    LeanPath,
    request_hooks,
)
from api.observability import LEAN_STARTED
from tests.api.helpers import API

INCIDENT = (39.93, 116.42)  # 东城区
NEAREST = f"{API}/nearest"


def place(distance_km: float, bearing: float) -> dict:
    destination = geodesic(kilometers=distance_km).destination(INCIDENT, bearing)
    return {"latitude": round(destination.latitude, 6), "longitude": round(destination.longitude, 6)}


@pytest.fixture
def depots(new_warehouse, receive):
    """Six warehouses of three reserve types around the incident, four items, expired and unexpired batches."""
    layout = [
        ("GOV-5", "government", 5, 10),
        ("GOV-40", "government", 40, 200),
        ("ENT-12", "enterprise", 12, 95),
        ("ENT-12B", "enterprise", 12, 95),  # the same place: ties go by code
        ("THIRD-80", "third_party", 80, 300),
        ("FAR-900", "government", 900, 180),
    ]
    for code, reserve_type, distance, bearing in layout:
        new_warehouse(code, reserve_type=reserve_type, contact_person="王伟", **place(distance, bearing))
    receive("GOV-5", 4, batch="G1", expiry_date="2099-01-01")
    receive("GOV-5", 6, batch="OLD", expiry_date="2020-01-01")
    receive("GOV-40", 30.5, batch="G2")
    receive("ENT-12", 7, batch="E1", expiry_date="2098-05-01")
    receive("ENT-12B", 7, batch="E2")
    receive("THIRD-80", 12, batch="T1")
    receive("FAR-900", 50, batch="F1")
    receive("GOV-40", 3, item_code="PD-002", batch="P2")
    receive("ENT-12", 9, item_code="SC-001", batch="S1", expiry_date="2020-06-01")
    receive("THIRD-80", 2, item_code="PD-004", batch="P4")


def searches() -> list[dict]:
    """Many well-formed searches: by item code and name, by category, every optional parameter, several forms."""
    where = [{"lat": INCIDENT[0], "lon": INCIDENT[1]}, {"lat": "39.9", "lon": "116.4"}, {"county": "110101"}]
    what = [{"item": "PD-001"}, {"item": "活性炭"}, {"item": "SC-001"}, {"category": "pollutant_degradation"}]
    extras = [
        {},
        {"quantity": "10"},
        {"quantity": "4.5", "radius_km": "50"},
        {"limit": "1"},
        {"limit": "3", "include_expired": "true"},
        {"include_expired": "1"},
        {"reserve_types": "government,enterprise"},
        {"reserve_types": ["enterprise", "third_party"]},
        {"radius_km": "1000", "limit": "50"},
        {"radius_km": "0.5"},  # nothing that close: an empty list
    ]
    return [{**w, **i, **e} for w, i, e in itertools.product(where, what, extras)]


@pytest.fixture
def lean(app):
    return app.extensions["lean_path"]


@pytest.fixture
def fallbacks(lean, monkeypatch):
    """The requests the lean path handed to Flask (from the test's own requests on: the fixtures' set-up too)."""
    handed: list[str] = []
    flask_app = lean.fallback

    def recorded(environ, start_response):
        handed.append(environ.get("QUERY_STRING", ""))
        return flask_app(environ, start_response)

    monkeypatch.setattr(lean, "fallback", recorded)
    return handed


def call(wsgi_app, method: str = "GET", path: str = NEAREST, **options) -> tuple[str, list, bytes]:
    environ = EnvironBuilder(path=path, method=method, **options).get_environ()
    environ["REMOTE_ADDR"] = "192.0.2.7"
    body, status, headers = run_wsgi_app(wsgi_app, environ, buffered=True)
    return status, list(headers.items()), b"".join(body)


def comparable(answer: tuple[str, list, bytes], offered_id: bool) -> tuple[str, list, bytes]:
    """The answer with its date left out and, unless the caller chose it, its new request id masked."""
    status, headers, body = answer
    if not offered_id:
        new_id = dict(headers)["X-Request-ID"]
        body = body.replace(new_id.encode(), b"<new id>")
        headers = [(name, "<new id>" if name == "X-Request-ID" else value) for name, value in headers]
    return status, [(name, value) for name, value in headers if name != "Date"], body


def both_paths(app, lean, token: str, **options) -> tuple[tuple, tuple]:
    headers = {"Authorization": f"Bearer {token}", **options.pop("headers", {})}
    offered = "X-Request-ID" in headers
    # As gunicorn calls the app, then Flask's path alone.
    return tuple(
        comparable(call(wsgi_app, headers=headers, **options), offered) for wsgi_app in (app.wsgi_app, lean.fallback)
    )


@pytest.mark.parametrize("in_thread", [False, True], ids=["in the test's app context", "in a request thread"])
def test_the_lean_path_answers_every_plain_search_exactly_as_flask(app, lean, fallbacks, token_for, depots, in_thread):
    """Also in a request thread with no app context, as under gunicorn: the lean path then pushes its own context
    and lends it the thread's kept session (``LeanPath.lend_session``), a branch the test's context hides."""
    token = token_for("responder")

    def compare_all() -> int:
        found = 0
        for number, query in enumerate(searches()):
            headers = {"X-Request-ID": f"lean-{number}"} if number % 3 == 0 else {}
            if number % 4 == 1:
                headers["Accept-Language"] = ("zh-CN", "en;q=0.9, zh;q=0.5")[number % 8 == 1]
            handed_before = len(fallbacks)
            ours, flasks = both_paths(app, lean, token, query_string=query, headers=headers)
            assert ours == flasks, query
            # Flask's reference call is recorded too; a refusal (a quantity with a category) is Flask's to answer.
            handed = len(fallbacks) - handed_before - 1
            assert handed == (0 if ours[0] == "200 OK" else 1), (query, ours[0])
            found += ours[0] == "200 OK" and b'"results":[{' in ours[2]
        return found

    found = in_a_request_thread(compare_all) if in_thread else compare_all()
    assert found > 60  # most searches find stock: the comparison is not of empty answers


def test_the_same_answer_with_a_content_type_and_no_body(app, lean, fallbacks, token_for, depots):
    # wrk (bench/load.lua) sends Content-Type: application/json on every GET; nothing is read on either path.
    query = {"lat": INCIDENT[0], "lon": INCIDENT[1], "item": "PD-001"}
    token = token_for("viewer")
    fallbacks.clear()
    ours, flasks = both_paths(app, lean, token, query_string=query, content_type="application/json")
    assert ours == flasks and ours[0] == "200 OK"
    assert len(fallbacks) == 1


def test_the_lean_path_counts_and_logs_the_request_as_flask_does(app, lean, token_for, depots, caplog):
    app.config["LOG_FORMAT"] = "json"
    token = token_for("viewer", username="field-viewer")
    query = {"lat": INCIDENT[0], "lon": INCIDENT[1], "item": "PD-001"}
    requests, searches_ok = metrics.REQUESTS.labels(NEAREST_ENDPOINT, "GET", "200"), metrics.NEAREST_SEARCHES
    lines = []
    for wsgi_app in (app.wsgi_app, lean.fallback):
        counted = requests._value.get(), searches_ok.labels("nearest", "ok")._value.get()
        latency = metrics.LATENCY.labels(NEAREST_ENDPOINT)._sum.get()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="inventory.requests"):
            status, _headers, _body = call(
                wsgi_app, query_string=query, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-1"}
            )
        assert status == "200 OK"
        assert requests._value.get() == counted[0] + 1
        assert searches_ok.labels("nearest", "ok")._value.get() == counted[1] + 1
        assert metrics.LATENCY.labels(NEAREST_ENDPOINT)._sum.get() > latency
        [record] = [record for record in caplog.records if record.name == "inventory.requests"]
        lines.append({key: value for key, value in record.request.items() if key != "duration_ms"})
    assert lines[0] == lines[1]
    assert lines[0] == {
        "request_id": "r-1",
        "account": "field-viewer",
        "endpoint": NEAREST_ENDPOINT,
        "method": "GET",
        "path": NEAREST,
        "status": 200,
        "client": "192.0.2.7",
    }


PLAIN = {"lat": INCIDENT[0], "lon": INCIDENT[1], "item": "PD-001"}
# (what it is, request options): each must reach Flask, and get Flask's own answer.
LONG_AGO = "Sat, 01 Jan 2000 00:00:00 GMT"
UNUSUAL = [
    ("HEAD", {"method": "HEAD", "query_string": PLAIN}),
    ("a cookie", {"query_string": PLAIN, "headers": {"Cookie": "session=x"}}),
    ("the replica's sticky cookie", {"query_string": PLAIN, "headers": {"Cookie": "primary_reads_until=99999999999"}}),
    ("If-None-Match", {"query_string": PLAIN, "headers": {"If-None-Match": '"x"'}}),
    ("If-Match", {"query_string": PLAIN, "headers": {"If-Match": '"x"'}}),
    ("If-Modified-Since", {"query_string": PLAIN, "headers": {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}}),
    (
        "If-Unmodified-Since",
        {"query_string": PLAIN, "headers": {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}},
    ),
    ("If-Range", {"query_string": PLAIN, "headers": {"If-Range": '"x"', "Range": "bytes=0-10"}}),
    ("Range", {"query_string": PLAIN, "headers": {"Range": "bytes=0-10"}}),
    ("chunked", {"query_string": PLAIN, "headers": {"Transfer-Encoding": "chunked"}}),
    ("a body", {"query_string": PLAIN, "data": '{"a": 1}', "content_type": "application/json"}),
    ("a deeply nested body", {"query_string": PLAIN, "data": "[" * 500, "content_type": "application/json"}),
    ("no token", {"query_string": PLAIN, "headers": {"Authorization": ""}}),
    ("another scheme", {"query_string": PLAIN, "headers": {"Authorization": "Basic dXNlcjpwdw=="}}),
    ("an unknown token", {"query_string": PLAIN, "headers": {"Authorization": "Bearer emi_unknown"}}),
    ("an unknown parameter", {"query_string": {**PLAIN, "colour": "red"}}),
    ("no place", {"query_string": {"item": "PD-001"}}),
    ("a place twice", {"query_string": {**PLAIN, "county": "110101"}}),
    ("an item and a category", {"query_string": {**PLAIN, "category": "other"}}),
    ("an unknown item", {"query_string": {**PLAIN, "item": "无此物资"}}),
    ("an unknown county", {"query_string": {"county": "999999", "item": "PD-001"}}),
    ("a latitude out of range", {"query_string": {**PLAIN, "lat": "91"}}),
    ("not a number", {"query_string": {**PLAIN, "lon": "east"}}),
    ("NaN", {"query_string": {**PLAIN, "lat": "nan"}}),
    ("a huge limit", {"query_string": {**PLAIN, "limit": "9" * 400}}),
    ("a radius of zero", {"query_string": {**PLAIN, "radius_km": "0"}}),
    ("an unknown reserve type", {"query_string": {**PLAIN, "reserve_types": "army"}}),
    ("a control character", {"query_string": {**PLAIN, "item": "活性\x00炭"}}),
    ("a control character in a name", {"query_string": {**PLAIN, "it\x01em": "x"}}),
    ("an unpaired surrogate", {"query_string": "lat=39.9&lon=116.4&item=%ED%A0%80"}),
    ("bytes that are not UTF-8", {"query_string": "lat=39.9&lon=116.4&item=%FF%FE"}),
    ("a 4 KB item", {"query_string": {**PLAIN, "item": "炭" * 4000}}),
]


def test_anything_unusual_reaches_flask_and_gets_its_answer(app, lean, fallbacks, token_for, depots):
    token = token_for("responder")
    for what, options in UNUSUAL:
        options = {**options, "headers": {"Authorization": f"Bearer {token}", **options.get("headers", {})}}
        if not options["headers"]["Authorization"]:
            del options["headers"]["Authorization"]
        fallbacks.clear()
        ours = call(app.wsgi_app, **options)
        assert fallbacks, f"{what}: answered by the lean path"
        flasks = call(lean.fallback, **options)
        assert comparable(ours, False) == comparable(flasks, False), what
        assert not ours[0].startswith("5"), (what, ours)


def test_other_routes_and_methods_reach_flask(app, lean, fallbacks, token_for, depots):
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    for method, path in [("GET", f"{API}/nearest/"), ("GET", f"{API}/warehouses"), ("POST", NEAREST)]:
        fallbacks.clear()
        status, _headers, _body = call(app.wsgi_app, method=method, path=path, headers=headers, query_string=PLAIN)
        assert fallbacks and not status.startswith("5"), (method, path, status)


def test_the_test_clients_preserved_context_reaches_flask(app, fallbacks, token_for, depots):
    import flask

    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for('viewer')}"
    fallbacks.clear()
    with client:
        assert client.get(NEAREST, query_string=PLAIN).status_code == 200
        assert flask.request.endpoint == NEAREST_ENDPOINT  # Flask's request, kept for the test to read
    assert fallbacks


def test_a_revoked_token_is_refused_at_once_on_the_lean_path(app, client, token_for, fallbacks, depots):
    token = token_for("responder", username="revoked-responder")
    searcher = app.test_client()
    searcher.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    fallbacks.clear()
    assert searcher.get(NEAREST, query_string=PLAIN).status_code == 200
    assert not fallbacks  # answered by the lean path, its principal now in this worker's memo
    [listed] = client.get(f"{API}/users/revoked-responder/tokens").get_json()
    assert client.delete(f"{API}/tokens/{listed['id']}").status_code == 200
    assert searcher.get(NEAREST, query_string=PLAIN).status_code == 401


def test_a_new_request_hook_must_be_answered_for_on_the_lean_path(app, lean):
    """A hook added to the app (or the nearest blueprint) would not run for the plainest, most frequent search:
    this fails until whoever adds one has made the lean path do the same and listed it in STANDS_IN_FOR."""
    for blueprint in ("nearest", "stock"):
        assert request_hooks(app, blueprint) == STANDS_IN_FOR
    assert lean.endpoints == {NEAREST_ENDPOINT, RECEIPTS_ENDPOINT, ISSUES_ENDPOINT}


def test_an_unlisted_hook_or_trusted_hosts_turn_the_lean_path_off(app):
    def maintenance_switch():  # e.g. a rate limit: it must run for every search
        return None

    app.before_request_funcs[None].append(maintenance_switch)  # as @app.before_request would, once requests ran
    assert LeanPath(app, app.wsgi_app).endpoints == set()
    app.before_request_funcs[None].remove(maintenance_switch)
    assert NEAREST_ENDPOINT in LeanPath(app, app.wsgi_app).endpoints
    app.before_request_funcs.setdefault("stock", []).append(maintenance_switch)  # the stock blueprint's alone
    try:
        assert LeanPath(app, app.wsgi_app).endpoints == {NEAREST_ENDPOINT}
    finally:
        app.before_request_funcs["stock"].remove(maintenance_switch)
    app.config["TRUSTED_HOSTS"] = ["good.example"]
    try:
        assert LeanPath(app, app.wsgi_app).endpoints == set()
    finally:
        del app.config["TRUSTED_HOSTS"]


def test_a_search_handed_to_flask_is_timed_from_the_lean_paths_start(app, lean, monkeypatch, token_for, depots):
    """A refused search runs on both paths: its duration (metrics, the log line) counts both, not Flask's alone."""
    handed: list[dict] = []
    flask_app = lean.fallback
    monkeypatch.setattr(
        lean, "fallback", lambda environ, start: handed.append(dict(environ)) or flask_app(environ, start)
    )
    headers = {"Authorization": f"Bearer {token_for('responder')}"}
    call(app.wsgi_app, query_string={**PLAIN, "item": "无此物资"}, headers=headers)  # tried, then handed over
    call(app.wsgi_app, method="HEAD", query_string=PLAIN, headers=headers)  # never tried
    assert LEAN_STARTED in handed[0] and LEAN_STARTED not in handed[1]
    start_request = app.before_request_funcs[None][0]
    with app.test_request_context(NEAREST, environ_overrides={LEAN_STARTED: 12.5}):
        start_request()
        assert g.request_started == 12.5


# The two most frequent writes: a receipt and an issue. Two successive movements differ in their ledger entry's
# id, time and the line's quantity after; everything else (status, every header, the rest of the body's bytes,
# the metrics, the log line) must be the same on both paths.
RECEIPTS, MOVING = f"{API}/receipts", re.compile(rb'"id":\d+|"quantity_after":[0-9.e+-]+|"occurred_at":"[^"]*"')


def movement_comparable(answer: tuple[str, list, bytes], offered_id: bool) -> tuple[str, list, bytes]:
    assert dict(answer[1])["Content-Length"] == str(len(answer[2]))
    status, headers, body = comparable(answer, offered_id)
    masked = MOVING.sub(lambda found: found.group().split(b":")[0] + b":<moves>", body)
    return status, [(name, value) for name, value in headers if name != "Content-Length"], masked


def ledger_size() -> int:
    from sqlalchemy import func, select

    from api.extensions import db
    from inventory.models import AuditEntry, Movement

    return db.session.scalar(select(func.count()).select_from(Movement)) + db.session.scalar(
        select(func.count()).select_from(AuditEntry)
    )


def write_both_paths(app, lean, token: str, path: str, body: object, headers: dict | None = None, **options):
    """The same write as gunicorn calls the app, then on Flask's path alone."""
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    return tuple(
        call(app_, "POST", path, headers=headers, json=body, **options) for app_ in (app.wsgi_app, lean.fallback)
    )


def quantity_after(answer) -> float:
    return json.loads(answer[2])["quantity_after"]


@pytest.fixture
def stocked(new_warehouse, receive):
    new_warehouse("WH-L", contact_person="王伟")
    new_warehouse("WH-M")
    return {
        "fresh": receive("WH-L", 500, batch="L1", expiry_date="2099-01-01")["stock_line_id"],
        "expired": receive("WH-L", 50, batch="OLD", expiry_date="2020-01-01")["stock_line_id"],
        "other": receive("WH-M", 80, item_code="PD-002", batch="M1")["stock_line_id"],
    }


def receipts() -> list[dict]:
    base = {"warehouse_code": "WH-L", "item_code": "PD-001", "quantity": 3}
    return [
        base,
        {**base, "batch": "L1"},
        {**base, "batch": "L1", "quantity": 2.5, "reason": "补充", "reference": "调拨-7"},
        {**base, "batch": "NEW-%d", "production_date": "2026-01-01", "expiry_date": "2028-01-01"},
        {**base, "warehouse_code": "WH-M", "item_code": "PD-002", "batch": "M1", "quantity": "1.125"},
        {**base, "batch": "OLD"},
    ]


def issues(lines: dict) -> list[tuple[int, dict]]:
    return [
        (lines["fresh"], {"quantity": 1}),
        (lines["fresh"], {"quantity": 2.75, "reason": "应急", "reference": "R-1"}),
        (lines["other"], {"quantity": "0.5", "allow_expired": False}),
        (lines["expired"], {"quantity": 1, "allow_expired": True, "reason": "过期仍可用"}),
    ]


def test_the_lean_path_answers_receipts_and_issues_exactly_as_flask(app, lean, fallbacks, token_for, stocked):
    token = token_for("admin")
    writes = [(RECEIPTS, body, +1) for body in receipts()]
    writes += [(f"{API}/stock-lines/{line}/issues", body, -1) for line, body in issues(stocked)]
    for number, (path, body, sign) in enumerate(writes):
        headers = {"X-Request-ID": f"w-{number}"} if number % 2 else {"Accept-Language": "zh-CN"}
        if isinstance(body.get("batch"), str) and "%d" in body["batch"]:
            body = {**body, "batch": body["batch"] % number}  # a new line: the Flask path's receipt finds it
        fallbacks.clear()
        written = ledger_size()
        ours, flasks = write_both_paths(app, lean, token, path, body, headers)
        assert ours[0] == "201 CREATED", (body, ours)
        assert movement_comparable(ours, "X-Request-ID" in headers) == movement_comparable(
            flasks, "X-Request-ID" in headers
        ), body
        assert len(fallbacks) == 1  # Flask's reference call alone: the lean path answered its own
        assert ledger_size() == written + 4  # one ledger and one audit entry each: nothing twice, nothing lost
        delta = float(body["quantity"])
        assert quantity_after(flasks) == pytest.approx(quantity_after(ours) + sign * delta), body


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("zh-CN", "过期批次仍出库（2020-01-01 到期）：过期仍可用"),
        ("en-GB", "allow_expired: batch expired 2020-01-01: 过期仍可用"),
    ],
)
def test_an_issues_ledger_reason_is_answered_in_the_readers_language_on_both_paths(
    app, lean, fallbacks, token_for, stocked, language, reason
):
    """The server's words in a ledger reason are stored as their English template and answered in the reader's
    language (``MessageCatalog.system_text``); the lean path reads the language as Flask does."""
    body = {"quantity": 1, "allow_expired": True, "reason": "过期仍可用"}
    path = f"{API}/stock-lines/{stocked['expired']}/issues"
    fallbacks.clear()
    ours, flasks = write_both_paths(app, lean, token_for("admin"), path, body, {"Accept-Language": language})
    assert movement_comparable(ours, False) == movement_comparable(flasks, False)
    assert json.loads(ours[2])["reason"] == json.loads(flasks[2])["reason"] == reason
    assert len(fallbacks) == 1


def test_refused_writes_reach_flask_write_nothing_and_get_its_answer(app, lean, fallbacks, token_for, stocked):
    token = token_for("admin")
    issue = f"{API}/stock-lines/{stocked['fresh']}/issues"
    refused = [
        (RECEIPTS, {"warehouse_code": "WH-L", "item_code": "PD-001"}),  # no quantity
        (RECEIPTS, {"warehouse_code": "WH-L", "item_code": "PD-001", "quantity": 1, "reference": None}),
        (RECEIPTS, {"warehouse_code": "WH-L", "item_code": "PD-001", "quantity": -1}),
        (RECEIPTS, {"warehouse_code": "NOPE", "item_code": "PD-001", "quantity": 1}),
        (RECEIPTS, {"warehouse_code": "WH-L", "item_code": "无此物资", "quantity": 1}),
        (RECEIPTS, {"warehouse_code": "WH-L", "item_code": "PD-001", "quantity": 1, "colour": "red"}),
        (RECEIPTS, {"warehouse_code": "WH-L\x00", "item_code": "PD-001", "quantity": 1}),  # hostile text
        (RECEIPTS, json.loads("[" * 200 + "1" + "]" * 200)),  # nested too deep
        (
            RECEIPTS,
            {
                "warehouse_code": "WH-L",
                "item_code": "PD-001",
                "quantity": 1,
                "expiry_date": "2020-01-01",
                "production_date": "2021-01-01",
            },
        ),
        (issue, {"quantity": 10_000}),  # more than the line holds: the service refuses after its reads
        (issue, {"quantity": 0}),
        (f"{API}/stock-lines/{stocked['expired']}/issues", {"quantity": 1}),  # expired, not allowed
        (f"{API}/stock-lines/999999/issues", {"quantity": 1}),
        (f"{API}/stock-lines/0/issues", {"quantity": 1}),
    ]
    for path, body in refused:
        fallbacks.clear()
        written = ledger_size()
        ours, flasks = write_both_paths(app, lean, token, path, body)
        assert ours[0][0] in "44", (body, ours)
        assert comparable(ours, False) == comparable(flasks, False), body
        assert len(fallbacks) == 2, body  # the lean path handed it over (then Flask's reference call)
        assert ledger_size() == written, body
    # A refused token, a role that may not write, a body that is not JSON, a cookie: Flask's from the start.
    for headers, options in [
        ({"Authorization": "Bearer emi_unknown"}, {}),
        ({"Authorization": f"Bearer {token_for('viewer')}"}, {}),  # logged in, not allowed to write: 403
        ({"Cookie": "session=x"}, {}),
        ({}, {"data": b"quantity=1", "content_type": "application/x-www-form-urlencoded"}),
    ]:
        fallbacks.clear()
        kwargs = options or {"json": {"quantity": 1}}
        answers = [
            movement_comparable(
                call(wsgi_app, "POST", issue, headers={"Authorization": f"Bearer {token}", **headers}, **kwargs), False
            )
            for wsgi_app in (app.wsgi_app, lean.fallback)
        ]
        assert answers[0] == answers[1], headers  # a cookie beside a token: a write, Flask's
        assert len(fallbacks) == 2


def test_a_write_is_counted_and_logged_as_flask_does(app, lean, token_for, stocked, caplog):
    app.config["LOG_FORMAT"] = "json"
    token = token_for("admin", username="field-admin")
    issue = f"{API}/stock-lines/{stocked['fresh']}/issues"
    for endpoint, path, body in [
        (RECEIPTS_ENDPOINT, RECEIPTS, {"warehouse_code": "WH-L", "item_code": "PD-001", "quantity": 1}),
        (ISSUES_ENDPOINT, issue, {"quantity": 1}),
    ]:
        requests = metrics.REQUESTS.labels(endpoint, "POST", "201")
        lines = []
        for wsgi_app in (app.wsgi_app, lean.fallback):
            counted, latency = requests._value.get(), metrics.LATENCY.labels(endpoint)._sum.get()
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="inventory.requests"):
                status, _headers, _body = call(
                    wsgi_app, "POST", path, json=body, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "w"}
                )
            assert status == "201 CREATED"
            assert requests._value.get() == counted + 1
            assert metrics.LATENCY.labels(endpoint)._sum.get() > latency
            [record] = [record for record in caplog.records if record.name == "inventory.requests"]
            lines.append({key: value for key, value in record.request.items() if key != "duration_ms"})
        assert (
            lines[0]
            == lines[1]
            == {
                "request_id": "w",
                "account": "field-admin",
                "endpoint": endpoint,
                "method": "POST",
                "path": path,
                "status": 201,
                "client": "192.0.2.7",
            }
        )


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"simulated {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("where", ["commit", "view"])
@pytest.mark.parametrize(
    ("sqlstate", "status", "views"),
    [
        ("40P01", "201 CREATED", 2),  # a deadlock: rolled back by the database, run again once by Flask
        ("57P01", "503 SERVICE UNAVAILABLE", 1),  # the connection lost (at COMMIT maybe committed): never run again
    ],
)
def test_a_database_error_on_the_lean_path_is_flasks_first_attempt(
    app, lean, fallbacks, token_for, stocked, monkeypatch, sqlstate, status, views, where, caplog
):
    from sqlalchemy.exc import OperationalError

    from api.errors import log_throttle
    from api.extensions import db
    from api.routes import stock as stock_routes

    log_throttle.reset()
    token = token_for("admin")
    failures = [OperationalError("COMMIT", {}, _Orig(sqlstate))]
    ran = []
    answer = stock_routes.issue_response

    def issue_failing_once(*args):
        ran.append(1)
        response = answer(*args)
        if where == "view" and failures:
            raise failures.pop()
        return response

    monkeypatch.setattr(stock_routes, "issue_response", issue_failing_once)
    session = db.session()
    commit = session.commit

    def commit_failing_once():
        if where == "commit" and failures:
            raise failures.pop()
        commit()

    monkeypatch.setattr(session, "commit", commit_failing_once)
    written = ledger_size()
    fallbacks.clear()
    headers = {"Authorization": f"Bearer {token}"}
    with caplog.at_level(logging.INFO, logger="api.errors"):
        ours = call(
            app.wsgi_app, "POST", f"{API}/stock-lines/{stocked['fresh']}/issues", headers=headers, json={"quantity": 1}
        )
    assert ours[0] == status, ours
    assert len(ran) == views and len(fallbacks) == 1 and not failures
    assert ledger_size() == written + (2 if status.startswith("2") else 0)
    outcome = "succeeded on its one retry" if status.startswith("2") else "answered 503"
    assert [outcome in record.getMessage() for record in caplog.records if record.name == "api.errors"] == [True]


def query_strings() -> list:
    """Queries for the plain loader: the searches above, the unusual ones, and values at each field's edges."""
    edges = [
        {**PLAIN, "lat": " 39.9 "},
        {**PLAIN, "lat": "3.99e1", "lon": "-0"},
        {**PLAIN, "lon": "1_16.4"},
        {**PLAIN, "lat": "inf"},
        {**PLAIN, "lat": "-90", "lon": "180"},
        {**PLAIN, "lat": "90.0001"},
        {**PLAIN, "lat": ""},
        {**PLAIN, "lat": "true"},
        {**PLAIN, "item": ""},
        {**PLAIN, "item": " PD-001 "},
        {**PLAIN, "limit": "1.5"},
        {**PLAIN, "limit": "0"},
        {**PLAIN, "limit": " 7"},
        {**PLAIN, "limit": "50", "radius_km": "1e-3"},
        {**PLAIN, "radius_km": "100000"},
        {**PLAIN, "quantity": "1.2345"},
        {**PLAIN, "quantity": "-1"},
        {**PLAIN, "quantity": "0"},
        {**PLAIN, "include_expired": "yes"},
        {**PLAIN, "include_expired": "off"},
        {**PLAIN, "include_expired": "maybe"},
        {**PLAIN, "reserve_types": ""},
        {**PLAIN, "reserve_types": ["government", "government"]},
        {**PLAIN, "reserve_types": "government, ,enterprise"},
        {**PLAIN, "category": "other", "item": None},
        {"county": "东城区", "item": "PD-001"},
        {"county": "", "item": "PD-001"},
        "lat=39.9&lat=40&lon=116.4&item=PD-001",  # a key twice: the parser takes the first
        "lat=39.9&lon=116.4&item=PD-001&item=SC-001",
        "lat=39.9&lon=116.4&item",
        "lat=39.9&lon=116.4&item=PD-001&",
        "lat=39.9&lon=116.4&item=PD-001&=x",
        "",
    ]
    unusual = [options["query_string"] for _what, options in UNUSUAL if "query_string" in options]
    return [*searches(), *unusual, *edges]


def test_the_plain_query_loads_what_the_parser_loads(app, lean):
    """api.lean.PlainQuery: for every query it loads, the blueprint's parser returns the same dict (values and
    their types); for every query the parser refuses, it loads nothing (the parser then refuses it)."""
    from werkzeug.exceptions import UnprocessableEntity

    from api.routes.nearest import NEAREST_ARGUMENTS, NEAREST_QUERY, blp

    loaded = 0
    for query in query_strings():
        if isinstance(query, dict):
            query = {key: value for key, value in query.items() if value is not None}
        with app.test_request_context(NEAREST, query_string=query):
            from flask import request

            plain = PLAIN_SEARCH.load(request.args)
            try:
                parsed = blp.ARGUMENTS_PARSER.parse(NEAREST_QUERY, request, **NEAREST_ARGUMENTS)
            except UnprocessableEntity:
                assert plain is None, query
                continue
        if plain is not None:
            loaded += 1
            assert [(key, type(value), value) for key, value in plain.items()] == [
                (key, type(value), value) for key, value in parsed.items()
            ], query
    assert loaded > 100  # the plain searches are loaded here, not by the parser


def test_the_lean_path_loads_a_plain_search_without_the_parser(app, lean, fallbacks, token_for, depots, monkeypatch):
    from api.routes.nearest import blp

    parsed: list = []
    parser = blp.ARGUMENTS_PARSER
    monkeypatch.setattr(
        parser, "parse", lambda *args, **kwargs: parsed.append(args) or type(parser).parse(parser, *args, **kwargs)
    )
    headers = {"Authorization": f"Bearer {token_for('viewer')}"}
    fallbacks.clear()
    status, _headers, _body = call(app.wsgi_app, query_string=PLAIN, headers=headers)
    assert status == "200 OK" and not fallbacks
    assert parsed == []
    status, _headers, _body = call(app.wsgi_app, query_string={**PLAIN, "lat": "91"}, headers=headers)
    assert status.startswith("422") and parsed  # a refusal: the parser's own answer (twice: lean path, Flask)


def in_a_request_thread(function):
    """``function()`` in a new thread, as gunicorn's request threads run the app: no app context active."""
    import threading

    results: list = []
    thread = threading.Thread(target=lambda: results.append(function()))
    thread.start()
    thread.join()
    assert results, "the thread failed"
    return results[0]


def test_a_request_threads_searches_share_one_session_left_as_new(app, lean, fallbacks, token_for, depots, monkeypatch):
    """With no app context active (gunicorn), the lean path pushes its own; its session is the thread's one, kept
    between searches while a search leaves it as new (``LeanPath.put_back``), and closed and made anew when
    not; the context's teardown finds none to close. The answers stay Flask's."""
    import api.routes.nearest as lean_module  # the lean path's search calls its nearest_response

    used: list = []
    answer = lean_module.nearest_response

    def recorded(session, args):
        used.append(session())
        return answer(session, args)

    monkeypatch.setattr(lean_module, "nearest_response", recorded)
    token = token_for("viewer")
    queries = [PLAIN, {**PLAIN, "item": "SC-001"}, {**PLAIN, "limit": "2"}]

    def searches_in_this_thread():
        answers = [
            comparable(call(app.wsgi_app, query_string=q, headers={"Authorization": f"Bearer {token}"}), False)
            for q in queries
        ]
        return answers, lean.idle.session

    fallbacks.clear()
    ours, kept = in_a_request_thread(searches_in_this_thread)
    assert not fallbacks
    assert len(used) == 3 and used[0] is used[1] is used[2] is kept
    assert not kept.in_transaction() and not kept.identity_map and not kept.info
    flasks = [
        comparable(call(lean.fallback, query_string=q, headers={"Authorization": f"Bearer {token}"}), False)
        for q in queries
    ]
    assert ours == flasks

    def dirtied(session, args):  # a search that leaves its session in a transaction: not kept
        used.append(session())
        session().connection()
        return answer(session, args)

    monkeypatch.setattr(lean_module, "nearest_response", dirtied)
    used.clear()
    _answers, kept = in_a_request_thread(searches_in_this_thread)
    assert kept is None and len({id(session) for session in used}) == 3
    assert not any(session.in_transaction() for session in used)  # closed, as the teardown would


def test_the_plain_query_leaves_a_schema_with_hooks_or_renamed_fields_to_the_parser():
    from marshmallow import Schema, fields, validates_schema
    from werkzeug.datastructures import MultiDict

    from api.lean import PlainQuery

    class Checked(Schema):
        lat = fields.Float()

        @validates_schema
        def check(self, data, **kwargs):  # a rule across fields the loader would skip
            pass

    class Renamed(Schema):
        lat = fields.Float(data_key="latitude")

    class Plain(Schema):
        lat = fields.Float()

    assert PlainQuery(Plain(), frozenset()).load(MultiDict({"lat": "1.5"})) == {"lat": 1.5}
    assert PlainQuery(Checked(), frozenset()).load(MultiDict({"lat": "1.5"})) is None
    assert PlainQuery(Renamed(), frozenset()).load(MultiDict({"latitude": "1.5"})) is None


# Under gunicorn no app context is active: the lean path pushes its own (its session closed by its teardown, a
# read's put back for the thread). The fixture's app context hides that branch, so these run in a new thread.
def movement_and_audit_rows() -> tuple[int, int]:
    from sqlalchemy import func, select

    from api.extensions import db
    from inventory.models import AuditEntry, Movement

    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(Movement)),
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def test_writes_in_a_request_thread_answer_and_write_as_flask(app, lean, token_for, stocked, monkeypatch):
    """Each write tried on the lean path (its start in what Flask got, when refused), answered as Flask answers it,
    and written once: a movement and its audit entry per success, nothing for a refusal."""
    from api.extensions import db

    handed: list[dict] = []
    flask_app = lean.fallback
    monkeypatch.setattr(lean, "fallback", lambda environ, start: handed.append(environ) or flask_app(environ, start))
    headers = {"Authorization": f"Bearer {token_for('admin')}", "X-Request-ID": "thread"}
    db.session.commit()
    issue = f"{API}/stock-lines/{stocked['fresh']}/issues"
    for path, body in [
        (RECEIPTS, {"warehouse_code": "WH-L", "item_code": "PD-001", "quantity": 2, "batch": "L1"}),
        (issue, {"quantity": 1}),
        (issue, {"quantity": 10_000}),  # too little stock
        (RECEIPTS, {"warehouse_code": "NOPE", "item_code": "PD-001", "quantity": 1}),  # no such warehouse
    ]:
        before = movement_and_audit_rows()
        handed.clear()
        ours = in_a_request_thread(lambda p=path, b=body: call(app.wsgi_app, "POST", p, headers=headers, json=b))
        tried = [LEAN_STARTED in environ for environ in handed]
        flasks = call(flask_app, "POST", path, headers=headers, json=body)
        assert movement_comparable(ours, True) == movement_comparable(flasks, True), body
        succeeded = ours[0].startswith("2")
        assert tried == ([] if succeeded else [True]), body  # a success never reaches Flask; a refusal was tried
        after = movement_and_audit_rows()
        assert after == (before[0] + 2 * succeeded, before[1] + 2 * succeeded), body


@pytest.mark.parametrize("target", ["lean", "flask"])
def test_a_login_that_waits_for_sqlites_write_lock_is_waited_out_once(
    app, lean, db_kind, database_url, token_for, stocked, monkeypatch, target
):
    """Another process holds SQLite's write lock past the busy timeout: the write's login meets ``busy``. Flask
    answers 503 after one wait and one count; so does the lean path, which hands the failure to Flask's
    ``authenticate`` hook instead of letting Flask log in, and wait, again."""
    if db_kind != "sqlite":
        pytest.skip("SQLite's write lock")
    import sqlite3
    import time

    import inventory.db
    from api.extensions import db

    token = token_for("admin")
    db.session.remove()
    db.engine.dispose()  # new connections, with the short busy timeout
    monkeypatch.setattr(inventory.db, "SQLITE_BUSY_TIMEOUT_MS", 1000)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    busy = metrics.DATABASE_ERRORS.labels("busy")
    counted = busy._value.get()
    wsgi = app.wsgi_app if target == "lean" else lean.fallback
    try:
        started = time.monotonic()
        status, _headers, _body = in_a_request_thread(
            lambda: call(
                wsgi,
                "POST",
                f"{API}/stock-lines/{stocked['fresh']}/issues",
                headers={"Authorization": f"Bearer {token}"},
                json={"quantity": 1},
            )
        )
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status.startswith("503")
    assert busy._value.get() - counted == 1
    assert waited < 1.8, f"{waited:.2f} s for a 1 s busy timeout"


@pytest.mark.parametrize("target", ["lean", "flask"])
def test_a_write_after_the_database_dropped_its_connections_is_answered_as_flask_answers_it(
    app, lean, db_kind, database_url, token_for, stocked, target
):
    """PostgreSQL restarted or failed over between two writes: the next write's login meets a dead pooled
    connection. Flask answers 503 (the pool then drops its old connections); the lean path hands that failure to
    Flask's ``authenticate`` hook, so the answer is the same, and nothing is written."""
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL's backends")
    import time

    import psycopg

    from api.extensions import db

    app.config["PROPAGATE_EXCEPTIONS"] = False
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    db.session.commit()
    db.session.remove()
    wsgi = app.wsgi_app if target == "lean" else lean.fallback
    issue = f"{API}/stock-lines/{stocked['fresh']}/issues"
    assert in_a_request_thread(lambda: call(wsgi, "POST", issue, headers=headers, json={"quantity": 1}))[0] == (
        "201 CREATED"
    )
    before = movement_and_audit_rows()
    db.session.remove()
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as killer:
        killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    time.sleep(0.1)
    status = in_a_request_thread(lambda: call(wsgi, "POST", issue, headers=headers, json={"quantity": 1}))[0]
    db.session.remove()
    assert status.startswith("503"), status
    assert movement_and_audit_rows() == before


def test_the_plain_query_stays_on_for_a_schema_that_has_loaded_before():
    """marshmallow fills a schema's hook table with empty lists on its first load: that is not a hook."""
    from marshmallow import Schema, fields
    from werkzeug.datastructures import MultiDict

    from api.lean import PlainQuery

    class Plain(Schema):
        lat = fields.Float()

    schema = Plain()
    schema.load({"lat": "1"})
    assert PlainQuery(schema, frozenset()).load(MultiDict({"lat": "1.5"})) == {"lat": 1.5}


@pytest.mark.parametrize(
    "endpoint, body", [(RECEIPTS_ENDPOINT, "receipt_response"), (ISSUES_ENDPOINT, "issue_response")]
)
def test_a_lean_writes_view_is_its_body_under_the_blueprints_own_decorators(app, endpoint, body):
    """The lean path calls the view's body (``receipt_response``, ``issue_response``) and does what the blueprint's
    decorators do (the body's parsing, the answer). A decorator of ours added to the view (a role check, a limit)
    would be skipped there: this fails until the lean path does what it does, or hands the route to Flask."""
    view = app.view_functions[endpoint].view_class.post
    chain = [view]
    while hasattr(chain[-1], "__wrapped__"):
        chain.append(chain[-1].__wrapped__)
    *wrappers, inner = chain
    # where each wrapper's code is (``functools.wraps`` copies the view's name and module onto it)
    assert ["/".join(Path(wrapper.__code__.co_filename).parts[-2:]) for wrapper in wrappers] == [
        "webargs/core.py",
        "flask_smorest/arguments.py",
        "flask_smorest/response.py",
    ]
    assert set(inner.__code__.co_names) == {body, "db", "session"}
