"""Shared payloads and the table snapshot that shows whether a refused request wrote anything."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from api.errors import problem_types
from api.extensions import db
from inventory.db import reset_write_intent, set_write_intent

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
WRITTEN_TABLES = ("warehouse", "item", "item_alias", "stock_line", "movement")


def warehouse_payload(code: str = "WH-A", **overrides: Any) -> dict:
    """A valid body for POST /warehouses: 东城区, Beijing, unless overridden."""
    body = {
        "code": code,
        "name": f"{code} 环境应急物资储备库",
        "reserve_type": "government",
        "county_code": "110101",
        "latitude": 39.93,
        "longitude": 116.42,
        "level": "county",
    }
    body.update(overrides)
    return body


def item_payload(code: str = "NEW-1", **overrides: Any) -> dict:
    body = {"code": code, "name": f"新物资 {code}", "category": "other", "unit": "个"}
    body.update(overrides)
    return body


@dataclass(frozen=True)
class Raw:
    """A request body sent as is, with its own content type (non-JSON or malformed JSON)."""

    data: str
    content_type: str = "application/json"


NO_BODY = object()


def send(client: FlaskClient, method: str, url: str, body: Any = NO_BODY) -> TestResponse:
    """``body`` is JSON-encoded, unless it is a ``Raw`` body or ``NO_BODY``."""
    if body is NO_BODY:
        return client.open(url, method=method)
    if isinstance(body, Raw):
        return client.open(url, method=method, data=body.data, content_type=body.content_type)
    return client.open(url, method=method, json=body)


def assert_problem(response: TestResponse, status: int, field: str | None = None) -> dict:
    """An RFC 9457 problem with this status (and, if given, an ``errors`` entry for ``field``)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    problem = response.get_json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["type"].startswith("/api/v1/docs#problem-")
    # …and the API documents page has that anchor (api/templates/swagger_ui.html lists every problem type).
    assert problem["type"].removeprefix("/api/v1/docs#problem-") in documented_problems(), problem["type"]
    if field is not None:
        assert field in problem.get("errors", {}), problem
        assert _messages(problem["errors"][field]), problem
    return problem


def _messages(entry: Any) -> list[str]:
    """The messages of one ``errors`` entry: a list of strings, or per list index a nested map of them."""
    if isinstance(entry, dict):
        return [message for value in entry.values() for message in _messages(value)]
    assert isinstance(entry, list) and all(isinstance(m, str) and m for m in entry), entry
    return entry


def table_snapshot(tables: tuple[str, ...] = WRITTEN_TABLES) -> dict[str, Any]:
    """Row counts, stock line quantities and every row of the written tables, as committed.

    Read on a connection of its own, so it sees what a request committed and nothing else; a plain
    BEGIN (no write intent) never waits for SQLite's write lock.
    """
    token = set_write_intent(False)
    try:
        with db.engine.connect() as connection:
            rows = {
                table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
                for table in tables
            }
            quantities = dict(connection.execute(text("SELECT id, quantity FROM stock_line ORDER BY id")).all())
    finally:
        reset_write_intent(token)
    return {"counts": {table: len(table_rows) for table, table_rows in rows.items()}, "quantities": quantities, **rows}


@cache
def documented_problems() -> frozenset[str]:
    """The anchors of the problem types the API documents page lists."""
    return frozenset(kind.anchor for kind in problem_types())
