"""The building blocks every schema module uses: enum choices, quantities, dates, bounded lists, strictness.

Each field checks with ``inventory``'s own rules (``check_quantity``, ``check_date``, its limits), so a
schema refuses exactly what the services would.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api.config import MAX_ROW_ID
from api.errors import request_language
from api.extensions import db
from api.messages import catalog
from inventory.errors import DomainError, ValidationFailed
from inventory.regions import region_names
from inventory.validation import (
    CODE_PATTERN,
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_LATITUDE,
    MAX_LONGITUDE,
    check_date,
    check_quantity,
)


def choice(enum_class: type, **kwargs) -> fields.String:
    """A string field accepting the enum's values, listed in the OpenAPI document."""
    values = [m.value for m in enum_class]
    metadata = {"enum": values, **kwargs.pop("metadata", {})}
    return fields.String(validate=validate.OneOf(values), metadata=metadata, **kwargs)


class MessageField(fields.String):
    """A stored message (an import review's detail) in the request's language, through the message catalog.

    The importer stores English templates; an older row stored in Chinese is not in the catalog and is shown
    as written."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else catalog().translate(str(value), request_language())


class SystemTextField(fields.String):
    """A ledger reason or a call-up's or timeline's note: in the request's language when the server wrote it,
    a person's words as written (``MessageCatalog.system_text``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else system_text(str(value))


def system_text(text: str) -> str:
    """A stored reason or note as the request's reader gets it (``SystemTextField``, and the writes' answers)."""
    return catalog().system_text(text, request_language())


class QuantityField(fields.Field):
    """A quantity with at most three decimals: read from a JSON number or string, written as a number.

    Values never need more than 15 significant digits, so the JSON number round-trips exactly.
    """

    def __init__(self, *, positive: bool = True, allow_zero: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.positive = positive
        self.allow_zero = allow_zero
        self.metadata.setdefault("type", "number")

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else float(value)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError("must be a number")
        try:
            return check_quantity(value, allow_zero=self.allow_zero, signed=not self.positive)
        except ValidationFailed as error:
            raise ValidationError(error.message) from error


class DateField(fields.Date):
    """A calendar date (YYYY-MM-DD) within ``EARLIEST_DATE``..``LATEST_DATE``: every date input uses it."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metadata.setdefault("description", "")
        self.metadata["description"] = _range_note(self.metadata["description"])

    def _deserialize(self, value, attr, data, **kwargs) -> dt.date:
        return _in_range(super()._deserialize(value, attr, data, **kwargs))


class MomentField(fields.AwareDateTime):
    """An ISO 8601 moment with its zone, whose local date lies within ``EARLIEST_DATE``..``LATEST_DATE``.

    Checked before anything converts it to UTC: 0001-01-01T00:00+14:00 has no UTC counterpart.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metadata["description"] = _range_note(self.metadata.get("description", ""))

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        if isinstance(value, str):
            value = DECODED_PLUS.sub(r"\1+\2", value)
        return _in_range(super()._deserialize(value, attr, data, **kwargs))


# ?as_of=2026-03-01T00:00:00+08:00 typed unencoded arrives as "…T00:00:00 08:00": a query string decodes "+"
# as a space. A space before the offset cannot mean anything else, so it is read as the "+" it was.
DECODED_PLUS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def _range_note(description: str) -> str:
    note = f"between {EARLIEST_DATE} and {LATEST_DATE}"
    return f"{description} ({note})" if description else note


def _in_range(value):
    try:
        return check_date(value, "date")
    except ValidationFailed as error:
        raise ValidationError(error.message) from error


class BoundedList(fields.List):
    """A list of at most ``max_length`` entries, counted before any entry is deserialised.

    ``validate.Length`` alone runs after every entry has been loaded: 400,000 needs cost seconds of CPU
    (and 400,000 error messages) before the length is even looked at.
    """

    def __init__(self, cls_or_instance, *, max_length: int, min_length: int | None = None, **kwargs) -> None:
        super().__init__(cls_or_instance, validate=validate.Length(min=min_length, max=max_length), **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs) -> list:
        if isinstance(value, list | tuple) and len(value) > self.max_length:
            raise ValidationError(f"at most {self.max_length} entries")
        return super()._deserialize(value, attr, data, **kwargs)


def row_id(**kwargs) -> fields.Integer:
    """A row id in a body (a stock line, a call-up line, a shipment line): within the ids a path takes."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ROW_ID), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


LATITUDE = validate.Range(min=-MAX_LATITUDE, max=MAX_LATITUDE)
LONGITUDE = validate.Range(min=-MAX_LONGITUDE, max=MAX_LONGITUDE)
code_field = {"validate": validate.Regexp(CODE_PATTERN, error="1-32 letters, digits, '.', '_' or '-'")}


class Augmented:
    """``obj`` seen with extra attributes, so one output schema dumps both (no second dump)."""

    def __init__(self, obj: object, **extra: object) -> None:
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> object:
        return getattr(self._obj, name)


class RegionField(fields.String):
    """A region filter: a six-digit GB/T 2260 code, or a name (北京市, 海淀区) matched by ``inventory.regions``.

    A name becomes its code here, so the services see codes only; an unknown or ambiguous name is a 422 on
    this field (the candidates listed with their province and city).
    """

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text.isdigit():
            if not re.fullmatch(r"\d{6}", text):
                raise ValidationError("a six-digit GB/T 2260 code")
            return text
        try:
            return region_names(db.session).region_named(text, field=attr or "region")
        except DomainError as error:
            raise ValidationError(error.message) from error
