"""Configuration from the environment, read once by ``create_app``; tests pass their own."""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from inventory.reference import LANGUAGES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = PROJECT_ROOT / "instance" / "inventory.sqlite3"
# A JSON body (or any body but a multipart upload) is at most this long: the largest legitimate one, a user
# with 500 warehouses, is under 20 KiB.
MAX_JSON_BYTES = 1024 * 1024
# A row id, in a path or a body, is at most this: no table holds more rows than a 32-bit integer counts, and a
# larger number reached the database driver (SQLite: "Python int too large to convert to SQLite INTEGER", a 500).
MAX_ROW_ID = 2**31 - 1
# Arrays and objects nest at most this deep; the deepest legitimate body (a plan's needs) nests 3 levels.
MAX_JSON_DEPTH = 32
# LANGUAGES (inventory.reference, as the importers' workbooks need them too): the languages the API and the CLI
# answer in (the catalog: api/messages.py), what Accept-Language, DEFAULT_LANGUAGE and the CLI's --lang choose
# between. gunicorn.conf.py checks DEFAULT_LANGUAGE with this file and that module alone.


def language_of(tag: str | None, default: str = "zh") -> str:
    """``zh`` or ``en`` for a language tag or a ``lang=`` value (zh-CN, zh_CN, en-GB, en…)."""
    primary = (tag or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else default


class Config:
    """Every setting with its safe default; the README lists them."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        check_environment(env)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", f"sqlite:///{DEFAULT_DATABASE}"))
        # A streaming replica for the read-only endpoints (api.replica); unset: every query goes to the primary.
        replica = env.get("DATABASE_REPLICA_URL", "").strip()
        self.SQLALCHEMY_BINDS = {"replica": normalise_database_url(replica)} if replica else {}
        self.REPLICA_MAX_LAG_SECONDS = float(env.get("REPLICA_MAX_LAG_SECONDS", "5"))
        # Observability (api.observability, api.metrics): log format, who may read /metrics.
        self.LOG_FORMAT = env.get("LOG_FORMAT", "text")
        self.METRICS_TOKEN = env.get("METRICS_TOKEN", "")
        self.METRICS_ALLOW = [
            network.strip() for network in env.get("METRICS_ALLOW", "127.0.0.1/32,::1/128").split(",")
        ]
        # How many proxies (load balancer, nginx) stand in front of gunicorn and append to X-Forwarded-For.
        # 0: the header is ignored (anyone can send one); api.proxies then takes the client address from it.
        self.TRUSTED_PROXY_COUNT = int(env.get("TRUSTED_PROXY_COUNT", "0"))
        self.SECRET_KEY = env.get("SECRET_KEY") or instance_secret_key()
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "0") == "1"
        self.PERMANENT_SESSION_LIFETIME = int(env.get("SESSION_HOURS", "12")) * 3600
        # Uploads (multipart ledgers) may be this long; every other body is held to MAX_JSON_BYTES (api.inputs).
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
        self.MAX_JSON_BYTES = MAX_JSON_BYTES
        # The page's map background: any {z}/{x}/{y} tile server (an internal one where there is no internet).
        self.MAP_TILE_URL = env.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
        self.MAP_TILE_ATTRIBUTION = env.get("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")
        # Problem titles and details for a request without Accept-Language (zh-CN or en; api/messages.py).
        self.DEFAULT_LANGUAGE = env.get("DEFAULT_LANGUAGE", "zh-CN")
        # No ping per checkout: inventory.db pings only connections that sat idle (configure_engine).
        self.SQLALCHEMY_ENGINE_OPTIONS = {}
        # Notifications (notify branch): the SMTP server email goes through, and the webhook timeout.
        # SMTP_SECURITY: starttls (port 587), tls (implicit TLS, port 465) or none (a relay on the same host).
        self.SMTP_HOST = env.get("SMTP_HOST", "")
        self.SMTP_PORT = int(env.get("SMTP_PORT", "587"))
        self.SMTP_SECURITY = env.get("SMTP_SECURITY", "starttls")
        self.SMTP_USERNAME = env.get("SMTP_USERNAME", "")
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD", "")
        self.SMTP_CA_FILE = env.get("SMTP_CA_FILE") or None
        self.SMTP_TIMEOUT = float(env.get("SMTP_TIMEOUT", "30"))
        self.MAIL_FROM = env.get("MAIL_FROM", "")
        self.WEBHOOK_TIMEOUT = float(env.get("WEBHOOK_TIMEOUT", "15"))
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False
        # OpenAPI document and its interactive page, served from vendored assets (no CDN).
        self.API_TITLE = "Emergency materials inventory"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui-5.35.0/"
        self.JSON_SORT_KEYS = False

    def as_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key.isupper()}


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` and ``postgresql://`` forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(path: Path = PROJECT_ROOT / "instance" / "secret_key") -> str:
    """A key generated once and kept in instance/, so every worker signs sessions the same way.

    Created atomically (O_EXCL): when several workers start together, one writes and all read.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key


class ConfigurationError(RuntimeError):
    """The environment does not describe a deployment that can start; the message lists every problem."""


def check_environment(env: dict[str, str] | os._Environ) -> None:
    """Refuse to start on a setting that cannot work, naming each one and what it should look like.

    ``INVENTORY_ENV=production`` also requires what a laptop may leave out: PostgreSQL and a SECRET_KEY of
    its own (a generated one in instance/ differs per host, and sessions would not survive a load balancer).
    """
    problems: list[str] = []
    production = env.get("INVENTORY_ENV", "development") == "production"
    if env.get("INVENTORY_ENV", "development") not in ("development", "production"):
        problems.append("INVENTORY_ENV must be 'development' or 'production'")
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL"):
        value = env.get(name, "").strip()
        if not value:
            if name == "DATABASE_URL" and production:
                problems.append("DATABASE_URL is required in production: postgresql://USER:PASSWORD@HOST:5432/DATABASE")
            continue
        try:
            backend = make_url(normalise_database_url(value)).get_backend_name()
        except ArgumentError:
            problems.append(f"{name} is not a database URL (postgresql://USER:PASSWORD@HOST:5432/DATABASE)")
            continue
        allowed = ("postgresql",) if production or name == "DATABASE_REPLICA_URL" else ("postgresql", "sqlite")
        if backend not in allowed:
            problems.append(f"{name} must be a {' or '.join(allowed)} URL, not {backend}")
    secret = env.get("SECRET_KEY", "")
    if production and len(secret) < 32:
        problems.append(
            "SECRET_KEY must be set in production, at least 32 characters "
            "(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    bind = env.get("BIND", "")
    if bind and not _valid_bind(bind):
        problems.append(f"BIND must be HOST:PORT (127.0.0.1:8000, 0.0.0.0:8000) or unix:PATH, not {bind!r}")
    for name, low, high in (
        ("WEB_CONCURRENCY", 1, 256),
        ("SMTP_PORT", 1, 65535),
        ("SESSION_HOURS", 1, 24 * 30),
        ("MAX_UPLOAD_BYTES", 1024, 1024**3),
        ("GUNICORN_TIMEOUT", 10, 3600),
        ("TRUSTED_PROXY_COUNT", 0, 10),
    ):
        value = env.get(name, "")
        if value and not (value.isdigit() and low <= int(value) <= high):
            problems.append(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    lag = env.get("REPLICA_MAX_LAG_SECONDS", "")
    if lag:
        try:
            if float(lag) < 0:
                raise ValueError
        except ValueError:
            problems.append(f"REPLICA_MAX_LAG_SECONDS must be a number of seconds, 0 or more, not {lag!r}")
    language = env.get("DEFAULT_LANGUAGE", "")
    if language and not language_of(language, default=""):
        problems.append(f"DEFAULT_LANGUAGE must be a language the API answers in (zh-CN or en), not {language!r}")
    if env.get("LOG_FORMAT", "text") not in ("text", "json"):
        problems.append("LOG_FORMAT must be 'text' or 'json'")
    for network in env.get("METRICS_ALLOW", "").split(","):
        if network.strip():
            try:
                ipaddress.ip_network(network.strip(), strict=False)
            except ValueError:
                problems.append(f"METRICS_ALLOW must list networks (10.0.0.0/8,127.0.0.1/32), not {network.strip()!r}")
    if env.get("SMTP_HOST") and not env.get("MAIL_FROM"):
        problems.append("MAIL_FROM is required with SMTP_HOST (the sender address of mail)")
    if env.get("SMTP_SECURITY", "starttls") not in ("starttls", "tls", "none"):
        problems.append("SMTP_SECURITY must be 'starttls', 'tls' or 'none'")
    for name in ("SMTP_TIMEOUT", "WEBHOOK_TIMEOUT"):
        value = env.get(name, "")
        try:
            if value and not 0 < float(value) <= 600:
                raise ValueError
        except ValueError:
            problems.append(f"{name} must be a number of seconds from 0 to 600, not {value!r}")
    if problems:
        raise ConfigurationError("cannot start: " + "; ".join(problems))


def _valid_bind(bind: str) -> bool:
    if bind.startswith("unix:"):
        return len(bind) > len("unix:")
    host, _, port = bind.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536
