"""The Flask edge: application factory, transactions per request, blueprints."""

from __future__ import annotations

import logging
from pathlib import Path
from types import FunctionType

from flask import Flask, Response, g, request, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from werkzeug.routing import IntegerConverter

from api.cli import register_commands
from api.config import MAX_ROW_ID, PROJECT_ROOT, Config
from api.errors import ProblemApi, database_error_response, log_database_failure, register_error_handlers
from api.extensions import db, migrate
from api.identity import register_authentication
from api.inputs import register_input_guard
from api.lean import LEAN_FAILED_ATTEMPT, register_lean_path
from api.observability import register_observability
from api.openapi import ProblemResponsesPlugin
from api.proxies import register_trusted_proxies
from api.refusals import register_refusals
from api.replica import register_replica_routing
from inventory.db import classify_database_error, configure_engine, reset_write_intent, set_write_intent

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Whether each hook and view function Flask has asked ``ensure_sync`` about is a plain (synchronous) one.
_SYNC_FUNCTIONS: dict[FunctionType, bool] = {}
# POSTs that only compute (a structured query in a body): they must not queue for the write lock.
READ_ONLY_ENDPOINTS = frozenset({"nearest.Plans"})


def is_write(method: str, endpoint: str | None) -> bool:
    """Whether a request of ``method`` to ``endpoint`` writes: the app's one rule (the lean path asks it too)."""
    return method in WRITE_METHODS and endpoint not in READ_ONLY_ENDPOINTS


def is_write_request() -> bool:
    current = request._get_current_object()  # one context look-up, not one per attribute
    return is_write(current.method, current.endpoint)


class InventoryApp(Flask):
    """Flask, where a view and its commit are one unit, run again once if the database asks for it.

    A deadlock or a serialization failure means the database rolled the transaction back because
    of a concurrent one: running the same request again usually succeeds. The view runs again
    once, from a clean session (the rollback also undoes the first attempt's ledger and audit
    rows, so nothing is written twice); a second failure reaches the error handler (a 503). A write the
    lean path (api/lean.py) attempted and saw fail so arrives with that failure: it is the first attempt.
    """

    def ensure_sync(self, func):
        """Flask's, remembered per function: Flask asks it of every hook and view on every request, and each
        answer costs an ``inspect.iscoroutinefunction``. Only plain functions and methods are remembered (keyed by
        their function, so a method of a new view instance hits too); anything else is asked each time."""
        key = getattr(func, "__func__", func)
        if type(key) is not FunctionType:
            return super().ensure_sync(func)
        synchronous = _SYNC_FUNCTIONS.get(key)
        if synchronous is None:
            synchronous = _SYNC_FUNCTIONS[key] = super().ensure_sync(key) is key
        return func if synchronous else super().ensure_sync(func)

    def dispatch_request(self) -> ResponseReturnValue:
        try:
            # A write's attempt on the lean path (api/lean.py) failed so: it is this request's first attempt.
            failed = request.environ.pop(LEAN_FAILED_ATTEMPT, None)
            if failed is not None:
                raise failed
            return self._dispatch_and_commit()
        except DBAPIError as error:
            failure = classify_database_error(error)
            if failure is None or not failure.retry_in_server:
                raise
            first_error = error
            db.session.rollback()
            g.database_retried = failure
            _rewind_uploads()
        response = self._dispatch_and_commit()
        log_database_failure(failure, first_error, "succeeded on its one retry", logging.INFO)
        return response

    def _dispatch_and_commit(self) -> ResponseReturnValue:
        """Run the view; a successful write is committed here, so a failed commit can be retried too."""
        rv = super().dispatch_request()
        if not is_write_request():
            return rv
        response = self.make_response(rv)
        if response.status_code < 400:
            db.session.commit()
        return response


def _rewind_uploads() -> None:
    """Parsed bodies (JSON, form) are cached on the request; uploaded files must be read again from the start."""
    for upload in request.files.values():
        if upload.stream.seekable():
            upload.stream.seek(0)


def create_app(config: dict | None = None) -> Flask:
    """Build an app; ``config`` overrides the environment (tests pass their database URL)."""
    app = InventoryApp(__name__, static_folder=str(PROJECT_ROOT / "static"), static_url_path="/static")
    app.config.from_mapping(Config().as_dict())
    if config:
        app.config.from_mapping(config)
    _ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])
    app.json.sort_keys = False
    app.json.ensure_ascii = False  # Chinese names stay readable in responses

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    with app.app_context():
        for engine in db.engines.values():  # the primary and, when configured, the replica
            configure_engine(engine)

    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {"description": API_DESCRIPTION},
            "security": [{"bearer": []}, {"session": []}],
            "extra_plugins": [ProblemResponsesPlugin()],
        },
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    app.url_map.converters["id"] = RowIdConverter
    api.register_converter(RowIdConverter, lambda _converter: {"type": "integer", "format": "int32", "minimum": 1})
    from api.routes import register_blueprints

    register_blueprints(api)
    register_error_handlers(app)
    register_refusals(app)
    register_observability(app)  # first of all: the request id, before any hook may refuse the request
    register_input_guard(app)  # first: hostile input is refused before a transaction or a login is looked at
    _register_security_headers(app)
    _register_transaction_hooks(app)
    register_authentication(app)  # after the write-intent hook: one transaction from the first query
    register_replica_routing(app)  # after authentication: logins and sessions are read on the primary
    register_commands(app)
    register_lean_path(app)  # in front of Flask for the plain search and movements; inside the proxy layer below
    register_trusted_proxies(app)  # the client address every hook above reads (api/proxies.py)

    @app.get("/")
    def index() -> Response:
        return send_from_directory(app.static_folder, "index.html")

    return app


class RowIdConverter(IntegerConverter):
    """``<id:…>``: a row id; beyond a 32-bit integer no row exists, so the URL is a plain 404."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ROW_ID)


def _ensure_sqlite_directory(url: str) -> None:
    """A fresh checkout has no instance/ folder yet; SQLite will not create it. A ``file:`` URI names a file
    that must exist already (read-only opens): nothing to create, and its text is not a path."""
    database = make_url(url).database
    if (
        make_url(url).get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
    ):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


# Sent with every answer: the page must not be framed by another site (clickjacking), and no answer
# is to be sniffed as another content type than the one it declares.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}

_SECURITY_HEADERS = tuple((name, name.lower(), value) for name, value in SECURITY_HEADERS.items())


def add_security_headers(response: Response) -> Response:
    # What ``headers.setdefault`` does for each, with one pass over the headers instead of three per name.
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    for name, lowered, value in _SECURITY_HEADERS:
        if lowered not in present:
            headers.add(name, value)
    return response


def _register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


def end_read(session) -> None:
    """End a request's transaction that wrote nothing, in one step when it can.

    A rollback returns the connection to the pool, which rolls it back once more (its reset on return), and
    leaves the session for teardown to close. When the session holds no objects (a search, an authentication
    answered by this worker's caches: their reads are the driver's own rows), ``close()`` leaves it in the state
    a rollback would and ends the transaction with one rollback, no reset. Objects a later hook or a test may
    still read are expired by a rollback, as before, rather than detached.
    """
    own = session()  # Flask-SQLAlchemy's session is scoped: this request's
    if own.identity_map or own.new or own.deleted:
        own.rollback()
    else:
        own.close()


def _register_transaction_hooks(app: Flask) -> None:
    """One request is one transaction, owned here rather than in each view.

    Writes take SQLite's write lock up front; a successful write response is committed before it
    leaves (by ``InventoryApp.dispatch_request``, which may retry it once; the hook below is a
    safety net for anything written outside the view), and a failed commit turns into the matching
    problem response instead.
    """

    @app.before_request
    def declare_write_intent() -> None:
        if "write_intent_token" not in g:
            g.write_intent_token = set_write_intent(is_write_request())

    @app.after_request
    def commit_successful_write(response: Response) -> Response:
        if is_write_request() and response.status_code < 400:
            own = db.session()
            if not own.in_transaction() and not (own.new or own.dirty or own.deleted):
                return response  # the view's commit (``_dispatch_and_commit``) left nothing to commit
            try:
                own.commit()
            except Exception as error:
                own.rollback()
                return database_error_response(error)
        else:
            end_read(db.session)
        return response

    @app.teardown_request
    def forget_write_intent(_exc: BaseException | None) -> None:
        token = g.pop("write_intent_token", None)
        if token is not None:
            reset_write_intent(token)


API_DESCRIPTION = """\
The national ledger of environmental emergency materials: warehouses in the GB/T 2260 region
hierarchy, the material catalogue, stock by batch and an append-only ledger of every change.

Errors are RFC 9457 problem JSON (`application/problem+json`, schema `Problem`) with an `errors`
map naming the field at fault; each operation lists the problem statuses it can answer with.
Lists are paginated with `page` and `page_size`; the `X-Pagination` header carries
`total`, `total_pages`, `page` and the neighbouring pages. Quantities are JSON numbers with at most
three decimal places.

Every endpoint but `/health`, the API documents and `/auth/login` needs authentication: an API
token (`Authorization: Bearer emi_…`, created by an administrator) or the session cookie from
`POST /auth/login`, in which case writes also send the `X-CSRF-Token` returned by the login.
Roles: `admin`, `provincial` (one province), `manager` (assigned warehouses), `responder`, `viewer`.
"""
