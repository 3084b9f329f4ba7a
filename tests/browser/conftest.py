"""Browser tests: Debian's chromium driven by Playwright against gunicorn on a demo database.

One live server per session, on its own database of the kind under test (a copy of the SQLite
template, or a second database on the embedded PostgreSQL), seeded with the small demo dataset
and one demo account per role. Every request that is not for that server is aborted, so no test
reaches the internet; the map's tile server is configured unreachable, as in the field offline.

Without chromium the tests skip, except under ``CI=true``, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from api import create_app
from api.extensions import db
from tests.live_server import PROBE_TIMEOUT, start_gunicorn

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TILE_BASE = "http://127.0.0.1:9/"  # nothing listens there (and chromium refuses the port): tiles never come
TILE_URL = TILE_BASE + "{z}/{x}/{y}.png"
BROWSER_DATABASE = "inventory_browser"
SCREENSHOT_TIMEOUT_MS = 60_000


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; fail under CI, which must run the browser tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(f"{reason}; `make test` installs it as root (apt-get install -y chromium)")


@pytest.fixture(scope="session")
def playwright_api():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.exists():
        _unavailable(f"chromium is not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_api):
    browser = playwright_api.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# --- the live server -------------------------------------------------------------------------------


@dataclass
class LiveServer:
    base: str
    database_url: str
    passwords: dict[str, str] = field(default_factory=dict)

    def url(self, path: str = "/") -> str:
        return self.base + path

    def require(self, method: str, path: str) -> None:
        """Fail (never skip) when the server does not route ``method path``: a blueprint that stopped
        being registered is a regression. Anonymous, so 401 (or 400) means the endpoint is there."""
        request = urllib.request.Request(self.url(path), method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT):
                return
        except urllib.error.HTTPError as error:
            if error.code in (404, 405):
                pytest.fail(f"{method} {path} answers {error.code}: is its blueprint registered?", pytrace=False)


def _browser_database(db_kind: str, database_template, directory: Path) -> str:
    """A database for the live server, apart from the one the other tests clean after each test."""
    if db_kind == "sqlite":
        path = directory / "browser.sqlite3"
        shutil.copyfile(database_template, path)
        return f"sqlite:///{path}"
    import psycopg

    template = make_url(database_template)
    admin = template.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BROWSER_DATABASE}")
        connection.execute(f"CREATE DATABASE {BROWSER_DATABASE}")
    return template.set(drivername="postgresql", database=BROWSER_DATABASE).render_as_string(hide_password=False)


def _seed(url: str, accounts_file: Path) -> dict[str, str]:
    """Schema, the small demo dataset and the demo accounts; returns username → password."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test"})
    runner = app.test_cli_runner()
    for args in (["init-db"], ["seed-demo", "--scale", "small"], ["demo-accounts", "--file", str(accounts_file)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    text = accounts_file.read_text(encoding="utf-8")
    return dict(re.findall(r"^(demo-\w+)\s.*password=(\S+)", text, re.MULTILINE))


@pytest.fixture(scope="session")
def page_server(playwright_api, db_kind, database_template, tmp_path_factory):
    """gunicorn (two workers) on the browser database, with the tile server set unreachable."""
    directory = tmp_path_factory.mktemp("browser")
    url = _browser_database(db_kind, database_template, directory)
    passwords = _seed(url, directory / "demo-accounts.txt")
    server = start_gunicorn(
        ["--workers", "2"],
        environment={"DATABASE_URL": url, "SECRET_KEY": "test", "MAP_TILE_URL": TILE_URL, "WEB_CONCURRENCY": "2"},
        log=directory / "gunicorn.log",
    )
    yield LiveServer(server.base, url, passwords)
    server.stop()  # quick shutdown: the browser's keep-alive connections hold no work


# --- pages with console watching and screenshots -------------------------------------------------


class ConsoleWatch:
    """Every console error and uncaught exception, except tile requests (offline by design) and
    API error statuses a test provokes on purpose and declares with ``expect``."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected: list[tuple[int, str]] = []

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        if source.startswith(TILE_BASE):
            return
        self.errors.append(f"{message.text} [{source}]")

    def on_page_error(self, error) -> None:
        self.errors.append(f"uncaught: {error}")

    def expect(self, status: int, path: str) -> None:
        """The browser logs every 4xx answer as a console error: declare the ones a test provokes."""
        self.expected.append((status, path))

    def unexpected(self) -> list[str]:
        return [
            error
            for error in self.errors
            if not any(f"status of {status}" in error and path in error for status, path in self.expected)
        ]


@dataclass
class Browsing:
    """A page on the live server, its console, and a way to save screenshots as test artefacts."""

    page: object
    console: ConsoleWatch
    server: LiveServer
    name: str

    def shot(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{step}.png"
        # A full page is several megapixels: on a starved machine it can take longer than the 10 s the context gives
        # each step, and an artefact should not fail a test that passed.
        self.page.screenshot(path=str(path), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
        return path

    def login(self, role: str) -> None:
        page = self.page
        page.goto(self.server.url("/"))
        page.fill("#login-username", f"demo-{role}")
        page.fill("#login-password", self.server.passwords[f"demo-{role}"])
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#who:not([hidden])")

    def responder_at_the_map(self, item: str = "PD-001", radius_km: str = "1000") -> None:
        """Logged in as the responder, the map drawn, the nearest search filled in for Beijing (not sent)."""
        page = self.page
        self.login("responder")
        page.wait_for_selector("#map .leaflet-control-scale")
        page.fill("#nearest-lat", "39.9")
        page.fill("#nearest-lon", "116.4")
        page.fill("#nearest-item", item)
        page.fill("#nearest-radius", radius_km)


def _open_context(browser, server: LiveServer, **options):
    # Reduced motion: the map jumps instead of animating, so screenshots never catch a zoom halfway.
    context = browser.new_context(accept_downloads=True, reduced_motion="reduce", **options)
    # Nothing but the live server: any other request (a CDN, a tile server) is aborted here.
    context.route(lambda url: not url.startswith(server.base + "/"), lambda route: route.abort())
    return context


@pytest.fixture
def browsing(browser, page_server, request):
    """A fresh browser context (no cookies, default language) at desk size; phone tests pass their own."""
    options = getattr(request, "param", None) or {"viewport": {"width": 1280, "height": 900}}
    context = _open_context(browser, page_server, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    console = ConsoleWatch()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    session = Browsing(page, console, page_server, name)
    yield session
    session.shot("end")
    context.close()
    assert not console.unexpected(), "console errors:\n" + "\n".join(console.unexpected())
