"""Read-only endpoints read from a streaming replica when one is configured and fresh enough.

One routing rule for the whole app, not per route: ``api.extensions.RoutingSession.get_bind`` sends the queries of a
request to the ``replica`` bind (``DATABASE_REPLICA_URL``) while ``read_from_replica`` is set, and
``register_replica_routing`` sets it only for the endpoints in ``REPLICA_ENDPOINTS``, after the
request was authenticated on the primary. Everything else, and every write, uses the primary.

- *Fresh enough*: each worker asks the replica its replay lag at most every ``REPLICA_CHECK_SECONDS``;
  past ``REPLICA_MAX_LAG_SECONDS``, or when it cannot be reached (then it is not asked again for
  ``REPLICA_RETRY_SECONDS``), the request reads from the primary.
- *Read your own writes*: a successful write answers with a cookie ``primary_reads_until``; while it
  holds, that client reads from the primary. It lasts longer than the lag bound plus one check
  interval, so by the time the client reads from the replica again, its write has been replayed there.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from sqlalchemy import Engine, event, text

from api.extensions import REPLICA_BIND, db, read_from_replica
from inventory.db import classify_database_error

log = logging.getLogger(__name__)

# Reads that tolerate a replica's bounded lag: the search, plans, reports, exports and lists.
# Single objects stay on the primary (a client reads one right after changing it, with its ETag).
REPLICA_ENDPOINTS = frozenset(
    {
        "nearest.Nearest",
        "nearest.Plans",
        "reports.CoverageReportView",
        "reports.CoverageWorkbook",
        "reports.DashboardReport",
        "reports.DashboardWorkbook",
        "reports.ExpiringReport",
        "reports.ExpiringWorkbook",
        "reports.QuotaReport",
        "reports.QuotaWorkbook",
        "exports.LedgerExport",
        "warehouses.Warehouses",
        "items.Items",
        "stock.StockLines",
        "stock.Movements",
        "callups.CallUps",
        "quotas.Quotas",
        "regions.Regions",
    }
)
READ_METHODS = frozenset({"GET", "HEAD", "POST"})  # POST: only the read-only plans, listed above
STICKY_COOKIE = "primary_reads_until"
REPLICA_CHECK_SECONDS = 1.0
REPLICA_RETRY_SECONDS = 10.0

# Lag in seconds; 0 when the standby has replayed everything it received (an idle primary sends nothing).
LAG_QUERY = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass
class ReplicaStatus:
    usable: bool = False
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    checked_at: float = float("-inf")


class ReplicaMonitor:
    """This worker's view of one replica: its lag, asked at most once per check interval."""

    def __init__(self, engine: Engine, max_lag: float, check_every: float, retry_after: float) -> None:
        self.engine = engine
        self.max_lag = max_lag
        self.check_every = check_every
        self.retry_after = retry_after
        self.status = ReplicaStatus()
        self._lock = threading.Lock()
        event.listen(engine, "handle_error", self._on_error)

    def current(self) -> ReplicaStatus:
        status = self.status
        wait = self.retry_after if status.reason == "unreachable" else self.check_every
        if time.monotonic() - status.checked_at < wait:
            return status
        with self._lock:
            if time.monotonic() - self.status.checked_at >= wait:
                self.status = self._check()
            return self.status

    def _check(self) -> ReplicaStatus:
        now = time.monotonic()
        try:
            with self.engine.connect() as connection:
                lag = connection.execute(LAG_QUERY).scalar()
        except Exception as error:  # any failure to ask means: do not read there for a while
            log.warning("replica unreachable, reading from the primary: %s", " ".join(str(error).split())[:200])
            return ReplicaStatus(False, None, "unreachable", now)
        if lag is None:
            return ReplicaStatus(False, None, "lag unknown (nothing replayed yet)", now)
        lag = float(lag)
        if lag > self.max_lag:
            return ReplicaStatus(False, lag, f"lagging {lag:.1f} s (bound {self.max_lag:g} s)", now)
        return ReplicaStatus(True, lag, "ok", now)

    def _on_error(self, context) -> None:
        """A replica query that failed for unavailability marks it down until the next retry."""
        if classify_database_error(context.sqlalchemy_exception or context.original_exception) is not None:
            self.status = ReplicaStatus(False, None, "unreachable", time.monotonic())


def replica_monitor(app: Flask) -> ReplicaMonitor | None:
    return app.extensions.get("replica_monitor")


def register_replica_routing(app: Flask) -> None:
    """Register after authentication: the login and session lookups always read the primary."""
    if REPLICA_BIND not in (app.config.get("SQLALCHEMY_BINDS") or {}):
        return
    with app.app_context():
        app.extensions["replica_monitor"] = ReplicaMonitor(
            db.engines[REPLICA_BIND],
            max_lag=float(app.config.get("REPLICA_MAX_LAG_SECONDS", 5)),
            check_every=float(app.config.get("REPLICA_CHECK_SECONDS", REPLICA_CHECK_SECONDS)),
            retry_after=float(app.config.get("REPLICA_RETRY_SECONDS", REPLICA_RETRY_SECONDS)),
        )

    @app.before_request
    def choose_database() -> None:
        if _reads_from_replica():
            request.environ["inventory.replica_token"] = read_from_replica.set(True)

    @app.after_request
    def keep_writers_on_the_primary(response: Response) -> Response:
        from api import is_write_request  # the app's own rule of what a write is

        if is_write_request() and response.status_code < 400:
            monitor = replica_monitor(current_app)
            until = time.time() + monitor.max_lag + monitor.check_every + 1
            response.set_cookie(
                STICKY_COOKIE, f"{until:.0f}", max_age=int(until - time.time()) + 1, httponly=True, samesite="Lax"
            )
        return response

    @app.teardown_request
    def back_to_the_primary(_exc: BaseException | None) -> None:
        token = request.environ.pop("inventory.replica_token", None)
        if token is not None:
            read_from_replica.reset(token)


def _reads_from_replica() -> bool:
    if request.endpoint not in REPLICA_ENDPOINTS or request.method not in READ_METHODS:
        return False
    if request.method == "POST" and request.endpoint != "nearest.Plans":
        return False
    try:
        if float(request.cookies.get(STICKY_COOKIE, "0")) > time.time():
            return False
    except ValueError:
        pass
    monitor = replica_monitor(current_app)
    return monitor is not None and monitor.current().usable
