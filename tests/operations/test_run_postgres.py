"""`make run-postgres` stops cleanly: Ctrl-C or SIGTERM becomes one graceful SIGTERM to gunicorn, awaited.

Before, Ctrl-C reached gunicorn's master and workers from the terminal while deploy/run_postgres.py killed the
master (SIGKILL) a quarter of a second later: workers were orphaned and one hung. Here a stand-in server
records every signal it receives; the launcher runs in a process group of its own, as a terminal would start
it, and the group gets the signal Ctrl-C sends.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Writes "ready", then the name of each signal it receives; a SIGTERM ends it (exit 0), as gunicorn's does.
SERVER = """
import signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
def note(number, _frame):
    log.write(signal.Signals(number).name + "\\n")
    if number == signal.SIGTERM:
        sys.exit(0)
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
    signal.signal(number, note)
log.write("ready\\n")
while True:
    time.sleep(0.05)
"""

LAUNCHER = """
import importlib.util, os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever pytest inherited
spec = importlib.util.spec_from_file_location("run_postgres", os.path.join(sys.argv[1], "deploy", "run_postgres.py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.exit(module.serve([sys.executable, "-c", sys.argv[2], sys.argv[3]], cwd=sys.argv[1], env=dict(os.environ)))
"""


def wait_for(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_server_with_one_sigterm(tmp_path, how):
    log = tmp_path / "signals.txt"
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(ROOT), SERVER, str(log)], cwd=ROOT, start_new_session=True
    )
    try:
        wait_for(lambda: log.exists() and "ready" in log.read_text())
        if how == "ctrl-c":
            os.killpg(launcher.pid, signal.SIGINT)  # the terminal signals its whole foreground process group
        else:
            launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert log.read_text().split() == ["ready", "SIGTERM"]  # one graceful stop, no SIGINT, no SIGKILL


def test_the_postgresql_demo_writes_its_accounts_beside_make_runs_not_over_them():
    """Both demos keep their files in instance/; `make run-postgres` once wrote its database's passwords and
    tokens into `make run`'s instance/demo-accounts.txt, and the SQLite demo's were lost for good (its next start
    says the accounts exist and points at that file, whose logins it refuses)."""
    from api.cli.users import DEMO_ACCOUNTS_FILE

    spec = importlib.util.spec_from_file_location("run_postgres", ROOT / "deploy" / "run_postgres.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    [accounts] = [step for step in module.STEPS if step[0] == "demo-accounts"]
    written = Path(accounts[accounts.index("--file") + 1])
    assert written.parent == DEMO_ACCOUNTS_FILE.parent and written != DEMO_ACCOUNTS_FILE
