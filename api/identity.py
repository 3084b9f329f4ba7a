"""Who is making the request: authentication at the edge, before any view runs.

A request carries either ``Authorization: Bearer <token>`` (API clients) or the session cookie
set by ``POST /api/v1/auth/login`` (the web page). The cookie is signed and holds a random session
key; the session itself lives in the database (``web_session``), so logout and account changes end
it at once, on every worker, even for a copy of the cookie. Cookie-authenticated writes must also send
the session's CSRF token in ``X-CSRF-Token``, so another site cannot make the browser write.
Only health, the API documents, the page (its static files, configuration and session probe) and
the login itself are anonymous; on those, a stale or half-valid session is simply ignored, so a
browser with an old cookie can always log in again.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

from api.extensions import db
from inventory.access import Principal
from inventory.accounts import authenticate_token, authenticate_web_session
from inventory.errors import Forbidden, Unauthenticated

PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "index",
        "meta.health",
        "auth.Login",
        "page.PageConfig",
        "page.PageSession",
        "page.BaseMap",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
    }
)
# Probes and metrics (api.observability) carry no identity: /metrics has its own network rule and token.
UNIDENTIFIED_ENDPOINTS = frozenset({"operations.health", "operations.ready", "operations.metrics"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def client_address(current=None) -> str:
    """The caller's address: the TCP peer, or behind TRUSTED_PROXY_COUNT proxies the client they saw (api.proxies).
    ``current``: a request object other than Flask's current one (the lean search path, api/lean.py)."""
    return ((request if current is None else current).remote_addr or "")[:45]


def bearer_token(header: str) -> str:
    """The token of an ``Authorization`` header, which must be ``Bearer <token>``."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    return token.strip()


def current_actor() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthenticated("authentication required")
    return principal


def start_session(session_key: str) -> str:
    """Log the browser in: a fresh cookie (no fixation) for a new server-side session, and a new CSRF token."""
    session.clear()
    session["sid"] = session_key
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    return session["csrf"]


def current_session_key() -> str | None:
    """The cookie's key of the server-side web session, if the browser sent one."""
    return session.get("sid")


def end_session() -> None:
    session.clear()


def _session_principal() -> Principal:
    writes = request.method not in SAFE_METHODS
    principal = authenticate_web_session(db.session, session["sid"], client_address(), touch=writes)
    # As bytes: compare_digest refuses str holding non-ASCII characters, which a header may hold (a 500 before).
    offered, expected = request.headers.get(CSRF_HEADER, ""), session.get("csrf", "")
    if writes and not hmac.compare_digest(offered.encode(), expected.encode()):
        raise Forbidden(f"missing or wrong {CSRF_HEADER} header for a cookie-authenticated write")
    return principal


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie, its serializer built once per key rather than for every request.

    Flask builds the signing serializer (and itsdangerous test-dumps an empty dict) on every request,
    even one that carries no cookie (every bearer-token call): a cost per request for nothing. The
    serializer is stateless, so one per key set serves every thread; a changed key builds a new one.
    """

    _built: tuple[tuple, object] | None = None

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self._built
        if built is None or built[0] != keys:
            built = self._built = (keys, super().get_signing_serializer(app))
        return built[1]


# Where the lean path (api/lean.py) leaves the database failure its login met, for the ``authenticate`` hook to
# raise as the login's own: Flask answers it as it would have, without a second login, wait or count.
LEAN_FAILED_LOGIN = "inventory.lean_failed_login"


def register_authentication(app: Flask) -> None:
    app.session_interface = SessionCookies()

    @app.before_request
    def authenticate() -> None:
        context = g._get_current_object()  # looked up once (each proxied attribute costs a context look-up)
        current = request._get_current_object()
        context.principal = None
        failed = current.environ.pop(LEAN_FAILED_LOGIN, None)
        if failed is not None:  # the lean path's login met it (api/lean.py): answered once, not waited out again
            raise failed
        if current.endpoint in UNIDENTIFIED_ENDPOINTS:
            return
        header = current.headers.get("Authorization", "")
        if header:
            context.principal = authenticate_token(db.session, bearer_token(header), client_address())
        elif session.get("sid") is not None:
            try:
                context.principal = _session_principal()
            except (Unauthenticated, Forbidden):
                if current.endpoint not in PUBLIC_ENDPOINTS:
                    raise
                session.clear()
        elif session:
            session.clear()  # a cookie from before server-side sessions (or otherwise without a key)
        if context.principal is None and current.endpoint not in PUBLIC_ENDPOINTS and current.endpoint is not None:
            raise Unauthenticated("authentication required: a bearer token or a login session")
