"""gunicorn.conf.py's serving hooks: the access logger writes gunicorn's own lines (from fewer atoms), and a worker
freezes what it loaded before serving."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import runpy
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"

REQUESTS = [
    # (environ, status, bytes sent)
    ({"REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": "wrk", "HTTP_AUTHORIZATION": "Bearer abc"}, "200 OK", 6096),
    ({"HTTP_REFERER": 'https://x/"q"', "HTTP_USER_AGENT": 'a "quoted" agent'}, "404 NOT FOUND", 0),
    ({"REMOTE_ADDR": "::1", "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "401 UNAUTHORIZED", None),
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Basic !!not base64"}, 503, 17),
    ({"REMOTE_ADDR": "127.0.0.1", "RAW_URI": '/api/v1/nearest?item="水"&x=1'}, "200 OK", 12),
]


def _environ(extra: dict) -> dict:
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/api/v1/nearest?item=WATER", "SERVER_PROTOCOL": "HTTP/1.1"}
    environ.update(extra)
    return environ


def _logged(logger_class, path: Path, access_log_format: str | None, now) -> list[str]:
    cfg = Config()
    cfg.set("accesslog", str(path))
    if access_log_format is not None:
        cfg.set("access_log_format", access_log_format)
    logger = logger_class(cfg)
    logger.now = now
    for extra, status, sent in REQUESTS:
        response = SimpleNamespace(status=status, sent=sent, headers=[("X-Request-ID", "r1")])
        request = SimpleNamespace(headers=[("HOST", "localhost"), ("AUTHORIZATION", "Bearer abc")])
        logger.access(response, request, _environ(extra), dt.timedelta(seconds=1, microseconds=2500))
    for handler in logger.access_log.handlers:
        handler.close()
    logging.getLogger("gunicorn.access").handlers.clear()
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def settings():
    return runpy.run_path(str(CONF))


@pytest.fixture(scope="module")
def access_logger(settings):
    return settings["AccessLogger"]


def test_a_worker_moves_what_it_loaded_out_of_the_collectors_sight(settings):
    assert settings["logger_class"] is settings["AccessLogger"]
    frozen = gc.get_freeze_count()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()  # this test process goes on collecting as before


@pytest.mark.parametrize("access_log_format", [None, '%(h)s "%(r)s" %(s)s %(M)s %({x-request-id}o)s %({host}i)s'])
def test_the_lines_are_gunicorns_for_the_default_format_and_any_other(access_logger, tmp_path, access_log_format):
    def stamp() -> str:
        return "[30/Nov/2026:23:59:59 +0000]"

    ours = _logged(access_logger, tmp_path / "ours.log", access_log_format, stamp)
    theirs = _logged(Logger, tmp_path / "theirs.log", access_log_format, stamp)
    assert ours == theirs and len(ours) == len(REQUESTS)
    if access_log_format is None:
        assert (
            ours[0]
            == '10.0.0.7 - - [30/Nov/2026:23:59:59 +0000] "GET /api/v1/nearest?item=WATER HTTP/1.1" 200 6096 "-" "wrk"'
        )
        assert ours[2].startswith("::1 - user ")  # a Basic login's user name, as gunicorn logs it


def test_the_time_is_gunicorns_format_formatted_once_a_second(access_logger):
    logger = access_logger(Config())
    for _attempt in range(5):  # a second may turn between the two readings
        before = time.strftime("[%d/%b/%Y:%H:%M:%S %z]")
        first, second = logger.now(), logger.now()
        if before == time.strftime("[%d/%b/%Y:%H:%M:%S %z]"):
            assert first == second == before == Logger.now(logger)
            assert first is second  # the same text, not formatted again
            return
    pytest.fail("the clock kept turning")
