"""The import plan's checks kept per distinct input (``_CountVerdicts``) give each count the verdict its checks
give it alone, whatever came before: equal values with other digits are other inputs; an existing line's dates
and reservation are judged as ``agree_batch_dates`` and the reservation rule judge them one count at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from inventory.errors import DomainError
from inventory.imports import StockCount, _CountVerdicts
from inventory.stock_rules import BatchDates, agree_batch_dates, batch_dates, require_count_covers_reserved
from inventory.validation import check_quantity


def verdicts(texts: list[str]) -> list[bool]:
    checks = _CountVerdicts({}, frozenset({1}))  # warehouse 1 registered with this stock: no active check
    accepted = []
    for text in texts:
        try:
            checks.new_batch(StockCount(text, 1, 1, "", Decimal(text)), None)
            accepted.append(True)
        except DomainError:
            accepted.append(False)
    return accepted


def alone(text: str) -> bool:
    try:
        check_quantity(Decimal(text), allow_zero=True)
    except DomainError:
        return False
    return True


@pytest.mark.parametrize(
    "texts",
    [["0", "0E+13"], ["0E+13", "0"], ["5", "5.000", "5.0001", "5"], ["5.0001", "5.0001", "5", "5", "-1", "-1"]],
)
def test_each_count_gets_the_verdict_it_gets_alone(texts):
    assert verdicts(texts) == [alone(text) for text in texts]


def _alone_against_line(count: StockCount, line: tuple, life: int | None) -> object:
    """An existing line's verdict from the rules themselves, one count at a time (what ``existing`` keeps)."""
    try:
        counted = check_quantity(count.counted, "quantity", allow_zero=True)
        given = batch_dates(count.production_date, count.expiry_date, life)
        line_id, quantity, reserved, production, expiry = line
        dates, fill = agree_batch_dates(BatchDates(production, expiry), given)
        require_count_covers_reserved(counted, reserved, "quantity")
        if counted == quantity and not fill:
            return None
        return (line_id, quantity, dates.production_date, dates.expiry_date, fill)
    except DomainError as error:
        return ("refused", error.message)


def _kept_against_line(checks: _CountVerdicts, count: StockCount, line: tuple, life: int | None) -> object:
    try:
        planned = checks.existing(count, line, life)
    except DomainError as error:
        return ("refused", error.message)
    if planned is None:
        return None
    return (planned.line_id, planned.current, planned.production_date, planned.expiry_date, planned.fill_dates)


def test_counts_of_existing_lines_get_the_verdicts_they_get_alone():
    may, june, later = dt.date(2025, 5, 1), dt.date(2025, 6, 1), dt.date(2031, 1, 1)
    lines = [
        (7, Decimal(5), Decimal(0), None, None),
        (8, Decimal(5), Decimal(2), may, None),  # 2 reserved
        (9, Decimal("0.5"), Decimal(0), may, later),
    ]
    counts = [
        (Decimal(5), None, None, None),  # unchanged
        (Decimal("5.000"), may, None, 365),  # the same count in other digits, dates filled in from the shelf life
        (Decimal(1), may, None, None),  # below the reservation of line 8
        (Decimal("0E+13"), None, None, None),  # refused for its exponent, unlike 0
        (Decimal(0), None, None, None),
        (Decimal(5), june, None, None),  # a production date the line 8 and 9 contradict
        (Decimal(5), later, may, None),  # expiry before production
        (Decimal("1.0001"), None, None, None),  # too many decimal places
    ]
    checks = _CountVerdicts({}, frozenset())
    for _round in range(2):  # the second round meets every input again, passed or refused
        for counted, produced, expires, life in counts:
            for line in lines:
                count = StockCount("k", 1, 1, "B", counted, produced, expires)
                assert _kept_against_line(checks, count, line, life) == _alone_against_line(count, line, life)
