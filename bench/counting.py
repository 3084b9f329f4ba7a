"""What the bench scripts share: a geodesic that counts the exact distances it is asked for."""

from __future__ import annotations

from inventory.geo import GEODESIC, Point


class CountingGeodesic:
    """The service's geodesic, counting the exact distances it is asked for."""

    name = GEODESIC.name

    def __init__(self) -> None:
        self.calls = 0

    def distance_km(self, origin: Point, target: Point) -> float:
        self.calls += 1
        return GEODESIC.distance_km(origin, target)

    def measure_km(self, origin: Point, latitude: float, longitude: float) -> float:
        self.calls += 1
        return GEODESIC.measure_km(origin, latitude, longitude)

    def lower_bound_km(self, sphere_km: float) -> float:
        return GEODESIC.lower_bound_km(sphere_km)
