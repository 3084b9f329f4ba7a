"""Reading one cell the way people fill it in: text numbers, dates in any usual form, labels, units.

Each parser takes the raw cell (str, float, int, bool, date, datetime or "" from the reader) and returns a
plain value or raises ``CellError`` with a message meant for the person who typed the cell.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from importers.columns import (
    COUNTED_UNITS,
    GENERIC_COUNT_UNITS,
    NO_DATE_MARKERS,
    UNIT_ALIASES,
    UNIT_SIZES,
    VALUE_VARIANTS,
    fold,
    header_key,
)
from inventory.reference import LabelledEnum

EXCEL_EPOCH = dt.date(1899, 12, 30)
# Characters that make a spreadsheet treat text as a formula; the exporter prefixes them with "'".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


class CellError(ValueError):
    """A cell that cannot be read as what its column needs."""


def is_blank(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


def parse_text(value: object) -> str:
    """Text as typed; whole numbers lose the ".0" a spreadsheet adds; an export's "'" guard is removed."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_TRIGGERS:
        text = text[1:]
    return text


def parse_code(value: object) -> str:
    """A code: text without inner spaces, in half-width characters (Ａ１ → A1)."""
    return fold(parse_text(value)).upper().replace(" ", "") if not is_blank(value) else ""


def parse_region_code(value: object) -> str:
    """A GB/T 2260 code; the 12-digit statistical codes people paste are cut to their 6-digit head."""
    code = parse_code(value)
    if len(code) == 12 and code.isdigit() and code.endswith("000000"):
        return code[:6]
    return code


_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:e([+-]?\d+))?\s*(万)?\s*([^\d.+-].*)?$", re.IGNORECASE)


def parse_number(value: object) -> tuple[Decimal, str]:
    """A number and the unit written after it, if any: "1,200" → 1200, "１２" → 12, "3.5吨" → (3.5, "吨").

    Spreadsheet floats carry binary noise (0.1 + 0.2); values are rounded to 9 decimal places, far below
    the ledger's thousandths, so the noise never reaches a rule.
    """
    if isinstance(value, bool):
        raise CellError("expected a number, not a yes/no value")
    if isinstance(value, int):
        return Decimal(value), ""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError("not a finite number")
        return _tidy(Decimal(repr(value))), ""
    if isinstance(value, dt.date):
        raise CellError("expected a number, found a date")
    text = fold(str(value)).replace(",", "").replace(" ", "").replace("\u00a0", "").replace("'", "")
    match = _NUMBER.match(text)
    if not match:
        raise CellError("not a number")
    try:
        number = Decimal(match.group(1))
        if match.group(2):
            number = number.scaleb(int(match.group(2)))
    except (InvalidOperation, ValueError) as exc:
        raise CellError("not a number") from exc
    if match.group(3):
        number *= 10_000
    return _tidy(number), (match.group(4) or "").strip()


def _tidy(number: Decimal) -> Decimal:
    if number.as_tuple().exponent < -9:  # type: ignore[operator]
        number = number.quantize(Decimal("1e-9"))
    return number.normalize() if number == number.to_integral_value() else number


def parse_float(value: object) -> float:
    """A coordinate: a number, or degrees-minutes-seconds such as 116°23′17″E."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = fold(str(value)).replace(" ", "")
    dms = re.match(
        r"^([+-]?\d+(?:\.\d+)?)°(?:(\d+(?:\.\d+)?)['′])?(?:(\d+(?:\.\d+)?)(?:\"|″|''|′′))?([nsewNSEW]?)$", text
    )
    if dms:
        degrees = float(dms.group(1)) + float(dms.group(2) or 0) / 60 + float(dms.group(3) or 0) / 3600
        return -degrees if dms.group(4).lower() in ("s", "w") else degrees
    text = re.sub(r"°?[nsewNSEW]?$", "", text)
    try:
        return float(text)
    except ValueError as exc:
        raise CellError("not a coordinate (use decimal degrees such as 39.9042)") from exc


_DATE_TEXT = (
    re.compile(
        r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
    ),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value: object) -> dt.date | None:
    """A date from an Excel date, a serial number, or text: 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dt.time | dt.timedelta):  # a date typed into a cell formatted as a time
        raise CellError("a time of day, not a date: format the cell as a date (yyyy-mm-dd)")
    if isinstance(value, bool):
        raise CellError("expected a date")
    if isinstance(value, int | float):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 21001231:
            return _date_from_parts(str(int(number))[:4], str(int(number))[4:6], str(int(number))[6:])
        if 1 <= number < 2958466:  # Excel's serial day numbers, 1900-01-01 … 9999-12-31
            return EXCEL_EPOCH + dt.timedelta(days=int(number))
        raise CellError("not a date")
    text = fold(str(value))
    if text in NO_DATE_MARKERS:
        return None
    for pattern in _DATE_TEXT:
        match = pattern.match(text)
        if match:
            return _date_from_parts(*match.groups())
    raise CellError("not a date (write it as 2024-03-01)")


def _date_from_parts(year: str, month: str, day: str) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise CellError(f"no such date: {year}-{month}-{day}") from exc


def _vocabulary(enum_class: type[LabelledEnum]) -> dict[str, str]:
    words: dict[str, str] = {}
    for member in enum_class:
        for text in (member.value, member.label_zh, member.label_en, *member.label_zh.split("/")):
            words.setdefault(header_key(text), member.value)
    for text, value in VALUE_VARIANTS.get(enum_class, {}).items():
        words.setdefault(header_key(text), value)
    return words


_VOCABULARIES: dict[type, dict[str, str]] = {}


def parse_choice(value: object, enum_class: type[LabelledEnum]) -> str:
    """The code of a vocabulary word given as code, Chinese or English label, or a usual variant."""
    words = _VOCABULARIES.get(enum_class)
    if words is None:
        words = _VOCABULARIES[enum_class] = _vocabulary(enum_class)
    key = header_key(parse_text(value))
    for candidate in (key, key.removesuffix("类"), key.removesuffix("物资").removesuffix("类")):
        if candidate in words:
            return words[candidate]
    allowed = " / ".join(member.label_zh for member in enum_class)
    raise CellError(f"not one of: {allowed}")


def canonical_unit(text: str) -> str:
    """The canonical spelling of a unit ("kg", "公斤" → 千克); unknown units come back folded."""
    key = fold(text).replace(" ", "").rstrip(".")
    if key in GENERIC_COUNT_UNITS:
        return "pcs"
    return UNIT_ALIASES.get(key, key)


def unit_factor(given: str, wanted: str) -> Decimal | None:
    """How many ``wanted`` units one ``given`` unit is, or None when they do not convert."""
    source, target = canonical_unit(given), canonical_unit(wanted)
    if source == target:
        return Decimal(1)
    if (source == "pcs" and target in COUNTED_UNITS) or (target == "pcs" and source in COUNTED_UNITS):
        return Decimal(1)
    if source in UNIT_SIZES and target in UNIT_SIZES:
        (source_dimension, source_size), (target_dimension, target_size) = UNIT_SIZES[source], UNIT_SIZES[target]
        if source_dimension == target_dimension:
            return source_size / target_size
    return None


def is_known_unit(text: str) -> bool:
    unit = canonical_unit(text)
    return unit == "pcs" or unit in COUNTED_UNITS or unit in UNIT_SIZES
