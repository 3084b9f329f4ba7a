"""Nearest stock and plans, at the service boundary, against brute-force oracles."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from unittest import mock

import numpy as np
import pytest
from geopy.distance import geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from api import create_app
from api.extensions import db
from inventory import nearest
from inventory.catalogue import get_item
from inventory.db import data_versions, intends_to_write, reading, reset_write_intent, set_write_intent
from inventory.demo import seed_demo
from inventory.errors import NotFound, ValidationFailed
from inventory.geo import (
    EARTH_MEAN_RADIUS_KM,
    GEODESIC,
    GEODESIC_OVER_SPHERE_MIN,
    Incident,
    Point,
    locate_incident,
    sphere_km_from_chords,
    unit_vectors,
    warehouse_index,
)
from inventory.models import Item, StockLine, Warehouse
from inventory.nearest import NeedRequest, nearest_stock, plan_need
from inventory.reference import ReserveType, WarehouseStatus
from inventory.stock import issue_stock, receive_stock

ORIGIN = Point(39.93, 116.42)  # 东城区, Beijing
TODAY = dt.date(2026, 6, 1)
ITEMS = ("PD-001", "PD-002", "SC-005", "PL-001", "SP-001", "EM-001", "CC-006")
# Around and beyond China's edges: 漠河, 抚远, 乌恰, 曾母暗沙, 东海, and a point in the Pacific.
EDGES = (Point(53.5, 122.4), Point(48.4, 134.3), Point(39.7, 73.5), Point(3.9, 112.3), Point(29.0, 125.0))
OFFSHORE = Point(20.0, 140.0)


def place(distance_km: float, bearing: float = 90, origin: Point = ORIGIN) -> dict:
    """Coordinates at an exact geodesic distance and bearing from ``origin``."""
    destination = geodesic(kilometers=distance_km).destination((origin.latitude, origin.longitude), bearing)
    return {"latitude": destination.latitude, "longitude": destination.longitude}


@pytest.fixture
def stock(session):
    def put(warehouse, quantity, *, item_code: str = "PD-001", batch: str = "B1", expiry: dt.date | None = None):
        item = get_item(session, item_code)
        movement = receive_stock(
            session,
            warehouse=warehouse,
            item=item,
            quantity=Decimal(str(quantity)),
            batch=batch,
            expiry_date=expiry,
            actor="tester",
        )
        return movement.stock_line

    return put


@contextlib.contextmanager
def reading_only() -> Iterator[None]:
    """As a GET request declares: no write (the session fixture declares one, for the tests' own writes)."""
    token = set_write_intent(False)
    try:
        yield
    finally:
        reset_write_intent(token)


def search(session, **options):
    """A search as GET /nearest makes it: a read."""
    options = {"incident": Incident(ORIGIN), "item": "PD-001", "today": TODAY, **options}
    with reading_only():
        return nearest_stock(session, **options)


def codes(answer) -> list[str]:
    return [result.warehouse.code for result in answer.results]


# --- nearest search: behaviour --------------------------------------------------------------


def test_results_are_ordered_by_geodesic_distance_with_batches_and_totals(session, make_warehouse, stock):
    far = make_warehouse("FAR", **place(120))
    near = make_warehouse("NEAR", **place(8, bearing=200))
    middle = make_warehouse("MID", **place(40, bearing=10))
    stock(far, 5)
    stock(near, 3, batch="late", expiry=dt.date(2027, 1, 1))
    stock(near, 2, batch="early", expiry=dt.date(2026, 9, 1))
    stock(near, 1, batch="none")
    stock(middle, 7)
    stock(middle, 100, item_code="PD-002")  # another item: not part of the answer

    answer = search(session)

    assert codes(answer) == ["NEAR", "MID", "FAR"]
    for result, kilometres in zip(answer.results, (8, 40, 120), strict=True):
        assert result.distance_km == pytest.approx(kilometres, abs=1e-6)
    first = answer.results[0]
    assert [line.batch for line in first.lines] == ["early", "late", "none"]  # first expiry first, none last
    assert first.total_available == Decimal(6)
    assert [r.cumulative_available for r in answer.results] == [Decimal(6), Decimal(13), Decimal(18)]
    assert first.warehouse.county_name == "东城区" and first.warehouse.province_code == "110000"
    assert answer.distance == "geodesic" and answer.item.code == "PD-001"


def test_an_answers_lines_and_warehouses_are_what_their_dataclasses_build(session, make_warehouse, stock):
    """The answer fills its BatchLine and NearbyStock objects' fields directly (no frozen __init__): the same
    objects as the classes' own constructors make, with exactly their fields, equal, hashed alike, still frozen."""
    depot = make_warehouse("DEPOT", **place(8))
    stock(depot, 3, batch="late", expiry=dt.date(2027, 1, 1))
    stock(depot, 2, batch="early", expiry=dt.date(2026, 9, 1))
    answer = search(session, quantity=4)
    built = [*answer.results, *answer.results[0].lines]
    assert [type(obj) for obj in built] == [nearest.NearbyStock, nearest.BatchLine, nearest.BatchLine]
    for obj in built:
        names = [field.name for field in dataclasses.fields(obj)]
        assert list(vars(obj)) == names
        made = type(obj)(*(getattr(obj, name) for name in names))
        assert made == obj and hash(made) == hash(obj) and repr(made) == repr(obj)
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.distance_km = 0  # type: ignore[misc]
    assert answer.results[0].covers_quantity is True and answer.results[0].lines[0].batch == "early"


def test_identical_coordinates_are_ordered_by_warehouse_code(session, make_warehouse, stock):
    for code in ("TIE-C", "TIE-A", "TIE-B"):
        stock(make_warehouse(code, **place(25)), 1)
    answer = search(session)
    assert codes(answer) == ["TIE-A", "TIE-B", "TIE-C"]
    assert len({result.distance_km for result in answer.results}) == 1


class CountingDistance:
    """The service's geodesic, counting the exact distances measured."""

    name = GEODESIC.name

    def __init__(self) -> None:
        self.measured = 0

    def measure_km(self, origin, latitude, longitude):
        self.measured += 1
        return GEODESIC.measure_km(origin, latitude, longitude)

    def lower_bound_km(self, sphere_km: float) -> float:
        return GEODESIC.lower_bound_km(sphere_km)


def test_only_the_warehouses_that_may_come_next_are_measured(session, make_warehouse, stock):
    """Thirty holders in the first chunk, three asked for: the walk measures a few, not all thirty."""
    for number in range(30):
        stock(make_warehouse(f"RING-{number:02}", **place(10 + 5 * number, bearing=12 * number)), 1)
    counting = CountingDistance()
    answer = search(session, limit=3, distance=counting)
    assert codes(answer) == ["RING-00", "RING-01", "RING-02"]
    assert counting.measured <= 6
    assert [r.distance_km for r in answer.results] == [r.distance_km for r in search(session, limit=3).results]


def test_radius_is_a_geodesic_cut_off(session, make_warehouse, stock):
    stock(make_warehouse("INSIDE", **place(299.9)), 1)
    stock(make_warehouse("OUTSIDE", **place(300.1, bearing=180)), 1)
    assert codes(search(session)) == ["INSIDE"]
    assert codes(search(session, radius_km=301)) == ["INSIDE", "OUTSIDE"]
    assert codes(search(session, radius_km=299.8)) == []


def test_reserve_type_filter(session, make_warehouse, stock):
    stock(make_warehouse("GOV", reserve_type="government", **place(30)), 1)
    stock(make_warehouse("ENT", reserve_type="enterprise", **place(10)), 1)
    stock(make_warehouse("THIRD", reserve_type="third_party", **place(20)), 1)
    assert codes(search(session, reserve_types=[ReserveType.GOVERNMENT])) == ["GOV"]
    both = search(session, reserve_types=[ReserveType.THIRD_PARTY, ReserveType.GOVERNMENT])
    assert codes(both) == ["THIRD", "GOV"]
    assert both.reserve_types == (ReserveType.GOVERNMENT, ReserveType.THIRD_PARTY)


def test_expired_batches_are_left_out_unless_asked_for(session, make_warehouse, stock):
    mixed = make_warehouse("MIXED", **place(5))
    stock(mixed, 4, batch="expired", expiry=TODAY - dt.timedelta(days=1))
    stock(mixed, 3, batch="last-day", expiry=TODAY)
    stock(make_warehouse("ONLY-EXPIRED", **place(6)), 9, expiry=dt.date(2020, 1, 1))

    answer = search(session)
    assert codes(answer) == ["MIXED"]
    assert [line.batch for line in answer.results[0].lines] == ["last-day"]
    assert answer.results[0].total_available == 3

    everything = search(session, include_expired=True)
    assert codes(everything) == ["MIXED", "ONLY-EXPIRED"]
    assert everything.results[0].total_available == 7


def test_reserved_stock_is_not_available(session, make_warehouse, stock):
    partly = stock(make_warehouse("PARTLY", **place(5)), 10)
    fully = stock(make_warehouse("FULLY", **place(6)), 10)
    session.execute(update(StockLine).where(StockLine.id == partly.id).values(reserved=Decimal("2.5")))
    session.execute(update(StockLine).where(StockLine.id == fully.id).values(reserved=Decimal(10)))
    answer = search(session)
    assert codes(answer) == ["PARTLY"]
    assert answer.results[0].lines[0].available == Decimal("7.5")


def test_inactive_warehouses_and_empty_lines_are_left_out(session, make_warehouse, stock):
    closed = make_warehouse("CLOSED", **place(5))
    stock(closed, 10)
    closed.status = WarehouseStatus.INACTIVE
    emptied = stock(make_warehouse("EMPTIED", **place(6)), 10)
    issue_stock(session, line=emptied, quantity=10, actor="tester")
    stock(make_warehouse("OPEN", **place(7)), 1)
    session.flush()
    assert codes(search(session)) == ["OPEN"]


def test_quantity_marks_the_warehouses_that_cover_it_alone_and_filters_nothing(session, make_warehouse, stock):
    stock(make_warehouse("SMALL", **place(5)), 4)
    stock(make_warehouse("BIG", **place(9)), 30)
    answer = search(session, quantity="20")
    assert codes(answer) == ["SMALL", "BIG"]
    assert [r.covers_quantity for r in answer.results] == [False, True]
    assert [r.covers_quantity for r in search(session).results] == [None, None]


def test_category_search_lists_each_item_and_refuses_a_quantity(session, make_warehouse, stock):
    depot = make_warehouse("DEPOT", **place(5))
    stock(depot, 2, item_code="PD-002")
    stock(depot, 1, item_code="PD-001")
    stock(depot, 5, item_code="SC-005")  # another category
    answer = search(session, item=None, category=get_item(session, "PD-001").category)
    assert codes(answer) == ["DEPOT"]
    assert [line.item.code for line in answer.results[0].lines] == ["PD-001", "PD-002"]
    assert answer.results[0].total_available is None  # different units do not add up
    with pytest.raises(ValidationFailed) as refused:
        search(session, item=None, category=answer.category, quantity=3)
    assert refused.value.field == "quantity"


def test_the_item_is_found_by_code_name_or_alias(session, make_warehouse, stock):
    stock(make_warehouse("A", **place(5)), 1)
    for text in ("PD-001", "活性炭", "activated carbon", " 颗粒活性炭 "):
        assert codes(search(session, item=text)) == ["A"], text
    with pytest.raises(NotFound) as unknown:
        search(session, item="unobtainium")
    assert unknown.value.field == "item"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": nearest.MAX_LIMIT + 1}, "limit"),
        ({"radius_km": 0}, "radius_km"),
        ({"radius_km": nearest.MAX_RADIUS_KM + 1}, "radius_km"),
        ({"item": None}, "item"),
        ({"category": "pollutant_degradation"}, "category"),
        ({"quantity": "-1"}, "quantity"),
    ],
)
def test_bad_search_options_name_their_field(session, options, field):
    with pytest.raises(ValidationFailed) as refused:
        search(session, **options)
    assert refused.value.field == field


def test_incident_by_county_code_name_or_prefix(session):
    assert locate_incident(session, county="110108").county_name == "海淀区"
    haidian = locate_incident(session, county="海淀区")
    assert (haidian.county_code, haidian.point) == ("110108", Point(39.95, 116.30))
    assert locate_incident(session, county="海淀").county_code == "110108"
    assert locate_incident(session, county="东莞").county_code == "441900"  # a city without counties
    assert locate_incident(session, latitude=30, longitude=120).point == Point(30.0, 120.0)


@pytest.mark.parametrize(
    ("location", "error", "field"),
    [
        ({}, ValidationFailed, "lat"),
        ({"latitude": 30}, ValidationFailed, "lon"),
        ({"longitude": 120}, ValidationFailed, "lat"),
        ({"latitude": 30, "longitude": 120, "county": "110108"}, ValidationFailed, "county"),
        ({"latitude": 90.5, "longitude": 120}, ValidationFailed, "lat"),
        ({"latitude": 30, "longitude": -181}, ValidationFailed, "lon"),
        ({"county": "朝阳区"}, ValidationFailed, "county"),  # Beijing and Changchun
        ({"county": "110000"}, ValidationFailed, "county"),  # a province
        ({"county": "999999"}, NotFound, "county"),
        ({"county": "亚特兰蒂斯"}, NotFound, "county"),
    ],
)
def test_bad_incident_locations_name_their_field(session, location, error, field):
    with pytest.raises(error) as refused:
        locate_incident(session, **location)
    assert refused.value.field == field


# --- nearest search: the property against a full geodesic scan ------------------------------


@pytest.fixture
def national_sample(session, make_warehouse, stock):
    """The small demo dataset plus warehouses sharing one coordinate and at China's edges."""
    seed_demo(session, "small", seed=11, today=TODAY)
    for code in ("DUP-B", "DUP-A", "DUP-C"):
        depot = make_warehouse(code, reserve_type="enterprise", latitude=30.0, longitude=110.0)
        for item_code in ITEMS:
            stock(depot, 5, item_code=item_code)
    for number, edge in enumerate(EDGES):
        depot = make_warehouse(f"EDGE-{number}", latitude=edge.latitude, longitude=edge.longitude)
        for item_code in ITEMS:
            stock(depot, 5, item_code=item_code, expiry=TODAY if number % 2 else None)
    session.flush()
    return holdings(session)


def holdings(session) -> dict[str, list[dict]]:
    """Every active warehouse's available lines by item code, read plainly for the oracles."""
    rows = session.execute(
        select(Warehouse, StockLine, Item.code)
        .join(StockLine, StockLine.warehouse_id == Warehouse.id)
        .join(Item, Item.id == StockLine.item_id)
        .where(Warehouse.status == WarehouseStatus.ACTIVE, StockLine.quantity > StockLine.reserved)
    ).all()
    by_item: dict[str, list[dict]] = defaultdict(list)
    for warehouse, line, item_code in rows:
        by_item[item_code].append({"warehouse": warehouse, "line": line, "available": line.available})
    return by_item


def brute_force_nearest(lines, origin: Point, radius_km, reserve_types, limit, include_expired) -> list:
    holders = {}
    for entry in lines:
        warehouse, line = entry["warehouse"], entry["line"]
        if not include_expired and line.expiry_date is not None and line.expiry_date < TODAY:
            continue
        if reserve_types and warehouse.reserve_type not in reserve_types:
            continue
        distance = geodesic((origin.latitude, origin.longitude), (warehouse.latitude, warehouse.longitude)).km
        if distance <= radius_km:
            holders[warehouse.code] = distance
    return sorted(holders.items(), key=lambda pair: (pair[1], pair[0]))[:limit]


incidents = st.one_of(
    st.builds(Point, st.floats(-5, 60), st.floats(65, 145)),  # China, its seas and neighbours
    st.builds(
        lambda edge, dlat, dlon: Point(edge.latitude + dlat, edge.longitude + dlon),
        st.sampled_from(EDGES),
        st.floats(-1.5, 1.5),
        st.floats(-1.5, 1.5),
    ),
    st.sampled_from([Point(30.0, 110.0), OFFSHORE]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    origin=incidents,
    item_code=st.sampled_from(ITEMS),
    radius_km=st.one_of(st.sampled_from([50, 300, 1500, nearest.MAX_RADIUS_KM]), st.floats(0.5, 3000)),
    limit=st.integers(1, 40),
    reserve_types=st.one_of(st.none(), st.sets(st.sampled_from(list(ReserveType)), min_size=1)),
    include_expired=st.booleans(),
    first_chunk=st.sampled_from([1, 3, nearest.FIRST_CHUNK]),
)
def test_nearest_matches_a_full_geodesic_scan(
    session, national_sample, origin, item_code, radius_km, limit, reserve_types, include_expired, first_chunk
):
    with mock.patch.object(nearest, "FIRST_CHUNK", first_chunk):
        answer = search(
            session,
            incident=Incident(origin),
            item=item_code,
            radius_km=radius_km,
            limit=limit,
            reserve_types=sorted(reserve_types or ()),
            include_expired=include_expired,
        )
    expected = brute_force_nearest(national_sample[item_code], origin, radius_km, reserve_types, limit, include_expired)
    assert codes(answer) == [code for code, _ in expected]
    assert [r.distance_km for r in answer.results] == pytest.approx([d for _, d in expected], abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.floats(-89.9, 89.9), st.floats(-180, 180), st.floats(-89.9, 89.9), st.floats(-180, 180))
def test_the_sphere_gives_a_lower_bound_of_the_geodesic(lat1, lon1, lat2, lon2):
    """The pruning rule: geodesic >= 0.99 x great circle on the mean sphere (the true minimum is 0.9944)."""
    vectors = unit_vectors(np.array([lat1, lat2]), np.array([lon1, lon2]))
    sphere = float(sphere_km_from_chords(np.array([np.linalg.norm(vectors[0] - vectors[1])]))[0])
    exact = GEODESIC.distance_km(Point(lat1, lon1), Point(lat2, lon2))
    assert exact == geodesic((lat1, lon1), (lat2, lon2)).km
    assert exact >= GEODESIC.lower_bound_km(sphere)
    assert sphere <= np.pi * EARTH_MEAN_RADIUS_KM + 1e-6 and GEODESIC_OVER_SPHERE_MIN < 0.9944


# --- the index stays correct across workers; stock is never cached ---------------------------


@contextlib.contextmanager
def another_worker(database_url: str) -> Iterator[Session]:
    """A second app with its own engine and index cache on the same database, like another gunicorn worker."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test"})
    with other.app_context(), intends_to_write():
        yield db.session
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_another_worker_changing_stock_or_warehouses_is_seen_by_the_next_search(
    database_url, session, make_warehouse, stock
):
    moving = make_warehouse("MOVING", **place(10))
    closing = make_warehouse("CLOSING", **place(20))
    selling = make_warehouse("SELLING", **place(30))
    stock(moving, 1)
    stock(closing, 1)
    sold_line = stock(selling, 1)
    restocked = make_warehouse("RESTOCKED", **place(40))
    session.commit()
    sold_line_id, restocked_id = sold_line.id, restocked.id  # plain ids: the other worker shares no objects

    assert codes(search(session)) == ["MOVING", "CLOSING", "SELLING"]
    first_index = warehouse_index(session)
    session.rollback()

    with another_worker(database_url) as other:
        other.execute(update(Warehouse).where(Warehouse.code == "MOVING").values(**place(200, bearing=270)))
        other.execute(update(Warehouse).where(Warehouse.code == "CLOSING").values(status=WarehouseStatus.INACTIVE))
        issue_stock(other, line=other.get(StockLine, sold_line_id), quantity=1, actor="tester")
        receive_stock(
            other,
            warehouse=other.get(Warehouse, restocked_id),
            item=get_item(other, "PD-001"),
            quantity=Decimal(2),
            actor="tester",
        )

    answer = search(session)
    assert codes(answer) == ["RESTOCKED", "MOVING"]
    assert answer.results[1].distance_km == pytest.approx(200, abs=1e-6)
    assert warehouse_index(session) is not first_index


def test_a_search_outside_a_transaction_reads_in_one_of_its_own(db_kind, session, make_warehouse, stock):
    """No session transaction to begin and roll back (db.reading): one pooled connection, a deferred BEGIN, the
    data versions, the stock; a caller that declared a write searches in the session's transaction instead
    (on SQLite it holds the write lock from the search on)."""
    stock(make_warehouse("NEAR", **place(10)), 1)
    session.commit()
    assert codes(search(session)) == ["NEAR"]  # fills this worker's copies
    engine = session.get_bind()
    sent: list[str] = []
    listener = lambda _connection, _cursor, statement, *_rest: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert codes(search(session)) == ["NEAR"]
        read, sent[:] = list(sent), []
        assert not session().in_transaction() and engine.pool.checkedout() == 0  # nothing left to end
        with intends_to_write():
            assert codes(nearest_stock(session, incident=Incident(ORIGIN), item="PD-001", today=TODAY)) == ["NEAR"]
        assert session().in_transaction()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    reads = [statement for statement in read if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(reads) == 2 and "data_version" in reads[0] and "FROM stock_line" in reads[1], read
    if db_kind == "sqlite":  # PostgreSQL's BEGIN is the driver's own
        assert read[0] == "BEGIN" and sent[0] == "BEGIN IMMEDIATE", (read, sent)


def test_a_cache_reloaded_within_a_read_is_read_on_its_connection(db_kind, database_url, session, make_warehouse):
    """A warehouse change committed after the read's data versions: the worker copy loads the committed rows,
    newer than the read, so the read gets a copy of its own, on its own connection (no second one from the pool,
    no session transaction); on SQLite from the read's snapshot."""
    make_warehouse("MOVING", **place(10))
    session.commit()
    with reading_only(), reading(session) as connection:
        before = data_versions(session)
        with another_worker(database_url) as other:
            other.execute(update(Warehouse).where(Warehouse.code == "MOVING").values(**place(200, bearing=270)))
        index = warehouse_index(session)
        assert index.version == before["warehouse"]
        assert session.get_bind().pool.checkedout() == 1 and not session().in_transaction()
        assert connection is session.info["inventory_read_connection"]
    if db_kind == "sqlite":  # one snapshot (PostgreSQL reads committed rows at each statement, as in a session)
        summary = index.summaries[session.scalars(select(Warehouse.id).where(Warehouse.code == "MOVING")).one()]
        assert summary[-1] == pytest.approx(place(10)["longitude"])
    assert warehouse_index(session).version > before["warehouse"]  # the next read: the committed copy


def test_a_rolled_back_warehouse_change_is_never_served_from_the_cache(database_url, session, make_warehouse, stock):
    stock(make_warehouse("STAYS", **place(10)), 1)
    stock(make_warehouse("OTHER", **place(50)), 1)
    session.commit()
    assert codes(search(session)) == ["STAYS", "OTHER"]

    session.execute(update(Warehouse).where(Warehouse.code == "STAYS").values(**place(500)))
    assert codes(search(session)) == ["OTHER"]  # the transaction sees its own change...
    session.rollback()  # ...which is then abandoned
    with another_worker(database_url) as other:  # the version moves on by as much, to a different state
        other.execute(update(Warehouse).where(Warehouse.code == "OTHER").values(contact_phone="110"))

    assert codes(search(session)) == ["STAYS", "OTHER"]


def test_the_index_is_reused_until_a_warehouse_changes(session, make_warehouse, stock):
    depot = make_warehouse("DEPOT", **place(5))
    line = stock(depot, 5)
    session.commit()
    index = warehouse_index(session)
    issue_stock(session, line=line, quantity=1, actor="tester")  # stock changes leave the index alone
    session.commit()
    assert warehouse_index(session) is index
    depot.contact_phone = "010-12345678"
    session.commit()
    assert warehouse_index(session) is not index


def test_threads_holding_transactions_share_a_cold_index_without_starving_the_pool(app, session, make_warehouse, stock):
    """The index loads on a connection of its own: twenty request threads each hold a pooled one
    (and on SQLite queue for the write lock) while the first of them builds the index."""
    stock(make_warehouse("ONLY", **place(5)), 1)
    session.commit()
    threads = 20
    start = threading.Barrier(threads)

    def search_once(_: int) -> list[str]:
        with app.app_context(), intends_to_write():
            start.wait()
            try:
                return codes(search(db.session))
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        assert list(pool.map(search_once, range(threads))) == [["ONLY"]] * threads


# --- plans ------------------------------------------------------------------------------------


def plan(session, needs, **options):
    options = {"incident": Incident(ORIGIN), "today": TODAY, **options}
    return plan_need(session, needs=[NeedRequest(item, quantity) for item, quantity in needs], **options)


def taken(result) -> list[tuple[str, str, str, Decimal]]:
    return [
        (allocation.warehouse.code, line.item.code, line.batch, line.quantity)
        for allocation in result.warehouses
        for line in allocation.lines
    ]


def test_plan_covers_needs_nearest_first_and_batches_first_expiry_first(session, make_warehouse, stock):
    near = make_warehouse("NEAR", **place(5))
    far = make_warehouse("FAR", **place(50))
    stock(near, 4, batch="no-expiry")
    stock(near, 3, batch="2027", expiry=dt.date(2027, 1, 1))
    stock(near, 2, batch="2026", expiry=dt.date(2026, 7, 1))
    stock(far, 100)
    stock(far, 6, item_code="PD-002")

    result = plan(session, [("活性炭", "12"), ("PD-002", "1.5")])

    assert taken(result) == [
        ("NEAR", "PD-001", "2026", 2),
        ("NEAR", "PD-001", "2027", 3),
        ("NEAR", "PD-001", "no-expiry", 4),
        ("FAR", "PD-001", "B1", 3),
        ("FAR", "PD-002", "B1", Decimal("1.5")),
    ]
    assert result.covered
    assert [(n.item.code, n.requested, n.allocated, n.shortfall) for n in result.needs] == [
        ("PD-001", 12, 12, 0),
        ("PD-002", Decimal("1.5"), Decimal("1.5"), 0),
    ]
    assert result.warehouses[0].lines[0].available == 2


def test_plan_states_the_shortfall_and_takes_nothing_beyond_the_radius_or_unavailable(session, make_warehouse, stock):
    depot = make_warehouse("DEPOT", **place(5))
    reserved = stock(depot, 10, batch="reserved")
    session.execute(update(StockLine).where(StockLine.id == reserved.id).values(reserved=Decimal(8)))
    stock(depot, 5, batch="expired", expiry=TODAY - dt.timedelta(days=1))
    stock(make_warehouse("BEYOND", **place(310)), 100)

    result = plan(session, [("PD-001", 10), ("PD-002", 1)])

    assert taken(result) == [("DEPOT", "PD-001", "reserved", 2)]
    assert [(n.allocated, n.shortfall) for n in result.needs] == [(2, 8), (0, 1)]
    assert not result.covered


def test_plan_uses_preferred_reserve_types_first_then_the_rest_by_distance(session, make_warehouse, stock):
    stock(make_warehouse("ENT-NEAR", reserve_type="enterprise", **place(5)), 5)
    stock(make_warehouse("GOV-FAR", reserve_type="government", **place(200)), 5)
    stock(make_warehouse("PROD-MID", reserve_type="production", **place(50)), 5)
    stock(make_warehouse("THIRD-FAR", reserve_type="third_party", **place(100)), 5)

    by_distance = plan(session, [("PD-001", 20)])
    assert [a.warehouse.code for a in by_distance.warehouses] == ["ENT-NEAR", "PROD-MID", "THIRD-FAR", "GOV-FAR"]

    preferred = plan(
        session, [("PD-001", 20)], reserve_type_preference=[ReserveType.GOVERNMENT, ReserveType.THIRD_PARTY]
    )
    assert [(a.warehouse.code, a.tier) for a in preferred.warehouses] == [
        ("GOV-FAR", 0),
        ("THIRD-FAR", 1),
        ("ENT-NEAR", 2),
        ("PROD-MID", 2),
    ]


def test_plan_draws_only_on_the_reserve_types_the_search_ticked(session, make_warehouse, stock):
    stock(make_warehouse("ENT-NEAR", reserve_type="enterprise", **place(5)), 5)
    stock(make_warehouse("GOV-FAR", reserve_type="government", **place(200)), 5)
    stock(make_warehouse("THIRD-MID", reserve_type="third_party", **place(100)), 5)
    only = [ReserveType.THIRD_PARTY, ReserveType.GOVERNMENT]

    result = plan(session, [("PD-001", 20)], reserve_types=only)
    assert [a.warehouse.code for a in result.warehouses] == ["THIRD-MID", "GOV-FAR"]
    assert result.needs[0].shortfall == 10  # the enterprise stock nearby is not counted
    assert result.reserve_types == (ReserveType.GOVERNMENT, ReserveType.THIRD_PARTY)

    # A preferred type outside the filter adds nothing; the preference still orders what is allowed.
    preferred = plan(
        session,
        [("PD-001", 20)],
        reserve_types=only,
        reserve_type_preference=[ReserveType.ENTERPRISE, ReserveType.GOVERNMENT],
    )
    assert [a.warehouse.code for a in preferred.warehouses] == ["GOV-FAR", "THIRD-MID"]


def test_plan_can_leave_warehouses_out(session, make_warehouse, stock):
    refused = make_warehouse("REFUSED", **place(5))
    stock(refused, 5)
    stock(make_warehouse("NEXT", **place(15)), 5)
    result = plan(session, [("PD-001", 4)], exclude_warehouse_ids=frozenset({refused.id}))
    assert taken(result) == [("NEXT", "PD-001", "B1", 4)]


@pytest.mark.parametrize(
    ("needs", "options", "error", "field"),
    [
        ([], {}, ValidationFailed, "needs"),
        ([("PD-001", 1), ("活性炭", 2)], {}, ValidationFailed, "needs.1"),
        ([("PD-001", 1), ("nothing", 2)], {}, NotFound, "needs.1.item"),
        ([("PD-001", 0)], {}, ValidationFailed, "needs.0.quantity"),
        ([("PD-001", 1)], {"radius_km": 3001}, ValidationFailed, "radius_km"),
        (
            [("PD-001", 1)],
            {"reserve_type_preference": [ReserveType.GOVERNMENT, ReserveType.GOVERNMENT]},
            ValidationFailed,
            "reserve_type_preference",
        ),
    ],
)
def test_bad_plan_requests_name_their_field(session, needs, options, error, field):
    with pytest.raises(error) as refused:
        plan(session, needs, **options)
    assert refused.value.field == field


def brute_force_plan(by_item, origin: Point, needs, radius_km, preference) -> list[tuple[str, int, Decimal]]:
    """The planning rule written out plainly: rank holders by (tier, distance, code), FEFO inside."""

    def tier(warehouse) -> int:
        return preference.index(warehouse.reserve_type) if warehouse.reserve_type in preference else len(preference)

    allocations: dict[tuple[str, int], Decimal] = {}
    rank: dict[str, tuple] = {}
    for item_code, quantity in needs:
        remaining = Decimal(quantity)
        usable = []
        for entry in by_item[item_code]:
            warehouse, line = entry["warehouse"], entry["line"]
            if line.expiry_date is not None and line.expiry_date < TODAY:
                continue
            distance = geodesic((origin.latitude, origin.longitude), (warehouse.latitude, warehouse.longitude)).km
            if distance <= radius_km:
                rank[warehouse.code] = (tier(warehouse), distance, warehouse.code)
                fefo = (line.expiry_date is None, line.expiry_date or dt.date.max, line.batch, line.id)
                usable.append((rank[warehouse.code], fefo, line.id, entry["available"]))
        for warehouse_rank, _, line_id, available in sorted(usable):
            take = min(remaining, available)
            if take > 0:
                allocations[(warehouse_rank[2], line_id)] = take
                remaining -= take
    order = sorted({code for code, _ in allocations}, key=lambda code: rank[code])
    return sorted(((code, line_id, q) for (code, line_id), q in allocations.items()), key=lambda a: order.index(a[0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    origin=incidents,
    needs=st.lists(
        st.tuples(st.sampled_from(ITEMS), st.integers(1, 400)), min_size=1, max_size=4, unique_by=lambda n: n[0]
    ),
    radius_km=st.sampled_from([100, 500, 3000]),
    preference=st.lists(st.sampled_from(list(ReserveType)), unique=True, max_size=4),
)
def test_plan_matches_the_rule_written_out_plainly(session, national_sample, origin, needs, radius_km, preference):
    result = plan(session, needs, incident=Incident(origin), radius_km=radius_km, reserve_type_preference=preference)
    expected = brute_force_plan(national_sample, origin, needs, radius_km, preference)
    actual = [(a.warehouse.code, line.stock_line_id, line.quantity) for a in result.warehouses for line in a.lines]
    assert sorted(actual) == sorted(expected)
    assert [code for code, _, _ in actual] == [code for code, _, _ in expected]  # warehouses in order of use
    for outcome in result.needs:
        assert outcome.allocated + outcome.shortfall == outcome.requested and outcome.shortfall >= 0
    for allocation in result.warehouses:
        assert all(0 < line.quantity <= line.available for line in allocation.lines)
