"""The lean path: the most frequent requests answered without Flask's per-request machinery, when they are plain.

During an incident responders' clients send the same few requests thousands of times: a search
(``GET /nearest``), a receipt (``POST /receipts``) and an issue (``POST /stock-lines/{id}/issues``), each with a
bearer token. Through Flask such a request costs about as much as its own work again (request and app contexts,
seven hooks, flask-smorest and webargs wrappers, URL matching, a second session close). This WSGI layer sits in
front of the Flask app and answers exactly those requests itself, one piece of code for all of them (a
``LeanRoute`` names each: its endpoint, its method and its view's body as a function; whether it writes is the
app's own rule, ``api.is_write``), by calling the very functions the Flask path calls, in the same order, with the
same objects:

- the request: ``app.request_class`` (Flask's own Request) over the same WSGI environ; its rule: the app's own
  URL map (a path without arguments by a dict look-up);
- its id: ``api.observability.request_id_for``; hostile input: ``api.inputs.hostile_input_answer``;
- the transaction: ``set_write_intent`` as the write-intent hook declares it (on SQLite a write takes the
  write lock from the login's first query on);
- the login: ``api.identity.bearer_token`` and ``inventory.accounts.authenticate_token`` (the worker's memo),
  the principal in ``g`` where ``current_actor`` reads it;
- the arguments: the blueprint's parser with the route's own schema instance and arguments
  (``api.routes.nearest.NEAREST_QUERY``, ``api.routes.stock.RECEIPT_IN``, ``ISSUE_IN`` …); a plain search's
  query is loaded by the schema's own fields (``PlainQuery``), the parser taking anything else;
- the answer: the view's body (``nearest_response``, ``receipt_response``, ``issue_response``); a write is then
  committed as ``InventoryApp._dispatch_and_commit`` commits it; then ``api.add_security_headers`` and
  ``api.observability.finish_answer`` (request id header, metrics, the JSON log line), as the after-request
  hooks do; a write's session is closed once, with the app context, as Flask-SQLAlchemy's teardown does; a
  read's is one this request thread's last read left as new, kept for its next one (``LeanPath.put_back``: one
  not as new is closed, as the teardown would close it).

Anything else goes to Flask untouched, before or after the lean path tried: another path or method (HEAD
too), a cookie (a web session and its CSRF check, the replica's sticky cookie), no ``Authorization`` header, a
search with a body (a ``Content-Type`` alone, as load generators send, reads nothing on either path), a chunked
body, a conditional header, a configured read replica or ``SERVER_NAME``, the test client's preserved
contexts, and every refusal on the way (hostile input, a bad token, an invalid body or parameter, an unknown
item, line or warehouse, too little stock): Flask then runs the request from the start and answers as it
always did. A body the lean path read is handed to Flask as read (``wsgi.input`` again from its bytes).

Nothing is written twice or half: a write's refusal rolls the lean path's transaction back before Flask runs
the request again, so what the lean path did is undone and Flask's run is the only one that counts (it may
now succeed: the request simply came a moment later). A database error in the view or its commit is
rolled back and handed to Flask with the request (``LEAN_FAILED_ATTEMPT``): ``InventoryApp.dispatch_request``
takes it as its own first attempt's, so the request is run again once if the database rolled it back for a
concurrent one (a deadlock, a serialization failure), and otherwise answered as Flask answers that error,
without running the view again (a lost connection during COMMIT may have committed). A search's database
error is handed over the same way. A database failure in the login (an error, or no pooled connection in time)
is handed to Flask's ``authenticate`` hook (``api.identity.LEAN_FAILED_LOGIN``), which raises it as the login's
own: Flask answers it once, without a second login, wait or count (on SQLite a write lock held elsewhere would
otherwise be waited out twice). The request's duration, in its metric and log line, runs from the lean path's
start (``observability.LEAN_STARTED``).

``tests/api/test_lean_path.py`` holds the two paths equal to the byte (status, headers but the date and a new
request id, body), the metrics and the JSON log line, on many searches, receipts and issues and their
refusals, on both databases.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from flask import Flask, Response, current_app, g, has_app_context
from marshmallow import ValidationError, missing
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from api.errors import LEAN_REQUEST
from api.extensions import REPLICA_BIND, db
from api.identity import LEAN_FAILED_LOGIN, bearer_token, client_address
from api.inputs import hostile_input_answer
from api.observability import LEAN_STARTED, finish_answer, request_id_for
from api.routes import nearest, stock
from inventory.access import Principal
from inventory.accounts import authenticate_token
from inventory.db import reading, reset_write_intent, set_write_intent

# Where a write's lean attempt leaves the database error it met, or its commit's failure, for
# ``InventoryApp.dispatch_request`` to take as its own first attempt's.
LEAN_FAILED_ATTEMPT = "inventory.lean_failed_attempt"
# A database's failures (an error it raised; no pooled connection in time): what the login meets of them is handed
# to Flask's ``authenticate`` hook (``LEAN_FAILED_LOGIN``), a view's to ``InventoryApp.dispatch_request``.
DATABASE_FAILURES = (DBAPIError, PoolTimeout)
_COMMITTING = "committing"  # a write's last step: any failure there is handed over as the view's attempt


@dataclass(frozen=True)
class LeanRoute:
    """One endpoint the lean path answers: its view's body, from the session, the request and the path's values.
    Whether it writes is the app's rule (``api.is_write``), filled in by ``LeanPath`` when it takes the route."""

    endpoint: str
    method: str
    answer: Callable[[Session, object, dict], Response]
    writes: bool = False

    @property
    def blueprint(self) -> str:
        return self.endpoint.partition(".")[0]


class PlainQuery:
    """A plain query string loaded by the schema's own fields, without webargs' and marshmallow's frame around them.

    The blueprint's parser (webargs: the location's loader, the schema's load with its error store and hook
    look-ups) cost ~7 % of a lean search's CPU in-process (docs/benchmarks.md, "s24: HTTP search"). When every
    key of the query is one of the schema's fields, given once (a field taking repeated values gets its list, as
    ``ArgumentParser.load_querystring`` gives it), this calls each load field's ``deserialize`` in the schema's
    order, as ``Schema._deserialize`` does (a missing field gets its ``load_default``), and returns the dict the
    parser would. Anything else (an unknown or repeated key, a value a field refuses) gives None: the parser then
    parses it, and refuses it as before. A schema with hooks (``pre_load``, ``validates``, …) or a field whose
    ``data_key`` or dotted ``attribute`` renames it is never loaded here. tests/api/test_lean_path.py holds the
    two equal on many queries, well-formed and not.
    """

    def __init__(self, schema, repeated: frozenset[str]) -> None:
        self.repeated = repeated
        load_fields = schema.load_fields
        # marshmallow keeps a schema's pre/post-load and validator hooks in ``_hooks`` (a load fills it with empty
        # lists, so its values are what counts): any of them, and this is off.
        plain = not any(schema._hooks.values()) and all(
            field.data_key is None and "." not in (field.attribute or "") for field in load_fields.values()
        )
        # (key, the result's key, the field) in the schema's order; none when the schema is not plain
        self.fields = [(name, field.attribute or name, field) for name, field in load_fields.items()] if plain else []
        self.names = frozenset(name for name, _attribute, _field in self.fields)

    def load(self, args) -> dict | None:
        """What the parser would return for ``args`` (a werkzeug MultiDict), or None: let the parser decide."""
        if not self.fields:
            return None
        data = {}
        for key, values in args.lists():
            if key not in self.names:
                return None
            if key in self.repeated:
                data[key] = values
            elif len(values) == 1:
                data[key] = values[0]
            else:
                return None
        loaded = {}
        try:
            for name, attribute, field in self.fields:
                value = field.deserialize(data.get(name, missing), name, data)
                if value is not missing:
                    loaded[attribute] = value
        except ValidationError:
            return None
        return loaded


PLAIN_SEARCH = PlainQuery(nearest.NEAREST_QUERY, nearest.blp.ARGUMENTS_PARSER.repeated_keys(nearest.NEAREST_QUERY))


def _search(session: Session, current, _path_values: dict) -> Response:
    args = PLAIN_SEARCH.load(current.args)
    if args is None:  # not plain, or refused: the blueprint's parser parses it (and refuses it as Flask's path does)
        args = nearest.blp.ARGUMENTS_PARSER.parse(nearest.NEAREST_QUERY, current, **nearest.NEAREST_ARGUMENTS)
    return nearest.nearest_response(session, args)


def _receipt(session: Session, current, _path_values: dict) -> Response:
    data = stock.blp.ARGUMENTS_PARSER.parse(stock.RECEIPT_IN, current, **stock.MOVEMENT_ARGUMENTS)
    return stock.receipt_response(session, data)


def _issue(session: Session, current, path_values: dict) -> Response:
    data = stock.blp.ARGUMENTS_PARSER.parse(stock.ISSUE_IN, current, **stock.MOVEMENT_ARGUMENTS)
    return stock.issue_response(session, data, **path_values)


NEAREST_ENDPOINT = "nearest.Nearest"
RECEIPTS_ENDPOINT = "stock.Receipts"
ISSUES_ENDPOINT = "stock.Issues"
ROUTES = (
    LeanRoute(NEAREST_ENDPOINT, "GET", _search),
    LeanRoute(RECEIPTS_ENDPOINT, "POST", _receipt),
    LeanRoute(ISSUES_ENDPOINT, "POST", _issue),
)

# Flask's request hooks (app-wide and each lean route's blueprint's), by module.qualname in Flask's order: the lean
# path runs none of them but does what each does (the comment names how). A hook not listed here (a rate limit, a
# maintenance switch, CORS) turns the lean path off for its routes, so no request skips it;
# tests/api/test_lean_path.py holds this list equal to the app's, so whoever adds a hook decides what the lean
# path must do.
STANDS_IN_FOR = {
    "before_request": (
        "api.observability.register_observability.<locals>.start_request",  # request_id_for
        "api.inputs.refuse_hostile_input",  # hostile_input_answer
        "api._register_transaction_hooks.<locals>.declare_write_intent",  # set_write_intent(route.writes)
        "api.identity.register_authentication.<locals>.authenticate",  # bearer_token, authenticate_token
    ),
    "after_request": (
        "api.observability.register_observability.<locals>.finish_request",  # finish_answer
        "api.add_security_headers",  # add_security_headers
        "api._register_transaction_hooks.<locals>.commit_successful_write",  # a read: end_read; a write: committed
    ),
    "teardown_request": ("api._register_transaction_hooks.<locals>.forget_write_intent",),  # reset_write_intent
    "url_value_preprocessor": (),
}


def request_hooks(app: Flask, blueprint: str = nearest.blp.name) -> dict[str, tuple[str, ...]]:
    """The hooks Flask would run for a request to ``blueprint``, named as in ``STANDS_IN_FOR``."""

    def named(by_blueprint: dict) -> tuple[str, ...]:
        functions = [*by_blueprint.get(None, ()), *by_blueprint.get(blueprint, ())]
        return tuple(f"{function.__module__}.{function.__qualname__}" for function in functions)

    return {
        "before_request": named(app.before_request_funcs),
        "after_request": named(app.after_request_funcs),
        "teardown_request": named(app.teardown_request_funcs),
        "url_value_preprocessor": named(app.url_value_preprocessors),
    }


# What makes a request more than a plain one: each sends it to Flask.
_FLASK_ONLY = (
    "HTTP_COOKIE",
    "HTTP_TRANSFER_ENCODING",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
    "werkzeug.debug.preserve_context",  # the test client keeps Flask's contexts for the test to read
)


class LeanPath:
    """WSGI middleware: answers a plain request to one of ``routes`` itself, hands every other to ``fallback``."""

    def __init__(self, app: Flask, fallback, routes: tuple[LeanRoute, ...] = ROUTES) -> None:
        from api import add_security_headers, end_read, is_write  # the app's module, which imports this one

        self.app = app
        self.fallback = fallback
        self.add_security_headers = add_security_headers
        self.end_read = end_read
        self.by_path: dict[tuple[str, str], LeanRoute] = {}  # (path, method): the rules without arguments
        self.by_endpoint: dict[str, LeanRoute] = {}  # the rules with arguments, matched by the app's URL map
        self.suffixes: tuple[str, ...] = ()  # what such a rule's path ends with: only those are matched
        self.idle = threading.local()  # per request thread: a session its last read left as new (``put_back``)
        # Host matching and a replica are Flask's business (the replica's choice needs its cookie and monitor).
        if (
            app.url_map.host_matching
            or app.config.get("SERVER_NAME")
            or app.config.get("TRUSTED_HOSTS")
            or REPLICA_BIND in (app.config.get("SQLALCHEMY_BINDS") or {})
        ):
            return
        for route in routes:
            rules = list(app.url_map.iter_rules(route.endpoint))
            if (
                len(rules) != 1
                or route.method not in rules[0].methods
                or request_hooks(app, route.blueprint) != STANDS_IN_FOR
            ):
                continue
            rule = rules[0]
            route = replace(route, writes=is_write(route.method, route.endpoint))
            if rule.arguments:
                self.by_endpoint[route.endpoint] = route
                self.suffixes += (rule.rule.rpartition(">")[2],)
            else:
                self.by_path[rule.rule, route.method] = route

    @property
    def endpoints(self) -> set[str]:
        """The endpoints this layer answers (the others, or all when it is off, are Flask's)."""
        return {route.endpoint for route in (*self.by_path.values(), *self.by_endpoint.values())}

    def __call__(self, environ, start_response):
        route, path_values = self.route_of(environ)
        if (
            route is None
            or "HTTP_AUTHORIZATION" not in environ
            or (not route.writes and environ.get("CONTENT_LENGTH", "0") not in ("", "0"))
            or any(key in environ for key in _FLASK_ONLY)
        ):
            return self.fallback(environ, start_response)
        started = time.perf_counter()
        current = self.app.request_class(environ)
        response = self.answer(route, current, path_values, started)
        if response is None:
            environ[LEAN_STARTED] = started  # the request's duration counts both tries
            if "stream" in current.__dict__:  # the body was read (or begun): Flask reads the same bytes again
                environ["wsgi.input"] = io.BytesIO(getattr(current, "_cached_data", None) or b"")
            return self.fallback(environ, start_response)
        return response(environ, start_response)

    def route_of(self, environ) -> tuple[LeanRoute | None, dict]:
        """The lean route a request is for, and the values its rule takes from the path; (None, {}) if none."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        route = self.by_path.get((path, method))
        if route is not None or not self.suffixes or not path.endswith(self.suffixes):
            return route, {}
        # As Flask matches: the app's map, bound as ``Flask.create_url_adapter`` binds it without SERVER_NAME.
        adapter = self.app.url_map.bind_to_environ(environ, subdomain=self.app.url_map.default_subdomain or "")
        try:
            rule, path_values = adapter.match(return_rule=True)
        except (HTTPException, RequestRedirect):
            return None, {}
        route = self.by_endpoint.get(rule.endpoint)
        return (route, path_values) if route is not None and route.method == method else (None, {})

    def answer(self, route: LeanRoute, current, path_values: dict, started: float) -> Response | None:
        """The answer as Flask would give it, or None when Flask must answer (it then runs the request afresh)."""
        app = self.app
        request_id = request_id_for(current)
        # As Flask does: a new app context (its own session) unless one of this app is active (a test's).
        context = None if has_app_context() and current_app._get_current_object() is app else app.app_context()
        lends = context is not None and not route.writes
        if context is not None:
            context.push()
            if lends:
                self.lend_session()
        intent, asked = set_write_intent(route.writes), LEAN_REQUEST.set(current)  # request_language reads it
        try:
            answered = self.attempt(route, current, path_values)
        finally:
            LEAN_REQUEST.reset(asked)
            reset_write_intent(intent)
            # The transaction ends: a read's as the after-request hook ends it (a write's was committed or rolled
            # back), or with the context pushed here: a read's session is put back for this thread's next read (or
            # closed, as the teardown would), a write's is closed by the context's teardown.
            if context is not None:
                try:
                    if lends:
                        self.put_back()
                finally:
                    context.pop()
            elif not route.writes:
                self.end_read(db.session)
        if answered is None:
            return None
        response, principal = answered
        self.add_security_headers(response)
        finish_answer(app, current, response, route.endpoint, request_id, started, principal)
        return response

    def lend_session(self) -> None:
        """The pushed context's session: this thread's, left as new by its last read (``put_back``), rather than
        one made for the context and closed by its teardown (~35 µs a search: docs/benchmarks.md, "s24: HTTP
        search")."""
        kept, self.idle.session = getattr(self.idle, "session", None), None  # lent to one request at a time
        db.session.registry.set(kept or db.session.session_factory())

    def put_back(self) -> None:
        """Take the session out of the context before its teardown, and keep it for this thread's next search
        when it is as a new one is: no transaction, no objects, nothing in ``info``. Else it is closed, as the
        teardown would have closed it, and the next search makes a new one."""
        session = db.session()
        db.session.registry.clear()  # the teardown's ``remove()`` finds no session
        self.idle.session = None
        if session.in_transaction() or session.identity_map or session.new or session.deleted or session.info:
            session.close()
        else:
            self.idle.session = session

    @staticmethod
    def attempt(route: LeanRoute, current, path_values: dict) -> tuple[Response, Principal] | None:
        """The request's answer and principal, or None: Flask then runs the request from the start, having been
        left what it must not meet again (a database failure: the login's, or the view's or commit's attempt)."""
        session, writes = db.session, route.writes
        failed_in = LEAN_FAILED_LOGIN  # where Flask takes a database failure met here, step by step
        try:
            if hostile_input_answer(current, path_values) is not None:
                return None
            token = bearer_token(current.headers["Authorization"])
            # A read: the login and the answer in one read transaction (``reading``: the token's memo and the read on
            # one pooled connection, one snapshot on SQLite; the ORM session never begins). A write: the session's
            # transaction, committed as ``InventoryApp._dispatch_and_commit`` commits a successful write.
            with contextlib.nullcontext() if writes else reading(session):
                g.principal = principal = authenticate_token(session, token, client_address(current))
                failed_in = LEAN_FAILED_ATTEMPT
                response = route.answer(session, current, path_values)
                if writes:
                    failed_in = _COMMITTING
                    session.commit()
                failed_in = None  # answered: a failure ending a read's transaction is Flask's to meet afresh
            return response, principal
        except Exception as error:  # a refusal or a failure: undone, then Flask answers the request
            if writes:
                session.rollback()
            if failed_in is _COMMITTING:  # maybe committed (a lost connection): Flask runs the view again only if not
                current.environ[LEAN_FAILED_ATTEMPT] = error
            elif failed_in is not None and isinstance(error, DATABASE_FAILURES):
                current.environ[failed_in] = error
            return None


def register_lean_path(app: Flask) -> None:
    """Put the lean path in front of the Flask app (inside the trusted-proxy layer: the same client address)."""
    app.wsgi_app = app.extensions["lean_path"] = LeanPath(app, app.wsgi_app)
