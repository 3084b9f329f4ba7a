"""``db._bound``: a batch's columns converted by their bind processors once per distinct value, as each value alone
(and once per insert, across its batches)."""

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


def test_values_known_from_earlier_batches_are_bound_as_alone_by_type():
    """The tables kept from batch to batch (``known``) keep equal values of other types apart, and convert a value
    seen before in an earlier batch no more."""
    calls: list[object] = []

    def tagged(value: object) -> str:
        calls.append(value)
        return _tagged(value)

    converters = [(0, tagged)]
    known = [{}]
    batches = [[(True,), (None,)], [(1,), (1,)], [(1.0,), (None,)], [(Decimal("1.50"),)], [(1,), (True,)], [(True,)]]
    bound = [[row[0] for row in _bound(batch, converters, known)] for batch in batches]
    assert bound == [[_tagged(value) for (value,) in batch] for batch in batches]
    assert bound[:3] == [["bool:True", "NoneType:None"], ["int:1", "int:1"], ["float:1.0", "NoneType:None"]]
    # each value once per type's table (None once in each); the batch mixing int and bool value by value; the last
    # batch's True from the table of the first
    assert sorted(map(_tagged, calls)) == sorted(
        ["bool:True", "NoneType:None", "int:1", "float:1.0", "NoneType:None", "Decimal:1.50", "int:1", "bool:True"]
    )
