"""CPU per call of the pieces around a search that every request pays, in this process (no server).

What a ``GET /nearest`` costs besides the search and gunicorn: the session cookie's serializer, the request
metrics, the query-string parse (webargs' own parser and the project's), the hostile-input guard, a
database transaction's life (checkout, BEGIN, rollback, checkin), the data-version read that the caches
need, and the bearer-token lookup when this worker knows the token; then whole requests (GET /nearest, GET
/auth/me) through the app's WSGI callable: their CPU and the Python function calls each costs. Each figure is
the best of 5 rounds of ``--calls`` calls (``time.process_time``), so it holds up on a busy
machine better than a rate.

    .venv/bin/python bench/request_path.py --url sqlite:////tmp/load/sq/bench.sqlite3

The database must be seeded already (e.g. by ``bench_load.py --workdir``). Run it with
``PROMETHEUS_MULTIPROC_DIR`` set to an empty directory for the metrics as gunicorn counts them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(calls: int, action) -> float:
    """Microseconds per call, the best of 5 rounds."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(calls):
            action()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a seeded database")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    from flask import request
    from marshmallow import RAISE
    from sqlalchemy import text
    from webargs.flaskparser import FlaskParser

    from api import create_app
    from api.extensions import db
    from api.inputs import refuse_hostile_input
    from api.metrics import record_request
    from api.routes.paging import Blueprint
    from api.schemas.nearest import NearestQuery
    from bench.bench_load import tokens
    from inventory.accounts import authenticate_token
    from inventory.db import data_versions

    token, _ = tokens(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url})
    path = NEAREST_PATH
    schema = NearestQuery()
    figures = []
    with app.test_request_context(path, headers={"Authorization": f"Bearer {token}"}):
        session = db.session

        def transaction() -> None:
            session.connection()
            session.rollback()

        def with_versions() -> None:
            data_versions(session)
            session.rollback()

        def with_token() -> None:
            authenticate_token(session, token, "127.0.0.1")
            session.rollback()

        raw_versions = str(text("SELECT name, version FROM data_version"))

        def versions_by_driver() -> None:
            driver = session.connection().connection.driver_connection
            dict(driver.execute(raw_versions).fetchall())
            session.rollback()

        interface = app.session_interface
        figures += [
            ("session cookie: open_session (no cookie sent)", lambda: interface.open_session(app, request)),
            ("metrics: record_request", lambda: record_request("nearest.Nearest", "GET", 200, 0.01)),
            (
                "query parse: webargs' FlaskParser",
                lambda: FlaskParser().parse(schema, request, location="query", unknown=RAISE),
            ),
            (
                "query parse: the project's parser",
                lambda: Blueprint.ARGUMENTS_PARSER.parse(schema, request, location="query", unknown=RAISE),
            ),
            ("hostile-input guard", refuse_hostile_input),
            ("transaction: checkout, BEGIN, rollback, checkin", transaction),
            ("  + data versions (SQLAlchemy)", with_versions),
            ("  + data versions (the driver's cursor)", versions_by_driver),
            ("  + bearer token known to this worker", with_token),
        ]
        for label, action in figures:
            action()  # warm: caches, compiled statements
            print(f"  {label:<52} {best_of(args.calls, action):7.1f} us", flush=True)
    for label, path in (("GET /nearest", NEAREST_PATH), ("GET /auth/me", "/api/v1/auth/me")):
        cpu_us, calls = whole_request(app, path, token, args.calls // 4)
        print(f"  whole request through the WSGI app: {label:<14} {cpu_us:7.1f} us  {calls:5.0f} calls", flush=True)
    print(f"  load average: {os.getloadavg()[0]:.2f}", flush=True)


NEAREST_PATH = "/api/v1/nearest?lat=25.49945&lon=110.49412&item=SC-005"


def whole_request(app, path: str, token: str, calls: int) -> tuple[float, float]:
    """CPU per request through the app's WSGI callable (no server), and the Python function calls one costs.

    The call count (cProfile's) does not depend on the machine's load: the figure to compare a change of the
    request path by when the machine is busy.
    """
    import cProfile
    import io
    import pstats

    from werkzeug.test import EnvironBuilder

    route, _, query = path.partition("?")
    environ = EnvironBuilder(path=route, query_string=query, headers={"Authorization": f"Bearer {token}"}).get_environ()

    def start_response(status, _headers, _exc_info=None):
        assert status.startswith("200"), status

    def one() -> None:
        b"".join(app({**environ, "wsgi.input": io.BytesIO()}, start_response))

    one()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(20):
        one()
    profile.disable()
    return best_of(calls, one), pstats.Stats(profile).total_calls / 20


if __name__ == "__main__":
    main()
