"""The parsing child's scan of the XML parts (``check_sheets``) gives the verdicts of its plain form.

The scan looks at each chunk without joining it to the tail of the one before, looks for DTD markers only
around a "!", and counts cells from above before counting them exactly: each of these is held here to the
plain scan it replaced (``PlainScan``), over XML cut into chunks at every kind of place.
"""

from __future__ import annotations

import io
import random
import re
import time
import zipfile
from array import array

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from importers import workbook
from importers.limits import WorkbookTooLarge
from importers.template import ledger_template
from importers.workbook import _PartScan, check_sheets, column_letter
from importers.xlsx_strings import ShownText, StringLengths, _plain_text
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


# The text shared-string cells show (``importers.xlsx_strings``): calamine gives each such cell its own copy of its
# string, so the scan counts what calamine will hold, as it does for an .xls's LABELSST cells.
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def loaded_text(data: bytes) -> int:
    """The characters of text python-calamine loads from every sheet of ``data``."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = (book.get_sheet_by_name(name).to_python() for name in book.sheet_names)
    return sum(len(value) for rows in sheets for row in rows for value in row if isinstance(value, str))


def shared_book(cells: str, strings: str, *, strings_first: bool = False, sheet_tag: str = "worksheet") -> bytes:
    """A workbook of one sheet of ``cells`` (rows of <c> XML) and the shared-string part ``strings`` (its <si>)."""
    members = members_of(sheet_of_rows([["x"]]))
    sheet = members.pop("xl/worksheets/sheet1.xml").decode()
    prefix = sheet_tag.removesuffix("worksheet")
    head = f"<{sheet_tag} {MAIN.replace('xmlns=', f'xmlns:{prefix[:-1]}=') if prefix else MAIN}><{prefix}sheetData>"
    members.pop("xl/sharedStrings.xml", None)
    sheet = head + cells + f"</{prefix}sheetData></{sheet_tag}>"
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst {MAIN} {MAIN.replace("xmlns", "xmlns:x")}>{strings}</sst>'
    sst = sst.encode()
    ordered = {"xl/sharedStrings.xml": sst, **members} if strings_first else {**members, "xl/sharedStrings.xml": sst}
    return zipped({**ordered, "xl/worksheets/sheet1.xml": sheet.encode()})


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rows_of(indexes: list[int], cell: str = '<c r="A{row}" t="s"><v>{index}</v></c>') -> str:
    return "".join(
        f'<row r="{row}">' + cell.format(row=row, index=index) + "</row>" for row, index in enumerate(indexes, 1)
    )


def test_the_text_shared_string_cells_show_is_counted_as_calamine_loads_it(monkeypatch):
    """Chinese, entities and rich text, strings shown once or by many cells, two sheets: the
    count is the characters calamine loads, and the limit is held to that count, neither more nor less."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)  # writes shared strings, as Excel does (openpyxl here writes inline ones)
    sheet = book.add_worksheet("台账")
    sheet.write_row(0, 0, HEADER)
    for n in range(300):
        sheet.write_row(n + 1, 0, ledger_row(f"W-{n % 7}", ["活性炭", "生石灰 <袋> & 桶", "吸油毡" * 40][n % 3], n))
    sheet.write_rich_string(1, 0, book.add_format({"bold": True}), "东城区", "应急物资库")
    book.add_worksheet("备注").write_row(0, 0, ["说明：" + "第一批入库" * 100, "x" * 2_000])
    book.close()
    data = out.getvalue()
    loaded = loaded_text(data)

    assert workbook.shared_text(data) == loaded > 10_000
    monkeypatch.setattr(workbook, "MAX_WORKBOOK_TEXT", loaded)
    check_sheets(data)
    monkeypatch.setattr(workbook, "MAX_WORKBOOK_TEXT", loaded - 1)
    with pytest.raises(
        WorkbookTooLarge, match=rf"show {loaded:,} characters of text, over the limit of {loaded - 1:,}"
    ):
        check_sheets(data)


def test_the_template_is_counted_exactly_and_passes():
    """The template (xlsxwriter writes shared strings too): counted as calamine loads it, far under the limit."""
    data = ledger_template()

    assert workbook.shared_text(data) == loaded_text(data)
    check_sheets(data)


@pytest.mark.parametrize("strings_first", [False, True])
def test_one_string_shown_by_many_cells_is_refused_wherever_the_zip_holds_the_strings(strings_first):
    """One string of 30,000 characters shown by 40,000 cells (210 KB): 1.2 GB in calamine. The strings may come
    before or after the sheets in the zip; calamine is not asked (its copy of them is what is refused)."""
    data = shared_book(rows_of([0] * 40_000), "<si><t>" + "x" * 30_000 + "</t></si>", strings_first=strings_first)

    assert len(data) < 300_000
    with pytest.raises(WorkbookTooLarge, match=r"show 1,200,000,000 characters of text, over the limit of 100,000,000"):
        check_sheets(data)


def test_long_strings_shown_by_many_cells_under_the_limit_pass():
    """A ledger's remarks (50 of 2,000 characters) repeated down 49,000 rows: 98 million characters, under the
    limit (the bound from above, 49,000 × the longest's bytes, is not: they are counted exactly); 51,000 are not."""
    remarks = "".join(f"<si><t>{n:02}{('备注说明' * 500)[:1_998]}</t></si>" for n in range(50))
    assert [len(t) for t in re.findall("<t>([^<]*)</t>", remarks)] == [2_000] * 50

    check_sheets(shared_book(rows_of([n % 50 for n in range(49_000)]), remarks))
    assert workbook.shared_text(shared_book(rows_of([n % 50 for n in range(49_000)]), remarks)) == 98_000_000
    with pytest.raises(WorkbookTooLarge, match="show 102,000,000 characters of text"):
        check_sheets(shared_book(rows_of([n % 50 for n in range(51_000)]), remarks))


WRITTEN_OTHERWISE = {
    # the sheet's cells written otherwise than Excel writes them
    "prefixed": dict(cells=rows_of([1, 1], '<x:c r="A{row}" t="s"><x:v>{index}</x:v></x:c>'), sheet_tag="x:worksheet"),
    "single quotes": dict(cells=rows_of([1, 1], "<c r='A{row}' t='s'><v>{index}</v></c>")),
    "spaced": dict(cells=rows_of([1, 1], '<c r="A{row}"  t = "s" ><v>{index}</v></c>')),
    "formula first": dict(cells=rows_of([1, 1], '<c r="A{row}" t="s"><f>A1</f><v>{index}</v></c>')),
    "comment inside": dict(cells=rows_of([1, 1], '<c r="A{row}" t="s"><!-- <c> --><v>{index}</v></c>')),
    "two values": dict(cells=rows_of([1, 1], '<c r="A{row}" t="s"><v>0</v><v>{index}</v></c>')),
    "entity in value": dict(cells=rows_of([1, 1], '<c r="A{row}" t="s"><v>{index}&#48;</v></c>')),
    # the strings written otherwise
    "string without text": dict(
        strings_part="<si></si><si/><si><t>a</t></si><si><t>" + "y" * 900 + "</t></si>", cells=rows_of([0, 1, 2, 3] * 2)
    ),
    "phonetic guide": dict(
        strings_part="<si><t>a</t></si><si><t>" + "y" * 900 + '</t><rPh sb="0" eb="1"><t>カ</t></rPh></si>'
    ),
    "prefixed strings": dict(strings_part="<x:si><x:t>a</x:t></x:si><x:si><x:t>" + "y" * 900 + "</x:t></x:si>"),
    "a prefixed string among plain ones": dict(
        strings_part="<si><t>a</t></si><x:si><x:t>" + "y" * 900 + "</x:t></x:si><si><t>b</t></si>"
    ),
    "CDATA": dict(strings_part="<si><t>a</t></si><si><t><![CDATA[" + "y" * 900 + "]]></t></si>"),
    "spaced end": dict(strings_part="<si><t>a</t></si ><si><t>" + "y" * 900 + "</t></si >"),
}


@pytest.mark.parametrize("name", sorted(WRITTEN_OTHERWISE))
def test_xml_written_otherwise_is_counted_from_above_never_below(name):
    """Whatever the XML is written like, the count is at least what calamine loads (the strings' root declares
    the prefix x: too)."""
    form = {"cells": rows_of([1, 1]), "strings_part": "<si><t>a</t></si><si><t>" + "y" * 900 + "</t></si>"}
    form.update(WRITTEN_OTHERWISE[name])
    data = shared_book(form.pop("cells"), form.pop("strings_part"), **form)
    loaded = loaded_text(data)

    assert loaded >= 1_800
    assert workbook.shared_text(data) >= loaded
    for size in (7, 64):  # and cut into chunks anywhere
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(workbook, "SCAN_CHUNK_BYTES", size)
            assert workbook.shared_text(data) >= loaded


def test_chunks_cut_anywhere_count_the_same(monkeypatch):
    """Cells and strings split between chunks at every size: the count of Excel's own form (an empty string
    written <si><t/></si> among them) does not change."""
    strings = "".join(f"<si><t>{'物资' * n}</t></si>" if n % 7 else "<si><t/></si>" for n in range(30))
    data = shared_book(rows_of([n % 30 for n in range(500)], '<c r="A{row}" s="1" t="s"><v>{index}</v></c>'), strings)
    expected = workbook.shared_text(data)
    assert expected == loaded_text(data) > 10_000
    for size in (1, 3, 5, 16, 100, 4096):
        monkeypatch.setattr(workbook, "SCAN_CHUNK_BYTES", size)
        assert workbook.shared_text(data) == expected


def test_values_that_are_no_index_cost_one_look_at_the_strings_not_one_each():
    """A value calamine cannot read as an index counts as the longest string: found once, not once per cell (50,000
    strings and 50,000 such cells took minutes)."""
    strings = "".join(f"<si><t>{n}</t></si>" for n in range(50_000))
    data = shared_book(rows_of(["x"] * 50_000, "<c r='A{row}' t='s'><v>{index}</v></c>"), strings)
    started = time.monotonic()

    assert workbook.shared_text(data) == 50_000 * 5
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("size", [1, 7, 100, 1 << 20])
def test_xml_with_a_prefix_or_laid_out_over_lines_is_counted_as_excels(monkeypatch, size):
    """The Open XML SDK writes every element with a prefix (<x:sst>, <x:worksheet>), some writers lay the strings
    out over lines: read as Excel's XML, each string counted once, cut into chunks anywhere."""
    strings = "".join(f"<x:si>\n  <x:t>{'物资' * n}</x:t>\n</x:si>\n" for n in range(1, 30))
    cells = rows_of([n % 29 for n in range(500)], '<x:c r="A{row}" s="1" t="s"><x:v>{index}</x:v></x:c>')
    members = members_of(
        shared_book(cells.replace("<row", "<x:row").replace("</row>", "</x:row>"), strings, sheet_tag="x:worksheet")
    )
    members["xl/sharedStrings.xml"] = (
        members["xl/sharedStrings.xml"].replace(b"<sst ", b"<x:sst ").replace(b"</sst>", b"</x:sst>")
    )
    data = zipped(members)
    monkeypatch.setattr(workbook, "SCAN_CHUNK_BYTES", size)

    # the layout's spaces and line ends inside each <si> are counted as its text: 4 characters a string
    assert workbook.shared_text(data) == loaded_text(data) + 4 * 500 > 10_000


def counted_by_pattern(scan: bytes, lengths: StringLengths) -> int | None:
    """A window's shared-string text as first counted: each index found by a pattern, every "s" one of theirs."""
    found = re.findall(rb' t="s"><v>(\d{1,10})</v></c>', scan)
    if len(found) != scan.count(b'"s"'):
        return None
    return sum(lengths.of(int(index)) for index in found)


def shared_window(picked: random.Random) -> bytes:
    """Cells as Excel writes them, and in half the windows one that is not (an index too long or not a number, the
    cell's attributes in another order, an "s" cut off)."""
    rows = picked.randrange(1, 60)
    odd = picked.randrange(rows) if picked.random() < 0.5 else None
    cells = []
    for row in range(rows):
        index = picked.choice(["0", "7", "42", "007", "1234567", "9999999", str(picked.randrange(50_000))])
        cell = f'<c r="A{row + 1}" s="1" t="s"><v>{index}</v></c><c r="B{row + 1}"><v>{row}</v></c>'
        if row == odd and picked.random() < 0.5:
            index = picked.choice(["12345678", "1234567890", "", "1a", " 1", "1 ", "+1", "١"])
            cell = f'<c r="A{row + 1}" t="s"><v>{index}</v></c>'
        elif row == odd:
            cell = picked.choice([f'<c t="s" r="A{row + 1}"><v>{index}</v></c>', f'"s"><v>{index}</v></c>', '"s"'])
        cells.append(f'<row r="{row + 1}">{cell}</row>')
    window = "".join(cells).encode()
    return window[picked.randrange(40) :] if picked.random() < 0.2 else window  # a window may begin anywhere


@pytest.mark.parametrize("seed", range(200))
def test_cells_counted_all_at_once_count_what_the_pattern_counted(seed):
    """A window of cells is counted with numpy (``_plain_text``): what it counts is what finding each index with a
    pattern counted, indexes past the strings and leading zeros too; a window it cannot read (an index of 8 digits
    or more, a cell written otherwise) is left to the general reading (None), which counts it exactly."""
    picked = random.Random(seed)
    lengths = StringLengths(array("I", (picked.randrange(80) for _ in range(60_000))), rest=picked.choice([None, 9]))
    lengths.known.extend([3] * (10_000_000 - len(lengths.known)) if seed == 0 else [])
    window = shared_window(picked)

    counted = _plain_text(window, lengths.table)
    expected = counted_by_pattern(window, lengths)
    assert counted == expected or (counted is None and re.search(rb"<v>\d{8}", window))
    if counted is None and expected is not None:
        general = ShownText(lengths)
        general._tokens(window)
        assert general.total == expected  # the general reading: exact as well
