"""The permission matrix: every write endpoint × every role × own/other scope.

"Own" is a warehouse in Beijing (110000) that the manager is assigned to and the provincial user's
province holds; "other" is one in Guangdong that neither holds. Admins may do everything;
anonymous callers get 401 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from api.extensions import db
from inventory.accounts import create_token, create_user
from inventory.catalogue import get_item
from inventory.db import intends_to_write
from inventory.models import AuditEntry, Movement
from inventory.stock import receive_stock
from tests.conftest import bearer_client

ROLES = ("admin", "provincial", "manager", "responder", "viewer", "anonymous")
SCOPES = ("own", "other")


@dataclass
class World:
    warehouse: dict[str, str]
    empty_warehouse: dict[str, str]
    line: dict[str, int]
    token_id: int


@pytest.fixture
def world(session, make_warehouse) -> World:
    own = make_warehouse("OWN", county_code="110101", latitude=39.93, longitude=116.42)
    other = make_warehouse("OTHER", county_code="440305", latitude=22.53, longitude=113.93)
    make_warehouse("OWN-EMPTY", county_code="110105", latitude=39.92, longitude=116.44)
    make_warehouse("OTHER-EMPTY", county_code="440304", latitude=22.54, longitude=114.05)
    lines = {}
    for scope, warehouse in (("own", own), ("other", other)):
        movement = receive_stock(
            session, warehouse=warehouse, item=get_item(session, "PD-001"), quantity=100, batch="B", actor="tester"
        )
        lines[scope] = movement.stock_line_id
    create_user(session, "tester", username="victim", role="viewer")
    token, _ = create_token(session, "tester", username="victim")
    session.commit()
    return World(
        warehouse={"own": "OWN", "other": "OTHER"},
        empty_warehouse={"own": "OWN-EMPTY", "other": "OTHER-EMPTY"},
        line=lines,
        token_id=token.id,
    )


def _client(app, role: str):
    if role == "anonymous":
        return app.test_client()
    scope = {"provincial": {"province_code": "110000"}, "manager": {"warehouse_codes": ["OWN"]}}.get(role, {})
    with intends_to_write():
        create_user(db.session, "tester", username=f"the-{role}", role=role, **scope)
        _, token = create_token(db.session, "tester", username=f"the-{role}")
        db.session.commit()
    return bearer_client(app, token)


COUNTY = {"own": "110102", "other": "440303"}

# endpoint -> (request builder, who may do it: a set of roles, or "scoped" roles allowed only on "own")
ENDPOINTS = {
    "create warehouse": (
        lambda w, s: (
            "POST",
            "/api/v1/warehouses",
            {
                "code": f"NEW-{s}",
                "name": "新库",
                "reserve_type": "government",
                "county_code": COUNTY[s],
                "latitude": 30,
                "longitude": 115,
                "level": "county",
            },
        ),
        {"admin"},
        {"provincial"},
    ),
    "edit warehouse": (
        lambda w, s: ("PATCH", f"/api/v1/warehouses/{w.warehouse[s]}", {"contact_phone": "010-1234"}),
        {"admin"},
        {"provincial"},
    ),
    "delete warehouse": (
        lambda w, s: ("DELETE", f"/api/v1/warehouses/{w.empty_warehouse[s]}", None),
        {"admin"},
        {"provincial"},
    ),
    "create item": (
        lambda w, s: (
            "POST",
            "/api/v1/items",
            {"code": f"X-{s}", "name": f"新物资{s}", "category": "other", "unit": "个"},
        ),
        {"admin", "provincial"},
        set(),
    ),
    "edit item": (
        lambda w, s: ("PATCH", "/api/v1/items/PD-002", {"specification": "袋装 50 kg"}),
        {"admin", "provincial"},
        set(),
    ),
    "delete item": (lambda w, s: ("DELETE", "/api/v1/items/OT-003", None), {"admin"}, set()),
    "receipt": (
        lambda w, s: (
            "POST",
            "/api/v1/receipts",
            {"warehouse_code": w.warehouse[s], "item_code": "PD-002", "quantity": 3},
        ),
        {"admin"},
        {"provincial", "manager"},
    ),
    "issue": (
        lambda w, s: ("POST", f"/api/v1/stock-lines/{w.line[s]}/issues", {"quantity": 1}),
        {"admin"},
        {"provincial", "manager"},
    ),
    "transfer": (
        lambda w, s: (
            "POST",
            f"/api/v1/stock-lines/{w.line[s]}/transfers",
            {"to_warehouse_code": w.empty_warehouse[s], "quantity": 1},
        ),
        {"admin"},
        {"provincial", "manager"},
    ),
    "adjustment": (
        lambda w, s: ("POST", f"/api/v1/stock-lines/{w.line[s]}/adjustments", {"delta": -1, "reason": "damaged"}),
        {"admin"},
        {"provincial", "manager"},
    ),
    "stocktake": (
        lambda w, s: ("POST", f"/api/v1/stock-lines/{w.line[s]}/stocktakes", {"counted_quantity": 99}),
        {"admin"},
        {"provincial", "manager"},
    ),
    "create user": (
        lambda w, s: ("POST", "/api/v1/users", {"username": f"new-{s}", "role": "viewer"}),
        {"admin"},
        set(),
    ),
    "edit user": (lambda w, s: ("PATCH", "/api/v1/users/victim", {"display_name": "V"}), {"admin"}, set()),
    "create token": (lambda w, s: ("POST", "/api/v1/users/victim/tokens", {"days": 5}), {"admin"}, set()),
    "revoke token": (lambda w, s: ("DELETE", f"/api/v1/tokens/{w.token_id}", None), {"admin"}, set()),
}


def expected_status(endpoint: str, role: str, scope: str) -> str:
    _, everywhere, own_only = ENDPOINTS[endpoint]
    if role == "anonymous":
        return "401"
    if role in everywhere or (role in own_only and scope == "own"):
        return "2xx"
    return "403"


def _ledger_and_audit(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Movement)),
        session.scalar(select(func.count()).select_from(AuditEntry)),
    )


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_write_permission_matrix(app, world, endpoint, role, scope):
    client = _client(app, role)
    db.session.remove()
    before = _ledger_and_audit(db.session)
    method, url, body = ENDPOINTS[endpoint][0](world, scope)
    response = client.open(url, method=method, json=body)
    expected = expected_status(endpoint, role, scope)
    if expected == "2xx":
        assert 200 <= response.status_code < 300, (response.status_code, response.json)
        assert _ledger_and_audit(db.session)[1] > before[1], "every write leaves an audit entry"
    else:
        assert response.status_code == int(expected), (response.status_code, response.json)
        assert response.mimetype == "application/problem+json"
        assert _ledger_and_audit(db.session) == before, "a refused write writes nothing"


def test_reads_need_authentication_but_health_and_docs_do_not(app, client):
    anonymous = app.test_client()
    for url in ("/api/v1/warehouses", "/api/v1/items", "/api/v1/stock-lines", "/api/v1/movements", "/api/v1/audit"):
        response = anonymous.get(url)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for url in ("/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs", "/"):
        assert anonymous.get(url).status_code == 200, url
    assert client.get("/api/v1/warehouses").status_code == 200


def test_no_mass_assignment_through_the_wrong_door(client, world):
    """Quantities, ids, roles and warehouses cannot be set through endpoints that do not own them."""
    attempts = [
        ("PATCH", "/api/v1/warehouses/OWN", {"id": 99}),
        ("PATCH", "/api/v1/warehouses/OWN", {"code": "RENAMED"}),
        ("POST", f"/api/v1/stock-lines/{world.line['own']}/issues", {"quantity": 1, "warehouse_id": 2}),
        ("POST", f"/api/v1/stock-lines/{world.line['own']}/stocktakes", {"counted_quantity": 1, "quantity": 5}),
        ("POST", "/api/v1/users/victim/tokens", {"days": 5, "user_id": 1}),
        ("POST", "/api/v1/auth/login", {"username": "victim", "password": "x" * 12, "role": "admin"}),
    ]
    for method, url, body in attempts:
        response = client.open(url, method=method, json=body)
        assert response.status_code == 422, (url, response.json)
        unknown = next(key for key in body if key in response.json["errors"])
        assert response.json["errors"][unknown] == ["Unknown field."]
    assert db.session.scalar(select(func.sum(Movement.delta))) == Decimal(200)
