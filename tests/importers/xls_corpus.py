"""The field corpus saved as Excel 97-2003 workbooks (.xls), as many county offices still save their ledgers.

``tests/importers/xls/<family>.xls`` holds each family of ``field_corpus`` written cell for cell (values, merged
ranges, dates as date cells) by xlwt, which is not a dependency of the project: regenerate them after a change to
the corpus with

    pip install --target /tmp/xlwt xlwt==1.3.0
    PYTHONPATH=/tmp/xlwt .venv/bin/python -m tests.importers.xls_corpus

``test_field_corpus`` imports each one next to its .xlsx and expects exactly the same of both. Beside them,
hostile files: ``hostile_far_corner.xls`` (a cell at BIFF8's last row and column, written by xlwt),
``hostile_far_apart_sheets.xls`` (four sheets, each a cell at A1 and one at IG65536, written by xlwt: 5 KB that
python-calamine, loading every sheet at once, held as ~1.9 GB) and ``encrypted.xlsx`` (a one-row ledger with a
password to open, written by msoffcrypto-tool's ``OOXMLFile.encrypt``).

``biff_workbook`` and ``compound_file`` write an .xls from records, for files no spreadsheet program writes.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import struct
from pathlib import Path

import openpyxl

XLS_DIRECTORY = Path(__file__).with_name("xls")


def xls_of(family_name: str) -> bytes | None:
    path = XLS_DIRECTORY / f"{family_name}.xls"
    return path.read_bytes() if path.exists() else None


def as_xls(data: bytes) -> bytes:  # pragma: no cover - run by hand, with xlwt
    import xlwt

    source = openpyxl.load_workbook(io.BytesIO(data))
    target = xlwt.Workbook(encoding="utf-8")
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for sheet in source.worksheets:
        out = target.add_sheet(sheet.title, cell_overwrite_ok=True)
        merged = {(r.min_row, r.min_col): r for r in sheet.merged_cells.ranges}
        covered = {
            (row, column)
            for r in sheet.merged_cells.ranges
            for row in range(r.min_row, r.max_row + 1)
            for column in range(r.min_col, r.max_col + 1)
        }
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                place = (cell.row, cell.column)
                if place in merged:
                    r = merged[place]
                    style = dates if isinstance(value, dt.date) else xlwt.Style.default_style
                    out.write_merge(r.min_row - 1, r.max_row - 1, r.min_col - 1, r.max_col - 1, value, style)
                elif value is None or place in covered:
                    continue
                elif isinstance(value, dt.date):
                    out.write(cell.row - 1, cell.column - 1, value, dates)
                else:
                    out.write(cell.row - 1, cell.column - 1, value)
    result = io.BytesIO()
    target.save(result)
    return result.getvalue()


def far_apart_sheets() -> bytes:  # pragma: no cover - run by hand, with xlwt
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for number in range(4):
        sheet = book.add_sheet(f"台账{number + 1}")
        sheet.write(0, 0, "物资名称")
        sheet.write(65535, 240, 1)
    result = io.BytesIO()
    book.save(result)
    return result.getvalue()


def main() -> None:  # pragma: no cover - run by hand, with xlwt
    from tests.importers.field_corpus import FAMILIES

    XLS_DIRECTORY.mkdir(exist_ok=True)
    for family in FAMILIES:
        (XLS_DIRECTORY / f"{family.__name__}.xls").write_bytes(as_xls(family().data))
    (XLS_DIRECTORY / "hostile_far_apart_sheets.xls").write_bytes(far_apart_sheets())


# Records and the compound file around them, as MS-XLS and MS-CFB lay them out (only what a reader needs).


def record(kind: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def bof(kind: int) -> bytes:
    """BOF of BIFF8: 0x0005 the globals, 0x0010 a worksheet."""
    return record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


EOF_RECORD = record(0x000A)


def label(row: int, column: int, text: str) -> bytes:
    return record(0x0204, struct.pack("<HHHHB", row, column, 0, len(text), 1) + text.encode("utf-16-le"))


def rich_label(row: int, column: int, text: str) -> bytes:
    """An RSTRING: a LABEL with rich-text runs after its string (none here)."""
    return record(0x00D6, struct.pack("<HHHHB", row, column, 0, len(text), 0) + text.encode("latin-1") + b"\0\0")


def shared_label(row: int, column: int, index: int) -> bytes:
    """A LABELSST: the cell shows the SST's string ``index``."""
    return record(0x00FD, struct.pack("<HHHI", row, column, 0, index))


def number_cell(row: int, column: int, value: float) -> bytes:
    return record(0x0203, struct.pack("<HHHd", row, column, 0, value))


def formula(row: int, column: int, tokens: bytes, value: float = 0.0) -> bytes:
    """A FORMULA record: its cached number, then its parsed formula (the tokens' byte count, the tokens)."""
    return record(0x0006, struct.pack("<HHHdHIH", row, column, 0, value, 0, 0, len(tokens)) + tokens)


def dimensions(first_row: int, end_row: int, first_column: int, end_column: int) -> bytes:
    """The used range: first row, last row + 1, first column, last column + 1 (from 0)."""
    return record(0x0200, struct.pack("<IIHHH", first_row, end_row, first_column, end_column, 0))


def biff_workbook(
    sheets: list[tuple[str, bytes]], positions: list[int | None] | None = None, strings: list[str] | None = None
) -> bytes:
    """A Workbook stream: the globals (a BOUNDSHEET per sheet), then each sheet's records between BOF and EOF.
    ``positions`` puts a sheet's BOUNDSHEET elsewhere than at its records (None: where they are); ``strings``, an
    SST of those (one record: at most 8 KB of them, as Excel writes one before a CONTINUE)."""

    def boundsheet(position: int, name: str) -> bytes:
        return record(0x0085, struct.pack("<IBBBB", position, 0, 0, len(name), 1) + name.encode("utf-16-le"))

    head = bof(0x0005) + record(0x0042, struct.pack("<H", 1200))
    if strings is not None:
        encoded = b"".join(struct.pack("<HB", len(text), 1) + text.encode("utf-16-le") for text in strings)
        head += record(0x00FC, struct.pack("<II", len(strings), len(strings)) + encoded)
    globals_size = len(head) + sum(len(boundsheet(0, name)) for name, _ in sheets) + len(EOF_RECORD)
    bodies = [bof(0x0010) + records + EOF_RECORD for _, records in sheets]
    starts = list(itertools.accumulate((len(body) for body in bodies), initial=globals_size))[:-1]
    chosen = [
        at if moved is None else moved for at, moved in zip(starts, positions or [None] * len(sheets), strict=True)
    ]
    listed = b"".join(boundsheet(at, name) for at, (name, _) in zip(chosen, sheets, strict=True))
    return head + listed + EOF_RECORD + b"".join(bodies)


ENDOFCHAIN, FREESECT, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def compound_file(
    stream: bytes,
    fat_edits: dict[int, int] | None = None,
    mini: bool = False,
    name: str = "Workbook",
    storage: tuple[str, str] | None = None,
) -> bytes:
    """An OLE2 compound file (version 3, 512-byte sectors) holding ``stream`` as its Workbook stream (``name``: Book
    for a BIFF5 workbook): in regular sectors (a shorter stream padded out to 4,096 bytes with empty records), or
    with ``mini`` in the mini stream (a stream under 4,096 bytes, as it is). ``fat_edits`` overwrite FAT entries
    (sector → next), for broken chains. ``storage`` (its name, the name of an empty stream in it): a storage beside
    the Workbook stream, as an .xls with macros holds its VBA project (_VBA_PROJECT_CUR). Sectors in order: the
    stream's (or the mini stream's and the mini FAT's), the directory, the FAT."""
    if not mini:
        stream += bytes(max(0, 4096 - len(stream)))
    small = -(-len(stream) // 64)
    held = stream.ljust(small * 64, b"\0") if mini else stream
    sectors = -(-len(held) // 512)
    chains = [sectors] + ([1] if mini else [])  # the stream (or mini stream), the mini FAT
    used = sum(chains) + 1  # and the directory
    fat_sectors = 1
    while fat_sectors * 128 < used + fat_sectors:
        fat_sectors += 1
    fat: list[int] = []
    for length in [*chains, 1]:
        fat += [*range(len(fat) + 1, len(fat) + length), ENDOFCHAIN]
    fat += [FATSECT] * fat_sectors
    fat += [FREESECT] * (fat_sectors * 128 - len(fat))
    for at, following in (fat_edits or {}).items():
        fat[at] = following
    mini_fat = [*range(1, small), ENDOFCHAIN] + [FREESECT] * (128 - small) if mini else []

    def entry(name: str, kind: int, child: int, start: int, size: int, sibling: int = FREESECT) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, FREESECT, sibling, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<III", start, size, 0)
        )

    root = entry("Root Entry", 5, 1, 0, len(held)) if mini else entry("Root Entry", 5, 1, ENDOFCHAIN, 0)
    entries = root + entry(name, 2, FREESECT, 0, len(stream), 2 if storage else FREESECT)
    if storage:  # entries 2 and 3: the storage, and its stream (no sectors)
        entries += entry(storage[0], 1, 3, ENDOFCHAIN, 0) + entry(storage[1], 2, FREESECT, ENDOFCHAIN, 0)
    directory = entries.ljust(512, b"\0")
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("d0cf11e0a1b11ae1"),
        bytes(16),
        0x003E,
        3,
        0xFFFE,
        9,
        6,
        bytes(6),
        0,
        fat_sectors,
        used - 1,  # the directory's sector
        0,
        4096,
        sectors if mini else ENDOFCHAIN,
        1 if mini else 0,
        ENDOFCHAIN,
        0,
    )
    difat = [used + number for number in range(fat_sectors)] + [FREESECT] * (109 - fat_sectors)
    header += struct.pack("<109I", *difat)
    body = held.ljust(sectors * 512, b"\0") + (struct.pack("<128I", *mini_fat) if mini else b"") + directory
    return header + body + struct.pack(f"<{len(fat)}I", *fat)


if __name__ == "__main__":
    main()
