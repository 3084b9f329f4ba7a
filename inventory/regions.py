"""The GB/T 2260 region hierarchy: loading the shipped file and resolving codes and names."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.errors import NotFound, ValidationFailed
from inventory.models import Region, Warehouse
from inventory.reference import RegionLevel

REGIONS_CSV = Path(__file__).parent / "data" / "regions.csv"


@dataclass(frozen=True)
class RegionPath:
    """Where a warehouse sits: its county-level unit and the city and province above it."""

    county_code: str
    city_code: str
    province_code: str


def read_region_file(path: Path = REGIONS_CSV) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "code": row["code"],
                "name": row["name"],
                "level": RegionLevel(row["level"]),
                "parent_code": row["parent_code"] or None,
                "latitude": float(row["latitude"]),
                "longitude": float(row["longitude"]),
                "approximate": row["approximate"] == "1",
            }
            for row in csv.DictReader(handle)
        ]


def load_regions(session: Session, path: Path = REGIONS_CSV) -> dict[str, int]:
    """Insert or update every region from the shipped file, parents first. Returns counts."""
    rows = read_region_file(path)
    order = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
    rows.sort(key=lambda r: (order[r["level"]], r["code"]))
    existing = {region.code: region for region in session.scalars(select(Region))}
    inserted = updated = 0
    for row in rows:
        region = existing.get(row["code"])
        if region is None:
            session.add(Region(**row))
            inserted += 1
        elif any(getattr(region, key) != value for key, value in row.items()):
            for key, value in row.items():
                setattr(region, key, value)
            updated += 1
        if row["level"] is RegionLevel.PROVINCE or inserted % 500 == 0:
            session.flush()
    session.flush()
    return {"inserted": inserted, "updated": updated, "total": len(rows)}


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"no region with code {code!r}", field="code")
    return region


def list_regions(
    session: Session, *, level: RegionLevel | None = None, parent_code: str | None = None, name: str | None = None
):
    """A select of regions, filtered; the edge paginates it."""
    stmt = select(Region).order_by(Region.code)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    if parent_code is not None:
        stmt = stmt.where(Region.parent_code == parent_code)
    if name:
        stmt = stmt.where(Region.name.icontains(name, autoescape=True))
    return stmt


def resolve_region_path(session: Session, code: str, *, field: str = "county_code") -> RegionPath:
    """Check that ``code`` is a place a warehouse can sit in and return its county/city/province.

    That is a county-level unit, or a prefecture-level city with no counties under it
    (东莞, 中山, 嘉峪关, 儋州 administer towns directly).
    """
    region = session.get(Region, code)
    if region is None:
        raise ValidationFailed(f"unknown region code {code!r}", field=field)
    if region.level is RegionLevel.COUNTY:
        city = region.parent
        assert city is not None and city.parent_code is not None
        return RegionPath(region.code, city.code, city.parent_code)
    if region.level is RegionLevel.CITY:
        has_counties = session.scalar(select(func.count()).select_from(Region).where(Region.parent_code == region.code))
        if not has_counties:
            assert region.parent_code is not None
            return RegionPath(region.code, region.code, region.parent_code)
    raise ValidationFailed(
        f"region {code} ({region.name}) is a {region.level.value}; give the county-level unit", field=field
    )


def region_filter(session: Session, code: str, *, field: str = "region"):
    """A where-clause matching warehouses inside the region ``code`` at whatever level it is."""
    region = session.get(Region, code)
    if region is None:
        raise ValidationFailed(f"unknown region code {code!r}", field=field)
    column = {
        RegionLevel.PROVINCE: Warehouse.province_code,
        RegionLevel.CITY: Warehouse.city_code,
        RegionLevel.COUNTY: Warehouse.county_code,
    }[region.level]
    return column == code
