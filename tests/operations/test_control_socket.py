"""gunicorn's control socket: off unless a path of its own is given (gunicorn.conf.py,
``control_socket_only_when_given``). Its default is one path per user, which every server on the host shared."""

from __future__ import annotations

import runpy
import stat
from pathlib import Path

import pytest
from gunicorn.config import Config

from tests.live_server import start_gunicorn

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def only_when_given():
    return runpy.run_path(str(CONF))["control_socket_only_when_given"]


def test_the_per_user_default_is_turned_off_and_a_path_of_its_own_kept(only_when_given):
    default = Config()
    only_when_given(default)
    assert default.control_socket_disable is True
    own = Config()
    own.set("control_socket", "/run/inventory/gunicorn.ctl")
    only_when_given(own)
    assert own.control_socket_disable is False


def test_servers_on_one_host_leave_the_shared_socket_alone(tmp_path):
    """Two servers of one user with the project's settings: neither creates ~/.gunicorn/gunicorn.ctl (each
    unlinked the other's, and the first to stop deleted it); one given --control-socket gets its own."""
    environment = {
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": None,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY": "test-control-socket",
        "PROMETHEUS_MULTIPROC_DIR": None,
    }
    own_socket = tmp_path / "own.ctl"
    servers = []
    try:
        for options in (
            ["--workers", "1"],
            ["--workers", "1"],
            ["--workers", "1", "--control-socket", str(own_socket)],
        ):
            servers.append(start_gunicorn(options, environment=environment, health_path="/health"))
        assert not (tmp_path / ".gunicorn" / "gunicorn.ctl").exists()
        assert stat.S_ISSOCK(own_socket.stat().st_mode)
    finally:
        for server in servers:
            server.stop()
