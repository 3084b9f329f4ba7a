"""Two versions of the nearest search in one process, each query run by both in turn: an A/B that a busy machine
cannot tilt.

``nearest_cpu.py`` runs two trees in two processes at once; on a shared 2-core machine their figures still drift
apart by ±5-7 % for the same code (docs/benchmarks.md "s24: nearest in-process"). Here the other tree's
``inventory/nearest.py`` (and, with ``--geo``, its ``inventory/geo.py``) is loaded beside this tree's under
other module names; both search the same engine and database, query by query, alternating which goes first, so
both pay the same load, caches and page cache. Everything else (``inventory/db.py``, the engine set-up, the
catalogue) is this tree's on both sides: compare changes to those two modules only. Thread CPU per call
(nearest_stock and the rollback that ends it), over the 1,000 incidents and items of ``bench_nearest.py``'s
workload (same seed). The p50 and p95 are the figures to read; the mean carries the outliers of a loaded machine.

    .venv/bin/python bench/nearest_ab.py --source bench.sqlite3 --other /tmp/old-tree --geo
    .venv/bin/python bench/nearest_ab.py --source bench.sqlite3 --other .   # calibration: the same code twice
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _other_nearest(other: Path, with_geo: bool) -> ModuleType:
    """The other tree's nearest module; with ``with_geo``, importing the other tree's geo module as its own."""
    import inventory.geo

    if not with_geo:
        return _load("other_nearest", other / "inventory" / "nearest.py")
    sys.modules["inventory.geo"] = _load("other_geo", other / "inventory" / "geo.py")
    try:
        return _load("other_nearest", other / "inventory" / "nearest.py")
    finally:
        sys.modules["inventory.geo"] = inventory.geo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="a seeded national SQLite file (read only)")
    parser.add_argument("--other", type=Path, required=True, help="the tree to compare this one with")
    parser.add_argument("--geo", action="store_true", help="the other tree's inventory/geo.py too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from api import create_app
    from api.extensions import db
    from bench.bench_nearest import workload
    from inventory import nearest as this

    other = _other_nearest(args.other.resolve(), args.geo)
    url = f"sqlite:///{args.source.resolve()}"
    queries, _plans = workload(url, 1000, args.seed)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    cpu: dict[str, list[int]] = {"other": [], "this": []}
    with app.app_context():
        session = db.session

        def call(module: ModuleType, query) -> int:
            started = time.thread_time_ns()
            incident = module.Incident(module.Point(query.latitude, query.longitude))
            module.nearest_stock(session, incident=incident, item=query.item)
            session.rollback()
            return time.thread_time_ns() - started

        for query in queries[:200]:  # warm-up: both modules' worker copies, the statement caches
            call(other, query)
            call(this, query)
        for round_number in range(args.rounds):
            for number, query in enumerate(queries):
                order = (("other", other), ("this", this))
                for name, module in order if (number + round_number) % 2 else order[::-1]:
                    cpu[name].append(call(module, query))
        db.engine.dispose()
    figures = {}
    for name, values in cpu.items():
        values.sort()
        count = len(values)
        figures[name] = (sum(values) / count / 1e6, values[count // 2] / 1e6, values[int(count * 0.95)] / 1e6)
        mean, p50, p95 = figures[name]
        tree = args.other.resolve() if name == "other" else ROOT
        print(f"  {name} ({tree}): CPU per call mean {mean:.3f} p50 {p50:.3f} p95 {p95:.3f} ms (n={count})")
    change = [this / other - 1 for this, other in zip(figures["this"], figures["other"], strict=True)]
    print(
        f"  this / other: mean {change[0]:+.1%}, p50 {change[1]:+.1%}, p95 {change[2]:+.1%}"
        f" (load average {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
