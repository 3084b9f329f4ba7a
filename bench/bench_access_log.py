"""CPU per access-log line: gunicorn's own logger against gunicorn.conf.py's ``AccessLogger``, to /dev/null.

One process, no server: each logger writes the line of a typical ``GET /nearest`` (gunicorn's environ, request
and response headers as wrk sends and the app answers) ``--lines`` times; two alternating passes each.

    .venv/bin/python bench/bench_access_log.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import runpy
import time
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "Bearer " + "x" * 43
QUERY = "item_code=WATER-5L&latitude=30.1&longitude=114.2&quantity=10"
ENVIRON = {
    **{key: object() for key in ("wsgi.errors", "wsgi.input", "gunicorn.socket", "wsgi.file_wrapper")},
    "wsgi.version": (1, 0),
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "wsgi.input_terminated": True,
    "wsgi.url_scheme": "http",
    "SERVER_SOFTWARE": "gunicorn",
    "REQUEST_METHOD": "GET",
    "QUERY_STRING": QUERY,
    "RAW_URI": f"/api/v1/nearest?{QUERY}",
    "PATH_INFO": "/api/v1/nearest",
    "SCRIPT_NAME": "",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "127.0.0.1:8000",
    "HTTP_AUTHORIZATION": TOKEN,
    "HTTP_CONTENT_TYPE": "application/json",
    "CONTENT_TYPE": "application/json",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "51234",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
}
REQUEST = SimpleNamespace(
    headers=[("HOST", "127.0.0.1:8000"), ("AUTHORIZATION", TOKEN), ("CONTENT-TYPE", "application/json")]
)
RESPONSE = SimpleNamespace(
    status="200 OK",
    sent=6096,
    headers=[
        ("Content-Type", "application/json"),
        ("Content-Length", "6096"),
        ("X-Request-ID", "a" * 32),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ],
)


def cpu_per_line(logger_class, lines: int) -> float:
    cfg = Config()
    cfg.set("accesslog", os.devnull)
    logger = logger_class(cfg)
    took = dt.timedelta(microseconds=3500)
    started = time.process_time()
    for _ in range(lines):
        logger.access(RESPONSE, REQUEST, ENVIRON, took)
    spent = time.process_time() - started
    logging.getLogger("gunicorn.access").handlers.clear()
    return spent / lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args()
    ours = runpy.run_path(str(ROOT / "gunicorn.conf.py")).get("AccessLogger", Logger)
    for _pass in range(2):
        for label, logger_class in (("gunicorn's Logger", Logger), ("gunicorn.conf.py's logger_class", ours)):
            cpu = cpu_per_line(logger_class, args.lines)
            print(f"  {label:32s} {cpu * 1e6:6.1f} µs CPU per line  load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
