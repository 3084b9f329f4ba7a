"""One error shape for the whole API: RFC 9457 problem details, naming the field at fault."""

from __future__ import annotations

import logging
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from flask import Flask, Request, Response, current_app, g, has_request_context, jsonify, request
from flask_smorest import Api
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from api.config import language_of
from api.extensions import db
from api.messages import UNLISTED, catalog
from api.openapi import ProblemSchema, document_pagination_header
from importers.limits import WorkbookTooLarge
from inventory.db import DatabaseFailure, classify_database_error
from inventory.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientStock,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    ValidationFailed: 422,
    WorkbookTooLarge: 413,
    Conflict: 409,
    InsufficientStock: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
}
# A problem's ``type``: its anchor on the API documents page, which lists every one (``problem_types``).
PROBLEM_TYPE = "/api/v1/docs#problem-"
# The titles the API gives problems of its own, besides the HTTP reason phrases and the domain errors' titles.
INVALID_LEDGER = "Invalid ledger"
OWN_TITLES = {INVALID_LEDGER: 422}


def problem_anchor(title: str) -> str:
    """The anchor of a problem type on the documents page, from its English title: "Not Found" → not-found."""
    return title.lower().replace(" ", "-")


def problem_type(title: str) -> str:
    """A problem body's ``type``: the link to its kind's entry on the documents page."""
    return PROBLEM_TYPE + problem_anchor(title)


@dataclass
class ProblemType:
    anchor: str
    status: int
    title: str  # in English
    title_zh: str
    codes: list[str]  # the title's code; a domain error and werkzeug may share an anchor (Not found, Not Found)

    @property
    def type(self) -> str:
        """The ``type`` of this kind's problem bodies (api/templates/swagger_ui.html lists it)."""
        return problem_type(self.title)

    @property
    def element_id(self) -> str:
        """The id of this kind's entry on the documents page: the fragment its ``type`` points at."""
        return self.type.partition("#")[2]


def problem_types() -> list[ProblemType]:
    """Every kind of problem the API answers with, once per anchor, by status: the HTTP reason phrases the
    message catalog translates (tests/api/test_messages.py: no other reaches a reader), each domain error's
    title, and the API's own titles (``OWN_TITLES``)."""
    titles: list[tuple[int, str]] = [(status, phrase) for status, phrase in HTTP_STATUS_CODES.items() if status >= 400]
    errors, found = [DomainError], []
    while errors:
        error = errors.pop()
        found.append(error)
        errors.extend(error.__subclasses__())
    titles += [(STATUS_BY_ERROR.get(error, 400), error.title) for error in found]
    titles += [(status, title) for title, status in OWN_TITLES.items()]
    messages = catalog()
    kinds: dict[str, ProblemType] = {}
    for status, title in titles:
        shown = messages.message(title, "zh")
        if shown.code == UNLISTED:
            continue
        kind = kinds.setdefault(
            problem_anchor(title), ProblemType(problem_anchor(title), status, title, shown.text, [])
        )
        if shown.code not in kind.codes:
            kind.codes.append(shown.code)
    return sorted(kinds.values(), key=lambda kind: (kind.status, kind.anchor))


# The request a lean answer is for (``api.lean``, which pushes no Flask request): its reader's language.
LEAN_REQUEST: ContextVar[Request | None] = ContextVar("lean_request", default=None)


def request_language() -> str:
    """``zh`` or ``en``: the request's ``Accept-Language`` (quality values honoured), else ``DEFAULT_LANGUAGE``."""
    default = language_of(current_app.config.get("DEFAULT_LANGUAGE"))
    asked = request if has_request_context() else LEAN_REQUEST.get()
    if asked is None or not asked.accept_languages:
        return default
    best = asked.accept_languages.best_match(["zh-CN", "zh", "en"], default=None)
    return language_of(best, default)


FIELD_ERRORS = "field_errors"  # the code of a problem whose detail lists its field errors


def problem(
    status: int,
    title: str,
    detail: str | None = "",
    errors: dict | None = None,
    headers: dict | None = None,
    extra: dict | None = None,
    shown_detail: str | None = None,
):
    """A problem body in the request's language: ``detail=None`` with ``errors`` lists the field errors.

    ``code`` and ``params`` say what happened for a program (the catalog in api/messages.py has every code);
    ``error_codes`` mirrors ``errors`` with each message's code and parameters. ``shown_detail``: a detail
    already in the reader's language, of several messages (an import's summary), shown as it is under the
    title's code (looked up, its tail could pass for one message of the catalog).
    """
    lang = request_language()
    messages = catalog()
    shown_title = messages.message(title, lang)
    body: dict = {
        "type": problem_type(title),
        "title": shown_title.text,
        "status": status,
        "code": shown_title.code,
        "params": {},
    }
    if errors:
        errors, omitted = _first_errors(errors, MAX_FIELD_ERRORS)
        body["errors"], body["error_codes"] = _translate_errors(errors, lang)
        if omitted:
            body["errors_omitted"] = omitted
    if shown_detail is not None:
        body["detail"] = shown_detail
    elif detail is None and errors:
        separator = "；" if lang == "zh" else "; "
        body["detail"] = separator.join(f"{field}: {' '.join(msgs)}" for field, msgs in _leaves(body["errors"]))
        body["code"] = FIELD_ERRORS
    elif detail:
        shown = messages.message(detail, lang)
        body["detail"] = shown.text
        if shown.code != UNLISTED:
            body["code"], body["params"] = shown.code, shown.params
    body.update(extra or {})
    if has_request_context() and g.get("request_id"):
        body["request_id"] = g.request_id  # the X-Request-ID header's value: quote it to operators
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


# A body of 60,000 unknown members (1 MB, no login needed) was answered with 60,000 translated field errors:
# 6 MB and 0.8 s of a worker's CPU. The first fields say what to fix; the count says how many more.
MAX_FIELD_ERRORS = 100


def _first_errors(errors: dict, limit: int) -> tuple[dict, int]:
    """The first ``limit`` field errors (leaves, in order, nesting kept) and how many were left out."""
    room, omitted = limit, 0

    def cut(level: dict) -> dict:
        nonlocal room, omitted
        kept: dict = {}
        for key, value in level.items():
            if isinstance(value, dict):
                if inner := cut(value):
                    kept[key] = inner
            elif room > 0:
                kept[key], room = value, room - 1
            else:
                omitted += 1
        return kept

    return cut(errors), omitted


def _translate_errors(errors: dict, lang: str) -> tuple[dict, dict]:
    """Field errors (nested by object key and list index) in ``lang``, and their codes in the same shape."""
    texts: dict = {}
    codes: dict = {}
    for key, value in errors.items():
        if isinstance(value, dict):
            texts[key], codes[key] = _translate_errors(value, lang)
            continue
        shown = [catalog().message(str(text), lang) for text in (value if isinstance(value, list) else [value])]
        texts[key] = [message.text for message in shown]
        codes[key] = [{"code": message.code, "params": message.params} for message in shown]
    return texts, codes


def _flatten_webargs_errors(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {"field": [...]}}): keep the field map."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


class ProblemApi(Api):
    """flask-smorest's Api, with its HTTP errors (422 validation, 404, 405…) as problem JSON.

    No generic ``default`` error response in the document: api/openapi.py lists each operation's problems.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None

    ERROR_SCHEMA = ProblemSchema  # our problem shape, not flask-smorest's {code, status, message}

    def _register_pagination_header(self) -> None:
        """X-Pagination is a JSON object in a header: documented as such (``content``), not as a simple-style one."""
        document_pagination_header(self.spec)

    def handle_http_exception(self, error: HTTPException) -> Response:
        data = getattr(error, "data", None) or {}
        errors = _flatten_webargs_errors(data.get("messages", {})) if data.get("messages") else None
        detail = data.get("message") or (error.description if error.code != 422 else None)
        # Keep werkzeug's own headers (Allow on 405, WWW-Authenticate on 401…), but not its content type.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        return problem(error.code or 500, error.name, detail, errors, headers)


def _leaves(errors: dict, prefix: str = ""):
    for key, value in errors.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, name + ".")
        else:
            yield name, value if isinstance(value, list) else [value]


def domain_error_response(error: DomainError) -> Response:
    status = STATUS_BY_ERROR.get(type(error), 400)
    errors = {error.field: [error.message]} if error.field else None
    headers = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    return problem(status, error.title, error.message, errors, headers)


# What a client is told, per cause of unavailability (see inventory.db.classify_database_error).
UNAVAILABLE_DETAIL = {
    "deadlock": "the change collided with a concurrent change (a deadlock) and was not saved; retry it",
    "serialization failure": "the change collided with a concurrent change and was not saved; retry it",
    "busy": "the database is busy; retry shortly",
    "unavailable": "the database is unavailable; retry shortly",
    "read-only": "the database is read-only at the moment: nothing can be changed, reading still works",
    "disk full": "the database has no space left: nothing can be changed until an operator frees space",
    "out of resources": "the database is out of resources (memory or connections); retry shortly",
    "I/O error": "the database cannot read or write its storage; retry later",
}
LOG_INTERVAL_S = 10.0  # per process, at most one log line per cause (and level) in this many seconds


class _LogThrottle:
    """Lets one log line per key through per interval and counts the ones held back."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def admit(self, key: str) -> int | None:
        """None: stay quiet; otherwise log, mentioning how many were held back since the last line."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._held.pop(key, 0)

    def reset(self) -> None:
        with self._lock:
            self._last.clear()
            self._held.clear()


log_throttle = _LogThrottle(LOG_INTERVAL_S)


def log_database_failure(failure: DatabaseFailure, error: BaseException, outcome: str, level: int = logging.WARNING):
    """One line (no traceback) per cause (and level) per interval: a dead database must not flood the log.

    Warnings are failures a client saw (a 503); information lines are failures the server got past.
    """
    held = log_throttle.admit(f"{failure.cause}|{logging.getLevelName(level)}")
    if held is None:
        return
    orig = getattr(error, "orig", None) or error
    message = " ".join(str(orig).split())[:300] or type(orig).__name__
    where = f"{request.method} {request.path}" if has_request_context() else "outside a request"
    suffix = f" ({held} more since the last report)" if held else ""
    log.log(level, "database %s [%s] on %s: %s; %s%s", failure.cause, failure.code, where, message, outcome, suffix)


def database_unavailable_response(failure: DatabaseFailure) -> Response:
    """503 with Retry-After; /health answers in its own shape, naming the database and the cause."""
    headers = {"Retry-After": str(failure.retry_after)}
    if has_request_context() and request.endpoint == "meta.health":
        response = jsonify(
            {"status": "unavailable", "database": f"{db.engine.dialect.name}: {failure.cause} ({failure.code})"}
        )
        response.status_code = 503
        response.headers.update(headers)
        return response
    detail = UNAVAILABLE_DETAIL.get(failure.cause, "the database cannot answer now; retry shortly")
    return problem(503, "Service Unavailable", detail, headers=headers, extra={"cause": failure.cause})


def database_error_response(error: Exception) -> Response:
    """Last line of defence for database errors.

    Unavailability (down, busy, read-only, full, a deadlock that survived its retry) is a 503 with
    Retry-After, logged as one line per cause; constraint violations are 409, bad values 422;
    anything else is a bug: 500, logged with its traceback.
    """
    failure = classify_database_error(error)
    if failure is not None:
        retried = has_request_context() and g.get("database_retried") is not None
        log_database_failure(failure, error, "answered 503" + (" after one retry" if retried else ""))
        return database_unavailable_response(failure)
    if isinstance(error, DataError):
        detail = str(error.orig) if current_app.debug else "a value is not valid for the database"
        return problem(422, "Unprocessable Entity", detail)
    if isinstance(error, IntegrityError):
        detail = str(error.orig) if current_app.debug else "the change conflicts with existing data"
        return problem(409, "Conflict", detail)
    log.exception("database error", exc_info=error)
    detail = str(error) if current_app.debug else "internal error"
    return problem(500, "Internal Server Error", detail)


def register_error_handlers(app: Flask) -> None:
    app.jinja_env.globals["problem_types"] = problem_types  # api/templates/swagger_ui.html lists them
    app.register_error_handler(DomainError, domain_error_response)
    # Every driver error (OperationalError, InterfaceError, InternalError…) and an exhausted pool.
    app.register_error_handler(DBAPIError, database_error_response)
    app.register_error_handler(PoolTimeoutError, database_error_response)
