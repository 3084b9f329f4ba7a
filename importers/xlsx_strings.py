"""The text an .xlsx's shared-string cells show, as python-calamine loads them, counted before it does.

A cell ``<c t="s"><v>7</v></c>`` shows string 7 of the shared strings (``xl/sharedStrings.xml``), and calamine
gives each such cell its own copy of it: one string of 30,000 characters shown by 40,000 cells of a 210 KB file
took the parse to 1.2 GB. ``importers.workbook.check_sheets`` reads the strings' lengths first
(``StringsReader``), wherever the zip holds them, then counts the text as the sheets stream by (``ShownText``), as
``importers.xls_records`` counts an .xls's LABELSST cells: each shared-string cell's string, in characters, summed.
Only when the sheets' sizes times the longest string could pass the limit: otherwise it counts the ``"s"`` the
sheets write (each shared-string cell writes one, its ``t="s"``: ``shared_marks``) times the longest string, and
has them counted again exactly only if that passes (a zip can hold more than its directory declares).

A window of cells written as Excel writes them is counted with numpy, all its cells at once (``_plain_text``: the
``"s"`` found, each checked to end such a cell, its index read eight bytes at a time and looked up in one gather):
on a national ledger saved with shared strings (1.9 million such cells, 74 MB of sheet XML) 0.12 s, where a
pattern finding each index and a Counter of them took 0.34 s.

The count is exact for XML written as Excel writes it (``<si><t>…</t></si>``; ``<c r=… s=… t="s"><v>7</v></c>``),
and taken from above, never below, for anything else: a namespace prefix, a comment, an attribute in single
quotes. Inline strings (``t="inlineStr"``) are written in the sheet itself: their text is no more than the part's
bytes, as every other cell's value is, and needs no count of its own.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

SHARED_STRINGS = "xl/sharedstrings.xml"  # the part calamine reads them from, by this name (compared in any case)
_MARK = b'"s"'
_MARK_QUOTED = b"'s'"
_SI_END = b"</si>"
# Excel's opening of a string: the text, or a run of rich text; calamine keeps a string for each such <si> (an
# <si> holding neither is dropped, and the strings after it move up one).
_PLAIN_START = re.compile(rb'<si>\s*<(?:t(?: xml:space="preserve")?/?|r)>')  # <t/>: an empty string
# The namespace prefix some writers give every element (<x:sst>, <x:worksheet>, as the Open XML SDK does): taken
# off the tags of the part before it is read, so its XML reads as Excel's (calamine reads elements by local name).
_ROOT = re.compile(rb"<(?:([\w.-]+):)?(?:sst|worksheet)[\s>]")
_SI_START = re.compile(rb"<(?:[\w.-]+:)?si[\s/>]")
_SI_TAGS = re.compile(rb"</?si>")
_OTHER_TAG = re.compile(rb"<(?!/?si>)[^<>]*>")
_ENTITY = re.compile(rb"&[^;<&]{0,40};")
_CUT_AFTER = 8 << 20  # bytes held waiting for the end of a string or cell before it is read from above


def _word(text: bytes) -> np.uint64:
    """Eight bytes as numpy reads them from the XML (``_plain_text``'s words), little-endian."""
    return np.uint64(int.from_bytes(text, "little"))


# The end of a shared-string cell as Excel writes it: its last attribute t="s", then its index and nothing else
# (`` t="s"><v>7</v></c>``). Where each "s" of the XML ends one, each shared-string cell does (its own "s" is in one).
_BEFORE_INDEX = _word(b' t="s"><')  # the eight bytes from four before the s; "v>" follows them, then the index
_VALUE_OPEN = int.from_bytes(b"v>", "little")
_AFTER_INDEX = _word(b"</v></c>")
_LESS_THAN, _ONES, _HIGH_BITS = _word(b"<" * 8), _word(b"\x01" * 8), _word(b"\x80" * 8)
_LOW_NIBBLES, _HIGH_NIBBLES, _SIXES, _ZEROS = (
    _word(b"\x0f" * 8),
    _word(b"\xf0" * 8),
    _word(b"\x06" * 8),
    _word(b"0" * 8),
)
_SHORTEST_CELL_END = len(b' t="s"><v>0</v></c>')
_PAD = 8  # zero bytes before and after a window: every word read around an "s" lies within it
_CELL_OR_VALUE = re.compile(rb"<(?:[\w.-]+:)?c(\s[^<>]*)?>|<(?:[\w.-]+:)?v(?:\s[^<>]*)?>([^<]*)")
_SHARED_TYPE = re.compile(rb"""\st\s*=\s*(["'])s\1""")


def part_name(name: str) -> str:
    """A zip member's name as calamine matches it: in any case, a backslash read as a slash."""
    return name.replace("\\", "/").lower()


class _Unprefixed:
    """A part's chunks joined to what was left of the one before, its root's prefix taken off every tag."""

    def __init__(self) -> None:
        self.carry = b""
        self.prefix: bytes | None = None  # known once the root element is read

    def window(self, chunk: bytes, last: bool = False) -> bytes | None:
        """The next window to read, or None while the root is still to come."""
        window = self.carry + chunk
        if self.prefix is None:
            root = _ROOT.search(window, 0, 8192)
            if root is None and len(window) < 8192 and not last:
                self.carry = window
                return None
            self.prefix = (root.group(1) or b"") if root else b""
        if self.prefix:
            window = window.replace(b"<" + self.prefix + b":", b"<").replace(b"</" + self.prefix + b":", b"</")
        return window


def is_shared_strings(name: str) -> bool:
    return part_name(name) == SHARED_STRINGS


def shared_marks(tail: bytes, chunk: bytes) -> int:
    """The ``"s"`` (or ``'s'``) in ``chunk``, and in the seam after ``tail`` (the chunk before's last bytes): at
    least the shared-string cells it writes."""
    marks = chunk.count(_MARK) + (tail[-2:] + chunk[:2]).count(_MARK)
    if b"'" in chunk or b"'" in tail[-2:]:
        marks += chunk.count(_MARK_QUOTED) + (tail[-2:] + chunk[:2]).count(_MARK_QUOTED)
    return marks


def _markup(chunk: bytes, tail: bytes, first: bool) -> bool:
    """A comment, CDATA section or processing instruction (Excel writes none past the XML declaration): in
    one, ``<`` may be text and a tag not a tag."""
    seam = tail[-1:] + chunk[:1]
    if b"<!" in seam or b"<?" in seam:
        return True
    # "!" and "?" are rare in a sheet and found by memchr: the markers are looked for only where one is
    return (b"!" in chunk and b"<!" in chunk) or (b"?" in chunk and chunk.find(b"<?", 8 if first else 0) >= 0)


@dataclass
class StringLengths:
    """Characters of each shared string as calamine holds it, from above: ``known`` for the strings written as
    Excel writes them, from the first; past the first one written otherwise, calamine's strings may no longer
    line up with the <si> elements, and each is bounded by all the bytes from there on (``rest``)."""

    known: array = field(default_factory=lambda: array("I"))  # 4 bytes a string (a part is at most 1 GiB)
    rest: int | None = None

    def of(self, index: int) -> int:
        if index < len(self.known):
            return self.known[index]
        return self.rest or 0  # past the strings: calamine refuses the cell

    @cached_property
    def table(self) -> np.ndarray:
        """``of`` for every index at once: the index, or past the strings ``len(known)``, into this."""
        return np.append(np.frombuffer(self.known, np.uint32), np.uint32(self.rest or 0))

    @cached_property
    def longest(self) -> int:
        """Asked once the strings are read (a value that is no index counts it: not a pass over them each)."""
        return max(max(self.known, default=0), self.rest or 0)

    def merged(self, other: StringLengths) -> StringLengths:
        """Two parts named alike but for case (calamine reads one of them; Excel writes one): each string bounded
        by the longest of either."""
        return StringLengths(rest=max(self.longest, other.longest))


class StringsReader(_Unprefixed):
    """The shared strings' lengths (``StringLengths``), from the part's chunks (``feed``, then ``finish``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lengths = StringLengths()
        self.first = True

    def feed(self, chunk: bytes) -> None:
        lengths = self.lengths
        if lengths.rest is not None:
            lengths.rest += len(chunk)
            return
        window = self.window(chunk)
        if window is None:
            return
        cut = window.rfind(_SI_END)
        if cut < 0 and len(window) < _CUT_AFTER:
            self.carry = window
            return
        scan, self.carry = (window[:cut], window[cut + len(_SI_END) :]) if cut >= 0 else (b"", window)
        if _markup(scan, b"", self.first) or not _read_plain(scan, lengths, self.first):
            lengths.rest = len(window)  # or a string longer than Excel writes (_CUT_AFTER): from above
        self.first = False

    def finish(self) -> StringLengths:
        if self.lengths.rest is None and self.prefix is None:  # no root in the part: its strings from above
            self.carry = self.window(b"", last=True) or b""
        if self.lengths.rest is None and _SI_START.search(self.carry):
            self.lengths.rest = len(self.carry)  # a string after the last </si>: closed otherwise, if at all
        return self.lengths


def _read_plain(scan: bytes, lengths: StringLengths, first: bool) -> bool:
    """The strings of ``scan`` (ending before an ``</si>``) appended to ``lengths`` if each is written as Excel
    writes it, an <si> opening with its text (``_PLAIN_START``) and closed before the next opens; else False."""
    opened = scan.count(b"<si>")
    plain = len(_PLAIN_START.findall(scan))
    if opened != scan.count(_SI_END) + 1 or plain != opened or len(_SI_START.findall(scan)) != opened:
        return False
    if not first and scan[: scan.find(b"<si>")].strip():
        return False
    stripped = _ENTITY.sub(b"&", _OTHER_TAG.sub(b"", scan)) + _SI_END
    if b"".join(_SI_TAGS.findall(stripped)) != b"<si></si>" * opened:
        return False
    texts = _SI_TAGS.split(stripped)[1::2]
    lengths.known.extend(len(text.decode("utf-8", "replace")) for text in texts)
    return True


class ShownText(_Unprefixed):
    """The characters shared-string cells show in one sheet part, from its chunks (``feed``, then ``finish``)."""

    def __init__(self, lengths: StringLengths) -> None:
        super().__init__()
        self.lengths = lengths
        self.total = 0
        self.first = True
        self.shared = False  # the cell being read is a shared-string cell
        self.markup = False  # once seen, every value in the part is counted as a shared string's

    def feed(self, chunk: bytes, last: bool = False) -> None:
        window = self.window(chunk, last)
        if window is None:
            return
        cut = len(window) if last else window.rfind(b"</c>")
        at_cell_end = cut >= 0
        if cut < 0:
            if len(window) < _CUT_AFTER:
                self.carry = window
                return
            cut = window.rfind(b"<")  # no cell ends: read up to a tag, the cell going on
            cut = cut if cut > 0 else len(window)
        else:
            cut += 0 if last else 4
        scan, self.carry = window[:cut], window[cut:]
        self.markup = self.markup or _markup(scan, b"", self.first)
        self.first = False
        if not self.shared and not self.markup and self._plain(scan):
            return
        self._tokens(scan)
        if at_cell_end:
            self.shared = False  # the last cell ended: a value after it is no cell's (with markup, all count)

    def _plain(self, scan: bytes) -> bool:
        """Every shared-string cell of ``scan`` written as Excel writes it (each ``"s"`` one of theirs): counted."""
        if b"'" in scan and _MARK_QUOTED in scan:
            return False
        text = _plain_text(scan, self.lengths.table)
        if text is None:
            return False
        self.total += text
        return True

    def _tokens(self, scan: bytes) -> None:
        """Each cell's opening and each value, in order: a value in a shared-string cell shows its string (calamine
        reads the text before any entity; a value it cannot read as an index is counted as the longest)."""
        for match in _CELL_OR_VALUE.finditer(scan):
            value = match.group(2)
            if value is None:
                self.shared = bool(_SHARED_TYPE.search(match.group(0)))
                continue
            if not (self.shared or self.markup):
                continue
            index = value.split(b"&", 1)[0]
            if index.isdigit():
                self.total += self.lengths.of(int(index))
            elif index:
                self.total += self.lengths.longest

    def finish(self) -> int:
        self.feed(b"", last=True)
        return self.total


def _plain_text(scan: bytes, table: np.ndarray) -> int | None:
    """The characters the shared-string cells of ``scan`` show (``table``: ``StringLengths.table``) if each ``"s"``
    in it ends one written as Excel writes it, its index of 1 to 7 digits; else None. All cells at once: every
    ``"s"`` found, the eight bytes around it compared with Excel's, the eight after ``<v>`` read as digits up to the
    first ``<`` (whole-word arithmetic, each byte checked to be a digit) and ``</v></c>`` after them."""
    padded = bytes(_PAD) + scan + bytes(_PAD + 16)
    data = np.frombuffer(padded, np.uint8)
    words = np.ndarray((len(padded) - 7,), "<u8", padded, strides=(1,))  # the eight bytes from each byte on
    pairs = np.ndarray((len(padded) - 1,), "<u2", padded, strides=(1,))
    quote = data == ord('"')
    marks = np.flatnonzero((data[1:-1] == ord("s")) & quote[:-2] & quote[2:]) + 1  # whatever the bytes, 5 passes
    if len(marks) * _SHORTEST_CELL_END > len(scan):
        return None  # more "s" than such cells could hold: none of them is looked at
    if not ((words[marks - 4] == _BEFORE_INDEX) & (pairs[marks + 4] == _VALUE_OPEN)).all():
        return None
    at = marks + 6  # the index's first byte
    index = words[at]
    # the first "<" of the eight bytes: the high bit of each "<" byte, the lowest one kept (none: 8 digits or more)
    less = index ^ _LESS_THAN
    first = (less - _ONES) & ~less & _HIGH_BITS
    first &= ~first + np.uint64(1)
    digits = (np.bitwise_count(first - np.uint64(1)) - 7) // 8
    shown = (first - np.uint64(1)) >> np.uint64(7)  # a mask of the digits' bytes
    plain = (first != 0) & (digits > 0) & (words[at + digits] == _AFTER_INDEX)
    plain &= (index & _HIGH_NIBBLES & shown) == (_ZEROS & shown)
    plain &= (((index & _LOW_NIBBLES) + _SIXES) & _HIGH_NIBBLES & shown) == 0  # each low nibble 9 at most
    if not plain.all():
        return None
    # the digits moved to the top bytes, then added up in pairs, fours and eights (the first digit is the lowest byte)
    value = (index & _LOW_NIBBLES & shown) << (np.uint64(8) * (np.uint64(8) - digits.astype(np.uint64)))
    value = ((value * np.uint64(10)) + (value >> np.uint64(8))) & _word(b"\xff\x00" * 4)
    value = ((value * np.uint64(100)) + (value >> np.uint64(16))) & _word(b"\xff\xff\x00\x00" * 2)
    value = ((value * np.uint64(10_000)) + (value >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return int(table[np.minimum(value, np.uint64(len(table) - 1))].sum())
