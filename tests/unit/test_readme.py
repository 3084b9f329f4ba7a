"""README.md reads as written: every code block is closed where it should be, and no section is there twice.

A code fence opened with a language (```sh) and closed by another opening (```sh) swallowed the page's
guarantees and the tile-server section into a shell block, and an older copy of "Errors and lists" sat
inside the notifications section.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_code_block_is_closed_by_a_bare_fence_before_the_next_opens():
    open_at = None
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), start=1):
        fence = re.match(r"^```(\S*)\s*$", line)
        if not fence:
            continue
        if open_at is None:
            open_at = number
        else:
            inside = f"line {number} opens a {fence.group(1)} block inside the block of line {open_at}"
            assert not fence.group(1), inside
            open_at = None
    assert open_at is None, f"the code block of line {open_at} is never closed"


def test_no_heading_is_there_twice():
    prose = re.sub(r"^```.*?^```", "", README.read_text(encoding="utf-8"), flags=re.M | re.S)  # not # comments
    headings = [line for line in prose.splitlines() if line.startswith("#")]
    assert [heading for heading, count in Counter(headings).items() if count > 1] == []
