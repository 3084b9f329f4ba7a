"""Fixtures of the operations tests: gunicorn instances as separate "hosts", PostgreSQL-only skips."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def postgresql_only(db_kind):
    if db_kind != "postgresql":
        pytest.skip("several hosts, replicas and roles are PostgreSQL's")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def host(tmp_path):
    """Start a gunicorn instance (a "host") with its own port and settings → base URL; its log is a file.

    ``host(database_url, workers=2, DATABASE_REPLICA_URL=…)``. Stopped at the end of the test.
    """
    started: list[subprocess.Popen] = []

    def start(database_url: str, workers: int = 2, **environment: str) -> str:
        port = free_port()
        log = tmp_path / f"host-{port}.log"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-two-hosts", **environment}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each host counts its own workers
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        process.log_path = log  # type: ignore[attr-defined]
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1):
                    return base
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.2)

    start.processes = started  # type: ignore[attr-defined]
    yield start
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=30)
