"""Configuration from the environment, read once by ``create_app``; tests pass their own."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = PROJECT_ROOT / "instance" / "inventory.sqlite3"


class Config:
    """Every setting with its safe default; the README lists them."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", f"sqlite:///{DEFAULT_DATABASE}"))
        self.SECRET_KEY = env.get("SECRET_KEY") or os.urandom(32).hex()
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
        self.API_MAX_PAGE_SIZE = int(env.get("API_MAX_PAGE_SIZE", "500"))
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
