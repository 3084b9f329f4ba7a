"""CPU per in-process ``nearest_stock`` call, for comparing two trees in the same window on a busy machine.

Each call is one transaction, as in ``bench_postgis.py``: ``nearest_stock`` and the rollback that ends it, over
the 1,000 incidents and items of ``bench_nearest.py``'s workload (same seed), timed with ``time.process_time``.
Run it for both trees at the same time, so both pay the same load; ``--tree`` is the tree whose code is imported:

    .venv/bin/python bench/nearest_cpu.py --source bench.sqlite3 --tree /tmp/old-search &
    .venv/bin/python bench/nearest_cpu.py --source bench.sqlite3 --tree . & wait
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="a seeded national SQLite file (read only)")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1], help="the code to run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.path.insert(0, str(tree))
    from api import create_app
    from api.extensions import db
    from bench.bench_nearest import workload
    from inventory.geo import Incident, Point
    from inventory.nearest import nearest_stock

    url = f"sqlite:///{args.source.resolve()}"
    queries, _plans = workload(url, 1000, args.seed)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        session = db.session

        def call(query) -> None:
            nearest_stock(session, incident=Incident(Point(query.latitude, query.longitude)), item=query.item)
            session.rollback()

        for query in queries[:200]:  # warm-up: the worker copies and the statement caches
            call(query)
        cpu = []
        for _ in range(args.rounds):
            for query in queries:
                before = time.process_time()
                call(query)
                cpu.append(time.process_time() - before)
        db.engine.dispose()
    cpu.sort()
    count = len(cpu)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(
        f"{tree} on {args.source.name}: CPU per call mean {sum(cpu) / count * 1000:.3f}"
        f" p50 {cpu[count // 2] * 1000:.3f} p95 {cpu[int(count * 0.95)] * 1000:.3f} ms (n={count}, load average {load})"
    )


if __name__ == "__main__":
    main()
