"""Readiness services on hand-built scenarios whose right answers are known, and against brute force."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from geographiclib.geodesic import Geodesic
from geopy.distance import ELLIPSOIDS
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inventory.access import Principal
from inventory.audit import list_audit
from inventory.catalogue import get_item
from inventory.clock import business_today
from inventory.demo import seed_demo
from inventory.errors import Conflict, Forbidden, NotFound, ValidationFailed
from inventory.geo import GEODESIC, Point
from inventory.models import Item, Region, ReserveQuota, StockLine, Warehouse
from inventory.quotas import create_quota, delete_quota, get_quota, list_quotas, update_quota
from inventory.reference import Category, RegionLevel, ReserveType, Role, WarehouseStatus
from inventory.reports import coverage
from inventory.reports.coverage import county_level_places, coverage_gaps, nearest_targets
from inventory.reports.dashboard import dashboard_figures
from inventory.reports.expiry import expiring_stock
from inventory.reports.shortfall import quota_shortfalls
from inventory.stock import receive_stock, reserve_stock
from inventory.warehouses import update_warehouse

ADMIN = Principal.operator("tester")
MAJOR_KM, _MINOR_KM, FLATTENING = ELLIPSOIDS["WGS-84"]
WGS84 = Geodesic(MAJOR_KM, FLATTENING)  # geopy's ellipsoid in km, as inventory.geo measures


@pytest.fixture
def today() -> dt.date:
    return business_today()


@pytest.fixture
def stock(session):
    """Receive a batch (expiring ``expires`` days from today, or never) and return its stock line."""

    def make(warehouse, quantity: str | int, *, item: str = "PD-001", batch: str = "B1", expires: int | None = 365):
        expiry = None if expires is None else business_today() + dt.timedelta(days=expires)
        movement = receive_stock(
            session,
            warehouse=warehouse,
            item=get_item(session, item),
            quantity=Decimal(str(quantity)),
            batch=batch,
            expiry_date=expiry,
            actor="tester",
        )
        return movement.stock_line

    return make


def reader(role: Role, *, province: str | None = None, warehouses=()) -> Principal:
    return Principal(
        username=f"a-{role.value}",
        role=role,
        province_code=province,
        warehouse_ids=frozenset(w.id for w in warehouses),
    )


def point_at_exactly(origin: Point, km: float) -> Point:
    """A point whose geodesic distance from ``origin``, as the services measure it, is exactly ``km``.

    geographiclib's direct problem gives the point; its coordinates round, so the inverse comes back a
    few ulps off for most bearings. Correcting the length a few times and trying bearings until the
    inverse returns the very same float puts the test on the boundary itself, not a rounding error from it.
    """
    for bearing in range(360):
        length = km
        for _ in range(4):
            direct = WGS84.Direct(origin.latitude, origin.longitude, bearing, length)
            target = Point(direct["lat2"], direct["lon2"])
            measured = GEODESIC.distance_km(origin, target)
            if measured == km:
                return target
            length += km - measured
    raise AssertionError("no bearing gives the exact distance")


# --- expiry ------------------------------------------------------------------------------------


def test_expiring_lists_expired_and_due_batches_first_expiry_first_with_days_left(
    session, make_warehouse, stock, today
):
    warehouse = make_warehouse("EXP")
    stock(warehouse, 5, batch="OLD", expires=-5)
    stock(warehouse, 6, batch="TODAY", expires=0)
    stock(warehouse, 7, batch="D30", expires=30)
    stock(warehouse, 8, batch="D31", expires=31)
    stock(warehouse, 9, batch="NEVER", expires=None)
    emptied = stock(warehouse, 1, batch="GONE", expires=-1)
    session.execute(StockLine.__table__.update().where(StockLine.id == emptied.id).values(quantity=0))

    lines = list(expiring_stock(session, ADMIN, today=today).stream(session))

    assert [(line.batch, line.days_left, line.expired) for line in lines] == [
        ("OLD", -5, True),
        ("TODAY", 0, False),
        ("D30", 30, False),
    ]
    assert lines[0].quantity == Decimal(5) and lines[0].county_name == "东城区" and lines[0].province_name == "北京市"
    wider = expiring_stock(session, ADMIN, within_days=31, today=today).stream(session)
    assert [line.batch for line in wider] == ["OLD", "TODAY", "D30", "D31"]
    assert [line.batch for line in expiring_stock(session, ADMIN, within_days=0, today=today).stream(session)] == [
        "OLD",
        "TODAY",
    ]


def test_expiring_filters_by_region_at_any_level_warehouse_category_and_item(session, make_warehouse, stock):
    beijing = make_warehouse("BJ", county_code="110101")
    shenzhen = make_warehouse("SZ", county_code="440305", latitude=22.53, longitude=113.93)
    stock(beijing, 1, item="PD-001", expires=3)
    stock(beijing, 2, item="SP-001", expires=3)
    stock(shenzhen, 3, item="PD-001", expires=3)

    def codes(**filters) -> list[tuple[str, str]]:
        rows = expiring_stock(session, ADMIN, **filters).stream(session)
        return sorted((line.warehouse_code, line.item_code) for line in rows)

    assert codes(region="440000") == codes(region="440300") == codes(region="440305") == [("SZ", "PD-001")]
    assert codes(warehouse="BJ") == [("BJ", "PD-001"), ("BJ", "SP-001")]
    assert codes(category=Category.SAFETY_PROTECTION) == [("BJ", "SP-001")]
    assert codes(item="activated carbon") == [("BJ", "PD-001"), ("SZ", "PD-001")]  # an alias


@pytest.mark.parametrize(
    ("filters", "error", "field"),
    [
        ({"within_days": -1}, ValidationFailed, "within_days"),
        ({"within_days": 3651}, ValidationFailed, "within_days"),
        ({"within_days": True}, ValidationFailed, "within_days"),
        ({"region": "999999"}, ValidationFailed, "region"),
        ({"warehouse": "NOPE"}, NotFound, "warehouse"),
        ({"item": "no such thing"}, NotFound, "item"),
    ],
)
def test_expiring_refuses_bad_input_naming_the_field(session, filters, error, field):
    with pytest.raises(error) as caught:
        expiring_stock(session, ADMIN, **filters)
    assert caught.value.field == field


def test_expiring_is_clipped_to_a_managers_warehouses_and_a_provincials_province(session, make_warehouse, stock):
    mine = make_warehouse("MINE", county_code="110101")
    neighbour = make_warehouse("NEIGHBOUR", county_code="110105")
    guangdong = make_warehouse("GD", county_code="440305", latitude=22.53, longitude=113.93)
    for warehouse in (mine, neighbour, guangdong):
        stock(warehouse, 1, expires=1)

    def seen(principal: Principal, **filters) -> set[str]:
        return {line.warehouse_code for line in expiring_stock(session, principal, **filters).stream(session)}

    manager = reader(Role.MANAGER, warehouses=[mine])
    provincial = reader(Role.PROVINCIAL, province="110000")
    assert seen(manager) == {"MINE"}
    assert seen(manager, region="110000") == {"MINE"}
    assert seen(provincial) == {"MINE", "NEIGHBOUR"}
    assert seen(provincial, region="110105") == {"NEIGHBOUR"}
    for role in (Role.ADMIN, Role.RESPONDER, Role.VIEWER):
        assert seen(reader(role)) == {"MINE", "NEIGHBOUR", "GD"}
    assert seen(reader(Role.MANAGER)) == set()  # a manager with no warehouses sees nothing
    with pytest.raises(Forbidden) as caught:
        expiring_stock(session, manager, warehouse="NEIGHBOUR")
    assert caught.value.field == "warehouse"
    with pytest.raises(Forbidden) as caught:
        expiring_stock(session, provincial, region="440000")
    assert caught.value.field == "region"
    with pytest.raises(Forbidden):
        expiring_stock(session, provincial, warehouse="GD")


# --- quotas ------------------------------------------------------------------------------------


def test_a_quota_met_exactly_is_not_below_and_one_thousandth_more_is(session, make_warehouse, stock):
    warehouse = make_warehouse("Q1")
    stock(warehouse, "12.5", batch="A")
    stock(warehouse, "7.5", batch="B")
    met = create_quota(session, ADMIN, warehouse="Q1", item="PD-001", minimum="20")
    short = create_quota(session, ADMIN, warehouse="Q1", item="PD-002", minimum="0.001")
    none_held = create_quota(session, ADMIN, warehouse="Q1", category="safety_protection", minimum="1")

    statuses = {status.quota.id: status for status in quota_shortfalls(session, ADMIN)}
    assert (statuses[met.id].held, statuses[met.id].shortfall, statuses[met.id].below) == (20, 0, False)
    assert statuses[met.id].units == ("吨",)
    assert (statuses[short.id].held, statuses[short.id].shortfall, statuses[short.id].below) == (
        0,
        Decimal("0.001"),
        True,
    )

    update_quota(session, ADMIN, met.id, minimum="20.001")
    status = next(s for s in quota_shortfalls(session, ADMIN, below_only=True) if s.quota.id == met.id)
    assert (status.held, status.shortfall, status.below) == (20, Decimal("0.001"), True)
    assert {s.quota.id for s in quota_shortfalls(session, ADMIN, below_only=True)} == {met.id, short.id, none_held.id}
    assert statuses[none_held.id].units == ()  # a category quota with nothing held adds no unit


def test_held_counts_unexpired_stock_of_active_warehouses_reserved_included(session, make_warehouse, stock):
    active = make_warehouse("ACTIVE")
    closed = make_warehouse("CLOSED")
    stock(active, 10, batch="GOOD", expires=0)  # expires today: still usable
    stock(active, 100, batch="EXPIRED", expires=-1)
    held_back = stock(active, 5, batch="CALLED-UP", expires=None)
    assert reserve_stock(session, stock_line_id=held_back.id, quantity=Decimal(5))
    stock(closed, 1000, batch="X")
    update_warehouse(session, "tester", "CLOSED", status=WarehouseStatus.INACTIVE.value)
    create_quota(session, ADMIN, region="110101", item="PD-001", minimum=15)

    [status] = quota_shortfalls(session, ADMIN)
    assert status.held == 15 and not status.below


def test_category_quotas_add_up_every_item_of_the_category(session, make_warehouse, stock):
    warehouse = make_warehouse("CAT")
    stock(warehouse, "1.5", item="PD-001")
    stock(warehouse, 2, item="PD-002")
    stock(warehouse, 4, item="PD-004", batch="X")
    stock(warehouse, 99, item="SP-001")  # another category
    create_quota(session, ADMIN, warehouse="CAT", category=Category.POLLUTANT_DEGRADATION, minimum=8)

    [status] = quota_shortfalls(session, ADMIN)
    assert (status.held, status.shortfall, status.units) == (Decimal("7.5"), Decimal("0.5"), ("吨",))


def test_region_quotas_count_the_warehouses_inside_at_each_level_once(session, make_warehouse, stock):
    stock(make_warehouse("DC", county_code="110101"), 1)
    stock(make_warehouse("CY", county_code="110105", latitude=39.92, longitude=116.44), 2)
    stock(make_warehouse("SZ", county_code="440305", latitude=22.53, longitude=113.93), 4)
    # 东莞 is a city without counties: its warehouses have it as city and as county.
    stock(make_warehouse("DG", county_code="441900", latitude=23.05, longitude=113.75), 8)
    for region in ("110101", "110100", "110000", "440000", "441900"):
        create_quota(session, ADMIN, region=region, item="PD-001", minimum=1000)

    held = {status.quota.region_code: status.held for status in quota_shortfalls(session, ADMIN)}
    assert held == {"110101": 1, "110100": 3, "110000": 3, "440000": 12, "441900": 8}
    in_guangdong = {status.quota.region_code for status in quota_shortfalls(session, ADMIN, region="440000")}
    assert in_guangdong == {"440000", "441900"}


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"warehouse": "Q", "region": "110000", "item": "PD-001"}, ValidationFailed, "region"),
        ({"item": "PD-001"}, ValidationFailed, "warehouse"),
        ({"warehouse": "Q", "item": "PD-001", "category": "other"}, ValidationFailed, "category"),
        ({"warehouse": "Q"}, ValidationFailed, "item"),
        ({"warehouse": "Q", "category": "nonsense"}, ValidationFailed, "category"),
        ({"warehouse": "NOPE", "item": "PD-001"}, NotFound, "warehouse"),
        ({"region": "999999", "item": "PD-001"}, ValidationFailed, "region"),
        ({"warehouse": "Q", "item": "unobtainium"}, NotFound, "item"),
        ({"warehouse": "Q", "item": "PD-001", "minimum": 0}, ValidationFailed, "minimum"),
        ({"warehouse": "Q", "item": "PD-001", "minimum": "1.0001"}, ValidationFailed, "minimum"),
        ({"warehouse": "Q", "item": "PD-001", "note": "x" * 501}, ValidationFailed, "note"),
    ],
)
def test_quota_input_is_checked_naming_the_field(session, make_warehouse, fields, error, field):
    make_warehouse("Q")
    with pytest.raises(error) as caught:
        create_quota(session, ADMIN, **{"minimum": 1, **fields})
    assert caught.value.field == field
    assert session.scalar(select(func.count()).select_from(ReserveQuota)) == 0


def test_one_quota_per_target_and_material(session, make_warehouse):
    make_warehouse("Q")
    create_quota(session, ADMIN, warehouse="Q", item="PD-001", minimum=1)
    with pytest.raises(Conflict) as caught:
        create_quota(session, ADMIN, warehouse="Q", item="活性炭", minimum=2)
    assert caught.value.field == "warehouse"
    create_quota(session, ADMIN, warehouse="Q", category="pollutant_degradation", minimum=2)
    create_quota(session, ADMIN, region="110101", item="PD-001", minimum=2)


@pytest.mark.parametrize(
    "values",
    [
        {"minimum": 1000},  # neither target nor material
        {"warehouse_id": None, "region_code": "110000", "item_id": 1, "category": "other", "minimum": 1000},
        {"region_code": "110000", "item_id": 1, "minimum": 0},
    ],
)
def test_the_database_refuses_quotas_breaking_the_rules(session, values):
    """The last line of defence behind the service's checks: the table's own constraints."""
    with pytest.raises(IntegrityError):
        session.execute(ReserveQuota.__table__.insert().values(set_by="x", note="", **values))


def test_quota_writes_are_for_admins_and_provincial_staff_in_their_province(session, make_warehouse):
    make_warehouse("BJ", county_code="110101")
    make_warehouse("SZ", county_code="440305", latitude=22.53, longitude=113.93)
    provincial = reader(Role.PROVINCIAL, province="110000")
    own = create_quota(session, provincial, warehouse="BJ", item="PD-001", minimum=1)
    create_quota(session, provincial, region="110105", category="other", minimum=1)
    with pytest.raises(Forbidden) as caught:
        create_quota(session, provincial, warehouse="SZ", item="PD-001", minimum=1)
    assert caught.value.field == "warehouse"
    with pytest.raises(Forbidden) as caught:
        create_quota(session, provincial, region="440000", item="PD-001", minimum=1)
    assert caught.value.field == "region"
    other = create_quota(session, ADMIN, warehouse="SZ", item="PD-001", minimum=1)
    with pytest.raises(NotFound):  # outside what the provincial reads: it does not exist for them
        update_quota(session, provincial, other.id, minimum=5)
    bj = session.scalar(select(Warehouse).where(Warehouse.code == "BJ"))
    for principal in (reader(Role.MANAGER, warehouses=[bj]), reader(Role.RESPONDER), reader(Role.VIEWER)):
        with pytest.raises(Forbidden):
            create_quota(session, principal, region="110000", item="PD-001", minimum=1)
        with pytest.raises(Forbidden):  # they read it, but may not change it
            update_quota(session, principal, own.id, minimum=5)
        with pytest.raises(Forbidden):
            delete_quota(session, principal, own.id)


def test_quota_changes_are_audited_with_the_province(session, make_warehouse):
    make_warehouse("BJ", county_code="110101")
    provincial = reader(Role.PROVINCIAL, province="110000")
    quota = create_quota(session, provincial, warehouse="BJ", item="PD-001", minimum=1, note="县级最低储备")
    update_quota(session, ADMIN, quota.id, minimum="2.5")
    assert quota.set_by == "tester" and quota.minimum == Decimal("2.5") and quota.note == "县级最低储备"
    delete_quota(session, provincial, quota.id)
    entries = list(session.scalars(list_audit(session, provincial, object_type="reserve_quota")))
    assert [(e.action, e.actor) for e in entries] == [
        ("quota.delete", "a-provincial"),
        ("quota.update", "tester"),
        ("quota.create", "a-provincial"),
    ]
    assert {e.province_code for e in entries} == {"110000"} and {e.object_key for e in entries} == {str(quota.id)}
    assert '"minimum": "2.5"' in entries[1].after and entries[0].after is None


def test_quota_reads_are_clipped_to_the_readers_scope(session, make_warehouse):
    mine = make_warehouse("MINE", county_code="110101")
    make_warehouse("NEIGHBOUR", county_code="110105")
    make_warehouse("SZ", county_code="440305", latitude=22.53, longitude=113.93)
    quotas = {
        "mine": create_quota(session, ADMIN, warehouse="MINE", item="PD-001", minimum=1),
        "neighbour": create_quota(session, ADMIN, warehouse="NEIGHBOUR", item="PD-001", minimum=1),
        "county": create_quota(session, ADMIN, region="110101", item="PD-001", minimum=1),
        "beijing": create_quota(session, ADMIN, region="110000", item="PD-001", minimum=1),
        "chaoyang": create_quota(session, ADMIN, region="110105", item="PD-001", minimum=1),
        "sz": create_quota(session, ADMIN, warehouse="SZ", item="PD-001", minimum=1),
        "guangdong": create_quota(session, ADMIN, region="440000", item="PD-001", minimum=1),
    }
    names = {quota.id: name for name, quota in quotas.items()}

    def seen(principal: Principal, **filters) -> set[str]:
        return {names[q.id] for q in session.scalars(list_quotas(session, principal, **filters)).unique()}

    assert seen(reader(Role.MANAGER, warehouses=[mine])) == {"mine", "county", "beijing"}
    assert seen(reader(Role.PROVINCIAL, province="110000")) == {"mine", "neighbour", "county", "beijing", "chaoyang"}
    assert seen(reader(Role.VIEWER)) == set(quotas)
    assert seen(ADMIN, region="110105") == {"neighbour", "chaoyang"}
    assert {names[s.quota.id] for s in quota_shortfalls(session, reader(Role.MANAGER, warehouses=[mine]))} == {
        "mine",
        "county",
        "beijing",
    }
    with pytest.raises(NotFound):
        get_quota(session, reader(Role.PROVINCIAL, province="110000"), quotas["sz"].id)
    with pytest.raises(Forbidden) as caught:
        list_quotas(session, reader(Role.PROVINCIAL, province="110000"), region="440000")
    assert caught.value.field == "region"


# --- coverage ----------------------------------------------------------------------------------


def test_a_county_exactly_at_the_radius_is_covered_and_a_hair_inside_it_is_not(session, make_warehouse, stock):
    dongcheng = session.get(Region, "110101")
    target = point_at_exactly(Point(dongcheng.latitude, dongcheng.longitude), 100.0)
    stock(make_warehouse("EDGE", latitude=target.latitude, longitude=target.longitude), 1)

    at_radius = coverage_gaps(session, item="PD-001", radius_km=100.0)
    assert "110101" not in {gap.place.code for gap in at_radius.gaps}
    inside = coverage_gaps(session, item="PD-001", radius_km=math.nextafter(100.0, 0))
    gap = next(gap for gap in inside.gaps if gap.place.code == "110101")
    assert (gap.nearest_km, gap.nearest_warehouse_code) == (100.0, "EDGE")
    assert (gap.place.name, gap.place.province_code, gap.place.city_name) == ("东城区", "110000", "北京市")
    assert (gap.place.latitude, gap.place.longitude) == (dongcheng.latitude, dongcheng.longitude)


def test_only_usable_stock_covers(session, make_warehouse, stock, today):
    dongcheng = session.get(Region, "110101")
    near = {"latitude": dongcheng.latitude, "longitude": dongcheng.longitude}
    stock(make_warehouse("EXPIRED", **near), 5, expires=-1)
    held = stock(make_warehouse("RESERVED", **near), 5)
    assert reserve_stock(session, stock_line_id=held.id, quantity=Decimal(5))
    stock(make_warehouse("CLOSED", **near), 5)
    update_warehouse(session, "tester", "CLOSED", status=WarehouseStatus.INACTIVE.value)
    stock(make_warehouse("OTHER-ITEM", **near), 5, item="PD-002")

    report = coverage_gaps(session, item="PD-001", radius_km=50, today=today)
    assert report.holders == 0 and report.places == len(report.gaps)
    assert all(gap.nearest_km is None and gap.nearest_warehouse_code is None for gap in report.gaps)
    stock(make_warehouse("GOOD", **near), 5, expires=0)
    report = coverage_gaps(session, item="PD-001", radius_km=50, today=today)
    assert report.holders == 1 and "110101" not in {gap.place.code for gap in report.gaps}
    assert coverage_gaps(session, category=Category.POLLUTANT_DEGRADATION, radius_km=50).holders == 2


def test_min_quantity_needs_one_warehouse_holding_that_much(session, make_warehouse, stock):
    dongcheng = session.get(Region, "110101")
    near = {"latitude": dongcheng.latitude, "longitude": dongcheng.longitude}
    stock(make_warehouse("A", **near), 3, batch="1")
    stock(make_warehouse("B", **near), 3, batch="1")
    far = point_at_exactly(Point(dongcheng.latitude, dongcheng.longitude), 80.0)
    big = make_warehouse("BIG", latitude=far.latitude, longitude=far.longitude)
    stock(big, 4, batch="1")
    stock(big, 4, batch="2")  # two batches of one warehouse add up

    def nearest(min_quantity) -> tuple:
        report = coverage_gaps(session, item="PD-001", radius_km=10, min_quantity=min_quantity)
        gap = next((gap for gap in report.gaps if gap.place.code == "110101"), None)
        return report.holders, gap if gap is None else (gap.nearest_km, gap.nearest_warehouse_code)

    assert nearest("3") == (3, None)  # covered
    assert nearest("3.001") == (1, (80.0, "BIG"))
    assert nearest(8) == (1, (80.0, "BIG"))
    assert nearest("8.001")[1] == (None, None)


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"radius_km": 0}, ValidationFailed, "radius_km"),
        ({"radius_km": 3000.1}, ValidationFailed, "radius_km"),
        ({"radius_km": True}, ValidationFailed, "radius_km"),
        ({"category": Category.OTHER}, ValidationFailed, "category"),
        ({"item": None}, ValidationFailed, "item"),
        ({"item": "unobtainium"}, NotFound, "item"),
        ({"item": None, "category": Category.OTHER, "min_quantity": 1}, ValidationFailed, "min_quantity"),
        ({"min_quantity": 0}, ValidationFailed, "min_quantity"),
        ({"province": "110100"}, ValidationFailed, "province"),
        ({"province": "999999"}, ValidationFailed, "province"),
    ],
)
def test_coverage_refuses_bad_input_naming_the_field(session, arguments, error, field):
    with pytest.raises(error) as caught:
        coverage_gaps(session, **{"item": "PD-001", **arguments})
    assert caught.value.field == field


def test_every_county_level_place_is_examined_and_summarised_by_province(session):
    counties = session.scalar(select(func.count()).select_from(Region).where(Region.level == RegionLevel.COUNTY))
    report = coverage_gaps(session, item="PD-001")
    assert report.places == counties + 4  # 东莞, 中山, 儋州, 嘉峪关 administer towns directly
    assert {"441900", "442000", "460400", "620200"} <= {place.code for place in county_level_places(session)}
    assert sum(p.places for p in report.provinces) == report.places == len(report.gaps)
    guangdong = coverage_gaps(session, item="PD-001", province="440000")
    assert [(p.code, p.name) for p in guangdong.provinces] == [("440000", "广东省")]
    assert {gap.place.province_code for gap in guangdong.gaps} == {"440000"}


def _brute_force_nearest(origins: list[Point], targets: list[Point]) -> list[float]:
    return [min(GEODESIC.distance_km(origin, target) for target in targets) for origin in origins]


coordinates = st.tuples(st.floats(18, 54), st.floats(73, 135)).map(lambda pair: Point(*pair))


@settings(max_examples=60, deadline=None)
@given(st.lists(coordinates, min_size=1, max_size=12), st.lists(coordinates, min_size=1, max_size=25))
def test_nearest_targets_agrees_with_measuring_every_pair(origins, targets):
    # Near-duplicates and targets on top of origins are where a sloppy bound would skip the nearest.
    targets = [*targets, *(Point(p.latitude + 1e-7, p.longitude) for p in targets[:3]), *origins[:2]]
    keys = [f"W{number:03d}" for number in range(len(targets))]
    found = nearest_targets(origins, targets, keys, GEODESIC)
    assert found.km.tolist() == _brute_force_nearest(origins, targets)
    for origin, km, position in zip(origins, found.km, found.positions, strict=True):
        assert GEODESIC.distance_km(origin, targets[position]) == km


def test_nearest_targets_works_block_by_block_and_breaks_ties_by_key(monkeypatch):
    monkeypatch.setattr(coverage, "MATRIX_CELLS", 7)  # several blocks of origins
    origins = [Point(30 + n / 10, 110 + n / 7) for n in range(20)]
    targets = [Point(31, 111), Point(35, 115), Point(31, 111)]
    found = nearest_targets(origins, targets, ["B", "C", "A"], GEODESIC)
    assert found.km.tolist() == _brute_force_nearest(origins, targets)
    assert set(found.positions.tolist()) <= {1, 2}  # "A" wins its tie with "B" at the same point
    empty = nearest_targets(origins, [], [], GEODESIC)
    assert math.isinf(empty.km.max()) and set(empty.positions.tolist()) == {-1}


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_adds_up_to_the_ledger(session, today):
    seed_demo(session, "small")
    dashboard = dashboard_figures(session, today=today)

    quantity_by_item = dict(
        session.execute(
            select(Item.code, func.sum(StockLine.quantity)).join(Item).where(StockLine.quantity > 0).group_by(Item.code)
        ).all()
    )
    dashboard_by_item: dict[str, Decimal] = {}
    for region in dashboard.rows:
        for category in region.categories:
            for item in category.items:
                dashboard_by_item[item.code] = dashboard_by_item.get(item.code, Decimal(0)) + item.quantity
    assert dashboard_by_item == quantity_by_item
    totals = {item.code: item.quantity for category in dashboard.region.categories for item in category.items}
    assert totals == quantity_by_item

    lines = session.scalar(select(func.count()).select_from(StockLine).where(StockLine.quantity > 0))
    expired = session.scalar(
        select(func.count()).select_from(StockLine).where(StockLine.quantity > 0, StockLine.expiry_date < today)
    )
    assert dashboard.region.stock_lines == sum(r.stock_lines for r in dashboard.rows) == lines
    assert dashboard.region.expired_lines == sum(r.expired_lines for r in dashboard.rows) == expired
    active = dict(
        session.execute(
            select(Warehouse.reserve_type, func.count())
            .where(Warehouse.status == WarehouseStatus.ACTIVE)
            .group_by(Warehouse.reserve_type)
        ).all()
    )
    assert {t: n for t, n in dashboard.region.warehouses_by_reserve_type.items() if n} == active
    assert [r.code for r in dashboard.rows] == sorted(r.code for r in dashboard.rows) and len(dashboard.rows) == 34
    by_type = {t: sum(c.stock_lines_by_reserve_type[t] for c in dashboard.region.categories) for t in ReserveType}
    assert sum(by_type.values()) == lines


def test_dashboard_children_province_cities_city_counties_county_itself(session, make_warehouse, stock):
    stock(make_warehouse("DC", county_code="110101"), 2)
    stock(make_warehouse("DG", county_code="441900", latitude=23.05, longitude=113.75), 3)
    update_warehouse(session, "tester", "DG", status=WarehouseStatus.INACTIVE.value)

    beijing = dashboard_figures(session, region="110000")
    assert [(r.code, r.level) for r in beijing.rows] == [("110100", RegionLevel.CITY)]
    assert (beijing.region.code, beijing.region.active_warehouses, beijing.region.stock_lines) == ("110000", 1, 1)
    city = dashboard_figures(session, region="110100")
    assert {r.code for r in city.rows} >= {"110101", "110105"} and all(r.level is RegionLevel.COUNTY for r in city.rows)
    assert next(r for r in city.rows if r.code == "110101").warehouses_by_reserve_type[ReserveType.GOVERNMENT] == 1
    [county] = dashboard_figures(session, region="110101").rows
    assert county.code == "110101"
    # 东莞 has no counties: it is its own row; its inactive warehouse still holds ledger stock.
    [dongguan] = dashboard_figures(session, region="441900").rows
    assert (dongguan.code, dongguan.active_warehouses, dongguan.stock_lines) == ("441900", 0, 1)
    degradation = next(c for c in dongguan.categories if c.category is Category.POLLUTANT_DEGRADATION)
    assert [(i.code, i.unit, i.quantity) for i in degradation.items] == [("PD-001", "吨", 3)]
    with pytest.raises(ValidationFailed) as caught:
        dashboard_figures(session, region="999999")
    assert caught.value.field == "region"
