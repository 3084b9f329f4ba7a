"""API test fixtures: data is set up through the API itself, as a client would."""

from __future__ import annotations

import pytest

from tests.api.helpers import API, item_payload, warehouse_payload


@pytest.fixture
def server_errors_become_responses(app):
    """As in production: an unexpected exception is a 500 problem response (and a rollback), not a traceback.

    Flask still logs the exception, so pytest shows it when a test fails.
    """
    app.config["PROPAGATE_EXCEPTIONS"] = False


@pytest.fixture
def new_warehouse(client):
    """POST /warehouses with a valid body (overridable); returns the created warehouse."""

    def make(code: str = "WH-A", **fields):
        response = client.post(f"{API}/warehouses", json=warehouse_payload(code, **fields))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def new_item(client):
    def make(code: str = "NEW-1", **fields):
        response = client.post(f"{API}/items", json=item_payload(code, **fields))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def receive(client):
    """POST /receipts; returns the receipt movement (its ``stock_line_id`` names the line)."""

    def make(warehouse_code: str, quantity: object = 100, *, item_code: str = "PD-001", batch: str = "B1", **fields):
        body = {"warehouse_code": warehouse_code, "item_code": item_code, "quantity": quantity, "batch": batch}
        body.update(fields)
        response = client.post(f"{API}/receipts", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make
