"""The OpenAPI document tells the truth about errors: every problem response an operation can give, in one place.

Views document their successful responses (and any operation-specific wording); this apispec plugin then adds
the RFC 9457 problem responses (``application/problem+json``, the ``Problem`` schema) that follow from what an
operation is: authenticated or public, with path ids or not, with a body or parameters, a write or a read.
"""

from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest.pagination import PaginationMetadataSchema
from marshmallow import INCLUDE, Schema, fields

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# Operations that only read, although they are POSTs (a structured query in a body).
READ_ONLY_POSTS = frozenset({"/api/v1/plans"})
LOGIN = "/api/v1/auth/login"

DESCRIPTIONS = {
    400: "the body is not well-formed (JSON that does not parse, a broken multipart form)",
    401: "no credential, or an unknown, expired or malformed one (a bearer token is checked even where none is needed)",
    403: "the caller's role or scope does not allow this, or a cookie-authenticated write lacks `X-CSRF-Token`",
    404: "no such resource (named in the path, or by a parameter or body field), or one the caller may not see",
    409: "the change conflicts with the current state: a duplicate, insufficient stock, a row still in use…",
    413: "the request body is larger than MAX_UPLOAD_BYTES",
    422: "a parameter or body field is not valid; `errors` names each field at fault",
    429: "too many failed logins: retry after `Retry-After` seconds",
    503: "the database is busy or unreachable: retry after `Retry-After` seconds",
}


class ProblemSchema(Schema):
    """RFC 9457 problem details; extension members (an import's ``report``) may follow."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "a URI reference naming the kind of problem"})
    title = fields.String(
        required=True,
        metadata={"description": "the HTTP reason phrase or a short summary, in the request's language"},
    )
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    code = fields.String(
        required=True,
        metadata={
            "description": "what went wrong, for a program: stable across languages and wording. The detail's "
            "message code (e.g. `no_warehouse`, `stock_insufficient`, `missing_field`), `field_errors` when the "
            "detail lists `errors`, else the title's code (`not_found`, `unauthorized`…). Every code is a "
            "`msgctxt` of api/translations/zh_CN/LC_MESSAGES/messages.po (README: problem codes)"
        },
    )
    params = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": 'the values the detail names, by placeholder (`{"code": "\'WH-9\'"}`)'},
    )
    detail = fields.String(
        metadata={
            "description": "what went wrong, for a person: Chinese (zh-CN, the default) or English, by "
            "`Accept-Language`"
        }
    )
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "field name → list of messages (nested objects for nested fields), translated"},
    )
    error_codes = fields.Dict(
        keys=fields.String(),
        metadata={"description": "the shape of `errors`, each message as `{code, params}`"},
    )
    errors_omitted = fields.Integer(
        metadata={"description": "how many field errors after the first 100 `errors` leaves out (absent when none)"},
    )


def document_pagination_header(spec) -> None:
    """The ``PAGINATION`` header component that flask-smorest's paginated responses refer to."""
    spec.components.schema("PaginationMetadata", schema=PaginationMetadataSchema)
    spec.components.header(
        "PAGINATION",
        {
            "description": "the page's place in the list: total, total_pages, first_page, last_page, page, "
            "previous_page, next_page (a JSON object)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PaginationMetadata"}}},
        },
        lazy=True,
    )


def problem_response(description: str) -> dict:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def problem_statuses(path: str, method: str, operation: dict) -> set[int]:
    """The problem statuses an operation can answer with, from what it is."""
    public = operation.get("security") == []
    has_body = "requestBody" in operation
    has_input = has_body or bool(operation.get("parameters")) or "{" in path
    statuses = {401, 503}  # any credential sent is checked (in the database), and the database may be busy
    if not public:
        statuses.add(403)
    if has_input and not public:
        statuses.add(404)  # a row named in the path, or by a parameter or body field (a warehouse, an item…)
    if has_body:
        statuses |= {400, 413}
    if has_input:
        statuses.add(422)
    if method in WRITE_METHODS and path not in READ_ONLY_POSTS and not public:
        statuses.add(409)
    if path == LOGIN:
        statuses.add(429)
    return statuses


class ProblemResponsesPlugin(BasePlugin):
    """Adds the problem responses to each operation and drops flask-smorest's generic ``default`` error."""

    def __init__(self, extra: dict[tuple[str, str], set[int]] | None = None) -> None:
        self.extra = extra or {}

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        spec.components.schema("Problem", schema=ProblemSchema)

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            statuses = problem_statuses(path, method, operation) | self.extra.get((method.upper(), path), set())
            for status in sorted(statuses):
                documented = responses.pop(status, None) or responses.pop(str(status), None)
                description = documented.get("description") if isinstance(documented, dict) else None
                responses[str(status)] = problem_response(description or DESCRIPTIONS.get(status, _phrase(status)))


def _phrase(status: int) -> str:
    return http.HTTPStatus(status).phrase
