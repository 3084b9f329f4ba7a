"""Every limit on an uploaded workbook, in one place.

Sized from real files: a national ledger is ~126,000 rows × 18 columns (2.3 million cells, 120 MB of sheet
XML) and is read in a few seconds with ~300 MB; each limit leaves room above that. The upload's byte size
is the app's ``MAX_UPLOAD_BYTES`` (413 before anything here runs).
"""

from __future__ import annotations

from inventory.errors import ValidationFailed

# The zip, checked from its directory before any part is read.
MAX_ZIP_MEMBERS = 10_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024  # what the zip may expand to, declared sizes summed
MAX_COMPRESSION_RATIO = 200  # XML compresses ~10-50x; a bomb compresses thousands of times

# The sheets, from their XML before a reader loads them (the reader holds every cell of the used range).
MAX_SHEET_AREA = 16_000_000  # rows × columns of one sheet's used range (e.g. 200,000 rows × 80 columns)
MAX_CELLS = 8_000_000  # cells written in the whole workbook
MAX_RELATIONSHIPS_BYTES = 16 << 20  # a workbook's relationships part: a few KB; past this every part is scanned
# The used ranges of all sheets of an .xls together: calamine loads every sheet of an .xls when it opens the file,
# each as a grid of its used range (~32 bytes a cell, ~56 with formulas), where an .xlsx's sheets load one at a
# time. 8 million keeps an open .xls near what one .xlsx sheet of MAX_SHEET_AREA costs (~0.5 GB); a county's .xls
# ledger is at most 65,536 rows (BIFF8's grid) × a few dozen columns, ~2.6 million, several sheets of it fit.
MAX_XLS_AREA = 8_000_000
# What calamine does to read an .xls's formulas, which it writes out as text when it opens the file: each operator,
# function or run of spaces moves the text written before it, so one crafted 64 KB formula held the parse to its CPU
# limit. Counted from above (``xls_records.formula_work``), in bytes moved: ~1 s of its CPU at most; a ledger of
# 65,536 rows with three formula columns (lookups on another sheet) counts ~150 million.
MAX_XLS_FORMULA_WORK = 50_000_000_000
# The text shared-string cells show, as calamine loads them: each cell gets its own copy of its string (an .xlsx's
# ``t="s"`` cells, an .xls's LABELSST), so one string of 30,000 characters shown by 40,000 cells of a 210 KB .xlsx
# took it to 1.2 GB (an .xls: 60,000 characters, 10,000 cells). In characters (up to 3 bytes each): ~300 MB at
# most; a county's ledger of 65,536 rows shows ~2-3 million, a national one of 126,000 rows ~12 million.
MAX_WORKBOOK_TEXT = 100_000_000
MAX_ROWS = 200_000  # ledger rows in one file
# Hidden column spans kept of a sheet (a sheet has 16,384 columns; Excel writes one span per run of alike ones)
MAX_HIDDEN_COLUMN_SPANS = 16_384
MAX_CELL_CHARS = 4_000  # text kept per cell (Excel allows 32,767); longer text is cut to this plus one
# Items one file may add to the catalogue (each ~1 ms of the worker's own time, outside the parse's limits): a
# national catalogue holds a few hundred items, so a file naming thousands of new ones has its item column wrong.
MAX_NEW_ITEMS = 500

# The child process that parses the upload: a file past these is refused, and the worker never notices.
PARSE_MEMORY_BYTES = 2 * 1024 * 1024 * 1024  # address space the parse may add to the worker's own
PARSE_CPU_SECONDS = 40  # CPU time of the parse (under gunicorn's 60 s worker timeout)
PARSE_WAIT_SECONDS = 90  # how long the worker waits for the parse in all (CPU-starved machines: wall > CPU)


def mib(size: int) -> str:
    """A byte limit as people read it: 2 GiB, 512 MiB."""
    return f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size / 2**20:g} MiB"


class WorkbookTooLarge(ValidationFailed):
    """A file past one of these limits: 413, the message naming the limit (Chinese, then English)."""

    title = "Workbook too large"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")
