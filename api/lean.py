"""The lean path: ``GET /api/v1/nearest`` answered without Flask's per-request machinery, when it is plain.

During an incident responders' clients send the same kind of request thousands of times: a search with a
bearer token and a few query parameters. Through Flask such a request costs about three times the search
itself (request and app contexts, seven hooks, flask-smorest and webargs wrappers, URL matching, a second
session close). This WSGI layer sits in front of the Flask app and answers exactly that request itself, by
calling the very functions the Flask path calls, in the same order, with the same objects:

- the request: ``app.request_class`` (Flask's own Request) over the same WSGI environ;
- its id: ``api.observability.request_id_for``; hostile query text: ``api.inputs.bad_query_text``;
- the login: ``api.identity.bearer_token`` and ``inventory.accounts.authenticate_token`` (the worker's memo);
- the arguments: the blueprint's parser with the route's own schema instance and arguments
  (``api.routes.nearest.NEAREST_QUERY``, ``NEAREST_ARGUMENTS``);
- the answer: ``api.routes.nearest.nearest_response`` (the view's body), then ``api.add_security_headers`` and
  ``api.observability.finish_answer`` (request id header, metrics, the JSON log line), as the after-request
  hooks do; the app context's session is one this thread's last search left as new, kept for its next one
  (``LeanNearest.put_back``: one that is not as new is closed, as Flask-SQLAlchemy's teardown does).

Anything else goes to Flask untouched, before or after the lean path tried: another path or method (HEAD
too), a cookie (a web session, the replica's sticky cookie), no ``Authorization`` header, a request body (a
``Content-Type`` alone, as load generators send, reads nothing on either path), a conditional header, a
configured read replica or ``SERVER_NAME``, the test client's preserved contexts, and every refusal or error
on the way (a bad token, an invalid or unknown parameter, an unknown item, a database error): Flask then runs
the request from the start and answers as it always did. Nothing is written on this path, so running it twice
changes nothing but time: a database that does not answer is waited for twice, and a failing statement is
counted twice in the database-error metric, as the server's own one retry (``InventoryApp.dispatch_request``)
counts it. The request's duration, in its metric and log line, runs from the lean path's start
(``observability.LEAN_STARTED``).

``tests/api/test_lean_path.py`` holds the two paths equal to the byte (status, headers but the date and a new
request id, body), the metrics and the JSON log line, on many searches, on both databases.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app, has_app_context
from marshmallow import ValidationError, missing

from api.extensions import REPLICA_BIND, db
from api.identity import bearer_token, client_address
from api.inputs import bad_query_text
from api.observability import LEAN_STARTED, finish_answer, request_id_for
from api.routes.nearest import NEAREST_ARGUMENTS, NEAREST_QUERY, blp, nearest_response
from inventory.accounts import authenticate_token
from inventory.db import reading, reset_write_intent, set_write_intent

NEAREST_ENDPOINT = "nearest.Nearest"
# Flask's request hooks (app-wide and the nearest blueprint's), by module.qualname in Flask's order: the lean path
# runs none of them but does what each does (the comment names how). A hook not listed here (a rate limit, a
# maintenance switch, CORS) turns the lean path off, so no request skips it; tests/api/test_lean_path.py holds
# this list equal to the app's, so whoever adds a hook decides what the lean path must do.
STANDS_IN_FOR = {
    "before_request": (
        "api.observability.register_observability.<locals>.start_request",  # request_id_for
        "api.inputs.refuse_hostile_input",  # bad_query_text
        "api._register_transaction_hooks.<locals>.declare_write_intent",  # set_write_intent(False)
        "api.identity.register_authentication.<locals>.authenticate",  # bearer_token, authenticate_token
    ),
    "after_request": (
        "api.observability.register_observability.<locals>.finish_request",  # finish_answer
        "api.add_security_headers",  # add_security_headers
        "api._register_transaction_hooks.<locals>.commit_successful_write",  # end_read: a read
    ),
    "teardown_request": ("api._register_transaction_hooks.<locals>.forget_write_intent",),  # reset_write_intent
    "url_value_preprocessor": (),
}


def request_hooks(app: Flask) -> dict[str, tuple[str, ...]]:
    """The hooks Flask would run for a search, named as in ``STANDS_IN_FOR``."""

    def named(by_blueprint: dict) -> tuple[str, ...]:
        functions = [*by_blueprint.get(None, ()), *by_blueprint.get(blp.name, ())]
        return tuple(f"{function.__module__}.{function.__qualname__}" for function in functions)

    return {
        "before_request": named(app.before_request_funcs),
        "after_request": named(app.after_request_funcs),
        "teardown_request": named(app.teardown_request_funcs),
        "url_value_preprocessor": named(app.url_value_preprocessors),
    }


# What makes a GET more than a plain search: each sends the request to Flask.
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
        # marshmallow keeps a schema's pre/post-load and validator hooks in ``_hooks``: any of them, and this is off.
        plain = not schema._hooks and all(
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


class LeanNearest:
    """WSGI middleware: answers a plain ``GET`` of the search itself, hands every other request to ``fallback``."""

    def __init__(self, app: Flask, fallback) -> None:
        from api import add_security_headers, end_read  # the app's module, which imports this one

        self.app = app
        self.fallback = fallback
        self.add_security_headers = add_security_headers
        self.end_read = end_read
        rules = list(app.url_map.iter_rules(NEAREST_ENDPOINT))
        self.path = rules[0].rule if len(rules) == 1 and not rules[0].arguments else None
        # Host matching and a replica are Flask's business (the replica's choice needs its cookie and monitor).
        if app.url_map.host_matching or app.config.get("SERVER_NAME") or app.config.get("TRUSTED_HOSTS"):
            self.path = None
        if request_hooks(app) != STANDS_IN_FOR:
            self.path = None
        if REPLICA_BIND in (app.config.get("SQLALCHEMY_BINDS") or {}):
            self.path = None
        self.query = PlainQuery(NEAREST_QUERY, blp.ARGUMENTS_PARSER.repeated_keys(NEAREST_QUERY))
        self.idle = threading.local()  # per request thread: a session the last search left as new (``put_back``)

    def __call__(self, environ, start_response):
        if (
            environ.get("PATH_INFO") != self.path
            or environ.get("REQUEST_METHOD") != "GET"
            or "HTTP_AUTHORIZATION" not in environ
            or environ.get("CONTENT_LENGTH", "0") not in ("", "0")
            or any(key in environ for key in _FLASK_ONLY)
        ):
            return self.fallback(environ, start_response)
        started = time.perf_counter()
        response = self.answer(environ, started)
        if response is None:
            environ[LEAN_STARTED] = started  # the request's duration counts both tries
            return self.fallback(environ, start_response)
        return response(environ, start_response)

    def answer(self, environ, started: float):
        """The search's answer as Flask would give it, or None when Flask must answer (it then runs it afresh)."""
        app = self.app
        current = app.request_class(environ)
        if bad_query_text(current.args) is not None:
            return None
        request_id = request_id_for(current)
        # As Flask does: a new app context (its own session) unless one of this app is active (a test's).
        context = None if has_app_context() and current_app._get_current_object() is app else app.app_context()
        if context is not None:
            context.push()
            self.lend_session()
        intent = set_write_intent(False)
        try:
            token = bearer_token(current.headers["Authorization"])
            # One read transaction for the login and the search (``reading``): the token's memo and the
            # search read on one pooled connection (one snapshot on SQLite), and the ORM session never begins.
            with reading(db.session):
                principal = authenticate_token(db.session, token, client_address(current))
                args = self.query.load(current.args)
                if args is None:
                    args = blp.ARGUMENTS_PARSER.parse(NEAREST_QUERY, current, **NEAREST_ARGUMENTS)
                response = nearest_response(db.session, args)
        except Exception:  # any refusal or failure: Flask answers it, from the start
            return None
        finally:
            reset_write_intent(intent)
            # The read's transaction ends: as the after-request hook does, or with the context pushed here,
            # whose session is put back for this thread's next search (or closed, as the teardown would).
            if context is None:
                self.end_read(db.session)
            else:
                try:
                    self.put_back()
                finally:
                    context.pop()
        self.add_security_headers(response)
        finish_answer(app, current, response, NEAREST_ENDPOINT, request_id, started, principal)
        return response

    def lend_session(self) -> None:
        """The pushed context's session: this thread's, left as new by its last search (``put_back``), rather than
        one made for the context and closed by its teardown (~35 µs a search: docs/benchmarks.md, "s24: HTTP
        search")."""
        db.session.registry.set(getattr(self.idle, "session", None) or db.session.session_factory())

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


def register_lean_nearest(app: Flask) -> None:
    """Put the lean path in front of the Flask app (inside the trusted-proxy layer: the same client address)."""
    app.wsgi_app = app.extensions["lean_nearest"] = LeanNearest(app, app.wsgi_app)
