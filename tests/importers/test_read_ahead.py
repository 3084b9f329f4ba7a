"""``workbook.read_ahead``: the scan's chunks, each read in a thread while the one before is scanned, exactly as
the plain loop reads them (the same chunks, the same error at the same place, nothing read after a stop)."""

from __future__ import annotations

import io
import threading
import zlib

import pytest

from importers.workbook import read_ahead


class _Part(io.BytesIO):
    """A part that records which thread each read ran in, and can fail at one read."""

    def __init__(self, data: bytes, fail_at: int | None = None) -> None:
        super().__init__(data)
        self.threads: list[str] = []
        self.fail_at = fail_at

    def read(self, size: int = -1) -> bytes:
        self.threads.append(threading.current_thread().name)
        if self.fail_at is not None and len(self.threads) == self.fail_at:
            raise zlib.error("Error -3 while decompressing data: invalid stored block lengths")
        return super().read(size)


def _plain(part: io.BytesIO, size: int) -> list[bytes]:
    chunks = []
    while chunk := part.read(size):
        chunks.append(chunk)
    return chunks


def test_the_same_chunks_as_the_plain_loop_each_read_in_the_reader_thread():
    data = bytes(range(256)) * 41
    part = _Part(data)
    assert list(read_ahead(part, 1000)) == _plain(io.BytesIO(data), 1000)
    assert len(part.threads) == 12  # eleven chunks and the empty read that ends them
    assert all(name.startswith("read_ahead") for name in part.threads)


def test_a_read_error_is_raised_after_the_chunks_before_it():
    part = _Part(b"x" * 5000, fail_at=3)
    seen = []
    with pytest.raises(zlib.error, match="invalid stored block"):
        for chunk in read_ahead(part, 1000):
            seen.append(chunk)
    assert seen == [b"x" * 1000, b"x" * 1000]


def test_nothing_is_read_after_the_caller_stops_and_no_read_outlives_it():
    part = _Part(b"x" * 10_000)
    for _chunk in read_ahead(part, 1000):
        break  # a scan refusing the first chunk: the read ahead of it is the last
    assert len(part.threads) in (1, 2)  # the read ahead of it, cancelled, or finished before the generator left
    assert not any(thread.name.startswith("read_ahead") for thread in threading.enumerate())
