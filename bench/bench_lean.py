"""CPU per search through the app as gunicorn calls it, in this process: the lean path without the server.

Each call hands the WSGI app (the trusted-proxy layer, then ``api.lean``) a gunicorn-like environ of a plain
``GET /api/v1/nearest`` with a viewer's token, with no app context active (as in a gunicorn request thread),
and reads the answer. It prints the mean CPU per call (process time) and the median and p25 of each call's
thread CPU: the lean path's own cost (the search, the login, parsing, the transaction, the answer), without
gunicorn, the socket or the client, and far less disturbed by a busy machine than a rate. Run it in two source
trees one after the other, alternating, for a before/after:

    .venv/bin/python bench/bench_lean.py --db sqlite --workdir /tmp/load/sq

``--workdir`` is ``bench_load.py``'s: its seeded database is reused (seeded here when missing); without it, a
new folder is seeded (as ``make bench`` runs it).

``--pieces`` times, in one process and in alternating rounds, the two steps of s24 against what they replaced
(CPU per search, the best and the median round): the query loaded by ``api.lean.PlainQuery`` against the
blueprint's webargs parser, and an app context lent the thread's kept session (``LeanPath.lend_session``,
``put_back``) against one making its own session, closed by the context's teardown.

    .venv/bin/python bench/bench_lean.py --db sqlite --workdir /tmp/load/sq --pieces
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_load import nearest_requests, tokens  # noqa: E402
from bench.bench_nearest import machine, seeded_database  # noqa: E402


def environ(line: str, token: str) -> dict:
    target = line.split("\t")[1]
    path, _, query = target.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": target,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json",  # as wrk sends it (bench/load.lua)
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def pieces(app, environs: list[dict], rounds: int) -> None:
    """The two steps against what they replaced, in alternating rounds, µs of thread CPU per search."""
    from api.extensions import db
    from api.lean import PLAIN_SEARCH
    from api.routes.nearest import NEAREST_ARGUMENTS, NEAREST_QUERY, blp

    lean = app.extensions["lean_path"]
    requests = [app.request_class(dict(request)) for request in environs]
    for request in requests:  # each request's args parsed once, as both paths find them
        parsed = blp.ARGUMENTS_PARSER.parse(NEAREST_QUERY, request, **NEAREST_ARGUMENTS)
        assert PLAIN_SEARCH.load(request.args) == parsed

    def parser() -> None:
        for request in requests:
            blp.ARGUMENTS_PARSER.parse(NEAREST_QUERY, request, **NEAREST_ARGUMENTS)

    def plain_query() -> None:
        for request in requests:
            PLAIN_SEARCH.load(request.args)

    def own_session() -> None:  # before: the context's session made on first use, closed by its teardown
        for _ in requests:
            context = app.app_context()
            context.push()
            db.session()
            context.pop()

    def kept_session() -> None:
        for _ in requests:
            context = app.app_context()
            context.push()
            lean.lend_session()
            db.session()
            lean.put_back()
            context.pop()

    variants = {"webargs parser": parser, "PlainQuery": plain_query, "own session": own_session}
    variants["kept session"] = kept_session
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            before = time.thread_time()
            variant()
            times[name].append((time.thread_time() - before) / len(requests) * 1e6)
    for name, per_search in times.items():
        per_search.sort()
        print(
            f"  {name:<16} best {per_search[0]:6.1f} µs  median {per_search[len(per_search) // 2]:6.1f} µs per search"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", default="national")
    parser.add_argument(
        "--workdir", type=Path, help="bench_load's folder: its database is reused (default: a new one, seeded here)"
    )
    parser.add_argument("--calls", type=int, default=1000, help="distinct searches, each called --rounds times")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pieces", action="store_true", help="time s24's two steps against what they replaced")
    args = parser.parse_args()
    print(f"lean path in-process: {args.db}, scale {args.scale}, {machine()}", flush=True)
    # Without --workdir (as `make bench` runs every bench/bench_*.py): a database of its own, seeded here.
    with seeded_database(args.db, args.workdir, args.scale, "lean") as url:
        viewer, _ = tokens(url)
        lines = nearest_requests(url, args.calls, args.seed)
        os.environ.update(DATABASE_URL=url, SECRET_KEY="bench")
        from api import create_app

        app = create_app()
        statuses: list[str] = []

        def start_response(status, headers, exc_info=None):
            statuses.append(status)

        environs = [environ(line, viewer) for line in lines]
        for request in environs[:200]:  # warm-up: the worker's caches, the pool
            b"".join(app(dict(request), start_response))
        if args.pieces:
            pieces(app, environs, max(args.rounds, 9))
            return
        per_call = []
        load_before = os.getloadavg()[0]
        collections_before = [generation["collections"] for generation in gc.get_stats()]
        started = time.process_time()
        for _ in range(args.rounds):
            for request in environs:
                before = time.thread_time()
                b"".join(app(dict(request), start_response))
                per_call.append(time.thread_time() - before)
        mean = (time.process_time() - started) / len(per_call)
        collections = [
            generation["collections"] - before
            for generation, before in zip(gc.get_stats(), collections_before, strict=True)
        ]
        refused = sum(not status.startswith("200") for status in statuses)
        if refused:
            sys.exit(f"{refused} searches were not answered 200: a benchmark of errors measures nothing")
        per_call.sort()
        print(
            f"lean path in-process, {args.db}: CPU mean {mean * 1000:.3f} ms per search, "
            f"median {per_call[len(per_call) // 2] * 1000:.3f}, p25 {per_call[len(per_call) // 4] * 1000:.3f} "
            f"({len(per_call)} calls; load {load_before:.2f} -> {os.getloadavg()[0]:.2f}); garbage collections per "
            f"1,000 searches by generation: {'/'.join(f'{count * 1000 / len(per_call):.1f}' for count in collections)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
