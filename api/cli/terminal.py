"""Fixed-width tables for CLI output; CJK characters take two terminal columns."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def truncate(text: str, width: int) -> str:
    """Shorten to ``width`` columns, marking the cut with an ellipsis."""
    if display_width(text) <= width:
        return text
    while display_width(text) > width - 1:
        text = text[:-1]
    return text + "…"


def column_widths(header: list[str], rows: list[list[str]]) -> list[int]:
    return [max(display_width(row[column]) for row in [header, *rows]) for column in range(len(header))]


def format_row(row: list[str], widths: list[int]) -> str:
    return "  ".join(pad(text, width) for text, width in zip(row, widths, strict=True)).rstrip()


def render_table(header: list[str], rows: list[list[str]]) -> str:
    widths = column_widths(header, rows)
    return "\n".join(format_row(row, widths) for row in [header, *rows])
