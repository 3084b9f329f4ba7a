"""The nearest search's geodesics (pyproj, in C) against geopy, which stays the reference."""

from __future__ import annotations

import numpy as np
from geopy.distance import geodesic

from inventory.geo import EARTH_MEAN_RADIUS_KM, GEODESIC, Point, WarehouseIndex, unit_vector, unit_vectors

# A few nanometres are seen (float rounding of two ports of the same algorithm); the answers are
# rounded to the metre and the oracle tests compare to 1e-9 km (a micrometre), so 1e-10 km leaves room.
TOLERANCE_KM = 1e-10


def test_measured_geodesics_agree_with_geopy_across_china():
    rng = np.random.default_rng(20261130)
    origins = [
        Point(float(lat), float(lon))
        for lat, lon in zip(rng.uniform(18, 54, 40), rng.uniform(73, 135, 40), strict=True)
    ]
    for number, origin in enumerate(origins):
        spread = 0.05 if number % 4 == 0 else (3.0 if number % 4 == 1 else 30.0)  # a few km to across the country
        latitudes = np.clip(origin.latitude + rng.uniform(-spread, spread, 50), -89.9, 89.9)
        longitudes = origin.longitude + rng.uniform(-spread, spread, 50)
        latitudes[0], longitudes[0] = origin.latitude, origin.longitude  # the same place: zero
        measured = np.array(
            [
                GEODESIC.measure_km(origin, lat, lon)
                for lat, lon in zip(latitudes.tolist(), longitudes.tolist(), strict=True)
            ]
        )
        expected = [
            geodesic((origin.latitude, origin.longitude), (lat, lon)).km
            for lat, lon in zip(latitudes.tolist(), longitudes.tolist(), strict=True)
        ]
        assert np.max(np.abs(measured - np.array(expected))) <= TOLERANCE_KM
        assert measured[0] == 0


def test_identical_places_measure_identically():
    """Ties keep their warehouse-code order only if equal coordinates give equal distances."""
    origin = Point(39.9, 116.4)
    measured = [GEODESIC.measure_km(origin, 31.2, 121.5) for _ in range(3)]
    assert len(set(measured)) == 1
    assert abs(measured[0] - GEODESIC.distance_km(origin, Point(31.2, 121.5))) <= TOLERANCE_KM


def test_one_points_unit_vector_is_the_vectorised_one():
    # geo.unit_vector writes unit_vectors' formula again with the math module (per search, one point): they agree.
    rng = np.random.default_rng(7)
    latitudes, longitudes = rng.uniform(-90, 90, 500), rng.uniform(-180, 180, 500)
    many = unit_vectors(latitudes, longitudes)
    for at, (latitude, longitude) in enumerate(zip(latitudes.tolist(), longitudes.tolist(), strict=True)):
        assert np.allclose(unit_vector(Point(latitude, longitude)), many[at], rtol=0, atol=1e-15)


def test_the_latitude_band_screen_finds_what_screening_every_warehouse_finds():
    """near() screens only the latitudes a search can reach: the same candidates, in the same order, as the dot
    product over every warehouse, for radii from metres to the whole sphere, at the poles and across 180°."""
    rng = np.random.default_rng(11)
    count = 3000
    latitudes = np.concatenate([rng.uniform(-90, 90, count - 6), [90, -90, 89.999, 0, 0, 0]])
    longitudes = np.concatenate([rng.uniform(-180, 180, count - 6), [0, 0, 179.999, -180, 180, 0.00001]])
    index = WarehouseIndex(
        1,
        np.arange(count, dtype=np.int64),
        [f"W{n}" for n in range(count)],
        np.zeros(count, dtype=np.int8),
        latitudes,
        longitudes,
        [()] * count,
    )
    origins = [
        Point(float(lat), float(lon)) for lat, lon in zip(index.latitudes[:40], index.longitudes[:40], strict=True)
    ]
    origins += [Point(90, 0), Point(-89.9, 10), Point(0, 180), Point(0, -179.99), Point(0, 0)]
    for origin in origins:
        centre = unit_vector(origin)
        for radius_km in (0.001, 1, 50, 300, 3000, 30_000):
            found = index.near(origin, radius_km)
            angle = min(radius_km / EARTH_MEAN_RADIUS_KM, np.pi)
            everywhere = np.flatnonzero(index.vectors @ centre >= np.cos(angle) - 1e-9)
            assert sorted(found.positions.tolist()) == everywhere.tolist(), (origin, radius_km)
            assert np.all(np.diff(found.sphere_km) >= 0)
