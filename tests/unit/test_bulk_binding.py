"""``db._bound``: a batch's columns converted by their bind processors once per distinct value, as each value alone."""

from __future__ import annotations

from decimal import Decimal

from inventory.db import _bound


def _tagged(value: object) -> str:
    return f"{type(value).__name__}:{value}"


def test_each_value_bound_as_alone_whatever_repeats():
    batch = [
        (1, Decimal("1.5"), None, "a"),
        (2, Decimal("2"), True, "a"),
        (3, Decimal("1.5"), 1, "b"),  # True and 1 are equal: in one column they must still stay apart
        (4, None, 1.0, "b"),
    ]
    converters = [(1, _tagged), (2, _tagged)]
    bound = _bound(batch, converters)
    expected = [tuple(_tagged(v) if p in (1, 2) else v for p, v in enumerate(row)) for row in batch]
    assert [tuple(row) for row in bound] == expected
    assert bound[1][2] == "bool:True" and bound[2][2] == "int:1" and bound[3][2] == "float:1.0"


def test_unhashable_values_are_bound_one_by_one():
    bound = _bound([({"a": 1},), ({"a": 1},)], [(0, lambda value: sorted(value))])
    assert [row[0] for row in bound] == [["a"], ["a"]]


def test_no_converters_leaves_the_batch_as_it_is():
    batch = [(1, "x")]
    assert _bound(batch, []) is batch
