"""Nearest stock to an incident, and plans that cover a list of needs from the nearest stock first.

Read-only: nothing here reserves stock. A plan is a pure function of the database state; its
per-batch lines (stock line id, quantity) are what a call-up service reserves later.

Both answers walk one ranked stream: warehouses holding available stock, in exact
(distance, warehouse code) order, per reserve-type tier. The stream orders warehouses on the
sphere with the in-memory index, asks the database for stock one chunk of warehouses at a time
(nearest first), and measures the exact distance only of warehouses that can still come next.
Stock itself is never cached: every chunk is read in the search's one read transaction (the caller's, when it
holds one: ``db.reading``).

Over 400 lines on purpose: the search and the plan share that stream, its prebuilt hot-path
statements and its FEFO allocation; split apart, each half would need the other's internals.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from inventory.catalogue import ITEM_REF_COLUMNS, ItemNames, ItemRef, item_names
from inventory.clock import business_today
from inventory.db import driver_rows, reading
from inventory.errors import ValidationFailed
from inventory.geo import (
    GEODESIC,
    GEODESIC_OVER_SPHERE_MIN,
    DistanceProvider,
    Incident,
    Point,
    WarehouseIndex,
    warehouse_index,
)
from inventory.models import Item, StockLine
from inventory.reference import Category, ReserveType
from inventory.stock_rules import batch_expired
from inventory.validation import MEMO_ENTRIES, check_quantity

DEFAULT_RADIUS_KM = 300
MAX_RADIUS_KM = 3000
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_NEEDS = 50
# Warehouses per stock query: the first asks FIRST_CHUNK, each next one as many as all before it (64, 64, 128, …),
# up to MAX_CHUNK. The second is not doubled: a search that found too few holders in the first chunk is short by a
# few (s22: the 10th answer is final within 63 candidates at p95, 88 at most), so 64 more suffice, not 128.
FIRST_CHUNK = 64
MAX_CHUNK = 2048


@dataclass(frozen=True)
class WarehouseSummary:
    """What a dispatcher needs to call a warehouse: who, where, which reserve."""

    id: int
    code: str
    name: str
    reserve_type: ReserveType
    county_code: str
    county_name: str
    city_code: str
    province_code: str
    contact_person: str
    contact_phone: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class BatchLine:
    stock_line_id: int
    item: ItemRef
    batch: str
    expiry_date: dt.date | None
    available: Decimal

    @property
    def expired(self) -> bool:
        """Only listed with include_expired."""
        return batch_expired(self.expiry_date)


@dataclass(frozen=True)
class NearbyStock:
    """One warehouse of a nearest-stock answer.

    The totals are only given for a single item (a category mixes units): ``total_available`` in
    this warehouse, ``cumulative_available`` in it and every nearer one, and ``covers_quantity``
    whether this warehouse alone holds the quantity asked for (None when none was asked).
    """

    warehouse: WarehouseSummary
    distance_km: float
    lines: tuple[BatchLine, ...]
    total_available: Decimal | None
    cumulative_available: Decimal | None
    covers_quantity: bool | None


@dataclass(frozen=True)
class NearestAnswer:
    incident: Incident
    item: ItemRef | None
    category: Category | None
    quantity: Decimal | None
    radius_km: float
    reserve_types: tuple[ReserveType, ...]
    include_expired: bool
    distance: str
    results: tuple[NearbyStock, ...]


@dataclass(frozen=True)
class NeedRequest:
    """One line of a request: an item by code, name or alias, and how much of it."""

    item: str
    quantity: Decimal | int | str


@dataclass(frozen=True)
class Allocation:
    """Take ``quantity`` from one stock line (one batch); what a call-up would reserve."""

    stock_line_id: int
    item: ItemRef
    batch: str
    expiry_date: dt.date | None
    available: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class WarehouseAllocation:
    warehouse: WarehouseSummary
    distance_km: float
    tier: int  # position of its reserve type in the preference (len(preference) for the rest)
    lines: tuple[Allocation, ...]


@dataclass(frozen=True)
class NeedOutcome:
    item: ItemRef
    requested: Decimal
    allocated: Decimal
    variants: tuple[ItemRef, ...] = ()  # the item's unit variants: never allocated (another unit), only listed

    @property
    def shortfall(self) -> Decimal:
        return self.requested - self.allocated


@dataclass(frozen=True)
class Plan:
    incident: Incident
    radius_km: float
    reserve_type_preference: tuple[ReserveType, ...]
    reserve_types: tuple[ReserveType, ...]
    distance: str
    needs: tuple[NeedOutcome, ...]
    warehouses: tuple[WarehouseAllocation, ...]

    @property
    def covered(self) -> bool:
        return all(need.shortfall == 0 for need in self.needs)


class _Line(NamedTuple):  # a tuple: built for every line a search reads, faster than a frozen dataclass
    stock_line_id: int
    item_id: int
    batch: str
    expiry_date: dt.date | None
    available: Decimal

    @property
    def fefo_key(self) -> tuple:
        """First expiry first out; batches without an expiry go last."""
        return (self.expiry_date is None, self.expiry_date or dt.date.max, self.batch, self.stock_line_id)


def _fefo_key(line: _Line) -> tuple:
    return line.fefo_key


class _Hit(NamedTuple):  # a tuple: one per warehouse a search takes, faster to build than a frozen dataclass
    warehouse_id: int
    distance_km: float
    tier: int
    lines: list[_Line]


def nearest_stock(
    session: Session,
    *,
    incident: Incident,
    item: str | None = None,
    category: Category | None = None,
    quantity: Decimal | int | str | None = None,
    radius_km: float = DEFAULT_RADIUS_KM,
    reserve_types: Sequence[ReserveType] | None = None,
    limit: int = DEFAULT_LIMIT,
    include_expired: bool = False,
    today: dt.date | None = None,
    distance: DistanceProvider = GEODESIC,
) -> NearestAnswer:
    """The active warehouses nearest the incident holding available stock of an item (or a category).

    Available means on hand minus reserved, in batches not yet expired (expiry today still counts)
    unless ``include_expired``. Ordered by distance, then warehouse code.
    """
    radius_km = _check_radius(radius_km)
    _check_limit(limit)
    with reading(session) as connection:  # one read transaction: the session's if it has one, else a cheaper own
        items = _wanted_items(session, connection, item, category)
        quantity = _check_wanted_quantity(quantity, category)
        allowed = frozenset(reserve_types or ()) or None
        items_by_id = {ref.id: ref for ref in items}
        search = _Search(
            incident.point, tuple(items_by_id), radius_km, today or business_today(), include_expired, distance
        )
        index = warehouse_index(session)  # once: each look-up of a worker copy costs a version check
        hits = list(itertools.islice(_ranked_stock(connection, index, search, [allowed]), limit))
    summaries = _warehouse_summaries(index, [hit.warehouse_id for hit in hits])
    return NearestAnswer(
        incident=incident,
        item=items[0] if item else None,
        category=category,
        quantity=quantity,
        radius_km=radius_km,
        reserve_types=tuple(sorted(allowed or (), key=list(ReserveType).index)),
        include_expired=include_expired,
        distance=distance.name,
        results=_nearby_results(hits, summaries, items, single_item=bool(item), quantity=quantity),
    )


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", field="limit")


def _check_wanted_quantity(quantity: Decimal | int | str | None, category: Category | None) -> Decimal | None:
    """The quantity asked for, if any: only with an item, as a category mixes units."""
    if quantity is None:
        return None
    if category is not None:
        raise ValidationFailed("quantity needs an item: a category mixes units", field="quantity")
    return check_quantity(quantity)


def _nearby_results(
    hits: list[_Hit],
    summaries: dict[int, WarehouseSummary],
    items: list[ItemRef],
    *,
    single_item: bool,
    quantity: Decimal | None,
) -> tuple[NearbyStock, ...]:
    """Each warehouse's lines (item by item, FEFO) and, for a single item, its running totals."""
    items_by_id = {ref.id: ref for ref in items}
    order = _line_order(items)
    first_item = items[0] if single_item else None  # a category may hold no items at all
    results = []
    cumulative = Decimal(0)
    for hit in hits:
        ordered = sorted(hit.lines, key=order) if len(hit.lines) > 1 else hit.lines
        lines = tuple(
            [
                _frozen(
                    BatchLine,
                    stock_line_id=line_id,
                    item=items_by_id[item_id],
                    batch=batch,
                    expiry_date=expiry_date,
                    available=available,
                )
                for line_id, item_id, batch, expiry_date, available in ordered
            ]
        )
        total = None
        if single_item:
            total = Decimal(0)
            for line in lines:
                if line.item is first_item:
                    total += line.available
            cumulative += total
        results.append(
            _frozen(
                NearbyStock,
                warehouse=summaries[hit.warehouse_id],
                distance_km=hit.distance_km,
                lines=lines,
                total_available=total,
                cumulative_available=cumulative if single_item else None,
                covers_quantity=None if quantity is None or total is None else total >= quantity,
            )
        )
    return tuple(results)


# An answer's objects, built without a frozen dataclass's __init__ (it sets each field through object.__setattr__,
# ~1 µs more per object: an answer builds one per line and one per warehouse). The same objects as the classes'
# own constructors: tests/unit/test_nearest.py holds them equal, field for field.
FrozenT = TypeVar("FrozenT")


def _frozen(cls: type[FrozenT], **fields: object) -> FrozenT:
    built = object.__new__(cls)
    built.__dict__.update(fields)
    return built


def plan_need(
    session: Session,
    *,
    incident: Incident,
    needs: Sequence[NeedRequest],
    radius_km: float = DEFAULT_RADIUS_KM,
    reserve_type_preference: Sequence[ReserveType] = (),
    reserve_types: Sequence[ReserveType] = (),
    exclude_warehouse_ids: frozenset[int] = frozenset(),
    today: dt.date | None = None,
    distance: DistanceProvider = GEODESIC,
) -> Plan:
    """Cover each need from the nearest warehouses first, saying what is short.

    Warehouses are used tier by tier: every warehouse of the first preferred reserve type (nearest
    first) before any of the second, …, then all the other types together, nearest first. Within a
    warehouse, batches go first-expiry-first-out (no expiry last). Only unexpired available stock
    within the radius is allocated, never more than a line has. ``reserve_types`` (empty: all) keeps
    only warehouses of those types, as the nearest search's filter does. ``exclude_warehouse_ids``
    leaves warehouses out (a call-up re-planning around a source that refused).
    """
    radius_km = _check_radius(radius_km)
    with reading(session) as connection:  # as nearest_stock's
        names = item_names(session)  # one worker-copy look-up for the needs and their variants
        requested, items = _requested_items(names, needs)
        preference, tiers = _preference_tiers(reserve_type_preference, reserve_types)
        search = _Search(
            incident.point,
            tuple(requested),
            radius_km,
            today or business_today(),
            include_expired=False,
            distance=distance,
            excluded_warehouse_ids=frozenset(exclude_warehouse_ids),
        )
        remaining = dict(requested)
        index = warehouse_index(session)
        chosen = _allocate_nearest_first(_ranked_stock(connection, index, search, tiers), items, remaining)
    summaries = _warehouse_summaries(index, [hit.warehouse_id for hit, _ in chosen])
    return Plan(
        incident=incident,
        radius_km=radius_km,
        reserve_type_preference=preference,
        reserve_types=_ordered_types(reserve_types),
        distance=distance.name,
        needs=tuple(
            NeedOutcome(ref, requested[ref.id], requested[ref.id] - remaining[ref.id], names.variants_of(ref.id))
            for ref in items
        ),
        warehouses=tuple(
            WarehouseAllocation(summaries[hit.warehouse_id], hit.distance_km, hit.tier, tuple(allocations))
            for hit, allocations in chosen
        ),
    )


def _requested_items(names: ItemNames, needs: Sequence[NeedRequest]) -> tuple[dict[int, Decimal], list[ItemRef]]:
    """Item id → quantity requested, and the items in the order of the needs; each item once."""
    if not needs:
        raise ValidationFailed("give at least one need", field="needs")
    if len(needs) > MAX_NEEDS:
        raise ValidationFailed(f"at most {MAX_NEEDS} needs in one plan", field="needs")
    requested: dict[int, Decimal] = {}
    items: list[ItemRef] = []
    for number, need in enumerate(needs):
        ref = names.resolve(need.item, f"needs.{number}.item")
        if ref.id in requested:
            raise ValidationFailed(f"{ref.code} ({ref.name}) is needed twice; give one total", field=f"needs.{number}")
        requested[ref.id] = check_quantity(need.quantity, f"needs.{number}.quantity")
        items.append(ref)
    return requested, items


def _ordered_types(reserve_types: Sequence[ReserveType]) -> tuple[ReserveType, ...]:
    return tuple(sorted(set(reserve_types), key=list(ReserveType).index))


def _preference_tiers(
    reserve_type_preference: Sequence[ReserveType], reserve_types: Sequence[ReserveType] = ()
) -> tuple[tuple[ReserveType, ...], list[frozenset[ReserveType]]]:
    """The preference, and its tiers: one per preferred reserve type, then all the others together;
    with ``reserve_types``, only those types (a preferred type outside them has no tier)."""
    preference = tuple(reserve_type_preference)
    if len(set(preference)) != len(preference):
        raise ValidationFailed("a reserve type appears twice in the preference", field="reserve_type_preference")
    allowed = frozenset(reserve_types) or frozenset(ReserveType)
    rest = allowed - set(preference)
    tiers = [frozenset({reserve_type}) for reserve_type in preference if reserve_type in allowed]
    return preference, tiers + ([rest] if rest else [])


def _allocate_nearest_first(
    stream: Iterator[_Hit], items: list[ItemRef], remaining: dict[int, Decimal]
) -> list[tuple[_Hit, list[Allocation]]]:
    """Take from each warehouse of the stream in turn until nothing remains (``remaining`` goes down);
    the warehouses that gave something, with what they gave. The stream is closed once all is covered."""
    chosen: list[tuple[_Hit, list[Allocation]]] = []
    for hit in stream:
        allocations = _take_from_warehouse(hit, items, remaining)
        if allocations:
            chosen.append((hit, allocations))
        if not any(remaining.values()):
            stream.close()
            break
    return chosen


def _take_from_warehouse(hit: _Hit, items: list[ItemRef], remaining: dict[int, Decimal]) -> list[Allocation]:
    """What one warehouse gives towards what remains, item by item, batches first-expiry-first-out."""
    allocations = []
    by_item: dict[int, list[_Line]] = {}
    for line in hit.lines:  # lines of items already covered are skipped without a pass over them each
        if remaining[line.item_id] > 0:
            by_item.setdefault(line.item_id, []).append(line)
    for ref in items:
        lines = by_item.get(ref.id)
        if not lines:
            continue
        for line in sorted(lines, key=_fefo_key) if len(lines) > 1 else lines:
            take = min(remaining[ref.id], line.available)
            if take <= 0:
                break
            remaining[ref.id] -= take
            allocations.append(Allocation(line.stock_line_id, ref, line.batch, line.expiry_date, line.available, take))
    return allocations


@dataclass(frozen=True)
class _Search:
    """What every tier of one search shares."""

    origin: Point
    item_ids: tuple[int, ...]
    radius_km: float
    today: dt.date
    include_expired: bool
    distance: DistanceProvider
    excluded_warehouse_ids: frozenset[int] = frozenset()


def _ranked_stock(
    connection: Connection, index: WarehouseIndex, search: _Search, tiers: Sequence[frozenset[ReserveType] | None]
) -> Iterator[_Hit]:
    """Active warehouses within the radius holding available stock of the items, tier by tier,
    each tier in exact (distance, code) order."""
    if not search.item_ids:
        return
    for tier_number, reserve_types in enumerate(tiers):
        for warehouse_id, distance_km, lines in _TierWalk(connection, index, search, reserve_types):
            yield _Hit(warehouse_id, distance_km, tier_number, lines)


class _TierWalk:
    """Walks outward from the incident over one tier's warehouses, yielding those with stock in exact order.

    A heap holds warehouses found holding stock, keyed first by their lower bound from the sphere and,
    once one of them comes to the top, by its exact distance (measured then: only the warehouses that
    may still be next are measured, about the limit's number, not every holder of a chunk). The top is
    final once it is measured and nearer than the lower bound of every warehouse not yet asked about
    (the next one on the sphere). At equal keys an unmeasured warehouse sorts first, so it is measured
    before an equal measured one is taken.
    """

    def __init__(
        self,
        connection: Connection,
        index: WarehouseIndex,
        search: _Search,
        reserve_types: frozenset[ReserveType] | None,
    ) -> None:
        self.connection, self.index, self.search = connection, index, search
        # Anything within the radius by the provider is within this much on the sphere (+1 km for rounding).
        self.candidates = index.near(
            search.origin,
            search.radius_km / GEODESIC_OVER_SPHERE_MIN + 1,
            reserve_types,
            excluded_ids=search.excluded_warehouse_ids,
        )

    def __iter__(self) -> Iterator[tuple[int, float, list[_Line]]]:
        positions, sphere_km = self.candidates.positions, self.candidates.sphere_km
        index, distance, origin, radius_km = self.index, self.search.distance, self.search.origin, self.search.radius_km
        ids, codes, latitudes, longitudes = index.id_list, index.codes, index.latitude_list, index.longitude_list
        measure_km, lower_bound_km = distance.measure_km, distance.lower_bound_km
        connection = self.connection
        # (key, measured, code, position, lines): key is the lower bound until measured, then the exact distance
        heap: list[tuple[float, bool, str, int, list[_Line]]] = []
        asked, chunk, count = 0, FIRST_CHUNK, len(positions)
        unasked_bound = lower_bound_km(float(sphere_km[0])) if count else math.inf
        while True:
            if heap and heap[0][0] < unasked_bound:
                key, measured, code, position, lines = heap[0]
                if key > radius_km:
                    return  # everything left is farther still (a bound is never above the distance)
                if measured:
                    heapq.heappop(heap)
                    yield ids[position], key, lines
                else:
                    exact = measure_km(origin, latitudes[position], longitudes[position])
                    heapq.heapreplace(heap, (exact, True, code, position, lines))
                continue
            if asked >= count:
                return
            batch = positions[asked : asked + chunk]
            batch_ids = index.ids.take(batch).tolist()
            found = self._available_lines(connection, batch_ids)
            if found:
                batch, bounds = batch.tolist(), sphere_km[asked : asked + chunk].tolist()
                for at, warehouse_id in enumerate(batch_ids):
                    lines = found.get(warehouse_id)
                    if lines is not None:
                        position = batch[at]
                        heapq.heappush(heap, (lower_bound_km(bounds[at]), False, codes[position], position, lines))
            asked += len(batch)
            chunk = min(asked, MAX_CHUNK)
            unasked_bound = lower_bound_km(float(sphere_km[asked])) if asked < count else math.inf

    def _available_lines(self, connection: Connection, warehouse_ids: list[int]) -> dict[int, list[_Line]]:
        """Lines with something available of the items in these warehouses: one query on the unique
        (warehouse_id, item_id, batch) index."""
        not_expired_on = dt.date.min if self.search.include_expired else self.search.today
        return _AVAILABLE_LINES.run(connection, warehouse_ids, self.search.item_ids, not_expired_on)


def _check_radius(radius_km: float) -> float:
    if isinstance(radius_km, bool) or not isinstance(radius_km, int | float) or not 0 < radius_km <= MAX_RADIUS_KM:
        raise ValidationFailed(f"radius_km must be above 0 and at most {MAX_RADIUS_KM}", field="radius_km")
    return float(radius_km)


def _wanted_items(
    session: Session, connection: Connection, item: str | None, category: Category | None
) -> list[ItemRef]:
    if item and category is not None:
        raise ValidationFailed("give an item or a category, not both", field="category")
    if item:  # the item, then its unit variants: listed in their own units, never added to the item's totals
        names = item_names(session)  # one worker-copy look-up for the item and its variants
        ref = names.resolve(item, "item")
        return [ref, *names.variants_of(ref.id)]
    if category is None:
        raise ValidationFailed("give an item (code, name or alias) or a category", field="item")
    return [ItemRef(*row) for row in connection.execute(_ITEMS_OF_CATEGORY, {"category": category})]


def _line_order(items: list[ItemRef]):
    """Lines grouped by item (catalogue order of the answer), each item's batches FEFO."""
    rank = {ref.id: number for number, ref in enumerate(items)}
    return lambda line: (rank[line.item_id], *line.fefo_key)


def _warehouse_summaries(index: WarehouseIndex, warehouse_ids: list[int]) -> dict[int, WarehouseSummary]:
    """From this worker's warehouse index: the search's warehouses, no query; each summary built once per index."""
    built = index.derived.setdefault(WarehouseSummary, {})
    found = {}
    for warehouse_id in warehouse_ids:
        summary = built.get(warehouse_id)
        if summary is None:
            summary = built[warehouse_id] = WarehouseSummary(*index.summaries[warehouse_id])
        found[warehouse_id] = summary
    return found


# The statements of the hot path, built once: building one costs more than running it here
# (~0.2 ms against ~0.03 ms on SQLite); each call only binds its values.
_ITEMS_OF_CATEGORY = select(*ITEM_REF_COLUMNS).where(Item.category == bindparam("category")).order_by(Item.code)


class _AvailableLines:
    """The hot stock query as the driver's own SQL: lines with something available of some items in some
    warehouses, on the unique (warehouse_id, item_id, batch) index.

    Sent on the connection's DB-API cursor (``db.driver_rows``: the engine's events still see it):
    SQLAlchemy rebuilds an expanding IN list's SQL at every call, and its execution costs more than the
    query. One text per IN-list size, the sizes padded to powers of two (repeating a value: IN ignores
    it), so the driver's statement cache (sqlite3) or prepared statements (psycopg, ``= ANY`` of one
    array, prepared after its fifth use on a connection) reuse a few texts. Values come back through the
    columns' own result processors (``Quantity``: integer thousandths to Decimal; ``Date``).
    """

    COLUMNS = "id, warehouse_id, item_id, batch, expiry_date, quantity - reserved"
    WHERE = "quantity > reserved AND (expiry_date IS NULL OR expiry_date >= {not_expired_on})"

    def __init__(self) -> None:
        self._texts: dict[tuple[str, int, int], str] = {}
        self._processors: dict[str, tuple] = {}

    def run(
        self, connection: Connection, warehouse_ids: list[int], item_ids: Sequence[int], not_expired_on: dt.date
    ) -> dict[int, list[_Line]]:
        dialect = connection.dialect
        expiry_bind, to_date, to_available, dates, amounts = self._processors_for(dialect)
        not_expired_on = expiry_bind(not_expired_on) if expiry_bind else not_expired_on
        if dialect.paramstyle == "pyformat":  # psycopg: one text whatever the sizes
            sql = self._text(dialect.name, 0, 0)
            fetched = driver_rows(
                connection,
                sql,
                {"warehouse_ids": warehouse_ids, "item_ids": list(item_ids), "not_expired_on": not_expired_on},
            )
        else:
            warehouses, items = _padded(warehouse_ids), _padded(list(item_ids))
            sql = self._text(dialect.name, len(warehouses), len(items))
            fetched = driver_rows(connection, sql, (*warehouses, *items, not_expired_on))
        found: dict[int, list[_Line]] = {}
        for line_id, warehouse_id, item_id, batch, expiry, available in fetched:
            # The driver's values, each distinct one converted once per worker (dicts looked up inline: a call per
            # value cost more than the query's rows); the results are immutable, so lines share them.
            amount = amounts.get(available)
            if amount is None:
                amount = _remember(amounts, available, to_available(available))
            if to_date is not None and expiry is not None:
                date = dates.get(expiry)
                expiry = _remember(dates, expiry, to_date(expiry)) if date is None else date
            lines = found.get(warehouse_id)
            if lines is None:
                found[warehouse_id] = [_Line(line_id, item_id, batch, expiry, amount)]
            else:
                lines.append(_Line(line_id, item_id, batch, expiry, amount))
        return found

    def _text(self, dialect_name: str, warehouses: int, items: int) -> str:
        key = (dialect_name, warehouses, items)
        text = self._texts.get(key)
        if text is None:
            if warehouses == 0:
                where = "warehouse_id = ANY(%(warehouse_ids)s) AND item_id = ANY(%(item_ids)s) AND " + self.WHERE
                where = where.format(not_expired_on="%(not_expired_on)s")
                text = f"SELECT {self.COLUMNS} FROM stock_line WHERE {where}"
            else:
                marks = lambda count: ", ".join("?" * count)  # noqa: E731
                where = f"warehouse_id IN ({marks(warehouses)}) AND item_id IN ({marks(items)}) AND " + self.WHERE
                text = f"SELECT {self.COLUMNS} FROM stock_line WHERE {where.format(not_expired_on='?')}"
            self._texts[key] = text
        return text

    def _processors_for(self, dialect) -> tuple:
        found = self._processors.get(dialect.name)
        if found is None:
            columns = StockLine.__table__.c
            expiry = columns.expiry_date.type.dialect_impl(dialect)
            quantity = columns.quantity.type.dialect_impl(dialect)
            # The driver gives one type per column (integer thousandths; an ISO text on SQLite, a date on psycopg),
            # so the value alone keys its conversion.
            found = (
                expiry.bind_processor(dialect),
                expiry.result_processor(dialect, None),
                quantity.result_processor(dialect, None),
                {},
                {},
            )
            self._processors[dialect.name] = found
        return found


def _remember(converted: dict, value: object, result: object) -> object:
    """``result`` kept as ``value``'s conversion, up to ``MEMO_ENTRIES`` values (then no more are kept)."""
    if len(converted) < MEMO_ENTRIES:
        converted[value] = result
    return result


def _padded(values: list[int]) -> list[int]:
    """``values`` repeated up to the next power of two (at least 1), for the IN list's size."""
    size = 1 << max(len(values) - 1, 0).bit_length()
    return values + [values[-1]] * (size - len(values))


_AVAILABLE_LINES = _AvailableLines()
