"""What an Excel 97-2003 workbook (.xls) holds, read from its records before python-calamine loads it.

An .xls is an OLE2 compound file (MS-CFB) whose ``Workbook`` stream is a run of BIFF8 records: the workbook's
globals (one BOUNDSHEET record per sheet, giving where its records begin), then each sheet's records. calamine
loads every sheet of an .xls when the file is opened, each one as a grid of its used range (rows × columns
cells, ~32 bytes each, formulas another grid beside it), so a few cells far apart on several sheets of a 5 KB
file cost it over a gigabyte. ``xls_sheets`` reads the stream as calamine will: the compound file's sector
chains as its ``Cfb::new`` and ``get_stream`` follow them, each sheet's records from its BOUNDSHEET position
to the first EOF record; and says, per sheet, the used range declared (DIMENSIONS), the one its cells reach,
the cells written, the text its cells show (each LABELSST its own copy of a shared string, in calamine) and what
writing out its formulas costs calamine (``formula_work``). ``importers.workbook.check_xls_sheets`` holds those
to the limits. It also says which rows the sheet hides (calamine does not: ``importers.workbook.SheetMarks``).

Linear in the file, and nothing read twice: a chain longer than the file has sectors is a cycle, a sector past
the end is refused before it is read, and sheets whose records run into each other (Excel writes each sheet's
records apart, from its BOF to its EOF) are refused rather than walked once per sheet.
"""

from __future__ import annotations

import codecs
import struct
import sys
from array import array
from dataclasses import dataclass, field

from importers.limits import MAX_HIDDEN_COLUMN_SPANS, MAX_ROWS

ENDOFCHAIN = 0xFFFF_FFFE
MARKERS = 0xFFFF_FFFA  # sector ids from here on mark something (free, end of chain, a FAT or DIFAT sector)
DIFSECT = 0xFFFF_FFFC
MINI_SECTOR = 64
MINI_CUTOFF = 4096  # a stream shorter than this lives in the mini stream
HEADER_DIFAT = 109  # FAT sector ids held by the header itself
WORKBOOK_STREAMS = ("Workbook", "WORKBOOK", "Book", "BOOK")  # BIFF8's, then BIFF5's, as calamine looks for them
# The stream a workbook with a password to open is kept in, whatever it was (names in a compound file's directory
# are compared in any case)
ENCRYPTED_PACKAGE = "EncryptedPackage"
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
ROW_HIDDEN = 0x0020  # a ROW record's option flags (at byte 12): fDyZero, the row is hidden (or filtered out)
COLINFO = 0x007D  # a run of columns' width and format: first, last (from 0), width, format, options (at byte 8)
COLINFO_HIDDEN = 0x0001  # fHidden
MULRK = 0x00BD
MULBLANK = 0x00BE
BLANK = 0x0201
LABEL = 0x0204
RSTRING = 0x00D6  # a label with rich text, which calamine loads as it loads a LABEL
FORMULA = 0x0006
BOOLERR = 0x0205  # a boolean or, with its fError byte (at 7) set, an error value (#N/A …), as a cell
STRING = 0x0207  # the text a formula last gave: calamine makes it a cell at that FORMULA's place
NAME = 0x0018  # a defined name (Lbl), which a formula may show by its name
SST = 0x00FC  # the shared strings, which each LABELSST cell gets a copy of
LABELSST = 0x00FD
CONTINUE = 0x003C
# The records of one cell, and the fewest bytes calamine reads of each (a shorter one stops it): row and column
# are their first four bytes.
ONE_CELL = {
    0x0203: 14,  # NUMBER
    0x027E: 10,  # RK
    LABELSST: 10,
    LABEL: 8,  # 6, then the string's character count (an empty BIFF5 string has nothing after it)
    RSTRING: 8,
    BOOLERR: 8,
    FORMULA: 20,
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
    """A password to open: the globals carry a FILEPASS record (the records after it are encrypted), or the compound
    file holds no workbook but an encrypted .xlsx (MS-OFFCRYPTO: a stream named ``EncryptedPackage``)."""


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
    # Characters its LABEL, RSTRING and STRING records declare: calamine makes room for each as declared
    text: int = 0
    # At most the bytes calamine moves writing its formulas out as text (``formula_work``)
    formula_work: int = 0
    # Characters of the shared strings its LABELSST cells show: calamine gives each cell a copy of its string
    shared_text: int = 0
    hidden_rows: set[int] = field(default_factory=set)  # from 1, as an .xlsx's ``SheetMarks`` count them
    hidden_columns: set[tuple[int, int]] = field(default_factory=set)  # (first, last) from 0, as ``SheetMarks``
    # Cells showing an error value (a BOOLERR error, a FORMULA whose saved result is one), which calamine reads as
    # empty: rows from 1, columns from 0, as ``SheetMarks.error_cells``
    error_cells: dict[int, set[int]] = field(default_factory=dict)


def xls_sheets(data: bytes) -> list[XlsSheet]:
    """Every sheet the workbook lists, in the order of its BOUNDSHEET records."""
    stream = workbook_stream(data)
    workbook = _globals(stream)
    listed, globals_end = workbook.sheets, workbook.end
    names: dict[int, list[str]] = {}
    for position, name in listed:
        names.setdefault(position, []).append(name)
    starts = sorted(names)
    walked: dict[int, XlsSheet] = {}
    text = 0
    for index, start in enumerate(starts):
        name = names[start][0]
        if start > len(stream) or start < globals_end:
            raise Damaged(name, "a sheet starts outside the sheets' records")
        if len(names[start]) > 1:
            raise Damaged(name, "two sheets share records")
        following = starts[index + 1] if index + 1 < len(starts) else len(stream)
        walked[start] = sheet = _sheet(stream, start, following, name, workbook)
        # Each character a text holds takes at least a byte of the stream: more declared is room asked for nothing
        # (a 14-byte LABEL declaring 65,535 characters: 64 KiB; 40,000 of them in 560 KB, 2.6 GB)
        text += sheet.text
        if text > len(stream):
            raise Damaged(name, "a text is declared longer than the file holds")
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

    # calamine looks for each name as written, then in capitals (some programs write WORKBOOK), the first entry so named
    by_name: dict[str, tuple[str, int, int]] = {}
    for entry in entries:
        by_name.setdefault(entry[0], entry)
    found = next((by_name[name] for name in WORKBOOK_STREAMS if name in by_name), None)
    if found is None:
        # the directory's names, not the file's bytes: a cell of an .xls may say EncryptedPackage too
        if any(name.upper() == ENCRYPTED_PACKAGE.upper() for name in by_name):
            raise Encrypted()
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


@dataclass
class _Globals:
    """What the globals say that the sheets' records are read with."""

    sheets: list[tuple[int, str]]  # where each sheet's records begin, its name
    end: int  # where the globals end
    longest_name: int  # most bytes a sheet's or a defined name's text may take in a formula (``formula_work``)
    shared_strings: array  # characters of each shared string (the last SST's, as calamine keeps it)


def _globals(stream: bytes) -> _Globals:
    """The globals, read up to their EOF."""
    listed: list[tuple[int, str]] = []
    longest = 0  # characters of the longest name: 3 bytes each at most once calamine has made them UTF-8
    shared = array("I")
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
            longest = max(longest, stream[data + 6])
        if kind == NAME and length >= 4:
            longest = max(longest, stream[data + 3])
        if kind == SST:
            shared = _shared_strings(stream, data, at)
    return _Globals(listed, at, max(3 * longest, len("#REF!")), shared)


def _shared_strings(stream: bytes, data: int, end: int) -> array:
    """The characters of each string of the SST record whose data lies between ``data`` and ``end``, and of the
    CONTINUE records after it, read as calamine reads them (XLUnicodeRichExtendedString: its characters, which
    go on in the next CONTINUE after a byte of flags, then its rich-text runs and extension, skipped). Where
    calamine would stop reading, so does this: the strings read so far."""
    parts = [(data + 8, end)]  # the count of references and of strings first
    at = end
    while at + 4 < len(stream) and _U16.unpack_from(stream, at)[0] == CONTINUE:
        length = _U16.unpack_from(stream, at + 2)[0]
        if at + 4 + length > len(stream):
            break
        parts.append((at + 4, at + 4 + length))
        at += 4 + length
    lengths = array("I")
    if end - data < 8:
        return lengths
    count = _U32.unpack_from(stream, data + 4)[0]
    part = 0
    at, end = parts[0]

    def following() -> bool:
        nonlocal part, at, end
        part += 1
        if part >= len(parts):
            return False
        at, end = parts[part]
        return True

    def skip(size: int) -> bool:
        nonlocal at
        while size:
            if at >= end and not following():
                return False
            step = min(size, end - at)
            at += step
            size -= step
        return True

    while len(lengths) < count:
        if (at >= end and not following()) or end - at < 3:
            break
        characters, flags = _U16.unpack_from(stream, at)[0], stream[at + 2]
        at += 3
        runs = extension = 0
        if flags & 0x8:
            if end - at < 2:
                break
            runs = _U16.unpack_from(stream, at)[0]
            at += 2
        if flags & 0x4:
            if end - at < 4:
                break
            extension = _U32.unpack_from(stream, at)[0]
            at += 4
        left, wide = characters, flags & 1
        while left:
            taken = min(left, (end - at) // (2 if wide else 1))
            at += taken * (2 if wide else 1)
            left -= taken
            if left:
                if not following() or at >= end:
                    break
                wide = stream[at] & 1
                at += 1
        if left or not skip(4 * runs) or not skip(extension):
            break
        lengths.append(characters)
    return lengths


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


def _sheet(stream: bytes, start: int, following: int, name: str, workbook: _Globals) -> XlsSheet:
    """One sheet's records from ``start`` to its first EOF (or the stream's end), as calamine walks them; they
    may not run past ``following``, where the next sheet's begin."""
    sheet = XlsSheet(name)
    last_row = last_column = -1
    cells = text = work = shared_text = 0
    shared = workbook.shared_strings
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
            if kind in (LABEL, RSTRING):
                text += _U16.unpack_from(stream, data + 6)[0]
            elif kind == FORMULA:
                work += formula_work(stream, data + 20, at, workbook.longest_name)
                # its saved result: an error is type 2 in a result whose last two bytes are 0xFFFF
                if stream[data + 12 : data + 14] == b"\xff\xff" and stream[data + 6] == 2:
                    note_cell(sheet.error_cells, row + 1, column)
            elif kind == LABELSST:
                index = _U32.unpack_from(stream, data + 6)[0]
                if index < len(shared):
                    shared_text += shared[index]
            elif kind == BOOLERR and stream[data + 7]:
                note_cell(sheet.error_cells, row + 1, column)
        elif kind == STRING:
            if length < 2:
                raise Damaged(name, "a record is too short for its type")
            text += _U16.unpack_from(stream, data)[0]
            continue
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
            if length >= 14 and _U16.unpack_from(stream, data + 12)[0] & ROW_HIDDEN:
                sheet.hidden_rows.add(row + 1)
        elif kind == DIMENSIONS:
            _declared(sheet, stream[data:at])
            continue
        elif kind == COLINFO:
            hides = length >= 10 and _U16.unpack_from(stream, data + 8)[0] & COLINFO_HIDDEN
            if hides and len(sheet.hidden_columns) < MAX_HIDDEN_COLUMN_SPANS:
                sheet.hidden_columns.add(pair(stream, data))
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
    sheet.text, sheet.formula_work, sheet.shared_text = text, work, shared_text
    return sheet


# A formula's tokens (MS-XLS 2.5.198, Ptg), as calamine's parse_formula writes them out as text when it opens the
# file. Most are written after what is there: (bytes after the token's type, most bytes of text it adds; NAMED:
# plus a sheet's or a defined name's). The others move what is written (``formula_work``). A token calamine does
# not know ends its reading of the formula. (Sizes as python-calamine 0.9.1 reads them: a formula of spaces after each
# token, padded to its size, costs it the spaces; after any other byte, or padded otherwise, nothing.)
NAMED = 1 << 20
_APPENDED = {
    **dict.fromkeys((0x3A, 0x5A, 0x7A), (6, NAMED + 12)),  # a cell on another sheet: Sheet!$A$1
    **dict.fromkeys((0x3B, 0x5B, 0x7B), (10, NAMED + 26)),  # a range on another sheet
    **dict.fromkeys((0x3C, 0x5C, 0x7C), (6, NAMED + 6)),  # Sheet!#REF!
    **dict.fromkeys((0x3D, 0x5D, 0x7D), (10, NAMED + 6)),
    0x01: (4, 0),  # part of a shared or array formula
    0x14: (0, 1),  # %
    0x16: (0, 0),  # a missing argument
    0x18: (5, 0),
    0x1C: (1, len("#GETTING_DATA")),
    0x1D: (1, len("FALSE")),
    0x1E: (2, len("65535")),
    0x1F: (8, 350),  # a number, written out in full: 1e308 is 309 digits
    **dict.fromkeys((0x20, 0x40, 0x60), (7, len("{PtgArray}"))),
    **dict.fromkeys((0x23, 0x43, 0x63), (4, NAMED)),  # a defined name
    **dict.fromkeys((0x24, 0x44, 0x64), (4, len("$XFD$65536"))),
    **dict.fromkeys((0x25, 0x45, 0x65), (8, len("$CRXP$65536:$CRXP$65536"))),  # its columns are not masked
    **dict.fromkeys((0x2A, 0x4A, 0x6A), (4, len("#REF!"))),
    **dict.fromkeys((0x2B, 0x4B, 0x6B), (8, len("#REF!"))),
    **dict.fromkeys((0x39, 0x59), (6, len("[PtgNameX]"))),
}
_FUNCTION_NAME = 34  # the longest function name calamine knows, with its parentheses
_ATTR_SKIPS = {0x01: 2, 0x02: 2, 0x08: 2, 0x20: 2, 0x21: 2}  # PtgAttr kinds that write nothing


def note_cell(cells: dict[int, set[int]], row: int, column: int) -> None:
    """A marked cell (row from 1, column from 0) noted in ``cells``, of at most ``MAX_ROWS`` rows (a sheet of more
    is refused anyway): a crafted file of marks costs no more memory than that. An .xlsx's marks too."""
    if len(cells) < MAX_ROWS or row in cells:
        cells.setdefault(row, set()).add(column)


def formula_work(stream: bytes, at: int, end: int, longest_name: int) -> int:
    """At most the bytes calamine moves writing out the formula whose CellParsedFormula (its token bytes' count,
    then the tokens) lies at ``at``, before ``end``. Each operator, parenthesis, sign and function cuts off or
    inserts before what is written so far, and a PtgAttrSpace inserts up to 255 spaces one at a time: each
    costs the text written so far. Linear in the tokens; what calamine does with them is quadratic (one 8 KB
    FORMULA record of spaces: 2 s of its CPU; one of 64 KB: past the parse's CPU limit)."""
    if at + 2 > end:
        return 0
    end = min(end, at + 2 + _U16.unpack_from(stream, at)[0])
    at += 2
    written = work = 0
    while at < end:
        token = stream[at]
        at += 1
        appended = _APPENDED.get(token)
        if appended is not None:
            size, text = appended
            at += size
            written += text - NAMED + longest_name if text >= NAMED else text
        elif token == 0x17:  # a string: its characters, 3 bytes each at most in UTF-8, in quotes
            characters = stream[at] if at < end else 0
            at += 2 + characters
            written += 3 * characters + 2
        elif 0x03 <= token <= 0x13 or token == 0x15:  # operators, signs, parentheses
            work += written
            written += 2
        elif token in (0x21, 0x41, 0x61, 0x22, 0x42, 0x62):  # a function, its arguments cut off and written back
            variable = token & 0x1F == 0x02
            arguments = (stream[at] if at < end else 0) if variable else 255
            at += 3 if variable else 2
            work += 2 * written
            written += _FUNCTION_NAME + arguments
        elif token == 0x19 and at < end:  # PtgAttr
            kind = stream[at]
            at += 1
            if kind in _ATTR_SKIPS:
                at += 2
            elif kind == 0x04:  # CHOOSE's jump table
                at += 4 + 2 * (_U16.unpack_from(stream, at)[0] if at + 2 <= end else 0)
            elif kind == 0x10:  # SUM(…)
                at += 2
                work += written
                written += len("SUM()")
            elif kind in (0x40, 0x41):  # spaces, inserted one by one
                spaces = stream[at + 1] if at + 1 < end else 0
                at += 2
                work += spaces * written + spaces * spaces
                written += spaces
            else:
                break
        else:
            break
    return work


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
