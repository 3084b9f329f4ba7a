"""Small value checks shared by every service, so the API, importer and CLI refuse the same things."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy.orm import InstrumentedAttribute

from inventory.clock import business_today
from inventory.errors import ValidationFailed
from inventory.errors import required as missing_field
from inventory.models import QUANTITY_SCALE

R = TypeVar("R")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
# Below 1e12 with three decimals a quantity has at most 15 significant digits, so it survives a
# JSON number (a double) exactly; more of any unit is a typing error anyway.
MAX_QUANTITY = Decimal("999999999999.999")
# Control characters (tab and line breaks are text) and unpaired UTF-16 surrogates, which JSON's \\ud800 escapes
# can smuggle into a str but no database or UTF-8 response can hold; and the text-direction controls (embeddings,
# overrides, isolates), which no Chinese name needs and which make text display as other text ("仓库\u202e321"
# shows as "仓库123").
_DIRECTION_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
INVALID_CHARACTERS = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff{_DIRECTION_CONTROLS}]")
_DIRECTION_CONTROL = re.compile(f"[{_DIRECTION_CONTROLS}]")
# Characters that show nothing (zero-width space, joiners, word joiner, byte-order mark, soft hyphen, the
# left-to-right, right-to-left and Arabic letter marks): text pasted from a web page, Word or Windows carries them,
# and "活性\u200b炭" would be a second item that looks like 活性炭. Removed wherever text is taken
# (``plain_text``), not refused: a ledger copied from the web must still get in.
INVISIBLE = frozenset("\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")
INVISIBLE_CHARACTERS = re.compile(f"[{''.join(sorted(INVISIBLE))}]")
# Every date a client or a ledger gives (production, expiry, as_of, since, until, expiring_before) lies in this
# range: an Excel date serial is positive from 1900, and ±14 h of time zone never leaves the datetime range.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)
FUTURE_TOLERANCE = dt.timedelta(days=1)  # clocks and time zones: "today" may be tomorrow somewhere
MAX_LATITUDE = 90
MAX_LONGITUDE = 180


def check_code(value: str, field: str = "code") -> str:
    value = (value or "").strip()
    if not CODE_PATTERN.match(value):
        raise ValidationFailed(
            "a code is 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit", field=field
        )
    return value


def invalid_character_message(value: str) -> str | None:
    """Why ``value`` is not acceptable text (a control character or an unpaired surrogate), or None."""
    match = INVALID_CHARACTERS.search(value)
    if match is None:
        return None
    if "\ud800" <= match.group() <= "\udfff":
        return "contains an unpaired surrogate (not valid Unicode text)"
    if _DIRECTION_CONTROL.match(match.group()):
        return "contains a text-direction control character"
    return "contains a control character"


def plain_text(value: str) -> str:
    """Text as it is kept and compared: without the characters that show nothing, trimmed."""
    if value.isascii():  # none of them is ASCII: codes, numbers and phones skip the pattern
        return value.strip()
    return INVISIBLE_CHARACTERS.sub("", value).strip()


def printable(text: str) -> str:
    """``text`` safe to echo or show (a UTF-8 response, a page, a terminal): each character
    ``invalid_character_message`` objects to written as its escape (``\\x07``, ``\\ud800``), the rest as it is."""
    if INVALID_CHARACTERS.search(text) is None:
        return text
    return INVALID_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def text_limit(column: InstrumentedAttribute) -> int:
    """The most characters a model's ``String(n)`` column holds: the one limit services and schemas check."""
    return column.type.length


def check_text(value: str | None, field: str, *, max_length: int, required: bool = False) -> str:
    value = plain_text(value or "")
    problem = invalid_character_message(value)
    if problem:
        raise ValidationFailed.of_field(field, problem)
    if required and not value:
        raise missing_field(field)
    if len(value) > max_length:
        raise ValidationFailed.of_field(field, f"is longer than {max_length} characters")
    return value


def check_quantity(
    value: object, field: str = "quantity", *, allow_zero: bool = False, signed: bool = False
) -> Decimal:
    """A Decimal with at most three decimal places, positive unless told otherwise."""
    try:
        # a Decimal is taken as it is: str() and back gives the same digits and exponent, slower
        quantity = value if value.__class__ is Decimal else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"{value!r} is not a number", field=field) from exc
    if not quantity.is_finite():
        raise ValidationFailed("not a finite number", field=field)
    # The exponent first, and exact comparisons only: abs() or quantize() of 1e999999999 would need the
    # decimal context (an Overflow) or a billion digits.
    if quantity.adjusted() > MAX_QUANTITY.adjusted() or quantity.copy_abs() > MAX_QUANTITY:
        raise ValidationFailed(f"must not exceed {MAX_QUANTITY}", field=field)
    if quantity and quantity.adjusted() < -QUANTITY_SCALE:
        raise ValidationFailed(f"at most {QUANTITY_SCALE} decimal places", field=field)
    if quantity != quantity.quantize(Decimal(1).scaleb(-QUANTITY_SCALE)):
        raise ValidationFailed(f"at most {QUANTITY_SCALE} decimal places", field=field)
    if signed:
        if quantity == 0 and not allow_zero:
            raise ValidationFailed("must not be zero", field=field)
    elif quantity < 0 or (quantity == 0 and not allow_zero):
        raise ValidationFailed("must be greater than zero" if not allow_zero else "must not be negative", field=field)
    return quantity


def check_coordinate(latitude: float, longitude: float) -> tuple[float, float]:
    if latitude is None or not -MAX_LATITUDE <= float(latitude) <= MAX_LATITUDE:
        raise ValidationFailed("latitude must be between -90 and 90", field="latitude")
    if longitude is None or not -MAX_LONGITUDE <= float(longitude) <= MAX_LONGITUDE:
        raise ValidationFailed("longitude must be between -180 and 180", field="longitude")
    return float(latitude), float(longitude)


def check_date(value: dt.date, field: str) -> dt.date:
    """A calendar date within ``EARLIEST_DATE``..``LATEST_DATE`` (a datetime: its own local date)."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationFailed(f"must be between {EARLIEST_DATE} and {LATEST_DATE}", field=field)
    return value


def check_dates(production_date: dt.date | None, expiry_date: dt.date | None) -> None:
    for value, field in ((production_date, "production_date"), (expiry_date, "expiry_date")):
        if value is not None:
            check_date(value, field)
    if production_date and production_date > business_today() + FUTURE_TOLERANCE:
        raise ValidationFailed("the production date is in the future", field="production_date")
    if production_date and expiry_date and expiry_date < production_date:
        raise ValidationFailed("expiry date is before the production date", field="expiry_date")


def require_one_of(first: object, second: object, first_field: str, second_field: str, what: str) -> None:
    """Exactly one of two alternative inputs; the error names the field to fix."""
    if first and second:
        raise ValidationFailed(f"give {what}, not both", field=second_field)
    if not first and not second:
        raise ValidationFailed(f"give {what}", field=first_field)


def memoised(function: Callable[[Any], R]) -> Callable[[Any], R]:
    """``function`` of one hashable value, remembered per distinct value (by type and value, so 1, 1.0 and True
    stay apart): a ledger repeats the same cells on thousands of rows. Only short texts and scalars are kept, and at
    most ``MEMO_ENTRIES`` of them, so a hostile file cannot grow the cache; what raises is not remembered. A full
    cache forgets its older half rather than stop learning: a national ledger's warehouse sheet alone fills it
    with names and addresses seen once, after which the stock rows' few repeated cells would never be kept."""
    cache: dict[tuple[type, object], R] = {}
    found_in = cache.get

    @functools.wraps(function)
    def call(value: Any) -> R:
        key = (value.__class__, value)
        try:
            found = found_in(key, _NOT_KEPT)  # not cache[key]: a KeyError per new value costs more than the lookup
        except TypeError:  # unhashable: nothing to remember it by
            return function(value)
        if found is not _NOT_KEPT:
            return found
        result = function(value)
        remember(cache, key, result, value)
        return result

    return call


MEMO_ENTRIES = 20_000
_NOT_KEPT = object()
MEMO_TEXT_CHARS = 120


def remember(memo: dict, key: object, value: object, *cells: object) -> None:
    """Keep ``value`` under ``key`` in a memo of what ``cells`` read as, as ``memoised`` keeps: nothing for a long
    text, at most ``MEMO_ENTRIES`` entries, the older half forgotten when full (a hostile file must not make a memo
    costly, and a long file must not stop it learning)."""
    for cell in cells:
        if isinstance(cell, str) and len(cell) > MEMO_TEXT_CHARS:
            return
    if len(memo) >= MEMO_ENTRIES:
        for oldest in list(itertools.islice(memo, MEMO_ENTRIES // 2)):  # dicts keep insertion order
            # pop, not del: the cell parsers' memos are shared by a worker's threads, and another import's
            # thread may be forgetting the same half at the same moment (a KeyError then failed its import)
            memo.pop(oldest, None)
    memo[key] = value


@memoised
def fold(text: str) -> str:
    """Text as compared where people type it (names, words in cells): NFKC (full width → half width),
    case folded, without the characters that show nothing (``plain_text``), trimmed."""
    return plain_text(unicodedata.normalize("NFKC", text or "").casefold())
