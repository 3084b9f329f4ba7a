"""Concurrent load through gunicorn, driven by wrk: nearest searches, and receipts and issues.

Starts gunicorn with the project's ``gunicorn.conf.py`` (its worker class and worker count; the access
log goes to /dev/null) on a seeded national database and drives it with wrk (Debian's ``wrk``: keep-alive
connections, a Lua script walking a list of requests) for a fixed time. For each run it prints requests
per second, latency p50/p95/p99 and max (wrk's own histogram), errors (connection errors, timeouts and
non-2xx answers), the gunicorn processes' CPU time per request (from /proc) and the load average before
and after. In the same run, as floors:

  - a bare WSGI app under the same gunicorn settings, answering every request with the bytes of a real
    nearest answer (what gunicorn and the client alone cost);
  - the nearest search called in-process, one client, one call at a time (its CPU time per call).

Then stock movements: 8 connections alternating ``POST /receipts`` of 1 unit and ``POST
/stock-lines/{id}/issues`` of 1 unit on 200 lines with plenty of unexpired stock, and, counted
in-process through the Flask test client, the SQL statements one receipt and one issue send (BEGIN,
COMMIT and ROLLBACK apart) and their CPU per movement there, one at a time. On PostgreSQL the
movements' line also gives the database server's CPU per request (the postmaster and its backends,
from /proc) and where the backends spent the run: a sampler
reads ``pg_stat_activity`` every 5 ms and prints the share of samples per wait event (``CPU`` for an
active backend waiting on nothing; ``Client:ClientRead`` is a backend idle in a transaction, waiting for
the application; ``IO:WalSync`` a commit waiting for its WAL flush; ``Lock:transactionid`` a row lock),
and the WAL flushes per commit. ``--writes-only`` skips the searches.

    .venv/bin/python bench/bench_load.py --db sqlite --workdir /tmp/load/sq
    .venv/bin/python bench/bench_load.py --db postgresql --workdir /tmp/load/pg
    .venv/bin/python bench/bench_load.py --db postgresql --workdir /tmp/load/pg --writes-only

The machine's load matters for every wall-clock figure: compare figures only with the load average
printed next to them, and the CPU-per-request figures before the rates when the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from bench.bench_nearest import Server, database, flask_command, machine, seed, worker_cpu, workload  # noqa: E402
from inventory.geo import Incident, Point  # noqa: E402
from inventory.models import Item, StockLine, Warehouse  # noqa: E402
from inventory.nearest import nearest_stock  # noqa: E402
from inventory.reference import WarehouseStatus  # noqa: E402
from tests.live_server import start_gunicorn  # noqa: E402

LUA = ROOT / "bench" / "load.lua"
BARE_APP = "bench.bare_wsgi:app"
NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    error_kinds: str  # e.g. "status 3, read 2": which of wrk's counters the errors came from
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float
    load_before: float
    load_after: float
    database_cpu_s: float | None = None  # PostgreSQL's processes, when watched

    def line(self, label: str) -> str:
        database = (
            f"  database CPU {self.database_cpu_s / max(self.requests, 1) * 1000:5.2f} ms/request"
            if self.database_cpu_s is not None
            else ""
        )
        return (
            f"  {label:<42} {self.requests / self.seconds:7.0f} req/s  p50 {self.p50_ms:6.2f}  p95 {self.p95_ms:6.2f}  "
            f"p99 {self.p99_ms:6.2f}  max {self.max_ms:7.1f} ms  errors {self.errors}"
            f"{f' ({self.error_kinds})' if self.errors else ''}  "
            f"server CPU {self.server_cpu_s / max(self.requests, 1) * 1000:5.2f} ms/request{database}  "
            f"load {self.load_before:.2f} -> {self.load_after:.2f}"
        )


def tokens(url: str) -> tuple[str, str]:
    """A viewer's token (searches) and an administrator's (stock movements), created through the services."""
    from inventory.accounts import create_token, create_user
    from inventory.models import User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    plain = []
    with app.app_context():
        for username, role in (("bench-viewer", "viewer"), ("bench-admin", "admin")):
            if db.session.scalar(select(User.id).where(User.username == username)) is None:
                create_user(db.session, "bench", username=username, role=role)
            _, token = create_token(db.session, "bench", username=username, name="bench_load")
            plain.append(token)
        db.session.commit()
        db.engine.dispose()
    return plain[0], plain[1]


def nearest_requests(url: str, count: int, seed_value: int) -> list[str]:
    queries, _ = workload(url, count, seed_value)
    return [
        "GET\t/api/v1/nearest?" + urllib.parse.urlencode({"lat": q.latitude, "lon": q.longitude, "item": q.item})
        for q in queries
    ]


def movement_requests(url: str, lines: int, seed_value: int) -> list[str]:
    """Receipts and issues of 1 unit, alternating, on lines with plenty of unexpired available stock."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    soon = dt.date.today() + dt.timedelta(days=60)
    with app.app_context():
        rows = db.session.execute(
            select(StockLine.id, Warehouse.code, Item.code, StockLine.batch)
            .join(StockLine.warehouse)
            .join(StockLine.item)
            .where(
                Warehouse.status == WarehouseStatus.ACTIVE,
                StockLine.quantity - StockLine.reserved >= 100,
                (StockLine.expiry_date.is_(None)) | (StockLine.expiry_date > soon),
            )
            .order_by(StockLine.id)
            .limit(20 * lines)
        ).all()
        db.engine.dispose()
    chosen = random.Random(seed_value).sample(rows, min(lines, len(rows)))
    requests = []
    for line_id, warehouse, item, batch in chosen:
        receipt = {"warehouse_code": warehouse, "item_code": item, "batch": batch, "quantity": 1, "reference": "bench"}
        requests.append(f"POST\t/api/v1/receipts\t{json.dumps(receipt)}")
        requests.append(f"POST\t/api/v1/stock-lines/{line_id}/issues\t{json.dumps({'quantity': 1})}")
    return requests


@contextlib.contextmanager
def gunicorn(url: str, app: str, workers: int | None, code: Path = ROOT) -> Iterator[Server]:
    """gunicorn with the settings (gunicorn.conf.py) of the source tree ``code``, quiet, on a free port."""
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench"}
    env["PYTHONPATH"] = os.pathsep.join([str(code), str(ROOT)])  # the bare app lives in this tree's bench/
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    options = ["--config", "gunicorn.conf.py", "--access-logfile", "/dev/null"]
    server = start_gunicorn(options, environment=env, app=app, cwd=code)
    try:
        time.sleep(1)  # every worker booted, not only the one that answered
        yield Server(server.port, server.process)
    finally:
        server.stop()


def probe(port: int, token: str, line: str) -> bytes:
    """Send one request of the list; a benchmark of error answers would measure nothing."""
    method, path, *body = line.split("\t")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request(method, path, body=body[0].encode() if body else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 400:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return data


WARM_UP_SECONDS = 3


def process_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (from /proc, Linux), with its exited children's when ``children``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu(postmaster: int, leaving_out: int | None = None) -> float:
    """CPU seconds of an embedded PostgreSQL: the postmaster, its live processes and those that exited,
    but for the backend ``leaving_out`` (the wait sampler's)."""
    total = process_cpu(postmaster, children=True)
    for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):  # a backend that ended meanwhile
            total += process_cpu(int(child)) if int(child) != leaving_out else 0.0
    return total


def postmaster_pid(url: str) -> int | None:
    if not url.startswith("postgresql"):
        return None
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        data = connection.execute("SHOW data_directory").fetchone()[0]
    return int((Path(data) / "postmaster.pid").read_text().split()[0])


class WaitSampler:
    """Where PostgreSQL's client backends of one database are, sampled every 5 ms from ``pg_stat_activity``
    (read from another database), and the commits and WAL flushes (``pg_stat_io``) over the same time."""

    def __init__(self, url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        # From the maintenance database: the sampler's own transactions must not count as the bench's commits.
        watched = make_url(url)
        self.database = watched.database
        maintenance = watched.set(drivername="postgresql", database="postgres")
        self.connection = psycopg.connect(maintenance.render_as_string(hide_password=False), autocommit=True)
        self.backend = self.connection.info.backend_pid
        self.samples: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _counters(self) -> tuple[int, int]:
        commits = self.connection.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (self.database,)
        ).fetchone()[0]
        flushes = self.connection.execute("SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal'")
        return commits, int(flushes.fetchone()[0])

    def _run(self) -> None:
        query = (
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE datname = %s AND backend_type = 'client backend'"
        )
        while not self._stop.wait(0.005):
            self.connection.execute("SELECT pg_stat_clear_snapshot()")
            for state, kind, event_name in self.connection.execute(query, (self.database,)).fetchall():
                if state == "idle":
                    self.samples["idle (between transactions)"] += 1
                elif kind is None:
                    self.samples["CPU"] += 1
                else:
                    self.samples[f"{kind}:{event_name}"] += 1

    def __enter__(self) -> WaitSampler:
        self.before = self._counters()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.connection.execute("SELECT pg_stat_clear_snapshot()")
        after = self._counters()
        self.connection.close()
        self.commits, self.flushes = after[0] - self.before[0], after[1] - self.before[1]

    def report(self) -> str:
        total = sum(self.samples.values()) or 1
        shares = ", ".join(f"{name} {count / total:.0%}" for name, count in self.samples.most_common(7))
        per_commit = self.flushes / max(self.commits, 1)
        return f"      backends: {shares}; {self.commits} commits, {per_commit:.2f} WAL flushes per commit"


def run_wrk(
    server: Server,
    token: str,
    lines: list[str],
    connections: int,
    seconds: int,
    workdir: Path,
    postmaster: int | None = None,
    leaving_out: int | None = None,
) -> LoadResult:
    """wrk with 2 threads and ``connections`` keep-alive connections; the server's CPU from /proc (and
    PostgreSQL's, given its postmaster)."""
    requests_file = workdir / "wrk-requests.tsv"
    requests_file.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "WRK_REQUESTS": str(requests_file), "WRK_TOKEN": token}
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA)]
    command.append(f"http://127.0.0.1:{server.port}")
    load_before = os.getloadavg()[0]
    cpu_before = worker_cpu(server)
    database_before = postgres_cpu(postmaster, leaving_out) if postmaster else 0.0
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    cpu = worker_cpu(server) - cpu_before
    database_cpu = postgres_cpu(postmaster, leaving_out) - database_before if postmaster else None
    load_after = os.getloadavg()[0]
    result_line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    values = {key: int(value) for key, value in (part.split("=") for part in result_line.split()[1:])}
    kinds = ("connect", "read", "write", "status", "timeout")
    errors = sum(values[key] for key in kinds)
    return LoadResult(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        errors=errors,
        error_kinds=", ".join(f"{key} {values[key]}" for key in kinds if values[key]),
        p50_ms=values["p50"] / 1000,
        p95_ms=values["p95"] / 1000,
        p99_ms=values["p99"] / 1000,
        max_ms=values["max"] / 1000,
        server_cpu_s=cpu,
        load_before=load_before,
        load_after=load_after,
        database_cpu_s=database_cpu,
    )


def warm_up(server: Server, token: str, lines: list[str], connections: int, workdir: Path) -> None:
    """A few seconds of the same load, not reported: every worker thread builds its caches (the warehouse
    index, the item names) before the measured run, as on a server that has been up for a while."""
    run_wrk(server, token, lines, connections, WARM_UP_SECONDS, workdir)


def in_process_nearest(url: str, count: int, seed_value: int) -> None:
    """Floor: the search alone, in this process, one call at a time (CPU per call)."""
    queries, _ = workload(url, count, seed_value)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        session = db.session
        cpu = []
        for query in queries[:50] + queries:
            before = time.process_time()
            nearest_stock(session, incident=Incident(Point(query.latitude, query.longitude)), item=query.item)
            session.rollback()
            cpu.append(time.process_time() - before)
        cpu = sorted(cpu[50:])
        db.engine.dispose()
    print(
        f"  {'floor: nearest_stock in-process, 1 client':<42} CPU p50 {cpu[len(cpu) // 2] * 1000:5.2f} ms  "
        f"p95 {cpu[int(len(cpu) * 0.95)] * 1000:5.2f} ms per call",
        flush=True,
    )


def count_movement_statements(url: str, token: str, lines: list[str]) -> None:
    """The SQL statements of one receipt and one issue, through the whole request (authentication included)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(NOT_COUNTED):
            sent.append(" ".join(statement.split())[:110])

    for line in lines[:4]:  # warm-up: this worker's caches
        method, path, body = line.split("\t")
        client.open(path, method=method, data=body, headers=headers, content_type="application/json")
    event.listen(engine, "before_cursor_execute", count)
    try:
        for label, line in (("receipt", lines[4]), ("issue", lines[5])):
            sent.clear()
            method, path, body = line.split("\t")
            response = client.open(path, method=method, data=body, headers=headers, content_type="application/json")
            if response.status_code >= 400:
                raise RuntimeError(f"{label}: {response.status_code} {response.data[:300]!r}")
            print(f"  SQL statements per {label} (BEGIN/COMMIT apart): {len(sent)}", flush=True)
            for statement in sent:
                print(f"      {statement}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    try:
        in_process_movements(client, headers, lines)
    finally:
        engine.dispose()


def in_process_movements(client, headers: dict, lines: list[str], rounds: int = 3) -> None:
    """CPU per movement through the Flask test client, one at a time: the request's own work without
    gunicorn, and far less disturbed by a busy machine than a rate (the best of ``rounds`` passes)."""
    per_round = []
    for _ in range(rounds):
        before = time.process_time()
        for line in lines:
            method, path, body = line.split("\t")
            response = client.open(path, method=method, data=body, headers=headers, content_type="application/json")
            if response.status_code >= 400:
                raise RuntimeError(f"{path}: {response.status_code} {response.data[:300]!r}")
        per_round.append((time.process_time() - before) / len(lines))
    print(
        f"  {'receipts + issues in-process, 1 client':<42} CPU {min(per_round) * 1000:5.2f} ms per movement "
        f"(best of {rounds} passes of {len(lines)}; load {os.getloadavg()[0]:.2f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", default="national")
    parser.add_argument("--seconds", type=int, default=15, help="per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients for the searches")
    parser.add_argument("--write-connections", type=int, default=8, help="concurrent clients for the movements")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-writes", action="store_true")
    parser.add_argument("--writes-only", action="store_true", help="only the stock movements")
    parser.add_argument("--workdir", type=Path, help="keep the database here and reuse it on the next run")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also serve the same runs from this source tree (e.g. `git archive` of an earlier commit), "
        "alternating with this one, for before/after figures under the same load",
    )
    args = parser.parse_args()
    # A plain SIGTERM would skip the ``finally`` blocks that stop gunicorn and the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit("bench_load needs wrk: apt-get install -y wrk")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"load through gunicorn: {args.db}, scale {args.scale}, {machine()}", flush=True)
    try:
        with database(args.db, workdir, reuse=args.workdir is not None) as (url, new):
            if new:
                seed(url, args.scale)
            else:  # a database kept from an earlier run gets this tree's migrations (seeding is what takes long)
                flask_command(url, "db", "upgrade")
            viewer, admin = tokens(url)
            trees = [("", ROOT)] + ([(" [baseline]", args.baseline.resolve())] if args.baseline else [])
            if not args.writes_only:
                searches(url, viewer, trees, args, workdir)
            if not args.skip_writes:
                movements(url, admin, trees, args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}", flush=True)


def searches(url: str, viewer: str, trees: list[tuple[str, Path]], args: argparse.Namespace, workdir: Path) -> None:
    """Nearest searches through gunicorn, the bare WSGI floor and the in-process floor."""
    lines = nearest_requests(url, 2000, args.seed)
    print(wrk_header(args.connections), flush=True)
    sample = b""
    for tag, code in trees:
        with gunicorn(url, "wsgi:app", args.workers, code) as server:
            sample = sample or probe(server.port, viewer, lines[0])
            warm_up(server, viewer, lines, args.connections, workdir)
            result = run_wrk(server, viewer, lines, args.connections, args.seconds, workdir)
            print(result.line(f"GET /nearest{tag}"), flush=True)
    (workdir / "bare-answer.json").write_bytes(sample)
    os.environ["BARE_ANSWER"] = str(workdir / "bare-answer.json")
    with gunicorn(url, BARE_APP, args.workers) as server:
        warm_up(server, viewer, lines, args.connections, workdir)
        result = run_wrk(server, viewer, lines, args.connections, args.seconds, workdir)
        print(result.line("floor: bare WSGI app, same answer bytes"), flush=True)
    in_process_nearest(url, 1000, args.seed)


def movements(url: str, admin: str, trees: list[tuple[str, Path]], args: argparse.Namespace, workdir: Path) -> None:
    """Receipts and issues through gunicorn; on PostgreSQL with the database's CPU and its backends' waits."""
    lines = movement_requests(url, 200, args.seed)
    count_movement_statements(url, admin, lines)
    postmaster = postmaster_pid(url)
    print(wrk_header(args.write_connections), flush=True)
    for tag, code in trees:
        with gunicorn(url, "wsgi:app", args.workers, code) as server:
            for line in lines[:2]:
                probe(server.port, admin, line)
            warm_up(server, admin, lines, args.write_connections, workdir)
            sampler = WaitSampler(url) if postmaster else None
            with sampler or contextlib.nullcontext():
                result = run_wrk(
                    server,
                    admin,
                    lines,
                    args.write_connections,
                    args.seconds,
                    workdir,
                    postmaster,
                    leaving_out=sampler.backend if sampler else None,
                )
            print(result.line(f"receipts + issues, {args.write_connections} clients{tag}"), flush=True)
            if sampler:
                print(sampler.report(), flush=True)


def wrk_header(connections: int) -> str:
    return f"  wrk, 2 threads, {connections} keep-alive connections; latencies in ms"


if __name__ == "__main__":
    main()
