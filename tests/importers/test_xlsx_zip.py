"""The streamed workbook's zip: joined deflate streams, their combined CRC, headers any reader accepts."""

from __future__ import annotations

import io
import random
import zipfile
import zlib

import pytest

from importers.xlsx_zip import DeflatedPart, ZipWriter, crc32_combine


@pytest.mark.parametrize("lengths", [(0, 0), (5, 0), (0, 7), (1, 1), (1000, 70_001), (65_536, 3)])
def test_crc32_combine_is_the_crc_of_the_joined_bytes(lengths):
    generator = random.Random(sum(lengths))
    first, second = (generator.randbytes(length) for length in lengths)

    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(first + second)


def test_a_member_around_a_deflated_part_reads_back_whole_and_checked(tmp_path):
    generator = random.Random(3)
    rows = [f'<row r="{n}"><c r="A{n}"><v>{generator.random()}</v></c></row>'.encode() for n in range(40_000)]
    middle = DeflatedPart(str(tmp_path))
    for start in range(0, len(rows), 999):  # several chunks through the worker thread
        middle.write(b"".join(rows[start : start + 999]))
    out = io.BytesIO()
    archive = ZipWriter(out)
    archive.add_file("first.xml", io.BytesIO(b"<a>" * 10_000))
    archive.add_around("sheet.xml", b"<sheetData>", middle, b"</sheetData>")
    archive.add_file("empty.xml", io.BytesIO(b""))
    archive.close()
    middle.close()

    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as book:
        assert book.testzip() is None  # every member's CRC and size check out
        assert book.namelist() == ["first.xml", "sheet.xml", "empty.xml"]
        assert book.read("sheet.xml") == b"<sheetData>" + b"".join(rows) + b"</sheetData>"
        assert book.read("first.xml") == b"<a>" * 10_000 and book.read("empty.xml") == b""


def test_a_failure_in_the_worker_comes_back_to_the_writer(tmp_path):
    middle = DeflatedPart(str(tmp_path))
    middle.write("text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        middle.finish()
    middle.close()
