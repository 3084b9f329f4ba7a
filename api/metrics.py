"""Prometheus metrics: what each worker counts, and what ``/metrics`` reads from the database when scraped.

Under gunicorn every worker is a process of its own: with ``PROMETHEUS_MULTIPROC_DIR`` set
(gunicorn.conf.py sets it before the workers start, and marks a dead worker's files) prometheus_client
keeps each worker's counters in a file there and ``/metrics`` adds them up, whichever worker answers.
Without it (the test client, ``flask run``) the counters are this process's.

Counted per worker: requests by endpoint, method and status with a latency histogram, database errors
by cause, nearest searches and plans, imports (rows, duration), worker cache reloads. Read from the
database at each scrape (so every worker agrees): call-ups by status, the notification deliveries waiting
(the outbox backlog), the replica's lag.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, event, func, select

from inventory.db import cache_reload_listeners, classify_database_error
from inventory.models import CallUp, OutboxDelivery
from inventory.reference import DeliveryStatus

REQUESTS = Counter(
    "inventory_http_requests_total",
    "HTTP requests answered, by endpoint, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "inventory_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DATABASE_ERRORS = Counter(
    "inventory_database_errors_total",
    "Database errors by cause (unavailable, busy, deadlock… or the error class for the others)",
    ["cause"],
)
NEAREST_SEARCHES = Counter(
    "inventory_nearest_searches_total", "Nearest-stock searches and plans, by kind and outcome", ["kind", "outcome"]
)
IMPORTS = Counter("inventory_imports_total", "Ledger imports by outcome (imported, validated, rejected)", ["outcome"])
IMPORT_ROWS = Counter("inventory_import_rows_total", "Rows read by ledger imports")
IMPORT_DURATION = Histogram(
    "inventory_import_duration_seconds", "Time to run one ledger import", buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
)
CACHE_RELOADS = Counter(
    "inventory_worker_cache_reloads_total", "Per-worker cache reloads, by the tables they copy", ["tables"]
)

NEAREST_ENDPOINTS = {"nearest.Nearest": "nearest", "nearest.Plans": "plan"}


def _count_cache_reload(tables: tuple[str, ...]) -> None:
    CACHE_RELOADS.labels(",".join(tables)).inc()


def _count_database_error(context) -> None:
    error = context.sqlalchemy_exception or context.original_exception
    failure = classify_database_error(error)
    cause = failure.cause if failure else type(context.original_exception).__name__
    DATABASE_ERRORS.labels(cause).inc()


def watch_engine(engine: Engine) -> None:
    """Count the database errors of ``engine`` (idempotent)."""
    if not event.contains(engine, "handle_error", _count_database_error):
        event.listen(engine, "handle_error", _count_database_error)


def install() -> None:
    if _count_cache_reload not in cache_reload_listeners:
        cache_reload_listeners.append(_count_cache_reload)


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    counted = _request_series.get((endpoint, method, status))
    if counted is None:
        counted = _request_series[(endpoint, method, status)] = _series_of(endpoint, method, status)
    requests, latency, searches = counted
    requests.inc()
    latency.observe(seconds)
    if searches is not None:
        searches.inc()


# The labelled series of each (endpoint, method, status) seen, looked up once: ``labels()`` validates and
# locks on every call, a cost per request. It holds no more than prometheus_client keeps anyway (one
# series per combination seen); nothing here calls ``clear()`` on these metrics.
_request_series: dict[tuple[str, str, int], tuple] = {}


def _series_of(endpoint: str, method: str, status: int) -> tuple:
    kind = NEAREST_ENDPOINTS.get(endpoint)
    outcome = "ok" if status < 400 else "refused" if status < 500 else "failed"
    return (
        REQUESTS.labels(endpoint, method, str(status)),
        LATENCY.labels(endpoint),
        NEAREST_SEARCHES.labels(kind, outcome) if kind is not None else None,
    )


def record_import(outcome: str, rows: int, seconds: float) -> None:
    IMPORTS.labels(outcome).inc()
    IMPORT_ROWS.inc(rows)
    IMPORT_DURATION.observe(seconds)


class DatabaseGauges:
    """Gauges read from the database at scrape time: the same figures whichever worker answers."""

    def __init__(self, session, replica_monitor=None) -> None:
        self.session = session
        self.replica_monitor = replica_monitor

    def collect(self):
        callups = GaugeMetricFamily("inventory_callups", "Call-up orders by status", labels=["status"])
        for status, count in self.session.execute(select(CallUp.status, func.count()).group_by(CallUp.status)):
            callups.add_metric([getattr(status, "value", str(status))], count)
        yield callups
        yield GaugeMetricFamily(
            "inventory_outbox_backlog", "Notification deliveries waiting to be sent", value=self._outbox_backlog()
        )
        if self.replica_monitor is not None:
            status = self.replica_monitor.current()
            yield GaugeMetricFamily(
                "inventory_replica_usable",
                "1 when reads go to the replica, 0 when it lags or is down",
                value=int(status.usable),
            )
            if status.lag_seconds is not None:
                yield GaugeMetricFamily(
                    "inventory_replica_lag_seconds", "Replay lag of the replica", value=status.lag_seconds
                )

    def _outbox_backlog(self) -> int:
        """Deliveries (email, webhook) still waiting to be sent, retries included: what ``deliver`` has to do."""
        waiting = (
            select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.PENDING)
        )
        return int(self.session.scalar(waiting) or 0)


def exposition(session, replica_monitor=None) -> tuple[bytes, str]:
    """The text exposition format: every worker's counters, then the database's gauges."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        workers = generate_latest(registry)
    else:
        workers = generate_latest(REGISTRY)
    gauges = CollectorRegistry()
    gauges.register(DatabaseGauges(session, replica_monitor))
    return workers + generate_latest(gauges), CONTENT_TYPE_LATEST
