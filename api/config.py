"""Configuration from the environment, read once by ``create_app``; tests pass their own."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = PROJECT_ROOT / "instance" / "inventory.sqlite3"
# A JSON body (or any body but a multipart upload) is at most this long: the largest legitimate one, a user
# with 500 warehouses, is under 20 KiB.
MAX_JSON_BYTES = 1024 * 1024
# Arrays and objects nest at most this deep; the deepest legitimate body (a plan's needs) nests 3 levels.
MAX_JSON_DEPTH = 32


class Config:
    """Every setting with its safe default; the README lists them."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", f"sqlite:///{DEFAULT_DATABASE}"))
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
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
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
