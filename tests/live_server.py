"""Start gunicorn on a free port and wait until it answers its health check: the one helper for the
tests (``gunicorn``, ``host`` and the browser's ``page_server`` fixtures) and the benches.

The timeouts are generous on purpose: on a 2-core machine shared by several test runs a worker's first
request (imports, the first database connection) can take tens of seconds, and a short probe timeout
then reads as "not up" although the server is nearly there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0  # seconds until the first healthy answer
PROBE_TIMEOUT = 10.0  # seconds one health request may take
STOP_TIMEOUT = 30.0  # seconds for the master to exit before it is killed


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Gunicorn:
    """A started gunicorn master: its process, port and log file (stdout and stderr)."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""

    def stop(self) -> None:
        """gunicorn's quick shutdown (SIGINT: no graceful wait for idle keep-alive connections)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
        # A worker left behind (its master killed, or gone before it): the server runs in a process group of its
        # own, so none outlives the test (one was found still serving minutes after a test run).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start_gunicorn(
    options: Sequence[str] = (),
    *,
    environment: Mapping[str, str | None] | None = None,
    app: str = "wsgi:app",
    cwd: Path = ROOT,
    log: Path | None = None,
    health_path: str = "/api/v1/health",
    timeout: float = START_TIMEOUT,
) -> Gunicorn:
    """``python -m gunicorn <options> --bind 127.0.0.1:<free port> <app>`` in ``cwd``, with ``environment``
    added to this process's (a ``None`` value removes the variable); returns once ``health_path`` answers
    2xx. Raises ``RuntimeError`` with the log's tail when the master exits first or ``timeout`` passes (the
    process is killed then)."""
    port = free_port()
    if log is None:
        handle, name = tempfile.mkstemp(prefix=f"gunicorn-{port}-", suffix=".log")
        os.close(handle)
        log = Path(name)
    env = dict(os.environ)
    for name, value in (environment or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    command = [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}", app]
    with log.open("wb") as output:  # the child keeps its own descriptor; a pipe nobody reads could fill
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Gunicorn(process, port, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.base + health_path, timeout=PROBE_TIMEOUT):
                return server
        except (urllib.error.URLError, OSError):
            exited = process.poll() is not None
            if exited or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # the master and any worker it started
                process.wait()
                why = "exited" if exited else f"did not answer {health_path} within {timeout:.0f} s"
                raise RuntimeError(f"gunicorn {why}; its log ends:\n{server.log_tail()}") from None
            time.sleep(0.2)
