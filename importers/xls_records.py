"""What an Excel 97-2003 workbook (.xls) holds, read from its records before python-calamine loads it.

An .xls is an OLE2 compound file (MS-CFB) whose ``Workbook`` stream is a run of BIFF8 records: the workbook's
globals (one BOUNDSHEET record per sheet, giving where its records begin), then each sheet's records. calamine
loads every sheet of an .xls when the file is opened, each one as a grid of its used range (rows × columns
cells, ~32 bytes each, formulas another grid beside it), so a few cells far apart on several sheets of a 5 KB
file cost it over a gigabyte. ``xls_sheets`` reads the stream as calamine will: the compound file's sector
chains as its ``Cfb::new`` and ``get_stream`` follow them, each sheet's records from its BOUNDSHEET position
to the first EOF record; and says, per sheet, the used range declared (DIMENSIONS), the one its cells reach,
and the cells written. ``importers.workbook.check_xls_sheets`` holds those to the limits.

Linear in the file, and nothing read twice: a chain longer than the file has sectors is a cycle, a sector past
the end is refused before it is read, and sheets whose records run into each other (Excel writes each sheet's
records apart, from its BOF to its EOF) are refused rather than walked once per sheet.
"""

from __future__ import annotations

import codecs
import struct
import sys
from array import array
from dataclasses import dataclass

ENDOFCHAIN = 0xFFFF_FFFE
MARKERS = 0xFFFF_FFFA  # sector ids from here on mark something (free, end of chain, a FAT or DIFAT sector)
DIFSECT = 0xFFFF_FFFC
MINI_SECTOR = 64
MINI_CUTOFF = 4096  # a stream shorter than this lives in the mini stream
HEADER_DIFAT = 109  # FAT sector ids held by the header itself
COMPOUND_FILE = "compound file"  # the "part" named when the container itself is damaged

EOF = 0x000A
BOF = 0x0809
OLDER_BIFF = {0x0200, 0x0002, 0x0007, 0x0300, 0x0400, 0x0500}  # BOF versions before BIFF8
CODEPAGE = 0x0042
BOUNDSHEET = 0x0085
FILEPASS = 0x002F
DIMENSIONS = 0x0200
MERGEDCELLS = 0x00E5
ROW = 0x0208
MULRK = 0x00BD
MULBLANK = 0x00BE
BLANK = 0x0201
# The records of one cell, and the fewest bytes calamine reads of each (a shorter one stops it): row and column
# are their first four bytes.
ONE_CELL = {
    0x0203: 14,  # NUMBER
    0x027E: 10,  # RK
    0x00FD: 10,  # LABELSST
    0x0204: 10,  # LABEL (6, then a string of at least 4)
    0x0205: 8,  # BOOLERR
    0x0006: 20,  # FORMULA
    BLANK: 6,  # never loaded by calamine, but part of the used range Excel declares
}

_PAIR = struct.Struct("<HH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


class Damaged(Exception):
    """The compound file or its records are broken in a way that calamine would trip on (or loop in)."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"{part}: {reason}")
        self.part, self.reason = part, reason


class NoWorkbookStream(Exception):
    """A compound file without a Workbook stream: a Word document, an Outlook message …"""


class Encrypted(Exception):
    """The globals carry a FILEPASS record: the records after it are encrypted (a password to open)."""


@dataclass
class XlsSheet:
    """One sheet's records as calamine will load them (rows and columns counted from A1, as the scan of an
    .xlsx counts them)."""

    name: str
    # The largest DIMENSIONS record: first row, last row + 1, first column, last column + 1 (from 0)
    declared: tuple[int, int, int, int] | None = None
    rows: int = 0  # last row its cells (and merged ranges) reach, from 1
    columns: int = 0
    cells: int = 0


def xls_sheets(data: bytes) -> list[XlsSheet]:
    """Every sheet the workbook lists, in the order of its BOUNDSHEET records."""
    stream = workbook_stream(data)
    listed, globals_end = _globals(stream)
    names: dict[int, list[str]] = {}
    for position, name in listed:
        names.setdefault(position, []).append(name)
    starts = sorted(names)
    walked: dict[int, XlsSheet] = {}
    for index, start in enumerate(starts):
        name = names[start][0]
        if start > len(stream) or start < globals_end:
            raise Damaged(name, "a sheet starts outside the sheets' records")
        if len(names[start]) > 1:
            raise Damaged(name, "two sheets share records")
        walked[start] = _sheet(stream, start, starts[index + 1] if index + 1 < len(starts) else len(stream), name)
    return [walked[position] for position, _name in listed]


# The compound file, read as calamine's cfb.rs reads it: header, DIFAT, FAT, directory, mini stream, stream.


def workbook_stream(data: bytes) -> bytes:
    """The Workbook (or, in a BIFF5 file, Book) stream, as calamine reads it."""
    if len(data) < 512:
        raise Damaged(COMPOUND_FILE, "the file is cut short")
    version, _byte_order, sector_shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise Damaged(COMPOUND_FILE, "its sector size is not one Excel writes")
    size = 1 << sector_shift
    header = max(512, size)  # the header fills the first sector
    if len(data) < header:
        raise Damaged(COMPOUND_FILE, "the file is cut short")
    _dir_len, _fat_len, dir_start, _, _, mini_fat_start, mini_fat_len, difat_start, _ = struct.unpack_from(
        "<9I", data, 40
    )
    present = -(-(len(data) - header) // size)  # sectors in the file, the last one maybe cut short

    def sector(number: int) -> bytes:
        if number >= present:  # calamine would grow its copy of the file out to it, zero-filled
            raise Damaged(COMPOUND_FILE, "a sector lies past the end of the file")
        return data[header + number * size : header + (number + 1) * size]

    def chain(start: int, table: array, length: int, read=sector, count: int = present) -> bytes:
        """The sectors from ``start`` to the end of its chain, cut to ``length`` when that is not 0."""
        if length > len(data):  # calamine makes room for it first
            raise Damaged(COMPOUND_FILE, "a stream is declared longer than the file")
        parts = []
        number = start
        while number != ENDOFCHAIN:
            parts.append(read(number))  # first, as calamine does
            if number >= len(table) or len(parts) > count:  # past the table, or round a cycle
                raise Damaged(COMPOUND_FILE, "a sector chain is broken")
            number = table[number]
        joined = b"".join(parts)
        return joined[:length] if length else joined

    difat = _u32s(data[76:512])  # the header's 109
    number, steps = difat_start, 0
    while number < MARKERS:  # each DIFAT sector ends with the id of the next
        if steps >= present:
            raise Damaged(COMPOUND_FILE, "a sector chain is broken")
        difat.extend(_u32s(sector(number)))
        number = difat.pop()
        steps += 1
    fat = _u32s(b"")
    for number in difat:
        if number < DIFSECT:
            fat.extend(_u32s(sector(number)))

    directory = chain(dir_start, fat, _dir_len * size)
    entries = []
    for at in range(0, len(directory) - len(directory) % 128, 128):
        name = directory[at : at + 64].decode("utf-16-le", "replace").split("\0", 1)[0]
        start = _U32.unpack_from(directory, at + 116)[0]
        length = struct.unpack_from("<I" if size == 512 else "<Q", directory, at + 120)[0]
        entries.append((name, start, length))
    if len(directory) % 128 or not entries or (version != 3 and entries[0][1] == ENDOFCHAIN):
        raise Damaged(COMPOUND_FILE, "its directory is broken")

    mini_stream, mini_fat = b"", _u32s(b"")
    if mini_fat_len:  # calamine reads the mini stream whenever the header says there is one
        mini_stream = chain(entries[0][1], fat, entries[0][2])
        mini_fat = _u32s(chain(mini_fat_start, fat, mini_fat_len * size))

    found = next((entry for entry in entries if entry[0] == "Workbook"), None)
    found = found or next((entry for entry in entries if entry[0] == "Book"), None)
    if found is None:
        raise NoWorkbookStream()
    _name, start, length = found
    if length >= MINI_CUTOFF:
        return chain(start, fat, length)

    def mini_sector(number: int) -> bytes:
        if (number + 1) * MINI_SECTOR > len(mini_stream):
            raise Damaged(COMPOUND_FILE, "a sector lies past the end of the file")
        return mini_stream[number * MINI_SECTOR : (number + 1) * MINI_SECTOR]

    return chain(start, mini_fat, length, mini_sector, len(mini_stream) // MINI_SECTOR)


def _u32s(chunk: bytes) -> array:
    """Little-endian 32-bit numbers, 4 bytes each in memory (a FAT may have millions)."""
    numbers = array("I", chunk[: len(chunk) - len(chunk) % 4])
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


# The records.


def _globals(stream: bytes) -> tuple[list[tuple[int, str]], int]:
    """The sheets the globals list (where each one's records begin, its name) up to their EOF, and where the
    globals end."""
    listed: list[tuple[int, str]] = []
    biff8, codepage = True, "latin-1"
    at, end = 0, len(stream)
    while at < end:
        kind, length, data = _record(stream, at, "Workbook")
        at = data + length
        if kind == EOF:
            break
        if kind == FILEPASS and length >= 2 and _U16.unpack_from(stream, data)[0]:
            raise Encrypted()
        if kind == BOF and length >= 2:  # which BIFF: calamine takes any version it does not know for BIFF8
            version = _U16.unpack_from(stream, data)[0]
            substream = _U16.unpack_from(stream, data + 2)[0] if length >= 4 else 0
            biff8 = version not in OLDER_BIFF and (version, substream) != (0, 0x1000)
        if kind == CODEPAGE and length >= 2:
            codepage = _codec(_U16.unpack_from(stream, data)[0])
        if kind == BOUNDSHEET:
            if length < 8:
                raise Damaged("Workbook", "a record is too short for its type")
            name = _sheet_name(stream[data + 6 : data + length], biff8, codepage)
            listed.append((_U32.unpack_from(stream, data)[0], name))
    return listed, at


def _codec(codepage: int) -> str:
    """Python's codec of a Windows code page (BIFF5 and older write names in it), latin-1 if it has none."""
    try:
        return codecs.lookup(f"cp{codepage}").name
    except LookupError:
        return "latin-1"


def _sheet_name(record: bytes, biff8: bool, codepage: str) -> str:
    """A BOUNDSHEET's name: BIFF8's ShortXLUnicodeString (UTF-16, or its low bytes alone), an older BIFF's bytes
    in the workbook's code page; NULs dropped, as calamine does. Only ever shown, in refusals."""
    count = record[0]
    if not biff8:
        return record[1 : 1 + count].decode(codepage, "replace").replace("\0", "")
    wide = record[1] & 1
    text = record[2 : 2 + count * (2 if wide else 1)]
    name = text.decode("utf-16-le", "replace") if wide else text.decode("latin-1")
    return name.replace("\0", "")


def _record(stream: bytes, at: int, part: str) -> tuple[int, int, int]:
    """(type, length, where its data begins) of the record at ``at``."""
    if at + 4 > len(stream):
        raise Damaged(part, "a record runs past the end of the stream")
    kind, length = _PAIR.unpack_from(stream, at)
    if at + 4 + length > len(stream):
        raise Damaged(part, "a record runs past the end of the stream")
    return kind, length, at + 4


def _sheet(stream: bytes, start: int, following: int, name: str) -> XlsSheet:
    """One sheet's records from ``start`` to its first EOF (or the stream's end), as calamine walks them; they
    may not run past ``following``, where the next sheet's begin."""
    sheet = XlsSheet(name)
    last_row = last_column = -1
    cells = 0
    pair = _PAIR.unpack_from
    at, end = start, len(stream)
    while at < end:
        if at + 4 > end:
            raise Damaged(name, "a record runs past the end of the stream")
        kind, length = pair(stream, at)
        data = at + 4
        at = data + length
        if at > end:
            raise Damaged(name, "a record runs past the end of the stream")
        if kind == EOF:
            break
        least = ONE_CELL.get(kind)
        if least is not None:
            if length < least:
                if kind == BLANK:
                    continue  # calamine skips blanks, short or not
                raise Damaged(name, "a record is too short for its type")
            row, column = pair(stream, data)
            cells += 1
        elif kind in (MULRK, MULBLANK):
            if length < 6:
                if kind == MULBLANK:
                    continue
                raise Damaged(name, "a record is too short for its type")
            row, first = pair(stream, data)
            (last,) = _U16.unpack_from(stream, at - 2)
            width = (length - 6) // (6 if kind == MULRK else 2)
            if kind == MULRK and length != 6 + 6 * ((last - first + 1) & 0xFFFF):
                raise Damaged(name, "a record is too short for its type")
            column = max(last, first + width - 1)
            cells += width
        elif kind == ROW:
            if length < 2:
                continue
            row, column = _U16.unpack_from(stream, data)[0], 0
        elif kind == DIMENSIONS:
            _declared(sheet, stream[data:at])
            continue
        elif kind == MERGEDCELLS:
            if length < 2:
                continue
            count = min(_U16.unpack_from(stream, data)[0], (length - 2) // 8)
            for ranges in struct.iter_unpack("<HHHH", stream[data + 2 : data + 2 + 8 * count]):
                last_row = max(last_row, ranges[0], ranges[1])
                last_column = max(last_column, ranges[2], ranges[3])
            continue
        else:
            continue
        if row > last_row:
            last_row = row
        if column > last_column:
            last_column = column
    if at > following:
        raise Damaged(name, "two sheets share records")
    sheet.rows, sheet.columns, sheet.cells = last_row + 1, last_column + 1, cells
    return sheet


def _declared(sheet: XlsSheet, record: bytes) -> None:
    """A DIMENSIONS record: first row, last row + 1, first column, last column + 1 (BIFF8's rows in 32 bits,
    BIFF5's in 16). The largest one a sheet has is the one kept (calamine makes room for each)."""
    if len(record) == 14:
        first_row, end_row, first_column, end_column = struct.unpack_from("<IIHH", record)
    elif len(record) == 10:
        first_row, end_row, first_column, end_column = struct.unpack_from("<HHHH", record)
    else:
        raise Damaged(sheet.name, "a record is too short for its type")
    if end_row < 1 or end_column < 1:
        return  # calamine reads it as one cell
    rows, columns = end_row - first_row, end_column - first_column
    if rows < 0 or columns < 0:
        raise Damaged(sheet.name, "a used range ends before it starts")
    if sheet.declared is None or rows * columns > declared_area(sheet):
        sheet.declared = (first_row, end_row, first_column, end_column)


def declared_area(sheet: XlsSheet) -> int:
    if sheet.declared is None:
        return 0
    first_row, end_row, first_column, end_column = sheet.declared
    return (end_row - first_row) * (end_column - first_column)
