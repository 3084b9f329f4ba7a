"""Coverage gaps over every county of the country: the service, and the API's JSON and Excel answers.

Seeds a fresh SQLite database with ``init-db`` and ``seed_demo(session, "national")`` (7,600 warehouses,
126,000 stock lines), then runs the coverage report over all county-level places (2,847) for one
category and one item, a few times each, one transaction per run, and prints wall-clock and CPU times,
how many exact geodesics each run measured, and the answer's size. Then the same reports through the
API (Flask test client, bearer token: JSON, then .xlsx), and a check of the answer against measuring
every holder for a sample of counties.

    .venv/bin/python bench/bench_coverage.py
    .venv/bin/python bench/bench_coverage.py --workdir /tmp/cov --repeat 10 --radius 50
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from bench.counting import CountingGeodesic  # noqa: E402
from inventory.accounts import create_token, create_user  # noqa: E402
from inventory.db import intends_to_write  # noqa: E402
from inventory.demo import seed_demo  # noqa: E402
from inventory.geo import GEODESIC, Point  # noqa: E402
from inventory.reference import Category  # noqa: E402
from inventory.reports.coverage import (  # noqa: E402
    CoverageReport,
    county_level_places,
    coverage_gaps,
    usable_holders,
    wanted_items,
)


@dataclass(frozen=True)
class Query:
    label: str
    arguments: dict
    http: str


def prepare(path: Path) -> float:
    """A migrated database with the national demo; returns the seconds seeding took (0 if it existed)."""
    if path.exists():
        return 0.0
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    result = app.test_cli_runner().invoke(args=["init-db"])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    started = time.perf_counter()
    with app.app_context(), intends_to_write():
        seed_demo(db.session, "national")
        db.session.commit()
    return time.perf_counter() - started


def time_service(query: Query, repeat: int) -> tuple[list[float], list[float], int, CoverageReport]:
    walls, cpus = [], []
    counter = CountingGeodesic()
    report = None
    for _ in range(repeat):
        counter.calls = 0
        wall, cpu = time.perf_counter(), time.process_time()
        report = coverage_gaps(db.session, distance=counter, **query.arguments)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        db.session.rollback()  # one transaction per run, as a request
    assert report is not None
    return walls, cpus, counter.calls, report


def time_http(client, url: str, repeat: int) -> tuple[list[float], int]:
    walls, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        walls.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        size = len(response.data)
    return walls, size


def verify(report: CoverageReport, query: Query, sample: int) -> int:
    """Measure every holder for a sample of places (uncovered and covered) and compare with the answer."""
    _ref, item_ids = wanted_items(db.session, query.arguments.get("item"), query.arguments.get("category"))
    holders = usable_holders(db.session, item_ids, report.as_of, report.min_quantity)
    points = [Point(latitude, longitude) for _code, latitude, longitude in holders]
    gaps = {gap.place.code: gap for gap in report.gaps}
    places = random.Random(7).sample(county_level_places(db.session), sample)
    for place in places:
        origin = Point(place.latitude, place.longitude)
        nearest = min(GEODESIC.distance_km(origin, point) for point in points) if points else None
        covered = nearest is not None and nearest <= report.radius_km
        assert covered == (place.code not in gaps), place
        if not covered:
            assert gaps[place.code].nearest_km == nearest, (place, gaps[place.code], nearest)
    db.session.rollback()
    return len(places)


def figures(values: list[float]) -> str:
    ms = np.array(values) * 1000
    return f"min {ms.min():7.1f}  median {statistics.median(ms):7.1f}  max {ms.max():7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="keep the seeded database here for the next run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--radius", type=float, default=100.0)
    parser.add_argument("--verify", type=int, default=40, help="places checked against every holder")
    options = parser.parse_args()

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="bench-coverage-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "coverage.sqlite3"
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, numpy {np.__version__}"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    seeded = prepare(path)
    print(f"database: {path} ({f'seeded in {seeded:.1f} s' if seeded else 'reused'})")

    radius = options.radius
    queries = [
        Query(
            f"category pollutant_degradation ≤ {radius:g} km",
            {"category": Category.POLLUTANT_DEGRADATION, "radius_km": radius},
            f"category=pollutant_degradation&radius_km={radius:g}",
        ),
        Query(
            f"item 活性炭 PD-001 ≤ {radius:g} km",
            {"item": "PD-001", "radius_km": radius},
            f"item=PD-001&radius_km={radius:g}",
        ),
        Query(
            f"item PD-001 ≥ 10 t ≤ {radius:g} km",
            {"item": "PD-001", "radius_km": radius, "min_quantity": "10"},
            f"item=PD-001&radius_km={radius:g}&min_quantity=10",
        ),
    ]
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        with intends_to_write():
            create_user(db.session, "bench", username=f"bench-{os.getpid()}", role="viewer")
            _, token = create_token(db.session, "bench", username=f"bench-{os.getpid()}")
            db.session.commit()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        for query in queries:
            walls, cpus, geodesics, report = time_service(query, options.repeat)
            print(
                f"\n{query.label}: {report.places} places, {report.holders} holders, "
                f"{len(report.gaps)} uncovered, {geodesics} exact geodesics per run"
            )
            print(f"  service  wall {figures(walls)}   CPU median {statistics.median(cpus) * 1000:.1f} ms")
            json_walls, json_size = time_http(client, f"/api/v1/reports/coverage?{query.http}", options.repeat)
            print(f"  GET JSON wall {figures(json_walls)}   {json_size / 1024:.0f} KiB")
            xlsx_walls, xlsx_size = time_http(client, f"/api/v1/reports/coverage.xlsx?{query.http}", options.repeat)
            print(f"  GET xlsx wall {figures(xlsx_walls)}   {xlsx_size / 1024:.0f} KiB")
            if options.verify:
                checked = verify(report, query, options.verify)
                print(f"  verified against every holder for {checked} random places: same answer")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
