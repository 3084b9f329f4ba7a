"""Sanity checks on the shipped GB/T 2260 region file ``inventory/data/regions.csv``.

These read the CSV directly (no project imports, no network). The last tests
load the build script by file path to exercise its pure name-matching helpers.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

DATA_DIR = Path(__file__).resolve().parents[2] / "inventory" / "data"
REGIONS_CSV = DATA_DIR / "regions.csv"
BUILD_SCRIPT = DATA_DIR / "build_regions.py"

HEADER = ["code", "name", "level", "parent_code", "latitude", "longitude", "approximate"]

# Prefecture-level cities that administer towns directly (no county level).
CITIES_WITHOUT_COUNTIES = {"441900", "442000", "460400", "620200"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    """All rows of the CSV as dicts."""
    with REGIONS_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == HEADER
        return list(reader)


@pytest.fixture(scope="module")
def by_code(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Rows keyed by code."""
    return {row["code"]: row for row in rows}


def test_codes_are_six_digits_unique_and_sorted(rows: list[dict[str, str]]) -> None:
    codes = [row["code"] for row in rows]
    assert all(re.fullmatch(r"\d{6}", code) for code in codes)
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)


def test_level_counts(rows: list[dict[str, str]]) -> None:
    levels = Counter(row["level"] for row in rows)
    assert set(levels) == {"province", "city", "county"}
    assert 31 <= levels["province"] <= 34
    assert 315 <= levels["city"] <= 345
    assert 2810 <= levels["county"] <= 2870


def test_level_matches_code_shape(rows: list[dict[str, str]]) -> None:
    for row in rows:
        code = row["code"]
        expected = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
        assert row["level"] == expected, row


def test_every_row_has_a_coordinate_in_china(rows: list[dict[str, str]]) -> None:
    for row in rows:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        assert 3 <= lat <= 54, row
        assert 73 <= lon <= 136, row
        assert row["approximate"] in {"0", "1"}, row
        assert row["name"].strip() == row["name"] and row["name"], row


def test_parent_links(rows: list[dict[str, str]], by_code: dict[str, dict[str, str]]) -> None:
    for row in rows:
        parent = by_code.get(row["parent_code"])
        if row["level"] == "province":
            assert row["parent_code"] == "", row
        elif row["level"] == "city":
            assert parent is not None and parent["level"] == "province", row
            assert parent["code"][:2] == row["code"][:2], row
        else:
            assert parent is not None and parent["level"] == "city", row
            assert parent["code"][:4] == row["code"][:4], row
            province = by_code[parent["parent_code"]]
            assert province["level"] == "province"
            assert province["code"][:2] == row["code"][:2], row


def test_every_city_has_counties_except_the_known_ones(rows: list[dict[str, str]]) -> None:
    parents = {row["parent_code"] for row in rows if row["level"] == "county"}
    childless = {row["code"] for row in rows if row["level"] == "city" and row["code"] not in parents}
    assert childless == CITIES_WITHOUT_COUNTIES


def test_awkward_units(by_code: dict[str, dict[str, str]]) -> None:
    # Municipalities get a city-level row named after the municipality.
    for code, name in {"110100": "北京市", "120100": "天津市", "310100": "上海市", "500100": "重庆市"}.items():
        assert by_code[code]["name"] == name
        assert by_code[code]["level"] == "city"
    assert by_code["500200"]["parent_code"] == "500000"
    # Province-administered county-level units hang off a grouping city row.
    assert by_code["429004"]["name"] == "仙桃市"
    assert by_code["429004"]["parent_code"] == "429000"
    assert by_code["429000"]["level"] == "city"
    assert by_code["659001"]["parent_code"] == "659000"
    # GB/T placeholder names are not used as display names for municipalities.
    assert not [row for row in by_code.values() if row["name"] in {"市辖区", "县"}]


def test_approximate_rows_are_a_small_minority(rows: list[dict[str, str]]) -> None:
    approximate = [row for row in rows if row["approximate"] == "1"]
    assert len(approximate) < 0.10 * len(rows)
    counties = [row for row in rows if row["level"] == "county"]
    assert sum(row["approximate"] == "1" for row in counties) < 0.10 * len(counties)


@pytest.mark.parametrize(
    ("code", "name", "lat", "lon"),
    [
        ("110116", "怀柔区", 40.3, 116.6),
        ("110118", "密云区", 40.4, 116.8),  # renamed from 密云县
        ("120119", "蓟州区", 40.0, 117.4),  # renamed from 蓟县
        ("130109", "藁城区", 38.0, 114.8),  # renamed from 藁城市
        ("440305", "南山区", 22.5, 113.9),
        ("510100", "成都市", 30.7, 104.1),
        ("650100", "乌鲁木齐市", 43.8, 87.6),
        ("540102", "城关区", 29.7, 91.1),
        ("110000", "北京市", 39.9, 116.4),
    ],
)
def test_known_coordinates(by_code: dict[str, dict[str, str]], code: str, name: str, lat: float, lon: float) -> None:
    row = by_code[code]
    assert row["name"] == name
    assert abs(float(row["latitude"]) - lat) <= 0.3, row
    assert abs(float(row["longitude"]) - lon) <= 0.3, row


@pytest.fixture(scope="module")
def build_regions() -> ModuleType:
    """The build script, loaded from its file path."""
    spec = importlib.util.spec_from_file_location("build_regions_under_test", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_name_stem_strips_multi_character_suffixes(build_regions: ModuleType) -> None:
    stem = build_regions.name_stem
    assert stem("密云县") == "密云"
    assert stem("峨边彝族自治县") == "峨边彝族"
    assert stem("鄂伦春自治旗") == "鄂伦春"
    assert stem("神农架林区") == "神农架"
    assert stem("六枝特区") == "六枝"
    assert stem("吐鲁番地区") == "吐鲁番"
    assert stem("金林区") == "金林"  # not 金 + 林区
    assert stem("井陉矿区") == "井陉矿"  # 矿区 stays: no stem collision with 井陉县
    assert stem("赵县") == "赵"
    assert stem("县") == "县"


@pytest.mark.parametrize(
    ("name", "candidate", "kind"),
    [
        ("密云区", "密云县", "stem"),
        ("藁城区", "藁城市", "stem"),
        ("吐鲁番市", "吐鲁番地区", "stem"),
        ("蓟州区", "蓟县", "prefix"),
        ("怀柔区", "怀柔区", "exact"),
        ("万山区", "万山特区", "stem"),
        ("沙县区", "沙县", "prefix"),
        ("金林区", "金山屯区", None),
        ("城区", "郊区", None),
    ],
)
def test_match_kind_on_renamed_units(build_regions: ModuleType, name: str, candidate: str, kind: str | None) -> None:
    assert build_regions.match_kind(name, candidate) == kind
