"""The README renders as written: every code block closed where it should be, every section once.

A merge once left a crontab block open, so that the page's guarantees rendered as shell, and a stale copy of
"Errors and lists" with the notification service's unit in it; others left stale rows in tables beside the rows
that replaced them (two `seed-demo`, two `check-ledger`, two "Excel ledgers" saying different things)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")


def _outside_code(lines: list[str]) -> list[tuple[int, str]]:
    """The lines outside fenced blocks, by number; asserts each block opens with a language and closes."""
    outside, opened_at = [], None
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line)
        if fence and opened_at is None:
            assert fence.group(1), f"README.md:{number}: a code block opens without its language"
            opened_at = number
        elif fence:
            assert not fence.group(1), f"README.md:{number}: a block opens inside the one opened at {opened_at}"
            opened_at = None
        elif opened_at is None:
            outside.append((number, line))
    assert opened_at is None, f"README.md:{opened_at}: a code block is never closed"
    return outside


def test_every_code_block_of_the_readme_opens_with_its_language_and_closes():
    _outside_code(README.read_text(encoding="utf-8").splitlines())


def test_every_section_of_the_readme_appears_once():
    headings = [line for _number, line in _outside_code(README.read_text(encoding="utf-8").splitlines())]
    headings = [line for line in headings if line.startswith("#")]
    assert len(headings) == len(set(headings)), sorted({h for h in headings if headings.count(h) > 1})


def test_every_row_of_a_readme_table_appears_once():
    """A table's rows are told apart by their first cell: one that appears twice is a stale copy of the other."""
    twice, table = [], {}
    for number, line in _outside_code(README.read_text(encoding="utf-8").splitlines()):
        if not line.startswith("|"):
            table = {}  # a table ends at its first line that is not a row
            continue
        first = line.split("|")[1].strip()
        if first.strip("-: ") and first in table:
            twice.append(f"README.md:{number} repeats the row of line {table[first]}: {first}")
        table.setdefault(first, number)
    assert not twice, "\n".join(twice)
