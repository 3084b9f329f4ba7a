"""ETag and If-Match on the editable resources: two editors cannot silently overwrite each other."""

from __future__ import annotations

import pytest

from tests.api.helpers import API, assert_problem, item_payload, warehouse_payload


def _warehouse(client) -> tuple[str, dict, dict]:
    assert client.post(f"{API}/warehouses", json=warehouse_payload("WH-E")).status_code == 201
    return f"{API}/warehouses/WH-E", {"notes": "editor B"}, {"notes": "editor A"}


def _item(client) -> tuple[str, dict, dict]:
    assert client.post(f"{API}/items", json=item_payload("E-1")).status_code == 201
    return f"{API}/items/E-1", {"specification": "editor B"}, {"specification": "editor A"}


def _user(client) -> tuple[str, dict, dict]:
    assert client.post(f"{API}/users", json={"username": "erin", "role": "viewer"}).status_code == 201
    return f"{API}/users/erin", {"display_name": "editor B"}, {"display_name": "editor A"}


def _quota(client) -> tuple[str, dict, dict]:
    assert client.post(f"{API}/warehouses", json=warehouse_payload("WH-Q")).status_code == 201
    created = client.post(f"{API}/quotas", json={"warehouse": "WH-Q", "item": "PD-001", "minimum": 5})
    assert created.status_code == 201, created.get_json()
    return f"{API}/quotas/{created.get_json()['id']}", {"note": "editor B"}, {"note": "editor A"}


RESOURCES = {"warehouse": _warehouse, "item": _item, "user": _user, "quota": _quota}


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_stale_if_match_is_a_412_and_changes_nothing(client, resource):
    url, change_b, change_a = RESOURCES[resource](client)
    read = client.get(url)
    assert read.status_code == 200
    etag = read.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    # Editor B saves first, from the same read: accepted, with a new tag (the one a GET now gives).
    saved = client.patch(url, json=change_b, headers={"If-Match": etag})
    assert saved.status_code == 200, saved.get_json()
    new_etag = saved.headers["ETag"]
    assert new_etag != etag
    assert client.get(url).headers["ETag"] == new_etag

    # Editor A saves from the old read: refused, B's change stands.
    stale = client.patch(url, json=change_a, headers={"If-Match": etag})
    problem = assert_problem(stale, 412, "If-Match")
    assert "If-Match" in problem["detail"]
    after = client.get(url)
    assert after.headers["ETag"] == new_etag
    field, value = next(iter(change_b.items()))
    assert after.get_json()[field] == value

    # A reloads and saves with the fresh tag.
    fresh = client.patch(url, json=change_a, headers={"If-Match": new_etag})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] not in (etag, new_etag)
    assert fresh.get_json()[field] == change_a[field]


@pytest.mark.parametrize("resource", RESOURCES)
def test_patch_without_if_match_is_still_applied(client, resource):
    url, change_b, _ = RESOURCES[resource](client)
    response = client.patch(url, json=change_b)
    assert response.status_code == 200
    assert response.headers["ETag"] == client.get(url).headers["ETag"]
