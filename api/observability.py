"""What operators watch: a request id on every answer, one log line per request, probes and metrics.

- Every request gets an id (the caller's ``X-Request-ID`` when it is a plain token, else a new one),
  returned in ``X-Request-ID`` and in every problem body (``api.errors.problem``), and logged.
- ``LOG_FORMAT=json``: one JSON object per line for every log record, and one per request (request id,
  account, endpoint, method, path, status, duration). ``text`` (the default, ``make run``) leaves
  logging as it was: gunicorn's access log says what was asked.
- ``/health``: the process answers (for a load balancer's liveness check; no database).
  ``/ready``: the database answers, its schema is at the migrations' head, and how the replica is.
  ``/metrics``: Prometheus text format, for addresses in ``METRICS_ALLOW`` or with ``METRICS_TOKEN``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import logging
import re
import sys
import time
import uuid
from functools import cache

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api import metrics
from api.errors import problem
from api.extensions import REPLICA_BIND, db
from api.replica import replica_monitor
from inventory.db import classify_database_error

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_log = logging.getLogger("inventory.requests")
blp = Blueprint("operations", __name__)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a request's fields (``extra={"request": {...}}``) at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
            request_id = _current_request_id()
            if request_id:
                entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _current_request_id() -> str | None:
    from flask import has_request_context

    return g.get("request_id") if has_request_context() else None


def configure_logging(log_format: str) -> None:
    """JSON: every record of this process on stderr as one JSON line (idempotent); text: logging untouched."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def register_observability(app: Flask) -> None:
    """Register first: the request id must exist before any other hook can refuse the request."""
    metrics.install()
    with app.app_context():
        metrics.watch_engine(db.engine)
        if REPLICA_BIND in db.engines:
            metrics.watch_engine(db.engines[REPLICA_BIND])
    configure_logging(app.config.get("LOG_FORMAT", "text"))
    app.register_blueprint(blp)

    # The context's objects are looked up once per hook (each attribute through a proxy costs a context look-up).
    @app.before_request
    def start_request() -> None:
        context = g._get_current_object()
        context.request_id = request_id_for(request._get_current_object())
        # A search the lean path (api/lean.py) tried first and handed over: its time counts too.
        context.request_started = request.environ.get(LEAN_STARTED) or time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        context = g._get_current_object()
        current = request._get_current_object()
        finish_answer(
            current_app,
            current,
            response,
            current.endpoint or "unmatched",
            context.get("request_id") or uuid.uuid4().hex,
            context.get("request_started", time.perf_counter()),
            context.get("principal"),
        )
        return response


# Where the lean path (api/lean.py) leaves the time it started a search it then hands to Flask.
LEAN_STARTED = "inventory.lean_started"


def request_id_for(current) -> str:
    """The request's id: the caller's ``X-Request-ID`` when it is a plain token, else a new one."""
    offered = current.headers.get(REQUEST_ID_HEADER, "")
    return offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


def finish_answer(app: Flask, current, response: Response, endpoint: str, request_id: str, started: float, principal):
    """What every answer gets on its way out: the request id header, the metrics and, with ``LOG_FORMAT=json``,
    the request's log line. The Flask hook above and the lean search path (api/lean.py) both call it."""
    response.headers[REQUEST_ID_HEADER] = request_id
    seconds = time.perf_counter() - started
    metrics.record_request(endpoint, current.method, response.status_code, seconds)
    if app.config.get("LOG_FORMAT") == "json":
        request_log.info(
            "request",
            extra={
                "request": {
                    "request_id": request_id,
                    "account": principal.username if principal is not None else None,
                    "endpoint": endpoint,
                    "method": current.method,
                    "path": current.path,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "client": current.remote_addr,
                }
            },
        )


@blp.get("/health")
def health() -> Response:
    """Alive: the process answers. The database is /ready's business (a dead database is not a dead host)."""
    return jsonify({"status": "ok"})


@blp.get("/ready")
def ready() -> Response:
    """Ready for traffic: the database answers and its schema is current; the replica's state is reported."""
    body: dict = {"status": "ready", "database": db.engine.dialect.name}
    try:
        current = set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError as error:
        db.session.rollback()
        failure = classify_database_error(error)
        body.update(status="unavailable", error=failure.cause if failure else "no schema (run the migrations)")
        return _answer(body, 503)
    heads = migration_heads()
    body["migrations"] = "current" if current == heads else f"at {sorted(current)}, code expects {sorted(heads)}"
    if current != heads:
        body["status"] = "migrations pending"
    monitor = replica_monitor(current_app)
    if monitor is not None:
        status = monitor.current()
        body["replica"] = {
            "reads": "replica" if status.usable else "primary",
            "state": status.reason,
            "lag_seconds": status.lag_seconds,
        }
    return _answer(body, 200 if body["status"] == "ready" else 503)


def _answer(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


@cache
def migration_heads() -> set[str]:
    """The head revisions of the migrations shipped with this code."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from api.config import PROJECT_ROOT

    config = AlembicConfig()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return set(ScriptDirectory.from_config(config).get_heads())


@blp.get("/metrics", endpoint="metrics")
def metrics_endpoint() -> Response:
    if not metrics_allowed():
        return problem(403, "Forbidden", "metrics are for the monitoring network (METRICS_ALLOW) or METRICS_TOKEN")
    body, content_type = metrics.exposition(db.session, replica_monitor(current_app))
    return Response(body, content_type=content_type)


def metrics_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN", "")
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in current_app.config.get("METRICS_ALLOW", [])
        if network
    )
