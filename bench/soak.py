"""Soak: two gunicorn instances (4 workers each) on one PostgreSQL, mixed reads and writes for a while.

What a national deployment looks like on one machine: two "hosts" behind a client that spreads requests
over both. The mix (per request, at random): nearest search 45 %, stock-line list 15 %, plan 5 %,
expiring report 5 %, receipt 15 %, issue 15 % (one unit of a line that holds plenty). Reports at the end:
throughput, latency p50/p99 per kind, errors (5xx or no answer; 4xx counted apart), each worker's memory
(RSS) at the start and the end, and `check-ledger` on the database after the run.

    python bench/soak.py                      # 10 minutes (the acceptance run)
    python bench/soak.py --duration 60        # a quick proof that it works

Not part of `make bench` (it runs for ten minutes): run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from bench.bench_nearest import database, seed  # noqa: E402
from inventory.models import Item, Region, StockLine, Warehouse  # noqa: E402
from inventory.reference import RegionLevel, WarehouseStatus  # noqa: E402
from tests.live_server import start_gunicorn  # noqa: E402

MIX = [("nearest", 45), ("stock_lines", 15), ("plan", 5), ("expiring", 5), ("receipt", 15), ("issue", 15)]


def admin_token(url: str) -> str:
    from inventory.accounts import create_token, create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        create_user(db.session, "bench", username="soak", role="admin")
        _, token = create_token(db.session, "bench", username="soak", name="soak")
        db.session.commit()
        db.engine.dispose()
    return token


def workload_data(url: str) -> dict:
    """Places, items, provinces and a pool of stock lines that can give one unit many times."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        places = db.session.execute(
            select(Region.latitude, Region.longitude).where(Region.level == RegionLevel.COUNTY)
        ).all()
        items = list(db.session.scalars(select(Item.code)))
        provinces = list(db.session.scalars(select(Region.code).where(Region.level == RegionLevel.PROVINCE)))
        far = dt.date.today() + dt.timedelta(days=365)
        lines = db.session.execute(
            select(StockLine.id, Warehouse.code, Item.code, StockLine.batch)
            .join(Warehouse, StockLine.warehouse_id == Warehouse.id)
            .join(Item, StockLine.item_id == Item.id)
            .where(StockLine.quantity - StockLine.reserved >= 1000)
            .where((StockLine.expiry_date.is_(None)) | (StockLine.expiry_date > far))
            .where(Warehouse.status == WarehouseStatus.ACTIVE)
            .limit(500)
        ).all()
        db.engine.dispose()
    return {"places": places, "items": items, "provinces": provinces, "lines": lines}


def start_instance(url: str, workers: int, metrics_dir: Path) -> tuple[subprocess.Popen, str]:
    env = {"DATABASE_URL": url, "SECRET_KEY": "soak-" * 8, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    options = ["--config", "gunicorn.conf.py", "--no-control-socket", "--workers", str(workers)]
    server = start_gunicorn([*options, "--access-logfile", "/dev/null"], environment=env, health_path="/health")
    return server.process, f"127.0.0.1:{server.port}"


def worker_private_memory(process: subprocess.Popen) -> list[float]:
    """USS in MiB of each worker: the pages only it holds. RSS also counts pages shared with the master and
    the metrics' memory-mapped files, which grow with each new label (endpoint, status) and then stop."""
    return [child.memory_full_info().uss / 2**20 for child in psutil.Process(process.pid).children()]


def worker_memory(process: subprocess.Popen) -> dict[int, float]:
    """RSS in MiB of each worker of a gunicorn master."""
    return {child.pid: child.memory_info().rss / 2**20 for child in psutil.Process(process.pid).children()}


class Client(threading.Thread):
    def __init__(self, hosts: list[str], token: str, data: dict, until: float, seed: int, results: dict) -> None:
        super().__init__(daemon=True)
        self.hosts, self.token, self.data, self.until = hosts, token, data, until
        self.random = random.Random(seed)
        self.results = results
        self.kinds = [kind for kind, weight in MIX for _ in range(weight)]

    def request(self) -> tuple[str, str, str, bytes | None]:
        kind = self.random.choice(self.kinds)
        pick = self.random.choice
        if kind == "nearest":
            lat, lon = pick(self.data["places"])
            query = urllib.parse.urlencode({"lat": lat, "lon": lon, "item": pick(self.data["items"])})
            return kind, "GET", f"/api/v1/nearest?{query}", None
        if kind == "stock_lines":
            return kind, "GET", f"/api/v1/stock-lines?warehouse={pick(self.data['lines'])[1]}", None
        if kind == "expiring":
            return kind, "GET", f"/api/v1/reports/expiring?region={pick(self.data['provinces'])}&page_size=20", None
        if kind == "plan":
            lat, lon = pick(self.data["places"])
            needs = [{"item": code, "quantity": 50} for code in self.random.sample(self.data["items"], 3)]
            return kind, "POST", "/api/v1/plans", json.dumps({"lat": lat, "lon": lon, "needs": needs}).encode()
        line_id, warehouse, item, batch = pick(self.data["lines"])
        if kind == "receipt":
            body = {"warehouse_code": warehouse, "item_code": item, "quantity": 1, "batch": batch}
            return kind, "POST", "/api/v1/receipts", json.dumps(body).encode()
        return kind, "POST", f"/api/v1/stock-lines/{line_id}/issues", json.dumps({"quantity": 1}).encode()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        while time.monotonic() < self.until:
            kind, method, path, body = self.request()
            host, port = self.random.choice(self.hosts).split(":")
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                connection.close()
            except OSError:
                status = 0
            self.results[kind].append((time.perf_counter() - started, status))


def sample_while(clients: list[Client], instances: list, started: float, every: float) -> list[tuple]:
    """Every `every` seconds until the clients finish: (seconds, load average, total worker RSS, largest worker
    RSS, total worker USS, requests so far) -- a leak shows as a climb over the samples, not only as end minus
    start."""
    samples = []
    next_sample = started + every
    while any(client.is_alive() for client in clients):
        clients[0].join(timeout=max(0.0, min(1.0, next_sample - time.monotonic())))
        if time.monotonic() >= next_sample:
            rss = [value for process, _ in instances for value in worker_memory(process).values()]
            private = [value for process, _ in instances for value in worker_private_memory(process)]
            done = sum(len(entries) for entries in clients[0].results.values())
            samples.append((time.monotonic() - started, os.getloadavg()[0], sum(rss), max(rss), sum(private), done))
            next_sample += every
    return samples


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--scale", default="national", help="demo dataset (small, national)")
    parser.add_argument("--sample-every", type=float, default=60, help="seconds between memory/load samples")
    args = parser.parse_args()
    print(f"soak: {args.instances} instances x {args.workers} workers, {args.clients} clients, {args.duration:.0f} s")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as workdir,
        database("postgresql", Path(workdir), False) as (url, _),
    ):
        seed(url, args.scale)
        token = admin_token(url)
        data = workload_data(url)
        instances = [start_instance(url, args.workers, Path(workdir) / f"metrics-{n}") for n in range(args.instances)]
        try:
            hosts = [address for _, address in instances]
            warm_until = time.monotonic() + min(20.0, args.duration / 10)
            warm = defaultdict(list)
            for client in [Client(hosts, token, data, warm_until, 1000 + n, warm) for n in range(args.clients)]:
                client.start()
            time.sleep(max(0.0, warm_until - time.monotonic()) + 1)
            memory_start = {pid: rss for process, _ in instances for pid, rss in worker_memory(process).items()}
            results: dict[str, list] = defaultdict(list)
            started = time.monotonic()
            clients = [Client(hosts, token, data, started + args.duration, n, results) for n in range(args.clients)]
            for client in clients:
                client.start()
            samples = sample_while(clients, instances, started, args.sample_every)
            elapsed = time.monotonic() - started
            memory_end = {pid: rss for process, _ in instances for pid, rss in worker_memory(process).items()}
        finally:
            for process, _ in instances:
                process.send_signal(signal.SIGTERM)
            for process, _ in instances:
                process.wait(timeout=60)
        report(results, elapsed, memory_start, memory_end, samples)
        ledger = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "check-ledger"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
        )
        print(f"check-ledger: exit {ledger.returncode}: {ledger.stdout.strip() or ledger.stderr.strip()}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def report(results: dict, elapsed: float, memory_start: dict, memory_end: dict, samples: list[tuple]) -> None:
    every = [entry for entries in results.values() for entry in entries]
    errors = sum(1 for _, status in every if status == 0 or status >= 500)
    refused = sum(1 for _, status in every if 400 <= status < 500)
    rate = len(every) / elapsed
    print(
        f"requests: {len(every):,} in {elapsed:.0f} s = {rate:.1f} req/s; errors (5xx, none): {errors}; 4xx: {refused}"
    )
    print(f"{'kind':<12}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'4xx':>6}{'5xx':>6}")
    for kind, _ in MIX:
        entries = results.get(kind, [])
        times = [seconds * 1000 for seconds, _ in entries]
        bad = sum(1 for _, status in entries if status == 0 or status >= 500)
        four = sum(1 for _, status in entries if 400 <= status < 500)
        median = statistics.median(times) if times else 0
        print(f"{kind:<12}{len(entries):>8}{median:>10.0f}{percentile(times, 0.99):>10.0f}{four:>6}{bad:>6}")
    all_times = [seconds * 1000 for seconds, _ in every]
    print(f"{'all':<12}{len(every):>8}{statistics.median(all_times):>10.0f}{percentile(all_times, 0.99):>10.0f}")
    print("worker memory (RSS MiB): start -> end (growth)")
    for pid in sorted(memory_start):
        if pid in memory_end:
            growth = memory_end[pid] - memory_start[pid]
            print(f"  worker {pid}: {memory_start[pid]:.0f} -> {memory_end[pid]:.0f} ({growth:+.1f})")
        else:
            print(f"  worker {pid}: {memory_start[pid]:.0f} -> replaced (a worker restarted)")
    print("samples: seconds, load average, all workers' RSS MiB, largest worker RSS, all workers' USS, requests")
    for seconds, load, total, largest, private, done in samples:
        print(f"  {seconds:6.0f} s  load {load:5.1f}  {total:8.1f}  {largest:6.1f}  {private:8.1f}  {done:>8,}")


if __name__ == "__main__":
    main()
