"""``inventory.validation.memoised``: the cell parsers' per-value memory stays bounded and keeps learning."""

from __future__ import annotations

import threading

from inventory.validation import MEMO_ENTRIES, MEMO_TEXT_CHARS, memoised, remember


def counting(calls: list):
    @memoised
    def parse(value):
        calls.append(value)
        return f"parsed {value!r}"

    return parse


def test_a_value_seen_again_is_not_parsed_again_and_types_stay_apart():
    calls: list = []
    parse = counting(calls)
    assert [parse(value) for value in (1, 1.0, True, 1, 1.0, True, "1", "1")] == [
        "parsed 1",
        "parsed 1.0",
        "parsed True",
        "parsed 1",
        "parsed 1.0",
        "parsed True",
        "parsed '1'",
        "parsed '1'",
    ]
    assert calls == [1, 1.0, True, "1"]


def test_long_texts_and_unhashable_values_are_never_kept():
    calls: list = []
    parse = counting(calls)
    long_text = "长" * (MEMO_TEXT_CHARS + 1)
    for _ in range(2):
        parse(long_text)
        parse(["a list"])
    assert calls == [long_text, ["a list"], long_text, ["a list"]]


def test_a_full_memory_forgets_its_older_half_and_goes_on_learning():
    """A national warehouse sheet fills the memory with values seen once; the stock rows' repeated cells that
    come after must still be remembered, and the memory never holds more than MEMO_ENTRIES values."""
    calls: list = []
    parse = counting(calls)
    for value in range(3 * MEMO_ENTRIES):  # far more distinct values than it may keep
        parse(f"名称{value}")
    kept = parse.__closure__  # the cache is the wrapper's own: measure it by what is parsed again
    assert kept is not None
    calls.clear()
    repeated = [f"单位{value % 50}" for value in range(10_000)]
    for value in repeated:
        parse(value)
    assert len(calls) == 50  # learnt after the memory was full
    calls.clear()
    recent = [f"名称{value}" for value in range(3 * MEMO_ENTRIES - MEMO_ENTRIES // 4, 3 * MEMO_ENTRIES)]
    for value in recent:
        parse(value)
    assert calls == []  # the newer values survived the forgetting
    calls.clear()
    parse("名称0")
    assert calls == ["名称0"]  # the oldest were forgotten: the memory is bounded
    cache = next(cell.cell_contents for cell in kept if isinstance(cell.cell_contents, dict))
    assert len(cache) <= MEMO_ENTRIES


class _EvictedMeanwhile(dict):
    """A full memo whose oldest entry another thread forgets while this one is about to forget it too."""

    def __iter__(self):
        keys = list(dict.__iter__(self))
        dict.__delitem__(self, keys[0])
        return iter(keys)


def test_forgetting_an_entry_another_thread_forgot_first_is_no_error():
    memo = _EvictedMeanwhile((number, number) for number in range(MEMO_ENTRIES))
    remember(memo, "new", "value")
    assert memo["new"] == "value" and len(memo) == MEMO_ENTRIES - MEMO_ENTRIES // 2 + 1


def test_threads_sharing_a_memo_past_its_size_raise_nothing():
    """A worker's threads share the cell parsers' memos: two imports at once each fill them past ``MEMO_ENTRIES``."""
    calls: list = []
    parse = counting(calls)
    failures: list[BaseException] = []

    def fill(offset: int) -> None:
        try:
            for number in range(3 * MEMO_ENTRIES):
                parse(f"{offset}-{number}")
        except BaseException as error:  # any failure in the thread fails the test
            failures.append(error)

    threads = [threading.Thread(target=fill, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
