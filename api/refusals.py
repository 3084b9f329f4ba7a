"""What the HTTP server refuses before the app can answer, as the app's problem JSON in the reader's language.

gunicorn refuses a request it cannot read, or that is over its limits (a request line over
``limit_request_line``, more headers than ``limit_request_fields`` or one longer than
``limit_request_field_size``, a malformed request line or header), before the app sees it, and writes an English
HTML page. gunicorn.conf.py's worker class asks ``refusal`` what the refusal is and answers with
``answer_before_the_app`` instead; the limits and statuses stay gunicorn's (its ``handle_error`` in
workers/base.py), only the body changes. A chunked body gunicorn cannot read is found later, while the app reads
the body (a chunk, or the trailer section after the last one): the same refusal, from the app's error handler
(``register_refusals``), which closes the connection after it (``close_after_the_answer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask, Response, request
from gunicorn.http import errors as http_errors
from werkzeug.http import HTTP_STATUS_CODES

from api.errors import problem

BAD_REQUEST_LINE = (http_errors.InvalidRequestLine, http_errors.InvalidRequestMethod, http_errors.InvalidHTTPVersion)
BAD_HEADER = (http_errors.InvalidHeader, http_errors.InvalidHeaderName, http_errors.ObsoleteFolding)
BAD_CHUNKS = (http_errors.InvalidChunkSize, http_errors.ChunkMissingTerminator, http_errors.InvalidChunkExtension)
# A chunked body's trailer section (headers after the last chunk) gunicorn cannot read, found as the app reads the
# body: the body's refusal, not a header's (the request's headers were read before the app), and not a 500.
BAD_TRAILER = (*BAD_HEADER, http_errors.LimitRequestHeaders)
# What the app wrote (a response header) is the server's fault, a 500: gunicorn's own answer.
APP_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")  # a token (RFC 9110), short enough to quote


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str  # the catalog's English
    field: str | None = None  # the header at fault


BODY_REFUSAL = Refusal(400, "the chunked request body is not valid HTTP")  # what the app finds reading the body


def refusal(exc: Exception, limits) -> Refusal | None:
    """The refusal of the client's request gunicorn raised ``exc`` for; None for what is not the client's request
    (a response header the app wrote; TLS, the PROXY protocol and h2c are the operator's set-up), which stays
    gunicorn's own answer. ``limits``: gunicorn's settings (``limit_request_line``, ``limit_request_fields``,
    ``limit_request_field_size``)."""
    if isinstance(exc, APP_FAULTS):
        return None
    if isinstance(exc, http_errors.LimitRequestLine):
        limit = limits.limit_request_line
        return Refusal(414, f"the request line (method, address and query) is longer than {limit} bytes")
    if isinstance(exc, http_errors.LimitRequestHeaders):
        fields, size = limits.limit_request_fields, limits.limit_request_field_size
        return Refusal(
            431, f"the request headers are too many or too long: at most {fields} headers of {size} bytes each"
        )
    if isinstance(exc, BAD_REQUEST_LINE):
        return Refusal(400, "the request line is not valid HTTP: a method, an address and the HTTP version")
    if isinstance(exc, BAD_HEADER):
        # ``hdr`` is a header's name, or, for a line without one, the line itself or gunicorn's words about it.
        name = str(exc.hdr)
        if isinstance(exc, http_errors.InvalidHeaderName) or HEADER_NAME.fullmatch(name):
            name = name[:64].title() if name.isupper() else name[:64]  # CONTENT-LENGTH as a client writes it
            return Refusal(400, f"header {name} is not valid HTTP", name)
        return Refusal(400, "the request headers are not valid HTTP")
    if isinstance(exc, BAD_CHUNKS):
        return BODY_REFUSAL
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        detail = "the body's transfer coding is not supported: send Content-Length or Transfer-Encoding: chunked"
        return Refusal(501, detail, "Transfer-Encoding")
    if isinstance(exc, http_errors.ExpectationFailed):
        return Refusal(417, "the only expectation supported is Expect: 100-continue", "Expect")
    if isinstance(exc, http_errors.InvalidSchemeHeaders):
        return Refusal(400, "the request headers disagree on its scheme (http or https)")
    return None


def _problem(refused: Refusal) -> Response:
    errors = {refused.field: [refused.detail]} if refused.field else None
    return problem(refused.status, HTTP_STATUS_CODES[refused.status], refused.detail, errors)


def answer_before_the_app(app: Flask, refused: Refusal, accept_language: str | None) -> Response:
    """The problem answer to a refusal, in a request context of the app's own that holds only the client's
    ``Accept-Language`` (None when gunicorn refused before reading the headers: the default language). The title
    is the status's reason phrase, as ``ProblemApi`` gives werkzeug's errors."""
    with app.test_request_context(headers={"Accept-Language": accept_language} if accept_language else {}):
        return _problem(refused)


def refused_body_answer(error: Exception) -> Response:
    if isinstance(error, APP_FAULTS):  # a response header the app wrote (an InvalidHeader too): its fault, a 500
        raise error
    close_after_the_answer(request.environ)
    return _problem(BODY_REFUSAL)


def close_after_the_answer(environ: dict) -> None:
    """After a body gunicorn could not read, where the next request on the connection starts is unknown: the
    connection closes once this answer is sent, or a request sent right after it waits unanswered. A
    ``Connection: close`` from the app is a hop-by-hop header gunicorn drops; what it reads is its request's
    ``force_close`` (``Response.should_close``: the answer says ``Connection: close``, and every worker class
    closes after it). The request is the chunked body reader's (``wsgi.input`` is gunicorn's ``Body``); another
    server has none, and nothing to do."""
    reader = getattr(environ.get("wsgi.input"), "reader", None)
    close = getattr(getattr(reader, "req", None), "force_close", None)
    if close is not None:
        close()


def register_refusals(app: Flask) -> None:
    for error in (*BAD_CHUNKS, *BAD_TRAILER):
        app.register_error_handler(error, refused_body_answer)
