"""The client's address behind load balancers: from X-Forwarded-For only when the operator trusts proxies.

Anyone can send an X-Forwarded-For header, so by default it is ignored and the client is the TCP peer
(REMOTE_ADDR). With ``TRUSTED_PROXY_COUNT=N`` the N proxies in front of gunicorn each append the address they
received from; werkzeug's ProxyFix then takes the N-th address from the right, the one the outermost trusted
proxy saw. Whatever a client wrote to the left of it is ignored. Every use of the address follows from
``request.remote_addr``: the audit log, the login throttle, the /metrics allow-list and the JSON request log.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxies:
    """Wraps the WSGI app; reads the setting per request (tests change it on a running app)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wrapped = app.wsgi_app
        self.fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ, start_response):
        count = self.app.config.get("TRUSTED_PROXY_COUNT", 0)
        if not count:
            return self.wrapped(environ, start_response)
        fix = self.fixes.get(count)
        if fix is None:
            fix = self.fixes[count] = ProxyFix(self.wrapped, x_for=count, x_proto=0, x_host=0, x_port=0, x_prefix=0)
        return fix(environ, start_response)


def register_trusted_proxies(app: Flask) -> None:
    app.wsgi_app = TrustedProxies(app)
