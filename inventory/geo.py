"""Where things are: incident locations, distances, and a per-worker index of warehouse coordinates.

Ranking warehouses by exact geodesic distance costs ~65-85 µs a pair, too slow for thousands of
warehouses per request. The index orders them on a sphere with numpy instead (microseconds for
all of them), and a ``DistanceProvider`` measures only the few candidates that can still make
the answer, using a lower bound that the sphere provably gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from geographiclib.geodesic import Geodesic
from geopy.distance import ELLIPSOIDS
from pyproj import Geod
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import worker_cache
from inventory.errors import ValidationFailed
from inventory.models import Region, Warehouse
from inventory.reference import ReserveType, WarehouseStatus
from inventory.regions import find_region

EARTH_MEAN_RADIUS_KM = 6371.0088  # IUGG mean radius R1 of WGS-84
# The WGS-84 geodesic is at least 99.44 % of the great-circle distance on the mean sphere (the
# ratio is bounded by the smallest radius of curvature, 6335.4 km at the equator, over R1).
# 0.99 leaves a margin, so pruning by the sphere never drops a warehouse that belongs in the answer.
GEODESIC_OVER_SPHERE_MIN = 0.99
RESERVE_TYPE_CODES = {reserve_type: number for number, reserve_type in enumerate(ReserveType)}


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Incident:
    """Where stock is needed: a coordinate, and the county it came from when given by county."""

    point: Point
    county_code: str | None = None
    county_name: str | None = None


class DistanceProvider(Protocol):
    """How far a warehouse is from the incident, in km; the search ranks by it.

    The geodesic is the honest default; a road-network provider (travel distance) can replace it
    as long as ``lower_bound_km`` stays a lower bound (a road is never shorter than the geodesic).
    """

    name: str

    def distance_km(self, origin: Point, target: Point) -> float: ...

    def measure_km(self, origin: Point, latitude: float, longitude: float) -> float:
        """``distance_km`` to one place given by its coordinates: what the nearest search asks of each warehouse
        that may come next, one at a time (the walk measures about the limit's number)."""
        ...

    def lower_bound_km(self, sphere_km: float) -> float:
        """No place at ``sphere_km`` on the mean sphere can measure less than this."""
        ...


class GeodesicDistance:
    """The WGS-84 geodesic, computed exactly as ``geopy.distance.geodesic(a, b).km``.

    geopy builds two Point objects per call; calling geographiclib with geopy's own ellipsoid (in
    km) gives bit-identical results in about two thirds of the time. The search's own measurements
    (``measure_km``) go to PROJ's C port of the same algorithm (pyproj's scalar path, ~2 µs a pair
    against ~70): it agrees with geopy to a few nanometres (tests/unit/test_geodesics.py states the
    tolerance), far below the metre the answers are rounded to.
    """

    name = "geodesic"

    def __init__(self) -> None:
        major, _minor, flattening = ELLIPSOIDS["WGS-84"]
        self._geodesic = Geodesic(major, flattening)
        self._inverse = Geod(a=major * 1000, f=flattening).inv  # on floats: one C call, no buffers

    def distance_km(self, origin: Point, target: Point) -> float:
        return self._geodesic.Inverse(
            origin.latitude, origin.longitude, target.latitude, target.longitude, Geodesic.DISTANCE
        )["s12"]

    def measure_km(self, origin: Point, latitude: float, longitude: float) -> float:
        return self._inverse(origin.longitude, origin.latitude, longitude, latitude)[2] / 1000

    def lower_bound_km(self, sphere_km: float) -> float:
        # The millimetre absorbs float rounding of the sphere distance near zero.
        return sphere_km * GEODESIC_OVER_SPHERE_MIN - 1e-6


GEODESIC = GeodesicDistance()


def unit_vectors(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, shape (n, 3): the great-circle order is the chord order."""
    lat = np.radians(latitudes)
    lon = np.radians(longitudes)
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def sphere_km_from_chords(chords: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Great-circle distance on the mean sphere from chord lengths (exact near zero, unlike acos); into ``out``
    (``chords`` itself may be given) rather than a new array."""
    halves = np.multiply(chords, 0.5, out=out)  # / 2, exactly
    np.minimum(halves, 1.0, out=halves)
    np.arcsin(halves, out=halves)
    halves *= 2 * EARTH_MEAN_RADIUS_KM
    return halves


@dataclass(frozen=True)
class Candidates:
    """Warehouses of the index near a point, nearest first on the sphere."""

    positions: np.ndarray  # into the index arrays
    sphere_km: np.ndarray


# What a nearest answer says of a warehouse besides its id, code and coordinates (kept in the index: no query
# per answer).
WAREHOUSE_DETAILS = (
    Warehouse.name,
    Warehouse.reserve_type,
    Warehouse.county_code,
    Region.name,
    Warehouse.city_code,
    Warehouse.province_code,
    Warehouse.contact_person,
    Warehouse.contact_phone,
)


class WarehouseIndex:
    """Coordinates of the active warehouses as numpy arrays, tagged with the data version they reflect.

    Positions go by latitude (by id within one latitude): ``near`` screens only the band of latitudes a
    search can reach, one slice of the arrays.
    """

    def __init__(
        self,
        version: int,
        ids: np.ndarray,
        codes: list[str],
        reserve_types: np.ndarray,
        latitudes: np.ndarray,
        longitudes: np.ndarray,
        summaries: list[tuple],
    ) -> None:
        self.version = version
        order = np.lexsort((ids, latitudes))
        ids, reserve_types = ids[order], reserve_types[order]
        latitudes, longitudes = latitudes[order], longitudes[order]
        codes, summaries = [codes[at] for at in order.tolist()], [summaries[at] for at in order.tolist()]
        self.ids = ids
        self.id_list: list[int] = ids.tolist()  # the same ids as Python ints: per-position reads in the walk
        self.codes = codes
        self.reserve_types = reserve_types
        self.latitudes = latitudes
        self.longitudes = longitudes
        # The same coordinates as Python floats: what the search's one-pair measurements read, per position.
        self.latitude_list: list[float] = latitudes.tolist()
        self.longitude_list: list[float] = longitudes.tolist()
        self.vectors = unit_vectors(latitudes, longitudes)
        # Warehouse id -> (id, code, *WAREHOUSE_DETAILS, latitude, longitude): the fields of nearest's
        # WarehouseSummary in its order, so an answer names its warehouses without a query.
        self.summaries = dict(zip(self.id_list, summaries, strict=True))
        # What callers build from these rows once per index rather than per request (nearest's WarehouseSummary
        # objects: immutable, so requests and threads share them); dropped with the index.
        self.derived: dict = {}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, session: Session, version: int) -> WarehouseIndex:
        rows = session.execute(
            select(
                Warehouse.id,
                Warehouse.code,
                Warehouse.reserve_type,
                Warehouse.latitude,
                Warehouse.longitude,
                *WAREHOUSE_DETAILS,
            )
            .outerjoin(Region, Region.code == Warehouse.county_code)
            .where(Warehouse.status == WarehouseStatus.ACTIVE)
            .order_by(Warehouse.id)
        ).all()
        return cls(
            version,
            ids=np.array([row[0] for row in rows], dtype=np.int64),
            codes=[row[1] for row in rows],
            reserve_types=np.array([RESERVE_TYPE_CODES[row[2]] for row in rows], dtype=np.int8),
            latitudes=np.array([row[3] for row in rows], dtype=np.float64),
            longitudes=np.array([row[4] for row in rows], dtype=np.float64),
            summaries=[(row[0], row[1], *row[5:], float(row[3]), float(row[4])) for row in rows],
        )

    def near(
        self,
        origin: Point,
        max_sphere_km: float,
        reserve_types: frozenset[ReserveType] | None = None,
        excluded_ids: frozenset[int] = frozenset(),
    ) -> Candidates:
        """Warehouses within ``max_sphere_km`` on the sphere (of these reserve types), nearest first."""
        centre = unit_vector(origin)
        # One matrix-vector product screens the warehouses: for unit vectors the dot product is
        # cos(angle). Only the few inside get an exact distance, from the chord (exact near zero).
        angle = min(max_sphere_km / EARTH_MEAN_RADIUS_KM, math.pi)
        # No place within the angle differs from the origin by more than the angle in latitude: only that band is
        # screened (a slice: positions go by latitude). The margin covers the screen's own tolerance below.
        reach = math.degrees(angle) + BAND_MARGIN_DEGREES
        start, stop = np.searchsorted(self.latitudes, (origin.latitude - reach, origin.latitude + reach)).tolist()
        screened = self.vectors[start:stop] @ centre
        positions = np.flatnonzero(screened >= math.cos(angle) - 1e-9)
        positions += start
        if reserve_types is not None and len(reserve_types) < len(RESERVE_TYPE_CODES):  # all types: nothing to drop
            wanted = np.array([RESERVE_TYPE_CODES[t] for t in reserve_types], dtype=np.int8)
            positions = positions[np.isin(self.reserve_types[positions], wanted)]
        if excluded_ids:
            positions = positions[~np.isin(self.ids[positions], np.fromiter(excluded_ids, dtype=np.int64))]
        offsets = self.vectors.take(positions, axis=0)  # take: a fraction of fancy indexing's cost
        offsets -= centre  # in place, as below: a few hundred rows, where numpy's per-call cost is most of it
        squared_chords = np.einsum("ij,ij->i", offsets, offsets)
        # The chord grows with the arc: sort before converting. Not a stable sort (on these arrays ~3 times the
        # cost): the order among equal distances is the walk's (by code), not this one's.
        order = squared_chords.argsort()
        chords = np.sqrt(squared_chords.take(order))
        return Candidates(positions.take(order), sphere_km_from_chords(chords, out=chords))


# More than the 1e-9 tolerance of near()'s screen can admit beyond its angle (at most 0.0026°, for an angle near 0).
BAND_MARGIN_DEGREES = 0.01


def unit_vector(point: Point) -> np.ndarray:
    """``unit_vectors`` of one point, with the math module (a tenth of numpy's cost on one value)."""
    latitude, longitude = math.radians(point.latitude), math.radians(point.longitude)
    cos_lat = math.cos(latitude)
    return np.array((cos_lat * math.cos(longitude), cos_lat * math.sin(longitude), math.sin(latitude)))


def warehouse_index(session: Session) -> WarehouseIndex:
    """This worker's index of the active warehouses, reloaded when any warehouse changed."""
    return worker_cache(session, ("warehouse",), WarehouseIndex.load)


def locate_incident(
    session: Session,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    county: str | None = None,
) -> Incident:
    """The incident's coordinate: given directly, or a county (or city) code or name from the region table."""
    has_coordinate = latitude is not None or longitude is not None
    county = (county or "").strip() or None
    if has_coordinate and county:
        raise ValidationFailed("give the incident location as lat/lon or as county, not both", field="county")
    if county:
        region = find_region(session, county)
        return Incident(Point(region.latitude, region.longitude), region.code, region.name)
    if not has_coordinate:
        raise ValidationFailed("give the incident location: lat and lon, or county", field="lat")
    if latitude is None:
        raise ValidationFailed("lat is required with lon", field="lat")
    if longitude is None:
        raise ValidationFailed("lon is required with lat", field="lon")
    latitude, longitude = float(latitude), float(longitude)
    if not -90 <= latitude <= 90:
        raise ValidationFailed("lat must be between -90 and 90", field="lat")
    if not -180 <= longitude <= 180:
        raise ValidationFailed("lon must be between -180 and 180", field="lon")
    return Incident(Point(latitude, longitude))
