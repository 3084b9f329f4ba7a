"""The parsing child's scan of the XML parts (``check_sheets``) gives the verdicts of its plain form.

The scan looks at each chunk without joining it to the tail of the one before, looks for DTD markers only
around a "!", and counts cells from above before counting them exactly: each of these is held here to the
plain scan it replaced (``PlainScan``), over XML cut into chunks at every kind of place.
"""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from importers import workbook
from importers.workbook import _PartScan, check_sheets, column_letter
from inventory.errors import ValidationFailed
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows, zipped


class PlainScan(_PartScan):
    """The scan as first written: each chunk joined to the last 16 bytes of the one before, and searched."""

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < 4096:
            self.head += chunk[:4096]
        window = self.tail + chunk
        if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
            raise ValidationFailed(f"part {self.name} declares a DTD, which Excel never writes; refused", field="file")
        self.cells += chunk.count(b"<c ") + chunk.count(b"<c>")
        at = window.rfind(b"<row ")
        if at >= 0:
            match = workbook._ROW_NUMBER.match(window, at)
            if match:
                self.last_row = max(self.last_row, int(match.group(1)))
        for letters in set(workbook._WIDE_CELL.findall(window)):
            self.last_column = max(self.last_column, workbook._column_number(letters))
        self.tail = chunk[-16:]
        self._check(self.last_row, max(self.last_column, 1), "")


def sheet_xml(picked: random.Random) -> bytes:
    """Rows of cells at narrow, wide and absurd columns, bare cells, cols, "!" in text and now and then a DTD."""
    parts = [b'<worksheet><dimension ref="A1:C9"/><cols>', b'<col min="1" max="2"/>' * picked.randrange(4), b"</cols>"]
    parts.append(b"<sheetData>")
    for number in range(1, picked.randrange(2, 40)):
        parts.append(f'<row r="{number}" spans="1:3">'.encode())
        for _ in range(picked.randrange(5)):
            columns = ["A", "C", "Z", "AA", "XFD", "ZZZZ", "Q" * picked.randrange(20, 80)]
            letters = picked.choices(columns, [9] * 5 + [1, 1])[0]
            text = picked.choice(["x", "注意!", "a!b", "<!-- -->", "ok"])
            parts.append(f'<c r="{letters}{number}" t="inlineStr"><is><t>{text}</t></is></c>'.encode())
        if picked.random() < 0.2:
            parts.append(b"<c><v>1</v></c>")
        if picked.random() < 0.02:
            parts.append(picked.choice([b"<!DOCTYPE x>", b'<!ENTITY e "e">']))
        parts.append(b"</row>")
    parts.append(b"</sheetData></worksheet>")
    return b"".join(parts)


def outcome(scan: _PartScan, chunks: list[bytes]) -> list:
    """The scan's state after every chunk, up to the refusal that ends it."""
    states: list = []
    try:
        for chunk in chunks:
            scan.feed(chunk)
            states.append((scan.last_row, scan.last_column))
        scan.finish()
    except ValidationFailed as refused:
        states.append(refused.message)
    return states


@pytest.mark.parametrize("seed", range(300))
def test_the_scan_sees_what_the_plain_scan_sees_wherever_the_chunks_are_cut(seed):
    picked = random.Random(seed)
    xml = sheet_xml(picked)
    cuts = sorted(picked.sample(range(1, len(xml)), min(len(xml) - 1, picked.randrange(1, 60))))
    chunks = [xml[start:end] for start, end in zip([0, *cuts], [*cuts, len(xml)], strict=True)]

    plain, exact, bound = PlainScan("sheet"), _PartScan("sheet"), _PartScan("sheet", exact_cells=False)
    expected = outcome(plain, chunks)

    assert outcome(exact, chunks) == expected and exact.cells == plain.cells
    assert outcome(bound, chunks) == expected and bound.cells >= plain.cells


def test_cells_counted_from_above_never_refuse_a_workbook_the_exact_count_accepts(monkeypatch):
    """``<col`` and ``<cols`` count from above, not exactly: at a limit between the two the workbook passes."""
    data = sheet_of_rows([HEADER, *(ledger_row(f"W-{n}") for n in range(5))])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    cols = b"<cols>" + b"".join(b'<col min="%d" max="%d" width="9"/>' % (n, n) for n in range(1, 200)) + b"</cols>"
    members[sheet] = members[sheet].replace(b"<sheetData>", cols + b"<sheetData>", 1)
    data = zipped(members)
    exact = sum(xml.count(b"<c ") + xml.count(b"<c>") for xml in members.values())
    assert sum(xml.count(b"<c") for xml in members.values()) > exact + 100

    monkeypatch.setattr(workbook, "MAX_CELLS", exact)
    check_sheets(data)

    monkeypatch.setattr(workbook, "MAX_CELLS", exact - 1)
    with pytest.raises(ValidationFailed, match=f"more than {exact - 1:,} cells"):
        check_sheets(data)


def test_a_wide_cell_split_between_chunks_counts_its_whole_column(monkeypatch):
    """The last chunk's tail and the next chunk: column letters running on past the seam are read whole."""
    letters = "Q" * 60
    xml = f'<worksheet><sheetData><row r="1"><c r="{letters}1"><v>1</v></c></row></sheetData></worksheet>'.encode()
    at = xml.index(b"<c r=") + 3
    scan, plain = _PartScan("sheet"), PlainScan("sheet")
    assert outcome(scan, [xml[:at], xml[at:]]) == outcome(plain, [xml[:at], xml[at:]])
    assert column_letter(scan.last_column - 1) == letters
