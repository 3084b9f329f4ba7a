"""Health, the reference vocabularies, the OpenAPI document and its Swagger page, and HTTP errors as problems."""

from __future__ import annotations

import pytest

from api import errors
from api.errors import OWN_TITLES, STATUS_BY_ERROR, problem_anchor, problem_types
from inventory.errors import DomainError
from inventory.reference import Category, ReserveType
from tests.api.helpers import API, assert_problem

pytestmark = pytest.mark.usefixtures("server_errors_become_responses")

DOCUMENTED_PATHS = {
    "/health",
    "/reference",
    "/regions",
    "/regions/{code}",
    "/warehouses",
    "/warehouses/{code}",
    "/items",
    "/items/{code}",
    "/receipts",
    "/stock-lines",
    "/stock-lines/{stock_line_id}",
    "/stock-lines/{stock_line_id}/movements",
    "/stock-lines/{stock_line_id}/issues",
    "/stock-lines/{stock_line_id}/transfers",
    "/stock-lines/{stock_line_id}/adjustments",
    "/stock-lines/{stock_line_id}/stocktakes",
    "/movements",
}


def test_health_is_ok_and_names_the_database_without_credentials(app, db_kind):
    response = app.test_client().get(f"{API}/health")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok", "database": db_kind, "demo": False}


def test_reference_lists_the_four_reserve_types_with_labels(client):
    response = client.get(f"{API}/reference")

    assert response.status_code == 200
    reserve_types = response.get_json()["reserve_types"]
    assert [entry["code"] for entry in reserve_types] == ["government", "enterprise", "third_party", "production"]
    assert reserve_types[0] == {"code": "government", "label_zh": "政府储备", "label_en": "Government reserve"}
    assert all(entry["label_zh"] and entry["label_en"] for entry in reserve_types)
    assert [entry["code"] for entry in reserve_types] == [member.value for member in ReserveType]


def test_reference_lists_the_eight_categories_with_labels(client):
    categories = client.get(f"{API}/reference").get_json()["categories"]

    assert len(categories) == 8
    assert [entry["code"] for entry in categories] == [member.value for member in Category]
    assert {
        "code": "pollutant_degradation",
        "label_zh": "污染物降解",
        "label_en": "Pollutant degradation",
    } in categories
    assert all(set(entry) == {"code", "label_zh", "label_en"} and entry["label_zh"] for entry in categories)


def test_reference_lists_every_other_vocabulary(client):
    reference = client.get(f"{API}/reference").get_json()
    assert [entry["code"] for entry in reference["warehouse_levels"]] == [
        "national",
        "provincial",
        "municipal",
        "county",
    ]
    assert [entry["code"] for entry in reference["warehouse_statuses"]] == ["active", "inactive"]
    assert [entry["code"] for entry in reference["region_levels"]] == ["province", "city", "county"]
    assert {"receipt", "issue", "transfer_out", "transfer_in", "adjustment", "stocktake"} <= {
        entry["code"] for entry in reference["movement_kinds"]
    }


def test_openapi_document_lists_every_path_with_its_methods(app):
    response = app.test_client().get(f"{API}/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"] == "v1"
    paths = {path.removeprefix(API): operations for path, operations in spec["paths"].items()}
    assert set(paths) >= DOCUMENTED_PATHS
    assert {"get", "post"} <= set(paths["/warehouses"])
    assert {"get", "patch", "delete"} <= set(paths["/warehouses/{code}"])
    assert {"get", "patch", "delete"} <= set(paths["/items/{code}"])
    assert "post" in paths["/stock-lines/{stock_line_id}/transfers"]
    # Input schemas are documented, with their enumerations.
    schemas = spec["components"]["schemas"]
    assert "WarehouseCreate" in schemas
    assert schemas["WarehouseCreate"]["properties"]["reserve_type"]["enum"] == [m.value for m in ReserveType]


def test_docs_serve_the_swagger_page_pointing_at_the_openapi_document(app):
    client = app.test_client()
    response = client.get(f"{API}/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "swagger-ui" in page.lower()
    assert f"{API}/openapi.json" in page
    # The page's assets are vendored, not fetched from a CDN.
    assert "/static/vendor/swagger-ui-" in page
    assert "cdn" not in page.lower()
    stylesheet = page.split('href="', 1)[1].split('"', 1)[0]
    assert client.get(stylesheet).status_code == 200


def test_every_problem_type_has_its_anchor_on_the_documents_page(app):
    """A problem's `type` (/api/v1/docs#problem-not-found) pointed at anchors the page did not have."""
    page = app.test_client().get(f"{API}/docs").get_data(as_text=True)
    kinds = problem_types()
    for kind in kinds:
        assert f'id="problem-{kind.anchor}"' in page, kind
    anchors = {kind.anchor for kind in kinds}
    assert {"not-found", "insufficient-stock", "invalid-ledger", "service-unavailable"} <= anchors
    # Each domain error's title is in the catalog (listed, and shown in Chinese): 413's was English.
    for error in (DomainError, *STATUS_BY_ERROR):
        assert problem_anchor(error.title) in anchors, error
    for title in OWN_TITLES:
        assert problem_anchor(title) in anchors, title


def test_the_documents_page_lists_each_problem_type_as_problem_bodies_carry_it(app, monkeypatch):
    """The page wrote the problem-type prefix itself, beside api.errors.PROBLEM_TYPE: moved there, every problem
    body would have pointed at anchors the page did not have, and the page listed types no body carried."""
    monkeypatch.setattr(errors, "PROBLEM_TYPE", f"{API}/docs#kind-")
    client = app.test_client()
    problem = client.get(f"{API}/no-such-thing").get_json()
    assert problem["type"] == f"{API}/docs#kind-not-found"
    page = client.get(f"{API}/docs").get_data(as_text=True)
    assert 'id="kind-not-found"' in page and f"<code>type</code> {API}/docs#kind-not-found " in page
    assert "problem-not-found" not in page


@pytest.mark.parametrize("path", [f"{API}/no-such-resource", f"{API}/warehouses/WH-A/nothing-here", "/no-such-page"])
def test_an_unknown_url_is_a_404_problem(client, path):
    problem = assert_problem(client.get(path), 404)
    assert problem["title"] == "Not Found"
    assert problem["type"] == "/api/v1/docs#problem-not-found"
    assert problem["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/warehouses"), ("DELETE", "/receipts"), ("POST", "/movements"), ("PUT", "/items/PD-001")],
)
def test_a_method_the_url_does_not_allow_is_a_405_problem(client, method, path):
    problem = assert_problem(client.open(f"{API}{path}", method=method), 405)
    assert problem["title"] == "Method Not Allowed"
    assert problem["type"] == "/api/v1/docs#problem-method-not-allowed"


def test_a_405_problem_names_the_allowed_methods_in_an_allow_header(client):
    response = client.put(f"{API}/warehouses")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {method.strip() for method in response.headers.get("Allow", "").split(",")}


def test_problem_json_is_also_what_a_browser_gets(client):
    response = client.get(f"{API}/no-such-resource", headers={"Accept": "text/html"})
    assert_problem(response, 404)


def test_reference_also_lists_roles_and_call_up_statuses(client):
    body = client.get(f"{API}/reference").get_json()
    assert [r["code"] for r in body["roles"]] == ["admin", "provincial", "manager", "responder", "viewer"]
    assert [s["code"] for s in body["callup_statuses"]] == ["open", "completed", "cancelled", "unfilled"]
    assert {s["code"] for s in body["callup_line_statuses"]} == {"reserved", "dispatched", "declined", "cancelled"}
    assert all(s["label_zh"] and s["label_en"] for s in body["callup_line_statuses"])


def test_every_answer_forbids_framing_and_sniffing(anonymous_client):
    for path in ("/", "/api/v1/health", "/api/v1/nope"):
        headers = anonymous_client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
