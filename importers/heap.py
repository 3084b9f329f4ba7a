"""Python's cycle collector held off while a ledger streams in or out (``cycle_collection_paused``).

A national ledger's rows make hundreds of thousands of container objects (cell lists, database rows, row
records, cache keys, tallies), and every batch of them sets off another collection, every few a pass over the
whole heap (the app, SQLAlchemy's caches, the rows kept so far) that finds nothing: reference counting frees
every row. Measured on the national ledger: the export 0.8-1.4 s of CPU of about 5; the import's reading 0.8 s of
2.3 (docs/benchmarks.md, "s25: the import's reading"). The collector is switched back on after; if two overlap,
it is back on once both are done at the latest.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
