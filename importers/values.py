"""Reading one cell the way people fill it in: text numbers, dates in any usual form, labels, units.

Each parser takes the raw cell (str, float, int, bool, date, datetime or "" from the reader) and returns a
plain value or raises ``CellError`` with a message meant for the person who typed the cell.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Container, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from importers.columns import (
    CHINA_LATITUDE,
    CHINA_LONGITUDE,
    NO_DATE_MARKERS,
    NO_QUANTITY_MARKERS,
    VALUE_VARIANTS,
    bracket_notes,
    fold,
    header_key,
)
from inventory.reference import LabelledEnum, ReserveType
from inventory.units import canonical_unit, is_known_unit, unit_factor  # noqa: F401 - the importers read units here
from inventory.validation import INVISIBLE, memoised, plain_text
from inventory.vocabulary import shipped_reserve_type_words

EXCEL_EPOCH = dt.date(1899, 12, 30)
# The serial day of 1910-01-01: a smaller number in a date column is no date of a stock ledger (1900–1909).
_SERIAL_1910 = (dt.date(1910, 1, 1) - EXCEL_EPOCH).days
# Characters that make a spreadsheet treat text as a formula; the exporter prefixes them with "'".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


class CellError(ValueError):
    """A cell that cannot be read as what its column needs."""


def is_blank(value: object) -> bool:
    if value is None or value == "":
        return True
    if not isinstance(value, str):
        return False
    # Per cell: a text whose first character after the spaces shows is not blank, with no pattern to run.
    stripped = value.strip()
    return not stripped or (stripped[0] in INVISIBLE and not plain_text(stripped))


@memoised
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
    text = plain_text(str(value))
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_TRIGGERS:
        text = text[1:]
    return text


_LINE_BREAK = re.compile(r"[ \t\u3000]*[\r\n]+[ \t\u3000]*")


def parse_line(value: object) -> str:
    """A name or detail typed on one line: a wrapped cell's line breaks (Alt+Enter) joined, without a space
    between Chinese characters (良庆区⏎储备库 → 良庆区储备库), with one elsewhere (0771-1234567⏎138… → two phones).

    Not memoised itself: ``parse_text`` is, and what this adds is one ``in`` test where no line breaks."""
    text = parse_text(value)
    if "\n" not in text and "\r" not in text:
        return text
    return _LINE_BREAK.sub(
        lambda match: "" if not (text[match.start() - 1].isascii() or text[match.end()].isascii()) else " ", text
    )


@memoised
def parse_code(value: object) -> str:
    """A code: text without inner spaces, in half-width characters (Ａ１ → A1)."""
    return fold(parse_text(value)).upper().replace(" ", "") if not is_blank(value) else ""


def parse_region_code(value: object) -> str:
    """A GB/T 2260 code; the 12-digit statistical codes people paste are cut to their 6-digit head."""
    code = parse_code(value)
    if len(code) == 12 and code.isdigit() and code.endswith("000000"):
        return code[:6]
    return code


_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:e([+-]?\d+))?\s*(万亿|万|亿)?\s*([^\d.+-].*)?$", re.IGNORECASE)
# Chinese numerals as people write counts: 五, 十二, 一百二十, 两千, 一万二千, 三点五, the financial 壹贰叁.
CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3, "四": 4}
CHINESE_DIGITS |= {"肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
CHINESE_MULTIPLIERS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CHINESE_MAGNITUDES = {"万": 10_000, "亿": 100_000_000}
NUMBER_MAGNITUDES = CHINESE_MAGNITUDES | {"万亿": 10**12}  # after digits: 1.2万, 3亿, 1万亿
_CHINESE_NUMBER = re.compile(
    "^(["
    + "".join([*CHINESE_DIGITS, *CHINESE_MULTIPLIERS, *CHINESE_MAGNITUDES])
    + r"]+(?:点["
    + "".join(CHINESE_DIGITS)
    + r"]+)?)(.*)$"
)
# "About" words around a count (约50, 50左右, 50余吨): the number is taken as written, with a warning.
_ABOUT_BEFORE = re.compile(r"^(?:大约|约计|约合|约有|约|近|≈|~|～)")
_ABOUT_AFTER = re.compile(r"^(?:左右|上下|余|多|以上|来)|(?:左右|上下|余|多)$")
_RANGE = re.compile(r"^\d+(?:\.\d+)?\s*[-~～至到/、]\s*\d")
# Words that say "some" without a number: refused, by name.
VAGUE_QUANTITIES = ("若干", "一些", "少量", "大量", "一批", "数个", "几")


# A unit written in brackets after the number, 50（袋）: the unit inside (the cell is folded: （） are ()).
_BRACKETED = re.compile(r"^[(\[【〔]\s*([^()\[\]【】〔〕]*?)\s*[)\]】〕]$")
_BRACKET_NOTE = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]")


class _KnownUnits:
    """Every unit spelling ``is_known_unit`` knows (吨, kg, 公斤, 套, pcs …), as ``bracket_unit``'s ``units``."""

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and is_known_unit(text)


KNOWN_UNITS = _KnownUnits()


def bracket_unit(text: object, units: Container[str]) -> str:
    """The first note in brackets of ``text`` that ``units`` holds, or "": the one home of "a unit in brackets"
    (数量（千克） → 千克 with ``KNOWN_UNITS``, 有效期（月） → 月 with ``SHELF_LIFE_UNITS``, a unit cell （袋） → 袋)."""
    return next((note for note in bracket_notes(text) if note in units), "")


@memoised
def parse_unit(value: object) -> str:
    """A unit cell as typed; when that is no unit, the one its brackets hold or leave: （袋） → 袋, 公斤(kg) → 公斤,
    袋(25kg) → 袋."""
    text = parse_text(value)
    if not text or is_known_unit(text):
        return text
    folded = fold(text)
    outside = _BRACKET_NOTE.sub("", folded).strip()
    if outside:
        return outside if is_known_unit(outside) else text
    return bracket_unit(folded, KNOWN_UNITS) or text


@dataclass(frozen=True, slots=True)
class Amount:
    """A quantity cell read: the number, the unit written after it ("8吨" → 吨), and whether it said "about"."""

    number: Decimal
    unit: str = ""
    approximate: bool = False
    # The pack a cell gives in brackets, 2箱（每箱20个）: (20, "个"), so many of that unit in one ``unit``.
    pack: tuple[Decimal, str] | None = None


def parse_number(value: object) -> tuple[Decimal, str]:
    """A number and the unit written after it, if any: "1,200" → 1200, "１２" → 12, "3.5吨" → (3.5, "吨")."""
    amount = parse_amount(value)
    return amount.number, amount.unit


@memoised
def parse_amount(value: object) -> Amount:
    """A quantity as people type it: 1,200 / １２ / 3.5吨 / 200 米 / 五吨 / 一百二十 / 约50 / 50余袋 / 1.2万.

    Spreadsheet floats carry binary noise (0.1 + 0.2); values are rounded to 9 decimal places, far below
    the ledger's thousandths, so the noise never reaches a rule.
    """
    if isinstance(value, bool):
        raise CellError("expected a number, not a yes/no value")
    if isinstance(value, int):
        return Amount(Decimal(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError("not a finite number")
        return Amount(_tidy(Decimal(repr(value))))
    if isinstance(value, dt.date):
        raise CellError("expected a number, found a date")
    text = fold(str(value)).replace(",", "").replace(" ", "").replace("\u00a0", "").replace("'", "")
    about = _ABOUT_BEFORE.match(text)
    if about:
        text = text[about.end() :]
    if _RANGE.match(text):
        raise CellError(
            f"quantity '{value}' is not one number (it looks like a range or several numbers): write one number"
        )
    if text in NO_QUANTITY_MARKERS:
        raise CellError(f"quantity '{value}' gives no number: write 0 if there is none")
    if text.startswith(VAGUE_QUANTITIES):
        raise CellError(f"quantity '{value}' gives no number: write the number, e.g. 12")
    number, unit = _number_and_rest(text)
    if unit.endswith("半") and len(unit) > 1:  # 两吨半: two and a half tonnes
        number, unit = number + Decimal("0.5"), unit[:-1]
    rest = _ABOUT_AFTER.sub("", unit)
    approximate = bool(about) or rest != unit
    unit = _BRACKETED.sub(r"\1", rest.strip())
    pack = None
    if unit.endswith(_CLOSING) and any(ch.isdigit() for ch in unit):  # 2箱（每箱20个）: one number, and its pack
        unit, pack = _unit_and_pack(unit)
    if any(ch.isdigit() for ch in unit) or unit[:1] in ("-", "~", "至", "到"):
        raise CellError(
            f"quantity '{value}' is not one number (it looks like a range or several numbers): write one number"
        )
    return Amount(number, unit, approximate, pack)


# A pack in brackets after the unit (folded, no spaces): 箱(每箱20个), 箱(每箱装20个), 箱(20个/箱), 箱(20个装),
# 桶(每桶200L), in any of the brackets a unit may be written in (（）, [], 【】, 〔〕); always with 每, / or 装.
# Tried on short texts only (``MAX_PACK_TEXT``): its lazy parts cost more the longer the text.
_CLOSING = (")", "]", "】", "〕")
_PACKED = re.compile(
    r"^(?P<outer>[^\d()\[\]【】〔〕]*?)[(\[【〔](?:每(?P<per>[^\d()\[\]【】〔〕]*?)[装含有]?)?(?P<count>\d+(?:\.\d+)?)"
    r"(?P<inner>[^\d/()\[\]【】〔〕]+?)(?:(?P<packed>装)|[/每](?P<after>[^\d()\[\]【】〔〕]+))?[)\]】〕]$"
)
MAX_PACK_TEXT = 40


def _unit_and_pack(unit: str) -> tuple[str, tuple[Decimal, str] | None]:
    """The unit and the pack its brackets give ("箱(每箱20个)" → 箱, (20, 个)); the text unchanged and no pack when
    the brackets hold anything else (the caller then refuses the digits as several numbers)."""
    compact = "".join(unit.split())
    match = _PACKED.match(compact) if len(compact) <= MAX_PACK_TEXT else None
    if match is None:
        return unit, None
    if match.group("per") is None and match.group("after") is None and match.group("packed") is None:
        return unit, None  # 2箱（40个）: a total, or the count of something else; a pack says 每箱, /箱 or 装
    outer, inner = match.group("outer"), match.group("inner")
    per = match.group("per") or match.group("after") or ""
    outer = outer or per
    if not outer or not is_known_unit(inner) or (per and canonical_unit(per) != canonical_unit(outer)):
        return unit, None
    count = Decimal(match.group("count"))
    return (outer, (_tidy(count), inner)) if count > 0 else (unit, None)


def as_written(part: str, cell: object, *, last: bool = False) -> str:
    """``part`` of a folded cell (``fold`` lowercases: 200L's unit is l) spelled as the cell writes it (L), for a
    message; the first place it occurs, or the ``last``; ``part`` itself when the cell cannot be lined up."""
    written = unicodedata.normalize("NFKC", str(cell))
    lowered = written.casefold()
    start = lowered.rfind(part) if last else lowered.find(part)
    if start < 0 or len(lowered) != len(written):
        return part
    return written[start : start + len(part)]


def _number_and_rest(text: str) -> tuple[Decimal, str]:
    match = _NUMBER.match(text)
    if match:
        try:
            number = Decimal(match.group(1))
            if match.group(2):
                number = number.scaleb(int(match.group(2)))
        except (InvalidOperation, ValueError) as exc:
            raise CellError("not a number") from exc
        if match.group(3):  # 1.2万, 3亿, 1万亿: a magnitude, never a unit (亿 made a unit variant "活性炭（亿）")
            number *= NUMBER_MAGNITUDES[match.group(3)]
        rest = (match.group(4) or "").strip()
        if rest.startswith("千") and not is_known_unit(rest):  # 1千, 1.2千袋: thousands (千克, 千米 are units)
            after = rest[1:].strip()
            if not after or is_known_unit(after) or _ABOUT_AFTER.match(after):
                number, rest = number * 1000, after
        return _tidy(number), rest
    chinese = _CHINESE_NUMBER.match(text)
    if chinese and (chinese.group(1)[0] in CHINESE_DIGITS or chinese.group(1)[0] in "十拾"):
        return _tidy(chinese_number(chinese.group(1))), chinese.group(2).strip()
    raise CellError("not a number")


def chinese_number(text: str) -> Decimal:
    """五 → 5, 十二 → 12, 一百零五 → 105, 一万二千 → 12000, 一二〇 → 120, 三点五 → 3.5."""
    whole, _, decimals = text.partition("点")
    total = section = 0
    digit: int | None = None
    for char in whole:
        if char in CHINESE_DIGITS:
            digit = CHINESE_DIGITS[char] if digit is None else digit * 10 + CHINESE_DIGITS[char]
        elif char in CHINESE_MULTIPLIERS:
            section += (1 if digit is None else digit) * CHINESE_MULTIPLIERS[char]
            digit = None
        else:
            total = (total + section + (digit or 0)) * CHINESE_MAGNITUDES[char]
            section, digit = 0, None
    number = Decimal(total + section + (digit or 0))
    if decimals:
        number += Decimal("0." + "".join(str(CHINESE_DIGITS[char]) for char in decimals))
    return number


def _tidy(number: Decimal) -> Decimal:
    if number.as_tuple().exponent < -9:  # type: ignore[operator]
        number = number.quantize(Decimal("1e-9"))
    return number.normalize() if number == number.to_integral_value() else number


_DEGREES = r"(\d+(?:\.\d+)?)\s*(?:°|度)\s*(?:(\d+(?:\.\d+)?)\s*(?:['′]|分))?\s*(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|′′|秒))?"
_DMS = re.compile(r"^([+-]?)" + _DEGREES + r"([nsew]?)$")
# One coordinate inside a cell holding both: hemisphere before or after, decimal degrees or degrees-minutes-seconds.
_ONE_COORDINATE = r"([+-]?)(?:" + _DEGREES + r"|(\d+(?:\.\d+)?))\s*(?:°)?"
_COORDINATE_LETTER_FIRST = re.compile(r"([nsew])\s*" + _ONE_COORDINATE + "()")
_COORDINATE = re.compile(r"()" + _ONE_COORDINATE + r"\s*([nsew])?")
_HEMISPHERE_WORDS = {"东经": "e", "西经": "w", "北纬": "n", "南纬": "s", "经度": "", "纬度": ""}


def parse_float(value: object) -> float:
    """A coordinate: a number, or degrees-minutes-seconds such as 116°23′17″E or 118度47分30秒."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _hemispheres(fold(str(value))).replace(" ", "")
    dms = _DMS.match(text)
    if dms:
        sign, degrees, minutes, seconds, hemisphere = dms.groups()
        number = float(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
        return -number if sign == "-" or hemisphere in ("s", "w") else number
    text = re.sub(r"^([nsew])(?=[\d.+-])", "", text)
    text = re.sub(r"°?[nsew]?$", "", text)
    try:
        return float(text)
    except ValueError as exc:
        raise CellError("not a coordinate (use decimal degrees such as 39.9042)") from exc


def _hemispheres(text: str) -> str:
    for word, letter in _HEMISPHERE_WORDS.items():
        text = text.replace(word, letter)
    return text


def in_china(latitude: float, longitude: float) -> bool:
    """Inside the generous box around China that a warehouse must sit in to pass without a warning."""
    return CHINA_LATITUDE[0] <= latitude <= CHINA_LATITUDE[1] and CHINA_LONGITUDE[0] <= longitude <= CHINA_LONGITUDE[1]


def china_order(latitude: float, longitude: float) -> tuple[float, float, bool]:
    """(latitude, longitude, swapped): swapped when only the other order puts the point in China."""
    if not in_china(latitude, longitude) and in_china(longitude, latitude):
        return longitude, latitude, True
    return latitude, longitude, False


def parse_coordinates(value: object) -> tuple[float, float, bool]:
    """Both coordinates from one cell: (latitude, longitude, swapped).

    Reads 118.8,32.0 / 118.8°E 32.0°N / E118.8 N32.0 / 东经118.8° 北纬32.0° / 118°47′30″E, 32°3′N. Hemisphere
    letters say which is which; without them the order is the header's 经纬度 (longitude first), unless only
    the other order lies in China. ``swapped`` says the cell's letters or order were turned round to fit China.
    """
    if is_blank(value):
        raise CellError("the coordinates are empty")
    text = _hemispheres(fold(str(value)))
    pattern = _COORDINATE_LETTER_FIRST if re.match(r"^\s*[nsew]", text) else _COORDINATE
    found = [m for m in pattern.finditer(text) if m.group(3) or m.group(6)]
    if len(found) != 2:
        raise CellError(
            f"coordinates '{value}' do not give two numbers, longitude and latitude: write 118.8,32.0 or 118.8°E 32.0°N"
        )
    numbers, letters = [], []
    for match in found:
        before, sign, degrees, minutes, seconds, plain, after = match.groups()
        if plain is not None:
            number = float(plain)
        else:
            number = float(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
        letter = before or after or ""
        numbers.append(-number if sign == "-" or letter in ("s", "w") else number)
        letters.append(letter)
    if set(letters) in ({"n", "e"}, {"n", "w"}, {"s", "e"}, {"s", "w"}):
        latitude, longitude = numbers if letters[0] in ("n", "s") else numbers[::-1]
    elif any(letters):
        raise CellError(
            f"coordinates '{value}': the hemisphere letters do not pair up: one N/S (latitude), one E/W (longitude)"
        )
    else:
        longitude, latitude = numbers  # 经纬度: longitude first
    swapped = False
    if not -90 <= latitude <= 90 and -90 <= longitude <= 90:
        latitude, longitude, swapped = longitude, latitude, True
    latitude, longitude, turned = china_order(latitude, longitude)
    swapped = swapped != turned
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise CellError(
            f"coordinates '{value}' are not a longitude and latitude: the latitude must be between -90 and 90"
        )
    return latitude, longitude, swapped


_DATE_TEXT = (
    re.compile(
        r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
    ),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# A month alone (2025.03, 2025-3, 2025年3月, 202503) or a year alone (2025, 2025年).
_MONTH_TEXT = (re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:份)?$"), re.compile(r"^(\d{4})(\d{2})$"))
_YEAR_TEXT = re.compile(r"^(\d{4})\s*年?(?:度)?$")


def says_no_date(value: object) -> bool:
    """A date cell that says there is none (长期, 无, /, —): for an expiry, a batch that never expires."""
    return isinstance(value, str) and fold(value) in NO_DATE_MARKERS


def parse_date(value: object, *, period_end: bool = False) -> dt.date | None:
    """A date from an Excel date, a serial number, or text: 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301.

    A month alone (2025.03, 2025年3月, 202503) or a year alone (2025年) is the first day of that period, or
    its last day with ``period_end`` — the rule for expiry dates: a batch "good until 2025.03" is good all
    of March, while one "made in 2025.03" is dated from the month's start.
    """
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
        if number.is_integer() and (190001 <= number <= 210012 or 1900 <= number <= 2100):
            return _period(str(int(number)), period_end)  # a month or a year typed as a number, not a serial
        if 1900 < number < 2101:  # 2025.03 typed into a number cell: the spreadsheet kept 2025.03
            year, _, month = repr(number).partition(".")
            if month == "1":
                raise CellError(f"'{value}' may be January or October {year}: write {year}-01 or {year}-10")
            return _period(f"{year}.{month}", period_end)
        if 0 < number < _SERIAL_1910:  # 3 or 36 in a date column: a count of years or months, no day of 1900
            raise CellError(
                f"'{parse_text(value)}' is a number, not a date: write the date (2024-03-01), "
                "or a shelf life with its unit (3年, 36个月) in the expiry column"
            )
        if 1 <= number < 2958466:  # Excel's serial day numbers, 1900-01-01 … 9999-12-31
            return EXCEL_EPOCH + dt.timedelta(days=int(number))
        raise CellError("not a date")
    if says_no_date(value):
        return None
    text = fold(str(value)).rstrip(".。")  # 2024.3.5. / 2024年3月5日。: the sentence's full stop (fold trims)
    for pattern in _DATE_TEXT:
        match = pattern.match(text)
        if match:
            return _date_from_parts(*match.groups())
    if _MONTH_TEXT[0].match(text) or _MONTH_TEXT[1].match(text) or _YEAR_TEXT.match(text):
        return _period(text, period_end)
    raise CellError("not a date (write it as 2024-03-01)")


def _period(text: str, period_end: bool) -> dt.date:
    """The first (or last) day of the month or year ``text`` names."""
    match = _MONTH_TEXT[0].match(text) or _MONTH_TEXT[1].match(text)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise CellError(f"no such month: {year}, month {month}")
        day = calendar.monthrange(year, month)[1] if period_end else 1
        return dt.date(year, month, day)
    year = int(_YEAR_TEXT.match(text).group(1))  # type: ignore[union-attr]
    return dt.date(year, 12, 31) if period_end else dt.date(year, 1, 1)


def _date_from_parts(year: str, month: str, day: str) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise CellError(f"no such date: {year}-{month}-{day}") from exc


# A shelf life written where the expiry date goes: 3年, 36个月, 18月, 180天, 半年, 保质期2年, 两年, 52周. The units
# are also what an expiry header names in brackets (有效期（周）) when its numbers are shelf lives (importers.rows).
_LIFE_UNITS = ("年", "月", "天", "日", "周")
SHELF_LIFE_UNITS = frozenset({*_LIFE_UNITS, "个月"})
_SHELF_LIFE = re.compile(
    r"^(?:保质期|有效期)?(?:为)?(半|[\d.]+|[零〇一二两三四五六七八九十]+)(?:个)?(" + "|".join(_LIFE_UNITS) + r")$"
)


@dataclass(frozen=True, slots=True)
class ShelfLife:
    """A period of years, months or days, counted from a production date."""

    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, start: dt.date) -> dt.date:
        """``start`` plus the period, by the calendar (2024-01-31 + 1 month → 2024-02-29)."""
        month_index = start.year * 12 + start.month - 1 + self.years * 12 + self.months
        year, month = divmod(month_index, 12)
        day = min(start.day, calendar.monthrange(year, month + 1)[1])
        return dt.date(year, month + 1, day) + dt.timedelta(days=self.days)


def parse_shelf_life(value: object) -> ShelfLife | None:
    """The shelf life a cell writes instead of a date (3年 → 3 years), or None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _SHELF_LIFE.match(fold(value).replace(" ", ""))
    if not match:
        return None
    amount, unit = match.groups()
    if unit == "年" and len(amount) == 4 and amount.isdigit():
        return None  # 2027年: a year alone (the expiry is that year's last day), not a shelf life of 2027 years
    number = Decimal("0.5") if amount == "半" else _number_and_rest(amount)[0]
    if unit == "年" and number == number.to_integral_value():
        return ShelfLife(years=int(number))
    if unit == "年" and (number * 12) == (number * 12).to_integral_value():
        return ShelfLife(months=int(number * 12))  # 半年, 1.5年
    if unit == "月" and number == number.to_integral_value():
        return ShelfLife(months=int(number))
    if unit in ("天", "日", "周") and number == number.to_integral_value():
        return ShelfLife(days=int(number) * (7 if unit == "周" else 1))
    raise CellError(f"shelf life '{value}' cannot be read: write whole years, months or days")


# "Good until" around an expiry date: 至2026年12月, 到2026.12, 2026.12.31前, 2026-06-30止.
_UNTIL = re.compile(r"^(?:有效期至|有效期到|截至|截止|至|到)\s*|\s*(?:以前|之前|前|为止|截止|止)$")


def parse_expiry(value: object, production_date: dt.date | None) -> dt.date | None:
    """An expiry cell: a date (a month alone is its last day), a no-expiry word (长期, 无, /, —), or a shelf life.

    A shelf life (3年, 36个月) is counted from the batch's production date; without one it is refused.
    """
    if is_blank(value):  # most rows: neither a shelf life nor a date (what both parsers would say, sooner)
        return None
    life = parse_shelf_life(value)
    if life is None:
        if value.__class__ is str:  # 至2026年12月, 2026.12.31前: the words around the date say "good until"
            value = _UNTIL.sub("", value.strip()) or value
        return parse_date(value, period_end=True)
    if production_date is None:
        raise CellError(
            f"the expiry gives a shelf life '{value}', which needs the production date: "
            "give the production date, or write the expiry date"
        )
    return life.after(production_date)


def _vocabulary(enum_class: type[LabelledEnum]) -> dict[str, str]:
    words: dict[str, str] = {}
    for member in enum_class:
        for text in (member.value, member.label_zh, member.label_en, *member.label_zh.split("/")):
            words.setdefault(header_key(text), member.value)
    variants = shipped_reserve_type_words() if enum_class is ReserveType else VALUE_VARIANTS.get(enum_class, {})
    for text, value in variants.items():
        words.setdefault(header_key(text), value)
    return words


_VOCABULARIES: dict[type, dict[str, str]] = {}


def choice_words(enum_class: type[LabelledEnum], added: Mapping[str, str] | None = None) -> dict[str, str]:
    """The folded words of a vocabulary (codes, labels, shipped variants) with ``added`` ones (word → code)."""
    words = _VOCABULARIES.get(enum_class)
    if words is None:
        words = _VOCABULARIES[enum_class] = _vocabulary(enum_class)
    if not added:
        return words
    return {**words, **{header_key(text): code for text, code in added.items() if header_key(text)}}


def parse_choice(value: object, enum_class: type[LabelledEnum], words: Mapping[str, str] | None = None) -> str:
    """The code of a vocabulary word given as code, Chinese or English label, or a usual variant.

    ``words`` is the vocabulary from ``choice_words`` when an import added words of its own (reserve types
    staff taught it: ``inventory.vocabulary``); by default the shipped one.
    """
    if words is None:
        words = choice_words(enum_class)
    key = header_key(parse_text(value))
    for candidate in (key, key.removesuffix("类"), key.removesuffix("物资").removesuffix("类")):
        if candidate in words:
            return words[candidate]
    allowed = " / ".join(member.label_zh for member in enum_class)
    raise CellError(f"not one of: {allowed}")
