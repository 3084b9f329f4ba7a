"""The GB/T 2260 region hierarchy: loading the shipped file and resolving codes and names."""

from __future__ import annotations

import csv
import math
import re
import unicodedata
import weakref
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inventory.db import loading_session, per_engine_cache
from inventory.errors import DomainError, NotFound, ValidationFailed
from inventory.models import Region, Warehouse
from inventory.reference import RegionLevel

REGIONS_CSV = Path(__file__).parent / "data" / "regions.csv"
# The column of ``Warehouse`` holding its region at each level.
WAREHOUSE_REGION_COLUMN = {
    RegionLevel.PROVINCE: Warehouse.province_code,
    RegionLevel.CITY: Warehouse.city_code,
    RegionLevel.COUNTY: Warehouse.county_code,
}
# Longest first: the administrative suffixes people may type or leave out (北京市 = 北京, 东城区 = 东城).
REGION_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "地区",
    "林区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
)


# One administrative unit at the head of an address (江苏省 南京市 玄武区 …), shortest match first.
ADDRESS_PART = re.compile(r".+?(?:特别行政区|自治区|自治州|自治县|自治旗|地区|林区|新区|省|市|区|县|旗|盟)")
ADDRESS_PARTS = 4  # province, city, county, and one more for a district named like a county


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
    if inserted or updated:
        _region_names.pop(session.get_bind(), None)  # other processes see new regions when restarted
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
    """Check that ``code`` is a county-level place (``RegionNames``) and return its county/city/province."""
    names = region_names(session)
    region = names.by_code.get(code)
    if region is None:
        raise ValidationFailed(f"unknown region code {code!r}", field=field)
    if names.is_county_level(code):
        return RegionPath(code, names.city_of(code), names.province_of(code))
    raise ValidationFailed(
        f"region {code} ({region.name}) is a {region.level.value}; give the county-level unit", field=field
    )


def region_filter(session: Session, code: str, *, field: str = "region"):
    """A where-clause matching warehouses inside the region ``code`` at whatever level it is."""
    region = session.get(Region, code)
    if region is None:
        raise ValidationFailed(f"unknown region code {code!r}", field=field)
    return WAREHOUSE_REGION_COLUMN[region.level] == code


def name_key(text: str) -> str:
    """A place name as compared: NFKC (full width → half width), case folded, no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZC")


def region_keys(name: str) -> list[str]:
    """A region name as typed, then without its administrative suffix (北京市 → 北京, 东城区 → 东城)."""
    key = name_key(name)
    keys = [key]
    for suffix in REGION_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            keys.append(key[: -len(suffix)])
            break
    return keys


def names_agree(typed: str, name: str) -> bool:
    """Whether a typed place name can mean the region called ``name`` (with or without its suffix)."""
    return bool(set(region_keys(typed)) & set(region_keys(name)))


@dataclass(frozen=True, slots=True)
class PlaceGiven:
    """Where an input says something is: region codes and names as given, blank when not."""

    county_code: str = ""
    county_name: str = ""
    city_code: str = ""
    city_name: str = ""
    province_code: str = ""
    province_name: str = ""


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    latitude: float
    longitude: float


class RegionNames:
    """The region hierarchy by code and by name: the one home of place-name matching.

    A *county-level place* (where a warehouse can sit) is a county-level unit, or a prefecture-level
    city with no counties under it (东莞, 中山, 嘉峪关, 儋州 administer towns directly).
    """

    def __init__(self, version: int, rows: list[RegionRow]) -> None:
        self.version = version
        self.by_code = {row.code: row for row in rows}
        parents = {row.parent_code for row in rows if row.parent_code}
        self.cities_without_counties = frozenset(
            row.code for row in rows if row.level is RegionLevel.CITY and row.code not in parents
        )
        self._places: dict[str, list[str]] = {}  # name key → county-level places
        self._cities: dict[str, list[str]] = {}  # name key → prefecture-level cities
        self._any: dict[str, list[str]] = {}  # name key → regions of every level
        for row in sorted(rows, key=lambda row: row.code):
            for key in region_keys(row.name):
                self._any.setdefault(key, []).append(row.code)
            targets = []
            if self.is_county_level(row.code):
                targets.append(self._places)
            if row.level is RegionLevel.CITY:
                targets.append(self._cities)
            for target in targets:
                for key in region_keys(row.name):
                    target.setdefault(key, []).append(row.code)

    @classmethod
    def load(cls, session: Session, version: int) -> RegionNames:
        columns = (Region.code, Region.name, Region.level, Region.parent_code, Region.latitude, Region.longitude)
        return cls(version, [RegionRow(*row) for row in session.execute(select(*columns))])

    def is_county_level(self, code: str) -> bool:
        row = self.by_code.get(code)
        return row is not None and (row.level is RegionLevel.COUNTY or code in self.cities_without_counties)

    def city_of(self, code: str) -> str:
        """The prefecture-level city of a county-level place (itself, for a city without counties)."""
        if code in self.cities_without_counties:
            return code
        row = self.by_code.get(code)
        return (row.parent_code or "") if row else ""

    def province_of(self, code: str) -> str:
        return code[:2] + "0000"

    def places_named(
        self,
        county_name: str = "",
        city_name: str = "",
        province_name: str = "",
        *,
        city_code: str = "",
        province_code: str = "",
    ) -> list[str]:
        """The county-level places a county (or, without it, a city) name can mean, narrowed by what is given."""
        if county_name:
            candidates = list(dict.fromkeys(self._places.get(name_key(county_name), [])))
        elif city_name:
            candidates = [c for c in self._places.get(name_key(city_name), []) if c in self.cities_without_counties]
        else:
            return []
        if city_code:
            candidates = [c for c in candidates if self.city_of(c) == city_code]
        elif city_name and county_name:
            candidates = [c for c in candidates if names_agree(city_name, self.by_code[self.city_of(c)].name)]
        if province_code:
            candidates = [c for c in candidates if c[:2] == province_code[:2]]
        elif province_name:
            candidates = [c for c in candidates if names_agree(province_name, self.by_code[self.province_of(c)].name)]
        return candidates

    def county_for(self, place: PlaceGiven) -> str:
        """The county-level code a place is given by: its code as given, else the one place its names mean.

        "" when neither a county nor a city is named; ``DomainError`` on ``county_name`` (or ``city_name``)
        when the names mean no place, or several.
        """
        county_code, county_name, city_name = place.county_code, place.county_name, place.city_name
        province_name = place.province_name
        if county_code:
            return county_code
        if not county_name and not city_name:
            return ""
        candidates = self.places_named(
            county_name, city_name, province_name, city_code=place.city_code, province_code=place.province_code
        )
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:  # a path in one cell: 南京市玄武区, 江苏省南京市玄武区
            in_path = self.county_in_address(province_name + city_name + county_name)
            if in_path:
                return in_path
        words = " ".join(filter(None, (province_name, city_name, county_name)))
        problem = "no county-level unit is called" if not candidates else f"{len(candidates)} places are called"
        raise DomainError(
            f"{problem} {words!r}: give the county code (区县代码), or the province and city names",
            field="county_name" if county_name else "city_name",
        )

    def county_in_address(self, address: str, *, strict: bool = False) -> str:
        """The county-level place a Chinese address names (province, city and county in that order), or "".

        The last of its leading units that names county-level places decides; the units before it narrow
        them (a province or city they must lie in). "" when no unit names one, or several places remain.
        ``strict``: "" too when a unit before names a province or city the place does not lie in (上海市海淀区
        is no place, where an address read leniently takes 海淀区 and lets the typo be).
        """
        text, parts, position = name_key(address), [], 0
        while len(parts) < ADDRESS_PARTS and (match := ADDRESS_PART.match(text, position)):
            parts.append(match.group(0))
            position = match.end()
        for index in range(len(parts) - 1, -1, -1):
            candidates = list(dict.fromkeys(self._places.get(parts[index], [])))
            for earlier in parts[:index]:
                narrowed = [code for code in candidates if self._lies_in(code, earlier)]
                if strict and not narrowed and self._names_province_or_city(earlier):
                    return ""
                candidates = narrowed or candidates
            if candidates:
                return candidates[0] if len(candidates) == 1 else ""
        return self._run_on_county(text)

    def names_several_counties(self, text: str) -> bool:
        """Whether more than one part of ``text`` names county-level places (东城区、西城区物资储备汇总表): a
        title so written is about several counties, and gives its rows none (``county_in_address`` would take
        the last)."""
        key, position, named = name_key(text), 0, 0
        for _part in range(2 * ADDRESS_PARTS):  # a title's leading parts; a cell's length is bounded anyway
            match = ADDRESS_PART.match(key, position)
            if match is None:
                break
            named += bool(self._places.get(match.group(0).lstrip("和与及")))
            position = match.end()
        return named > 1

    def _run_on_county(self, text: str) -> str:
        """The county-level place a run of names without their suffixes means (北京海淀, 江苏南京鼓楼, 北京市海淀),
        or "": each name before the last a province or city the rest lies in, the last a county-level place
        there; one place, or none when the run can be read as several."""
        found: set[str] = set()
        levels = (RegionLevel.PROVINCE, RegionLevel.CITY)

        def read(rest: str, outer: str, depth: int) -> None:
            for cut in range(1, len(rest)):
                for code in self._any.get(rest[:cut], []):
                    if self.by_code[code].level not in levels or (outer and not self.within(code, outer)):
                        continue
                    tail = rest[cut:]
                    found.update(place for place in self._places.get(tail, []) if self.within(place, code))
                    if depth < ADDRESS_PARTS - 2:
                        read(tail, code, depth + 1)

        read(text, "", 0)
        return found.pop() if len(found) == 1 else ""

    def city_in_address(self, address: str) -> str:
        """The prefecture-level city an address names after its province (海南省三亚市), or "": the province must
        be written and hold the city (an incident placed at a city that has counties: its centre)."""
        text = name_key(address)
        first = ADDRESS_PART.match(text)
        if first is None or first.end() == len(text):
            return ""
        province = self.province_named(first.group(0))
        cities = [
            code for code in self._cities.get(text[first.end() :], []) if province and self.within(code, province.code)
        ]
        return cities[0] if len(cities) == 1 else ""

    def _names_province_or_city(self, typed: str) -> bool:
        levels = (RegionLevel.PROVINCE, RegionLevel.CITY)
        return any(self.by_code[code].level in levels for code in self._any.get(name_key(typed), []))

    def _lies_in(self, code: str, typed: str) -> bool:
        """Whether ``typed`` can name the province or the city of county-level place ``code``."""
        above = [self.by_code.get(self.province_of(code)), self.by_code.get(self.city_of(code))]
        return any(row is not None and names_agree(typed, row.name) for row in above)

    def nearest_county(self, latitude: float, longitude: float) -> str:
        """The county-level place whose seat is nearest the point (an equirectangular distance: a guess that a
        caller reports as one)."""
        scale = math.cos(math.radians(latitude)) ** 2

        def distance(row: RegionRow) -> float:
            return (row.latitude - latitude) ** 2 + scale * (row.longitude - longitude) ** 2

        places = [row for row in self.by_code.values() if self.is_county_level(row.code)]
        return min(places, key=distance).code if places else ""

    def misnamed(self, code: str, typed_name: str) -> str | None:
        """The real name of region ``code`` when ``typed_name`` cannot mean it (None when it can, or is blank)."""
        row = self.by_code.get(code)
        if not typed_name or row is None or names_agree(typed_name, row.name):
            return None
        return row.name

    def region_named(self, text: str, *, field: str = "region") -> str:
        """The region (any level) a filter names: a code as given, else the one region its name means.

        A name shared by a region and places inside it means the outer one (北京市 the province, not its
        city); a name shared by unrelated regions (鼓楼区) is refused with the candidates and their parents.
        """
        text = (text or "").strip()
        if text.isdigit():
            return text
        keys = region_keys(text)
        candidates = list(dict.fromkeys(code for key in keys[:1] for code in self._any.get(key, []))) or list(
            dict.fromkeys(code for key in keys[1:] for code in self._any.get(key, []))
        )
        if not candidates:
            raise NotFound(f"no region named {text!r}", field=field)
        outer = [code for code in candidates if all(self.within(other, code) for other in candidates)]
        if outer:
            return outer[0]
        listed = ", ".join(f"{code} {self._path(code)}" for code in candidates[:8])
        raise ValidationFailed(f"{text!r} names several regions: {listed}; give the code", field=field)

    def within(self, code: str, outer: str) -> bool:
        """Whether region ``code`` is ``outer`` or lies inside it."""
        while code:
            if code == outer:
                return True
            code = self.by_code[code].parent_code or ""
        return False

    def _path(self, code: str) -> str:
        names = []
        while code:
            names.append(self.by_code[code].name)
            code = self.by_code[code].parent_code or ""
        return "".join(reversed(names))

    def province_named(self, text: str) -> RegionRow | None:
        """The province a name means as typed, whole or without its suffix (海南, 海南省), if any."""
        for code in self._any.get(name_key(text), []):
            if self.by_code[code].level is RegionLevel.PROVINCE:
                return self.by_code[code]
        return None

    def county_or_city_named(self, text: str) -> list[str]:
        """Where an incident is, by name: county-level places first, else prefecture-level cities."""
        key = name_key(text)
        return list(dict.fromkeys(self._places.get(key, []))) or list(self._cities.get(key, []))


_region_names: weakref.WeakKeyDictionary[Engine, RegionNames] = per_engine_cache()


def region_names(session: Session) -> RegionNames:
    """This worker's region names, read once per database: regions change only with ``init-db``, which
    drops this copy (other workers see new regions after a restart; docs/architecture-notes.md)."""
    engine = session.get_bind()
    names = _region_names.get(engine)
    if names is None:
        with loading_session(session) as reader:  # within a search's ``reading``: on its connection
            names = RegionNames.load(reader, 0)
        if names.by_code:  # an empty table (before init-db) is not worth keeping
            _region_names[engine] = names
    return names


def base_map(session: Session) -> dict:
    """The country drawn from our own data, for a map without tiles: province and city names at their
    centres, every county-level place as a point (coordinates to 0.01°, about 1 km: a faint dot)."""
    names = region_names(session)
    rows = sorted(names.by_code.values(), key=lambda row: row.code)

    def labelled(level: RegionLevel) -> list[list]:
        return [[row.name, round(row.latitude, 2), round(row.longitude, 2)] for row in rows if row.level is level]

    return {
        "provinces": labelled(RegionLevel.PROVINCE),
        "cities": labelled(RegionLevel.CITY),
        "places": [
            [round(row.latitude, 2), round(row.longitude, 2)] for row in rows if names.is_county_level(row.code)
        ],
    }


def _a_province(province: RegionRow) -> ValidationFailed:
    """An incident placed at a whole province, by its code or its name: no point to measure from."""
    return ValidationFailed(f"{province.code} ({province.name}) is a province; give a county or city", field="county")


def find_region(session: Session, text: str) -> RegionRow:
    """A county-level place or city by code or name (海淀 = 海淀区, 北京市海淀区; ``RegionNames``); ambiguity
    is refused. The incident's place in the nearest search, a call-up and an incident record."""
    names = region_names(session)
    if text.isdigit():
        region = names.by_code.get(text)
        if region is None:
            raise NotFound(f"no region with code {text!r}", field="county")
        if region.level is RegionLevel.PROVINCE:
            raise _a_province(region)
        return region
    matches = [names.by_code[code] for code in names.county_or_city_named(text)]
    province = names.province_named(text)
    if province is not None and not any(names.within(match.code, province.code) for match in matches):
        # 海南 is the province, not 海南区 in Inner Mongolia that shares its stem (北京, 吉林: their cities lie inside)
        raise _a_province(province)
    if len(matches) == 1:
        return matches[0]
    # Written with its province or city (北京市海淀区, 南京市鼓楼区); one it does not lie in is no place:
    # 上海市海淀区 would answer distances from Beijing to a responder in Shanghai.
    in_address = names.county_in_address(text, strict=True)
    if in_address:
        return names.by_code[in_address]
    if not matches and (city := names.city_in_address(text)):  # 海南省三亚市: a city written with its province
        return names.by_code[city]
    if len(matches) > 1:
        listed = ", ".join(
            f"{r.code} {r.name} ({names.by_code[r.parent_code].name if r.parent_code else ''})" for r in matches[:8]
        )
        raise ValidationFailed(f"{text!r} names several places: {listed}; give the code", field="county")
    raise NotFound(f"no county or city named {text!r}", field="county")
