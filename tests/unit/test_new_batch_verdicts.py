"""The import plan's checks kept per distinct input (``_NewBatchVerdicts``) give each count the verdict
``check_quantity`` gives it alone, whatever came before: equal values with other digits are other inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.errors import DomainError
from inventory.imports import StockCount, _NewBatchVerdicts
from inventory.validation import check_quantity


def verdicts(texts: list[str]) -> list[bool]:
    checks = _NewBatchVerdicts({}, frozenset({1}))  # warehouse 1 registered with this stock: no active check
    accepted = []
    for text in texts:
        try:
            checks.plan(StockCount(text, 1, 1, "", Decimal(text)), None)
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
