"""Coverage gaps: county-level places with no usable stock of an item or category within reach.

Run over every county of the country in well under a second: one SQL aggregate finds the warehouses
holding usable stock, numpy ranks them on the sphere for a block of places at a time, and exact
distances (the geodesic of ``inventory.geo``) decide, for each place's nearest holders only. Within
means at most: a place exactly at the radius is covered.

Coverage is national for every role: it says where stock is missing, which every role may already
see through the stock and nearest endpoints; holders across a province border count too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.catalogue import ItemRef, resolve_item
from inventory.clock import business_today
from inventory.errors import ValidationFailed
from inventory.geo import GEODESIC, DistanceProvider, Point, sphere_km_from_chords, unit_vectors
from inventory.models import Item, StockLine, Warehouse
from inventory.nearest import MAX_RADIUS_KM
from inventory.reference import Category, RegionLevel
from inventory.regions import region_names
from inventory.reports.common import usable_stock
from inventory.validation import check_quantity, require_one_of

DEFAULT_COVERAGE_RADIUS_KM = 100
MATRIX_CELLS = 2_000_000  # places × holders per numpy block: a 16 MB float64 array
# A sphere distance computed from a dot product is good to ~0.1 m near zero; a metre of slack keeps the
# lower bound below the true distance, so no holder that could be nearest is skipped.
SPHERE_SLACK_KM = 0.001


@dataclass(frozen=True)
class Place:
    """A county-level place: a county, or a prefecture city without counties (东莞, 中山, 儋州, 嘉峪关)."""

    code: str
    name: str
    city_code: str
    city_name: str
    province_code: str
    province_name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class CoverageGap:
    place: Place
    nearest_km: float | None  # None: no warehouse in the country holds usable stock
    nearest_warehouse_code: str | None


@dataclass(frozen=True)
class ProvinceCoverage:
    code: str
    name: str
    places: int
    uncovered: int


@dataclass(frozen=True)
class CoverageReport:
    item: ItemRef | None
    category: Category | None
    radius_km: float
    min_quantity: Decimal | None
    province: str | None
    as_of: dt.date
    distance: str
    holders: int
    places: int
    provinces: tuple[ProvinceCoverage, ...]
    gaps: tuple[CoverageGap, ...]


@dataclass(frozen=True)
class NearestTargets:
    km: np.ndarray  # the exact distance from each origin to its nearest target (inf: no target)
    positions: np.ndarray  # that target's position (-1: no target)


def coverage_gaps(
    session: Session,
    *,
    item: str | None = None,
    category: Category | None = None,
    radius_km: float = DEFAULT_COVERAGE_RADIUS_KM,
    min_quantity: object = None,
    province: str | None = None,
    today: dt.date | None = None,
    distance: DistanceProvider = GEODESIC,
) -> CoverageReport:
    """County-level places with no usable stock within ``radius_km`` (≤: a place exactly at the radius is covered).

    Usable: available (on hand minus reserved) in unexpired batches of active warehouses; with
    ``min_quantity`` (an item only), a warehouse counts when it alone holds that much. Holders anywhere
    count, also across a province border. One SQL aggregate finds the holders; numpy ranks them on the
    sphere per place; exact distances (``distance``) decide, for each place's nearest holder.
    """
    if isinstance(radius_km, bool) or not isinstance(radius_km, int | float) or not 0 < radius_km <= MAX_RADIUS_KM:
        raise ValidationFailed(f"radius_km must be above 0 and at most {MAX_RADIUS_KM}", field="radius_km")
    ref, item_ids = wanted_items(session, item, category)
    if min_quantity is not None:
        if ref is None:
            raise ValidationFailed("min_quantity needs an item: a category mixes units", field="min_quantity")
        min_quantity = check_quantity(min_quantity, "min_quantity")
    today = today or business_today()
    places = county_level_places(session, province)
    holders = usable_holders(session, item_ids, today, min_quantity)
    nearest = nearest_targets(
        [Point(place.latitude, place.longitude) for place in places],
        [Point(latitude, longitude) for _code, latitude, longitude in holders],
        [code for code, _lat, _lon in holders],
        distance,
    )
    gaps = []
    tally: dict[tuple[str, str], list[int]] = {}
    for place, km, position in zip(places, nearest.km.tolist(), nearest.positions.tolist(), strict=True):
        counts = tally.setdefault((place.province_code, place.province_name), [0, 0])
        counts[0] += 1
        if km > radius_km:
            counts[1] += 1
            found = position >= 0
            gaps.append(CoverageGap(place, km if found else None, holders[position][0] if found else None))
    return CoverageReport(
        item=ref,
        category=category if ref is None else None,
        radius_km=float(radius_km),
        min_quantity=min_quantity,
        province=province,
        as_of=today,
        distance=distance.name,
        holders=len(holders),
        places=len(places),
        provinces=tuple(ProvinceCoverage(code, name, n, gap) for (code, name), (n, gap) in sorted(tally.items())),
        gaps=tuple(gaps),
    )


def wanted_items(session: Session, item: str | None, category: Category | None) -> tuple[ItemRef | None, list[int]]:
    """The item (code, name or alias) and its id, or no item and the ids of the category's items."""
    require_one_of(item, category, "item", "category", "an item (code, name or alias) or a category")
    if item:
        found = resolve_item(session, item)
        return found, [found.id]
    return None, list(session.scalars(select(Item.id).where(Item.category == category)))


def county_level_places(session: Session, province: str | None = None) -> list[Place]:
    """Every place a warehouse can sit in (``RegionNames.is_county_level``), with its city and province."""
    names = region_names(session)
    top_level = names.by_code.get(province or "")
    if province is not None and (top_level is None or top_level.level is not RegionLevel.PROVINCE):
        raise ValidationFailed(f"{province!r} is not a province code", field="province")
    places = []
    for code in sorted(names.by_code):
        if not names.is_county_level(code) or (province is not None and names.province_of(code) != province):
            continue
        row, city, top = names.by_code[code], names.by_code[names.city_of(code)], names.by_code[names.province_of(code)]
        places.append(Place(code, row.name, city.code, city.name, top.code, top.name, row.latitude, row.longitude))
    return places


def usable_holders(
    session: Session, item_ids: list[int], today: dt.date, min_quantity: Decimal | None
) -> list[tuple[str, float, float]]:
    """(code, lat, lon) of the active warehouses with usable available stock of the items: one aggregate."""
    if not item_ids:
        return []
    available = func.sum(StockLine.quantity - StockLine.reserved)  # a Quantity: binds min_quantity right
    stmt = (
        select(Warehouse.code, Warehouse.latitude, Warehouse.longitude)
        .join(StockLine, StockLine.warehouse_id == Warehouse.id)
        .where(StockLine.item_id.in_(item_ids), StockLine.quantity > StockLine.reserved, usable_stock(today))
        .group_by(Warehouse.id, Warehouse.code, Warehouse.latitude, Warehouse.longitude)
        .order_by(Warehouse.code)
    )
    if min_quantity is not None:
        stmt = stmt.having(available >= min_quantity)
    return [tuple(row) for row in session.execute(stmt)]


def nearest_targets(
    origins: Sequence[Point], targets: Sequence[Point], target_keys: Sequence[str], distance: DistanceProvider
) -> NearestTargets:
    """For each origin, the exact distance to its nearest target (ties by key), without measuring every pair.

    Blocks of origins × all targets are ranked on the sphere with numpy; the provider measures each origin's
    sphere-nearest target, then only the targets whose lower bound does not exceed that distance.
    """
    km = np.full(len(origins), math.inf)
    positions = np.full(len(origins), -1, dtype=np.int64)
    if not origins or not targets:
        return NearestTargets(km, positions)
    origin_vectors = unit_vectors(np.array([p.latitude for p in origins]), np.array([p.longitude for p in origins]))
    target_vectors = unit_vectors(np.array([p.latitude for p in targets]), np.array([p.longitude for p in targets]))
    block = max(1, MATRIX_CELLS // len(targets))
    for start in range(0, len(origins), block):
        cosines = origin_vectors[start : start + block] @ target_vectors.T
        sphere = sphere_km_from_chords(np.sqrt(np.maximum(2.0 - 2.0 * cosines, 0.0)))
        first = sphere.argmin(axis=1)
        best = np.array(
            [distance.distance_km(origins[start + row], targets[j]) for row, j in enumerate(first.tolist())]
        )
        chosen = first.copy()
        maybe_nearer = distance.lower_bound_km(sphere - SPHERE_SLACK_KM) <= best[:, None]
        maybe_nearer[np.arange(len(first)), first] = False
        for row, j in zip(*(axis.tolist() for axis in np.nonzero(maybe_nearer)), strict=True):
            measured = distance.distance_km(origins[start + row], targets[j])
            if (measured, target_keys[j]) < (best[row], target_keys[chosen[row]]):
                best[row], chosen[row] = measured, j
        km[start : start + len(first)] = best
        positions[start : start + len(first)] = chosen
    return NearestTargets(km, positions)
