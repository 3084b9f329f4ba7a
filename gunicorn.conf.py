"""gunicorn settings for `make run`; each can be overridden from the environment."""

import logging
import multiprocessing
import os
import sys
import time
import traceback
from datetime import datetime

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() + 1)))
# Threads keep client connections alive between requests (the sync worker closes each one: a new TCP
# connection and its accept per request), and let one worker wait on several database round trips.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Above importers.limits.PARSE_WAIT_SECONDS (90): an upload's parse may take that long on a starved
# machine, and the worker must live to answer 413 rather than be killed mid-request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = "-"


def _limit_malloc_arenas() -> None:
    """glibc gives each new thread its own malloc arena (up to 8 per core); with gthread workers every
    request thread then keeps freed memory in an arena of its own and a worker's RSS creeps up for hours
    (the soak measured ~1 KiB per request, flat in one thread). Two arenas per process is the usual cure;
    set through mallopt here because MALLOC_ARENA_MAX is read once, before this file runs. The workers
    inherit it by fork. ``MALLOC_ARENA_MAX`` in the environment, when set, wins."""
    if os.environ.get("MALLOC_ARENA_MAX") or not hasattr(os, "fork"):
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to limit
        return
    if mallopt is not None:
        mallopt(-8, 2)  # -8 is M_ARENA_MAX in malloc.h


_limit_malloc_arenas()


def post_worker_init(worker):
    """Move what the worker holds once the app is loaded (every imported module, the app, its schemas: ~190,000
    objects) out of the garbage collector's sight. Each full collection otherwise walks all of them: under load
    a worker ran 2-3 a run of 10 s at ~200 ms of CPU each (holding the GIL), 0.16-0.35 ms per request, where
    the requests' own garbage costs ~0.1 ms (docs/benchmarks.md, "s23: serving"). gc.freeze() is CPython's
    own tool for this (the gc module's documentation); objects frozen still die by reference counting, only a
    cycle among them would never be collected, and the import-time objects do not form such garbage."""
    import gc

    gc.collect()
    gc.freeze()


# --- operations (branch ops): settings checked before any worker starts, metrics over workers, log format ---
# Only the standard library, api/config.py's own file and what it reads the languages from (inventory/reference.py:
# enums alone) here: importing the `api` package would load the whole app into the master before the workers (and
# their worker class) set themselves up. The project's directory is on the path for that module, whatever directory
# gunicorn was started from (--chdir puts it there only when the app loads, after this file).
import importlib.util  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
_settings_spec = importlib.util.spec_from_file_location(
    "inventory_settings", Path(__file__).parent / "api" / "config.py"
)
_settings = importlib.util.module_from_spec(_settings_spec)
_settings_spec.loader.exec_module(_settings)
try:
    _settings.check_environment(os.environ)
except _settings.ConfigurationError as _error:
    raise SystemExit(str(_error)) from None  # one clear line from the master, not a traceback per worker
_own_metrics_directory = False

if os.environ.get("LOG_FORMAT") == "json":
    accesslog = None  # the app writes one JSON line per request (api/observability.py)


def control_socket_only_when_given(cfg) -> None:
    """gunicorn (25.1 on; 27.0.1 here) opens a control socket for ``gunicornc`` at one path per user unless told
    otherwise: ``$XDG_RUNTIME_DIR/gunicorn.ctl`` or ``~/.gunicorn/gunicorn.ctl``. Every server that user runs on
    the host then takes the same file: each new master unlinks the last one's socket and binds its own, and the
    first to stop deletes the file under the others (three demo servers running, and the socket was gone), so
    ``gunicornc`` reaches whichever started last, or none. Nothing here needs the socket: it stays off unless a
    path of its own is given (``--control-socket /run/inventory/gunicorn.ctl``, as deploy/inventory.service
    does), which scopes it to that one server."""
    setting = cfg.settings.get("control_socket")
    if setting is not None and cfg.control_socket == setting.default:
        cfg.set("control_socket_disable", True)


def on_starting(server):
    """prometheus_client adds up the workers' counters from files in PROMETHEUS_MULTIPROC_DIR (api/metrics.py):
    set before any worker imports prometheus_client, and empty (an earlier run's files would count as live).
    The control socket is decided here too, before the master opens it (``control_socket_only_when_given``)."""
    global _own_metrics_directory
    control_socket_only_when_given(server.cfg)
    _own_metrics_directory = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    if _own_metrics_directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="inventory-metrics-")
        return
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_directory:  # only a directory of its own: an operator's may hold other runs
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# --- serving (branch s23-serve): the access log, the same lines for less work ---
from gunicorn.config import AccessLogFormat  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402


class AccessLogger(Logger):
    """gunicorn's logger, writing the same access-log lines with less work per request.

    gunicorn builds a dict of every atom it knows for each line (every environ variable and header,
    lower-cased, ~60 entries) and formats the time anew, although the default format reads nine of them:
    about 7 % of a search's CPU under load. With the default format and gunicorn's own handlers (no
    logconfig, no syslog), this builds those nine atoms only (quotes escaped as ``SafeAtoms`` does), formats
    the time once a second, and hands gunicorn's handlers the finished line in a record made without looking
    up the caller's file and line (its formatter prints the message alone). Any other format or logging
    set-up gets gunicorn's own ``access``. tests/operations/test_access_log.py holds the
    lines equal to gunicorn's. Naming a ``logger_class`` turns off gunicorn's own switch to its statsd logger
    when ``--statsd-host`` is given; this project exports Prometheus metrics instead: to use statsd, pass
    ``--logger-class gunicorn.instrument.statsd.Statsd`` too."""

    def setup(self, cfg):
        super().setup(cfg)
        self._common_format = cfg.access_log_format == AccessLogFormat.default and not (
            cfg.logconfig or cfg.logconfig_dict or cfg.logconfig_json or cfg.syslog
        )
        self._stamp = (None, "")

    def now(self):
        second = int(time.time())
        stamp = self._stamp  # one tuple: threads read a second and its text together
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second)))
        return stamp[1]

    def access(self, resp, req, environ, request_time):
        if not self._common_format:
            return super().access(resp, req, environ, request_time)
        log = self.access_log
        if not self.access_log_enabled or not log.isEnabledFor(logging.INFO):
            return None
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status,
            "b": (getattr(resp, "sent", None) is not None and str(resp.sent)) or "-",
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }
        try:
            # SafeAtoms' escaping of quotes; every atom of the format exists, so its "-" for a missing one is moot.
            line = self.cfg.access_log_format % {
                key: value.replace('"', '\\"') if isinstance(value, str) else value for key, value in atoms.items()
            }
            # The record logging.info would make, but for the caller's file and line, which gunicorn's "%(message)s"
            # formatter does not print and whose look-up (a walk up the stack) cost a quarter of the line.
            log.handle(log.makeRecord(log.name, logging.INFO, "(unknown file)", 0, line, None, None))
        except Exception:
            self.error(traceback.format_exc())
        return None


logger_class = AccessLogger


# --- the edge (branch s29-edge): gunicorn's own refusals as the app's problem JSON (api/refusals.py) ---
from gunicorn import util as gunicorn_util  # noqa: E402
from gunicorn.http.errors import InvalidHeader  # noqa: E402
from gunicorn.http.wsgi import Response as GunicornResponse  # noqa: E402
from gunicorn.http.wsgi import default_environ  # noqa: E402
from gunicorn.workers.gthread import ThreadWorker  # noqa: E402
from gunicorn.workers.sync import SyncWorker  # noqa: E402


class ProblemRefusals:
    """A worker whose refusals of a request it cannot read or that is over its limits are the app's problem JSON
    in the client's language, where gunicorn writes an English HTML page (api/refusals.py says which). The
    language is the request's ``Accept-Language`` when gunicorn had read the headers (a bad Content-Length or
    Transfer-Encoding); otherwise they were never read and the answer is in the default language
    (``DEFAULT_LANGUAGE``, Chinese). Anything else, and any failure here, is gunicorn's own ``handle_error``;
    the log lines are gunicorn's."""

    def handle_error(self, req, client, addr, exc):
        from flask import Flask

        if not isinstance(self.wsgi, Flask):  # another app served with these settings
            return super().handle_error(req, client, addr, exc)
        # Imported here: the app (and so the api package) is loaded in the worker by now, never in the master.
        from api.refusals import refusal

        refused = refusal(exc, self.cfg)
        if refused is None:
            return super().handle_error(req, client, addr, exc)
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket
        if req is None and isinstance(exc, InvalidHeader):
            req = exc.req  # the request whose headers were read, as gunicorn takes it (InvalidRequestLine's is text)
        try:
            status, answer, length = self._answer(req, refused)
        except Exception:
            self.log.exception("the problem answer to a refused request failed; gunicorn's own answer instead")
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            logged = GunicornResponse(req, client, self.cfg)
            logged.status, logged.response_length = status, length
            self.log.access(logged, req, environ, datetime.now() - started)
        try:
            gunicorn_util.write_nonblock(client, answer)
        except Exception:
            self.log.debug("Failed to send error message.")
        return None

    def _answer(self, req, refused) -> tuple[str, bytes, int]:
        """(status line, the answer's bytes, the body's length): the app's problem body and its headers."""
        from api import SECURITY_HEADERS
        from api.refusals import answer_before_the_app

        languages = [value for name, value in getattr(req, "headers", None) or () if name == "ACCEPT-LANGUAGE"]
        response = answer_before_the_app(self.wsgi, refused, ", ".join(languages) or None)
        body = response.get_data()
        head = [f"HTTP/1.1 {response.status}", "Connection: close", f"Content-Type: {response.content_type}"]
        head += [f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items())]
        return response.status, "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body, len(body)


class ProblemThreadWorker(ProblemRefusals, ThreadWorker):
    pass


class ProblemSyncWorker(ProblemRefusals, SyncWorker):
    pass


# gunicorn's two built-in classes, by name, get the problem refusals; any other class is used as named. A sync
# worker with threads is gunicorn's gthread (its rule in ``Config.worker_class``).
worker_class = {"gthread": ProblemThreadWorker, "sync": ProblemThreadWorker if threads > 1 else ProblemSyncWorker}.get(
    worker_class, worker_class
)
