"""One error shape for the whole API: RFC 9457 problem details, naming the field at fault."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify
from flask_smorest import Api
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from importers.limits import WorkbookTooLarge
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
PROBLEM_TYPE = "/api/v1/docs#problem-"


def problem(status: int, title: str, detail: str = "", errors: dict | None = None, headers: dict | None = None):
    body: dict = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


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
    """flask-smorest's Api, with its HTTP errors (422 validation, 404, 405…) as problem JSON."""

    def handle_http_exception(self, error: HTTPException) -> Response:
        data = getattr(error, "data", None) or {}
        errors = _flatten_webargs_errors(data.get("messages", {})) if data.get("messages") else None
        detail = data.get("message") or (error.description if error.code != 422 else "")
        if error.code == 422 and errors:
            detail = detail or "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in _leaves(errors))
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


def database_error_response(error: Exception) -> Response:
    """Last line of defence: constraint violations are 409, a lock held too long is 503."""
    if isinstance(error, OperationalError) and "locked" in str(error.orig).lower():
        return problem(503, "Service Unavailable", "the database is busy; retry shortly", headers={"Retry-After": "1"})
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
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(OperationalError, database_error_response)
    app.register_error_handler(IntegrityError, database_error_response)
    app.register_error_handler(DataError, database_error_response)
