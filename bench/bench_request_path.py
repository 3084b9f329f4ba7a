"""CPU per request in one process, through the WSGI app as gunicorn calls it: the lean path against Flask's.

``GET /nearest`` by default; with ``--writes`` the bench's receipts and issues (``bench_load.py``'s, 1 unit each,
alternating), each written on both paths in turn.

No server and no client: each request is a WSGI environ (built once, outside the timing) handed to the app, and
its answer read to the end, one at a time. Three figures, each the best of ``--rounds`` passes over the same
requests (process CPU time, so another process's load inflates them less than a rate):

  - the lean path (``api/lean.py``), as gunicorn calls the app;
  - Flask's path alone (the lean path's fallback): what the same requests cost before it;
  - the search alone (``api.routes.nearest.nearest_response`` in an app context), the floor of both; for the
    writes: the login, the view's body and the commit in an app context (``api.lean.LeanPath.write``).

    .venv/bin/python bench/bench_request_path.py --db sqlite --workdir /tmp/load/sq
    .venv/bin/python bench/bench_request_path.py --db postgresql --workdir /tmp/load/pg
    .venv/bin/python bench/bench_request_path.py --db postgresql --workdir /tmp/load/pg --writes

A workdir that ``bench_load.py`` seeded is reused (seeding the national demo takes minutes); without one (as
``make bench`` runs it) a national demo is seeded in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from werkzeug.test import EnvironBuilder  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from api.lean import LeanPath  # noqa: E402
from api.routes.nearest import NEAREST_ARGUMENTS, NEAREST_QUERY, blp, nearest_response  # noqa: E402
from bench.bench_load import movement_requests, nearest_requests, tokens  # noqa: E402
from bench.bench_nearest import machine, seeded_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workdir", type=Path, help="a bench_load.py workdir to reuse (else a new national seed)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--writes", action="store_true", help="receipts and issues instead of searches")
    args = parser.parse_args()
    print(f"{'receipts + issues' if args.writes else 'GET /nearest'} in-process: {args.db}, {machine()}", flush=True)
    with seeded_database(args.db, args.workdir, "national", "request-path") as url:
        measure(url, args)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}", flush=True)


def measure(url: str, args: argparse.Namespace) -> None:
    viewer, admin = tokens(url)
    if args.writes:
        lines = movement_requests(url, (args.requests + 200) // 2, args.seed)
    else:
        lines = nearest_requests(url, args.requests + 200, args.seed)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    environs = []
    for line in lines:
        method, path, body = [*line.split("\t"), ""][:3]
        options = {"data": body.encode(), "content_type": "application/json"} if method == "POST" else {}
        token = admin if args.writes else viewer
        environ = EnvironBuilder(path=path, method=method, headers={"Authorization": f"Bearer {token}"}, **options)
        environ = environ.get_environ()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        environs.append(environ)
    lean = app.extensions["lean_path"]

    def answered(status: str, _headers, _exc_info=None) -> None:
        if not status.startswith(("200", "201")):
            raise RuntimeError(f"the request answered {status}")

    def through(wsgi_app):
        def run(environ: dict) -> None:
            environ = dict(environ)
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].getvalue())  # each run reads its own body
            b"".join(wsgi_app(environ, answered))

        return run

    def write_alone(environ: dict) -> None:
        environ = dict(environ, **{"wsgi.input": io.BytesIO(environ["wsgi.input"].getvalue())})
        current = app.request_class(environ)
        route, path_values = lean.route_of(environ)
        with app.app_context():
            if LeanPath.write(route, current, path_values) is None:
                raise RuntimeError("the write was refused")

    def search_alone(environ: dict) -> None:
        current = app.request_class(environ)
        with app.app_context():
            nearest_response(db.session, blp.ARGUMENTS_PARSER.parse(NEAREST_QUERY, current, **NEAREST_ARGUMENTS))

    handed: list[int] = []
    flask_app = lean.fallback
    lean.fallback = lambda environ, start_response: (handed.append(1), flask_app(environ, start_response))[1]
    for environ in environs[:200]:  # warm the worker caches and the token memo
        through(app.wsgi_app)(environ)
    lean.fallback = flask_app
    if handed:
        raise RuntimeError(f"the lean path handed {len(handed)} of 200 plain requests to Flask")
    timed = environs[200:]
    runs = {
        "lean path (api/lean.py), as gunicorn calls the app": through(app.wsgi_app),
        "Flask's path alone (the lean path's fallback)": through(flask_app),
    }
    if args.writes:
        runs["floor: the login, the view's body and the commit alone"] = write_alone
    else:
        runs["floor: the search and its encoding alone"] = search_alone
    best: dict[str, float] = {}
    for _round in range(args.rounds):  # the three alternate, so a change in the machine's load hits each alike
        for label, run in runs.items():
            best[label] = min(best.get(label, float("inf")), cpu_per_call(run, timed))
    for label, cpu in best.items():
        print(f"  {label:55s} {cpu * 1000:6.3f} ms CPU/request  load {os.getloadavg()[0]:.2f}", flush=True)


def cpu_per_call(run, environs: list[dict]) -> float:
    started = time.process_time()
    for environ in environs:
        run(environ)
    return (time.process_time() - started) / len(environs)


if __name__ == "__main__":
    main()
