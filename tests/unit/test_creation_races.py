"""The same warehouse, item, account or quota created twice at once (a double click, two editors).

Real threads, each with its own connection, against the real database: on PostgreSQL both requests find the
code free, and the second's INSERT breaks the unique key once the first commits. The second must get the
service's own 409 naming the field, as when it comes later, not a bare constraint error.
"""

from __future__ import annotations

import functools

import pytest

from api.extensions import db
from inventory.accounts import create_user
from inventory.catalogue import create_item
from inventory.quotas import create_quota
from inventory.warehouses import create_warehouse
from tests.unit.racing import run_at_once

pytestmark = pytest.mark.slow

WAREHOUSE = {
    "name": "同时新建",
    "reserve_type": "government",
    "county_code": "110101",
    "latitude": 39.93,
    "longitude": 116.42,
    "level": "county",
}
CREATIONS = {
    "warehouse": (
        lambda n: functools.partial(create_warehouse, db.session, "tester", code=f"TWICE-{n}", **WAREHOUSE),
        lambda n: f"warehouse code 'TWICE-{n}' is already in use",
    ),
    "item": (
        lambda n: functools.partial(
            create_item, db.session, "tester", code=f"TWICE-{n}", name=f"同时物资{n}", category="other", unit="个"
        ),
        lambda n: f"item code 'TWICE-{n}' is already in use",
    ),
    "user": (
        lambda n: functools.partial(create_user, db.session, "tester", username=f"twice-{n}", role="viewer"),
        lambda n: f"user 'twice-{n}' already exists",
    ),
    "quota": (
        lambda n: functools.partial(
            create_quota, db.session, "tester", minimum=5, region="110101", item=f"PD-00{n + 1}"
        ),
        lambda n: "110101 already has a quota for PD-00",
    ),
}


@pytest.mark.parametrize("kind", CREATIONS)
def test_the_same_creation_twice_at_once_is_done_once_and_refused_once(app, kind):
    create, refusal = CREATIONS[kind]
    for number in range(4):
        outcomes = run_at_once(app, [create(number)] * 2)
        assert sorted(outcomes)[0] == "done" and sorted(outcomes)[1].startswith(f"refused: {refusal(number)}"), outcomes
