"""The rules every change to a stock line obeys, as plain functions of the values involved.

Two paths change stock lines: the per-row services of ``inventory.stock`` (a receipt, a transfer, a
stocktake: one line at a time) and the bulk ledger import of ``inventory.imports`` (thousands of
stocktakes in a handful of statements). Both call these functions, so a rule changed here changes
for both; ``tests/importers/test_bulk_parity.py`` holds the two paths to the same verdicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from inventory.clock import business_today
from inventory.errors import Conflict, plain_number
from inventory.models import StockLine, Warehouse
from inventory.reference import WarehouseStatus
from inventory.validation import check_dates, check_text, text_limit

BATCH_LIMIT = text_limit(StockLine.batch)


class BatchDates(NamedTuple):
    """A batch's production and expiry dates (either may be unknown)."""

    production_date: dt.date | None
    expiry_date: dt.date | None


# How a disagreement over a batch date is worded: (field, date the batch has, date given) → message.
DateConflictMessage = Callable[[str, dt.date, dt.date], str]


def checked_batch(batch: str | None) -> str:
    """A batch as a line keeps it: trimmed, no control characters, at most ``BATCH_LIMIT`` characters."""
    return check_text(batch, "batch", max_length=BATCH_LIMIT)


def expiry_from_shelf_life(
    production_date: dt.date | None, expiry_date: dt.date | None, shelf_life_days: int | None
) -> dt.date | None:
    """The expiry date as given; without one, production plus the item's shelf life (when both are known)."""
    if expiry_date is None and production_date is not None and shelf_life_days:
        return production_date + dt.timedelta(days=shelf_life_days)
    return expiry_date


def batch_dates(
    production_date: dt.date | None, expiry_date: dt.date | None, shelf_life_days: int | None
) -> BatchDates:
    """The dates a receipt or a count gives a batch: checked as given, then expiry from the shelf life."""
    check_dates(production_date, expiry_date)
    return BatchDates(production_date, expiry_from_shelf_life(production_date, expiry_date, shelf_life_days))


def this_batch_has(field: str, current: dt.date, given: dt.date) -> str:
    """The default wording of a date conflict, for a batch the reader already has in view."""
    return f"this batch has {field.replace('_', ' ')} {current}, not {given}"


def agree_batch_dates(
    stored: BatchDates, given: BatchDates, message: DateConflictMessage = this_batch_has
) -> tuple[BatchDates, bool]:
    """A batch keeps one production and one expiry date: the dates it will have, and whether any was filled in.

    A new batch is one with no dates yet (``BatchDates(None, None)``). A given date must equal the stored
    one (``Conflict`` on that field otherwise); a date the batch lacks is taken from ``given``. The result
    is checked as any pair of dates is (expiry not before production).
    """
    if given.production_date is None and given.expiry_date is None:  # most counts give no dates: nothing to agree
        check_dates(*stored)
        return stored, False
    if stored.production_date is None and stored.expiry_date is None:  # a new batch takes the dates given
        check_dates(*given)
        return given, True
    merged = dict(stored._asdict())
    filled = False
    for name, value in given._asdict().items():
        current = merged[name]
        if value is not None and current is not None and value != current:
            raise Conflict(message(name, current, value), field=name)
        if value is not None and current is None:
            merged[name], filled = value, True
    dates = BatchDates(**merged)
    check_dates(*dates)
    return dates, filled


def require_active(warehouse: Warehouse, field: str) -> Warehouse:
    """A new batch (a receipt, a transfer in, a first count) needs an active warehouse."""
    if warehouse.status is not WarehouseStatus.ACTIVE:
        raise Conflict(f"warehouse {warehouse.code} is inactive and cannot receive stock", field=field)
    return warehouse


def require_count_covers_reserved(counted: Decimal, reserved: Decimal, field: str) -> None:
    """A count may not go below what confirmed call-ups hold of the line: the stock they reserved would vanish
    under them (decline or dispatch those lines first)."""
    if counted < reserved:
        raise Conflict(
            f"the count {plain_number(counted)} is below the {plain_number(reserved)} reserved for call-ups",
            field=field,
        )


def batch_expired(expiry_date: dt.date | None, today: dt.date | None = None) -> bool:
    """A batch past its expiry date; expiring today is still usable."""
    return expiry_date is not None and expiry_date < (today or business_today())
