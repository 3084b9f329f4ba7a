"""The bulk import path and the per-row services give the same verdicts on the same input.

``inventory.imports`` registers warehouses and applies stock counts in bulk statements; the services of
``inventory.warehouses`` and ``inventory.stock`` do the same one row at a time. Each case runs through both
on the same database state (each in a savepoint rolled back) and compares: accepted or refused, and the
field named (per-row ``counted_quantity`` is the ledger's ``quantity``).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from inventory.access import Principal
from inventory.audit import _plain, audit_row, snapshot
from inventory.callups import raise_callup
from inventory.catalogue import get_item
from inventory.geo import Incident, Point
from inventory.imports import StockCount, plan_stock_counts
from inventory.models import AuditEntry, StockLine
from inventory.nearest import NeedRequest
from inventory.reference import Role
from inventory.registration import NewWarehouse, register_warehouses
from inventory.stock import stock_line_for, take_stock
from inventory.stock_rules import require_active
from inventory.warehouses import create_warehouse, update_warehouse

PER_ROW_FIELDS = {"counted_quantity": "quantity"}


def verdict(session, call) -> tuple[str, str | None] | tuple[str, object]:
    """("accepted", what the call returned) or ("refused", the field named), the database left as it was."""
    savepoint = session.begin_nested()
    try:
        return "accepted", call()
    except Exception as error:  # comparing whatever each path raises
        field = getattr(error, "field", None)
        return "refused", PER_ROW_FIELDS.get(field, field)
    finally:
        savepoint.rollback()


# --- warehouses: register_warehouses against create_warehouse ------------------------------------------

WAREHOUSE_CASES = {
    "valid": {},
    "code with a space": {"code": "has space"},
    "no name": {"name": ""},
    "unknown reserve type": {"reserve_type": "royal"},
    "unknown level": {"level": "galactic"},
    "unknown status": {"status": "closed"},
    "registered inactive": {"status": "inactive"},
    "latitude out of range": {"latitude": 91},
    "longitude missing": {"longitude": None},
    "a province is not a county": {"county_code": "110000"},
    "unknown county": {"county_code": "123456"},
    "phone too long": {"contact_phone": "1" * 40},
    "unknown field": {"colour": "red"},
    "code taken": {"code": "TAKEN-1"},
    "other province": {"actor": Principal("jl-officer", Role.PROVINCIAL, province_code="220000")},
}


@pytest.mark.parametrize("override", WAREHOUSE_CASES.values(), ids=WAREHOUSE_CASES.keys())
def test_registering_in_bulk_gives_create_warehouse_s_verdicts(session, make_warehouse, override):
    make_warehouse("TAKEN-1")
    fields = {
        "name": "仓库",
        "reserve_type": "government",
        "county_code": "110101",
        "latitude": 39.9,
        "longitude": 116.4,
        "level": "county",
    }
    override = dict(override)
    code = override.pop("code", "PARITY-1")
    actor = override.pop("actor", "tester")
    fields.update(override)

    def single():
        create_warehouse(session, actor, code=code, **fields)
        return None

    def bulk():
        _registered, errors = register_warehouses(session, actor, [NewWarehouse("k", code, dict(fields))])
        if errors:
            raise errors[0][1]

    assert verdict(session, bulk) == verdict(session, single)


def test_refused_registrations_say_the_same_thing(session):
    """Beyond the field: the message of each refusal is the service's own."""
    fields = {"name": "仓库", "reserve_type": "government", "county_code": "123456", "latitude": 39.9}
    fields |= {"longitude": 116.4, "level": "county"}
    _registered, [(_key, bulk_error)] = register_warehouses(session, "tester", [NewWarehouse("k", "P-1", fields)])
    with pytest.raises(type(bulk_error)) as single:
        create_warehouse(session, "tester", code="P-1", **fields)
    assert str(single.value) == str(bulk_error)


AUDIT_COLUMNS = ("actor", "address", "action", "object_type", "object_key", "province_code", "before", "after")


def _audit_as_before(obj) -> str:
    """An object's state as the audit log wrote it before ``snapshot`` read loaded values from the instance's
    dict and ``audit_json`` kept one encoder: every column attribute read through its descriptor, then
    ``json.dumps``."""
    state = {
        column.key: _plain(getattr(obj, column.key))
        for column in sa_inspect(obj).mapper.column_attrs
        if column.key not in ("password_hash", "token_hash")
    }
    return json.dumps(state, ensure_ascii=False, default=str)


def test_a_bulk_registration_s_audit_entries_are_what_the_column_values_give(session):
    """``register_warehouses``' entries, byte for byte, against each warehouse read afresh the old way."""
    fields = {"reserve_type": "government", "county_code": "110101", "level": "county", "address": "东城区“一号”"}
    new = [
        NewWarehouse(n, f"AUD-{n}", {**fields, "name": f"审计仓库 {n}", "latitude": 39.9 + n / 7, "longitude": 116.4})
        for n in range(3)
    ]
    registered, errors = register_warehouses(session, "tester", new)
    assert not errors
    codes = [warehouse.code for warehouse in registered.values()]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.object_key.in_(codes)).order_by(AuditEntry.id))
    written = {entry.object_key: {column: getattr(entry, column) for column in AUDIT_COLUMNS} for entry in entries}
    session.expire_all()
    for warehouse in registered.values():
        after = written[warehouse.code]["after"]
        assert snapshot(warehouse) == json.loads(after)  # expired: read through the attributes
        assert after == _audit_as_before(warehouse)
        one = audit_row("tester", "warehouse.create", "warehouse", warehouse.code, warehouse.province_code, None, {})
        assert written[warehouse.code] == {**one, "after": after}  # the columns record_audit writes


# --- stock lines: plan_stock_counts against stock_line_for + take_stock --------------------------------

PRODUCED = dt.date(2026, 1, 1)  # batch B1 of activated carbon (shelf life 1825 days), as stocked_line makes it
EXPIRES = PRODUCED + dt.timedelta(days=1825)
FAR_FUTURE = dt.date(2199, 1, 1)  # in the future, and its shelf-life expiry is past the last date allowed

LINE_CASES = {
    "same count": {"counted": 100},
    "new count": {"counted": 90},
    "count to zero": {"counted": 0},
    "negative count": {"counted": -1},
    "below the reserved quantity": {"counted": 20},
    "the batch's own dates": {"counted": 90, "production": PRODUCED, "expiry": EXPIRES},
    "expiry from the shelf life agrees": {"counted": 90, "production": PRODUCED},
    "another production date": {"counted": 90, "production": dt.date(2025, 6, 1)},
    "another expiry date": {"counted": 90, "expiry": dt.date(2031, 1, 1)},
    "new batch": {"batch": "NEW", "counted": 5},
    "new batch, expiry from the shelf life": {"batch": "NEW", "counted": 5, "production": dt.date(2025, 3, 1)},
    "new batch, expiry before production": {
        "batch": "NEW",
        "counted": 5,
        "production": dt.date(2025, 3, 1),
        "expiry": dt.date(2025, 1, 1),
    },
    "new batch, produced in the future": {"batch": "NEW", "counted": 5, "production": FAR_FUTURE},
    "new batch, expiry past the last date": {"batch": "NEW", "counted": 5, "expiry": dt.date(2300, 1, 1)},
    "new batch in an inactive warehouse": {"warehouse": "inactive", "batch": "NEW", "counted": 5},
    "new batch longer than a line keeps": {"batch": "N" * 65, "counted": 5},
    "new batch with a control character": {"batch": "N\x07EW", "counted": 5},  # NUL: PostgreSQL refuses the lookup
    "existing batch in an inactive warehouse": {"warehouse": "inactive", "counted": 50},
    "another province's warehouse": {
        "counted": 90,
        "actor": Principal("jl-officer", Role.PROVINCIAL, province_code="220000"),
    },
    "a manager of another warehouse": {
        "counted": 90,
        "actor": Principal("mia", Role.MANAGER, warehouse_ids=frozenset({999_999})),
    },
}


@pytest.fixture
def ledger_state(session, make_warehouse, stocked_line):
    """An active and an inactive warehouse, each with batch B1 of activated carbon; 30 of the active one's
    reserved for a call-up."""
    active = stocked_line(100).warehouse
    inactive_line = stocked_line(100, warehouse=make_warehouse())
    raise_callup(
        session,
        Principal("rita", Role.RESPONDER),
        incident_name="演练",
        incident=Incident(Point(39.93, 116.42)),
        needs=[NeedRequest(item="PD-001", quantity=Decimal(30))],
    )
    inactive = update_warehouse(session, "tester", inactive_line.warehouse.code, status="inactive")
    session.commit()
    return {"active": active, "inactive": inactive}


@pytest.mark.parametrize("case", LINE_CASES.values(), ids=LINE_CASES.keys())
def test_counting_in_bulk_gives_the_per_row_services_verdicts(session, ledger_state, case):
    warehouse = ledger_state[case.get("warehouse", "active")]
    item = get_item(session, "PD-001")
    actor = case.get("actor", "tester")
    batch, counted = case.get("batch", "B1"), Decimal(case["counted"])
    production, expiry = case.get("production"), case.get("expiry")

    def per_row():
        existing = session.scalar(
            select(StockLine).where(
                StockLine.warehouse_id == warehouse.id, StockLine.item_id == item.id, StockLine.batch == batch
            )
        )
        line = stock_line_for(
            session,
            warehouse=warehouse if existing else require_active(warehouse, "warehouse_code"),
            item=item,
            batch=batch,
            production_date=production,
            expiry_date=expiry,
        )
        take_stock(session, line=line, counted_quantity=counted, actor=actor)
        return (line.production_date, line.expiry_date)

    def bulk():
        count = StockCount("k", warehouse.id, item.id, batch, counted, production, expiry)
        plan = plan_stock_counts(session, actor, [count], {warehouse.id: warehouse})
        if plan.errors:
            raise plan.errors[0][1]
        if not plan.lines:  # nothing changes: the line keeps its dates
            line = session.scalar(select(StockLine).where(StockLine.warehouse_id == warehouse.id))
            return (line.production_date, line.expiry_date)
        return (plan.lines[0].production_date, plan.lines[0].expiry_date)

    assert verdict(session, bulk) == verdict(session, per_row)


def test_a_count_below_the_reserved_quantity_is_refused_saying_so_on_both_paths(session, ledger_state):
    """A stocktake that would leave less than call-ups hold names the reservation, not "0 available"."""
    warehouse, item = ledger_state["active"], get_item(session, "PD-001")
    line = session.scalar(select(StockLine).where(StockLine.warehouse_id == warehouse.id))
    said = []
    for call in (
        lambda: take_stock(session, line=line, counted_quantity=Decimal(20), actor="tester"),
        lambda: plan_stock_counts(
            session, "tester", [StockCount("k", warehouse.id, item.id, "B1", Decimal(20))], {warehouse.id: warehouse}
        ).errors[0][1],
    ):
        savepoint = session.begin_nested()
        try:
            error = call()
        except Exception as raised:  # the per-row service raises, the plan lists
            error = raised
        finally:
            savepoint.rollback()
        said.append((type(error).__name__, error.message))
    assert said[0] == said[1] == ("Conflict", "the count 20 is below the 30 reserved for call-ups")
