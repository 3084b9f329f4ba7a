"""CPU time per request inside one worker process, no server: before/after figures when the machine is busy.

Runs ``GET /api/v1/nearest`` (random incidents and items, a viewer's bearer token) and the receipts and
issues of ``bench_load.py`` through Flask's test client, in a fresh process per source tree, and prints
this process's CPU time per request (``time.process_time``, median of ``--rounds`` rounds, warm-up
excluded). With ``--baseline DIR`` the rounds alternate between this tree and DIR, so both see the same
load. No gunicorn, no sockets: what the application itself costs per request.

    .venv/bin/python bench/request_cpu.py --url sqlite:////tmp/speed/sq/bench.sqlite3 --baseline /tmp/speed/base

The database must be seeded already (e.g. by ``bench_load.py --workdir``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from api import create_app
url, token, count, requests_file = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
lines = [line.split("\t") for line in open(requests_file).read().splitlines()]
app = create_app({"SQLALCHEMY_DATABASE_URI": url})
client = app.test_client()
headers = {"Authorization": f"Bearer {token}"}

def send(parts):
    method, path, *body = parts
    response = client.open(path, method=method, data=(body[0] if body else None), headers=headers,
                           content_type="application/json")
    assert response.status_code < 400, (response.status_code, response.data[:200])

for parts in lines[:50]:
    send(parts)
started = time.process_time()
for parts in lines[50:50 + count]:
    send(parts)
print(json.dumps({"cpu_ms": (time.process_time() - started) / count * 1000}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a seeded database")
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.bench_load import movement_requests, nearest_requests, tokens

    viewer, admin = tokens(args.url)
    workdir = Path(os.environ.get("TMPDIR", "/tmp"))
    kinds = {
        "GET /nearest": (viewer, nearest_requests(args.url, args.requests + 50, args.seed)),
        "receipts + issues": (admin, movement_requests(args.url, 200, args.seed)),
    }
    trees = [("this tree", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    print(f"CPU per request in one process (test client), load average {os.getloadavg()[0]:.2f}", flush=True)
    for kind, (token, lines) in kinds.items():
        requests_file = workdir / f"request-cpu-{os.getpid()}.tsv"
        requests_file.write_text("\n".join(lines) + "\n")
        count = min(args.requests, len(lines) - 50)
        figures: dict[str, list[float]] = {label: [] for label, _ in trees}
        for _ in range(args.rounds):
            for label, code in trees:
                output = subprocess.run(
                    [sys.executable, "-c", CHILD, str(code), args.url, token, str(count), str(requests_file)],
                    cwd=code,
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "SECRET_KEY": "bench"},
                ).stdout
                figures[label].append(json.loads(output.splitlines()[-1])["cpu_ms"])
        requests_file.unlink()
        for label, values in figures.items():
            rounds = ", ".join(f"{value:.2f}" for value in values)
            print(
                f"  {kind:<18} {label:<10} median {statistics.median(values):6.2f} ms/request  (rounds: {rounds})",
                flush=True,
            )
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
