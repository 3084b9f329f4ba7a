"""The scan of an .xls's records (``importers.xls_records``) sees what python-calamine will load, cheaply."""

from __future__ import annotations

import contextlib
import io
import random
import struct
import time

import pytest
from python_calamine import CalamineError, CalamineWorkbook

from importers import workbook as workbook_module
from importers.limits import WorkbookTooLarge
from importers.workbook import check_xls_sheets, open_ledger_workbook
from importers.xls_records import Damaged, Encrypted, NoWorkbookStream, workbook_stream, xls_sheets
from inventory.errors import ValidationFailed
from tests.importers.conftest import sheet_of_rows
from tests.importers.xls_corpus import (
    XLS_DIRECTORY,
    biff_workbook,
    compound_file,
    dimensions,
    formula,
    label,
    number_cell,
    record,
    rich_label,
    shared_label,
)

CORPUS = sorted(path for path in XLS_DIRECTORY.glob("*.xls") if not path.name.startswith("hostile_"))


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_the_scan_reaches_every_cell_calamine_loads_and_lets_the_corpus_through(path):
    data = path.read_bytes()
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    scanned = {sheet.name: sheet for sheet in xls_sheets(data)}

    assert list(scanned) == book.sheet_names
    for name in book.sheet_names:
        end = book.get_sheet_by_name(name).end
        assert end is not None and (end[0] < scanned[name].rows and end[1] < scanned[name].columns)
    check_xls_sheets(data)
    # the compound file written here holds the same stream as xlwt's: calamine reads it alike
    again = CalamineWorkbook.from_filelike(io.BytesIO(compound_file(workbook_stream(data))))
    for name in book.sheet_names:
        assert again.get_sheet_by_name(name).to_python() == book.get_sheet_by_name(name).to_python()


def sheet_of(records: bytes):
    [sheet] = xls_sheets(compound_file(biff_workbook([("台账", records)])))
    return sheet


def test_every_kind_of_cell_record_and_merged_ranges_count_toward_the_used_range():
    mulrk = record(0x00BD, struct.pack("<HH", 4, 2) + bytes(6 * 3) + struct.pack("<H", 4))  # C5:E5
    mulblank = record(0x00BE, struct.pack("<HH", 6, 1) + bytes(2 * 10) + struct.pack("<H", 10))  # B7:K7
    merged = record(0x00E5, struct.pack("<HHHHH", 1, 20, 30, 0, 3))  # A21:D31
    blank = record(0x0201, struct.pack("<HHH", 40, 0, 0))

    sheet = sheet_of(label(0, 0, "x") + mulrk + mulblank + merged + number_cell(2, 12, 1) + blank)

    assert (sheet.rows, sheet.columns, sheet.cells) == (41, 13, 1 + 3 + 10 + 1 + 1)


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        (dimensions(10, 5, 0, 3), "a used range ends before it starts"),
        (record(0x0200, bytes(6)), "a record is too short for its type"),
        (record(0x0203, struct.pack("<HHH", 1, 1, 0)), "a record is too short for its type"),
        (record(0x00BD, struct.pack("<HH", 4, 2) + bytes(6) + struct.pack("<H", 9)), "a record is too short"),
    ],
    ids=["inverted-dimensions", "short-dimensions", "short-number", "mulrk-of-the-wrong-width"],
)
def test_records_calamine_would_trip_on_are_damage(records, reason):
    with pytest.raises(Damaged, match=reason):
        sheet_of(label(0, 0, "x") + records)


def test_a_sheet_listed_inside_the_globals_or_past_the_stream_is_damage():
    for position in (0, 10**6):
        data = compound_file(biff_workbook([("台账", label(0, 0, "x"))], positions=[position]))
        with pytest.raises(Damaged, match="a sheet starts outside the sheets' records"):
            xls_sheets(data)


def test_a_sheet_without_its_eof_running_into_the_next_is_damage():
    stream = biff_workbook([("一", label(0, 0, "x")), ("二", label(0, 0, "y"))])
    first_eof = stream.index(record(0x000A), stream.index(label(0, 0, "x")))
    stream = stream[:first_eof] + record(0x0012, b"\0\0") + stream[first_eof + 4 :]  # EOF made a PROTECT

    with pytest.raises(Damaged, match="two sheets share records"):
        xls_sheets(compound_file(stream))


def test_a_rich_text_label_counts_as_calamine_loads_it(monkeypatch):
    """python-calamine loads an RSTRING as a cell: one at IV65536 makes its sheet a grid of 16.7 million cells (here
    K65536, under a lower limit)."""
    monkeypatch.setattr(workbook_module, "MAX_SHEET_AREA", 500_000)
    data = compound_file(biff_workbook([("台账", label(0, 0, "x") + rich_label(65_535, 10, "y"))]))
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    [sheet] = xls_sheets(data)

    assert book.get_sheet_by_name("台账").end == (65_535, 10)
    assert (sheet.rows, sheet.columns, sheet.cells, sheet.text) == (65_536, 11, 2, 2)
    with pytest.raises(WorkbookTooLarge, match="has cells out to row 65,536, column 11"):
        check_xls_sheets(data)


def test_the_text_cells_show_is_counted_a_copy_each_as_calamine_loads_it(monkeypatch):
    """Each LABELSST cell gets its own copy of its shared string: 10,000 cells showing one of 60,000 characters (a
    200 KB file) took calamine to 1.2 GB. The count is that of the strings calamine loads, sheet by sheet."""
    monkeypatch.setattr(workbook_module, "MAX_WORKBOOK_TEXT", 1_000)
    shared = ["物资名称", "数量", "x" * 600]
    records = shared_label(0, 0, 0) + shared_label(0, 1, 1) + shared_label(1, 0, 2) + shared_label(1, 1, 7)
    data = compound_file(biff_workbook([("台账", records), ("备注", shared_label(0, 0, 2))], strings=shared))
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))

    scanned = [sheet.shared_text for sheet in xls_sheets(data)]
    loaded = [sum(len(v) for row in book.get_sheet_by_name(n).to_python() for v in row) for n in book.sheet_names]
    assert scanned == loaded == [606, 600]
    with pytest.raises(
        WorkbookTooLarge, match=r"show 1,206 characters of text, over the limit of 1,000 \(MAX_WORKBOOK_TEXT\)"
    ):
        check_xls_sheets(data)


def test_empty_strings_calamine_reads_are_read():
    """An empty LABEL of BIFF5 (8 bytes: no flags byte) and an empty STRING after a formula (2 or 3 bytes)."""
    empty_label = record(0x0204, struct.pack("<HHHH", 2, 0, 0, 0))
    text_formula = record(
        0x0006, struct.pack("<HHH", 1, 0, 0) + bytes(6) + b"\xff\xff" + bytes(6) + b"\x03\x00\x1e\x01\x00"
    )
    data = compound_file(
        biff_workbook([("台账", label(0, 0, "x") + text_formula + record(0x0207, bytes(3)) + empty_label)])
    )
    CalamineWorkbook.from_filelike(io.BytesIO(data))
    check_xls_sheets(data)
    assert sheet_of(label(0, 0, "x") + text_formula + record(0x0207, bytes(2)) + empty_label).rows == 3


def spaces_formula(size: int) -> bytes:
    """A formula of one number followed by PtgAttrSpace tokens of 255 spaces each: calamine inserts each space
    before the number, moving all it has written (an 8 KB record: 2 s of its CPU; 64 KB: past the parse's limit)."""
    return formula(0, 0, bytes([0x1E, 1, 0]) + bytes([0x19, 0x40, 0x00, 0xFF]) * ((size - 3) // 4))


def test_formulas_calamine_would_spend_seconds_writing_out_are_refused_and_real_ones_cost_little():
    refs = bytes([0x24]) + struct.pack("<HH", 1, 1) + bytes([0x24]) + struct.pack("<HH", 1, 2)  # B2, C2
    product = formula(1, 3, refs + bytes([0x05]))  # =B2*C2
    lookup = (  # =IF(ISERROR(VLOOKUP(A2,目录!$A$1:$B$200,2,FALSE)),"",…), as xlwt writes it, twice over
        bytes([0x24]) + struct.pack("<HH", 1, 0) + bytes([0x3B]) + struct.pack("<HHHHH", 0, 0, 199, 0, 1)
    ) + bytes([0x1E, 2, 0, 0x1D, 0, 0x42, 4, 102, 0, 0x41, 3, 0, 0x17, 0, 0, 0x42, 3, 1, 0])
    sheet = sheet_of(label(0, 0, "金额") + product * 1000 + formula(1, 4, lookup) * 1000)
    assert 0 < sheet.formula_work < 2_000_000
    check_xls_sheets(compound_file(biff_workbook([("台账", product * 1000 + formula(1, 4, lookup) * 1000)])))

    data = compound_file(biff_workbook([("台账", spaces_formula(8200))]))
    started = time.process_time()
    with pytest.raises(WorkbookTooLarge, match=r"formulas of this \.xls workbook .* \(MAX_XLS_FORMULA_WORK\)"):
        check_xls_sheets(data)
    assert time.process_time() - started < 0.1
    # spread over many formulas and sheets, the cost is the same: counted over the workbook
    small = [(f"S{n}", spaces_formula(2000)) for n in range(8)]
    with pytest.raises(WorkbookTooLarge, match="MAX_XLS_FORMULA_WORK"):
        check_xls_sheets(compound_file(biff_workbook(small)))


def test_text_declared_longer_than_the_file_is_damage():
    """calamine makes room for the characters a LABEL or STRING record declares, whatever it holds: 40,000 LABELs
    of 14 bytes declaring 65,535 characters each took it past 2.6 GB of address space."""
    empty_label = record(0x0204, struct.pack("<HHHHB", 0, 0, 0, 0xFFFF, 0) + b"x")
    with pytest.raises(Damaged, match="a text is declared longer than the file holds"):
        xls_sheets(compound_file(biff_workbook([("一", empty_label * 20), ("二", empty_label * 20)])))
    empty_string = record(0x0207, struct.pack("<HB", 0xFFFF, 0) + b"x")
    with pytest.raises(Damaged, match="a text is declared longer than the file holds"):
        xls_sheets(compound_file(biff_workbook([("台账", formula(0, 0, b"") + empty_string * 40)])))
    assert sheet_of(label(0, 0, "物资名称") + label(0, 1, "数量")).text == 6


@pytest.mark.parametrize("name", ["Workbook", "WORKBOOK", "Book", "BOOK", "workbook", "WorkBook"])
def test_the_workbook_stream_is_found_by_the_names_calamine_looks_for(name):
    """calamine looks for Workbook, then Book, each as written and then in capitals (some programs write WORKBOOK)."""
    data = compound_file(biff_workbook([("台账", label(0, 0, "x"))]), name=name)
    try:
        opened = CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names
    except CalamineError:
        opened = None
    try:
        scanned = [sheet.name for sheet in xls_sheets(data)]
    except NoWorkbookStream:
        scanned = None
    assert scanned == opened == (["台账"] if name.upper() == name or name in ("Workbook", "Book") else None)


def test_a_password_to_open_and_a_compound_file_without_a_workbook_are_said_so():
    encrypted = biff_workbook([("台账", label(0, 0, "x"))]).replace(
        record(0x0042, struct.pack("<H", 1200)), record(0x002F, struct.pack("<H", 1)), 1
    )
    with pytest.raises(Encrypted):
        xls_sheets(compound_file(encrypted))
    document = compound_file(biff_workbook([])).replace("Workbook".encode("utf-16-le"), "WordDocu".encode("utf-16-le"))
    with pytest.raises(NoWorkbookStream):
        xls_sheets(document)
    # an .xlsx with a password to open: a stream of this name (in any case) and no workbook
    for name in ("EncryptedPackage", "ENCRYPTEDPACKAGE"):
        with pytest.raises(Encrypted):
            xls_sheets(compound_file(bytes(4096), name=name))
    # the word in a cell's text is no stream
    xls_sheets(compound_file(biff_workbook([("台账", label(0, 0, "EncryptedPackage 说明"))])))


def test_calamine_does_not_read_an_xls_vba_project_when_it_opens_the_file():
    """An .xls with macros holds its VBA project in a _VBA_PROJECT_CUR storage beside the Workbook stream. calamine
    0.37 (python-calamine 0.9.1) does not read it when it opens the file (python-calamine has no way to ask for it):
    a project whose dir stream is empty, which its VBA reader cannot read (a compressed container starts with 1),
    opens, and its sheet is read; so the record scan leaves the storage alone (what calamine does read of a compound
    file, the scan reads: its FAT, directory and mini stream). Should an upgrade read it at open, this fails: then
    the project needs a bound of its own (its streams are compressed)."""
    data = compound_file(
        biff_workbook([("台账", label(0, 0, "物资名称") + label(0, 1, "数量"))]), storage=("_VBA_PROJECT_CUR", "dir")
    )
    assert "_VBA_PROJECT_CUR".encode("utf-16-le") in data

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.get_sheet_by_name("台账").to_python() == [["物资名称", "数量"]]
    assert [sheet.name for sheet in xls_sheets(data)] == ["台账"]


def test_thousands_of_sheets_or_a_sheet_of_many_records_cost_one_pass():
    """Sheets are walked once each, their records apart: 20,000 sheets, and a sheet of 300,000 records, in well
    under a second each."""
    many = compound_file(biff_workbook([(f"S{n}", number_cell(0, 0, n)) for n in range(20_000)]))
    started = time.process_time()
    assert len(xls_sheets(many)) == 20_000
    assert time.process_time() - started < 1.5
    long = compound_file(biff_workbook([("台账", record(0x0012, b"\0\0") * 300_000)]))
    started = time.process_time()
    xls_sheets(long)
    assert time.process_time() - started < 1.5


@pytest.mark.parametrize("seed", range(30))
def test_a_mutated_xls_is_refused_or_read_never_a_crash(seed):
    """Random bytes changed in the compound file, or in its records: the scan answers with its own refusals only,
    fast (a chain that goes round, a sector or a record past the end, a count out of range), and what it lets
    through python-calamine opens within the parse's limits."""
    chance = random.Random(seed)
    source = chance.choice(CORPUS).read_bytes()
    data = bytearray(source if seed % 2 else workbook_stream(source))
    for _ in range(chance.randint(1, 12)):
        at = chance.choice([chance.randrange(min(512, len(data))), chance.randrange(len(data))])
        data[at] = chance.choice([0, 0xFF, 0xFE, chance.randrange(256)])
    mutated = bytes(data) if seed % 2 else compound_file(bytes(data))
    started = time.process_time()
    try:
        check_xls_sheets(mutated)
    except ValidationFailed:
        return
    finally:
        assert time.process_time() - started < 1
    with contextlib.suppress(ValidationFailed):
        open_ledger_workbook(mutated).close()


def test_an_xls_past_the_cell_limit_is_refused_in_the_words_of_the_xlsx_scan(monkeypatch):
    monkeypatch.setattr(workbook_module, "MAX_CELLS", 10)
    xlsx = sheet_of_rows([list(range(11))])
    xls = compound_file(biff_workbook([("台账", b"".join(number_cell(0, n, n) for n in range(11)))]))

    with pytest.raises(WorkbookTooLarge) as from_xlsx:
        workbook_module.check_sheets(xlsx)
    with pytest.raises(WorkbookTooLarge) as from_xls:
        check_xls_sheets(xls)
    assert (
        from_xls.value.message
        == from_xlsx.value.message
        == "the workbook has more than 10 cells, the limit (MAX_CELLS)"
    )


def test_a_workbook_stream_in_the_mini_stream_is_read_as_calamine_reads_it():
    """A Workbook stream under 4,096 bytes lives in the mini stream (64-byte sectors in a stream of their own)."""
    stream = biff_workbook([("台账", label(0, 0, "物资名称") + label(0, 1, "数量") + number_cell(1, 1, 7))])
    data = compound_file(stream, mini=True)

    [sheet] = xls_sheets(data)
    assert (sheet.name, sheet.rows, sheet.columns, sheet.cells) == ("台账", 2, 2, 3)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.get_sheet_by_name("台账").to_python() == [["物资名称", "数量"], ["", 7.0]]


@pytest.mark.parametrize(
    ("fat_edits", "mini", "reason"),
    [
        ({0: 0}, True, "a sector chain is broken"),  # the mini stream's chain goes round: calamine reads it first
        ({1: 100}, False, "a sector lies past the end of the file"),  # within the FAT, past the file
        ({1: 0xFFFF_FFFF}, False, "a sector lies past the end of the file"),  # a free sector inside a chain
    ],
    ids=["mini-stream-cycle", "sector-past-the-end", "free-sector-in-a-chain"],
)
def test_a_broken_sector_chain_is_damage_before_calamine_follows_it(fat_edits, mini, reason):
    stream = biff_workbook([("台账", label(0, 0, "x"))])

    with pytest.raises(Damaged, match=reason):
        xls_sheets(compound_file(stream, fat_edits=fat_edits, mini=mini))


def test_a_refusal_names_a_sheet_as_the_report_does():
    data = compound_file(biff_workbook([("台账\x1b", dimensions(0, 0xFFFF_FFFF, 0, 256))]))

    with pytest.raises(WorkbookTooLarge, match=r"sheet part 台账\\x1b declares"):
        check_xls_sheets(data)


def test_a_biff5_workbook_is_walked_as_calamine_walks_it():
    """Excel 5.0/95 files: a Book stream, BOF version 0x0500, names in the code page without a flags byte."""

    def biff5_bof(kind: int) -> bytes:
        return record(0x0809, struct.pack("<HHHH", 0x0500, kind, 0x0DBB, 0x07CC))

    sheet = biff5_bof(0x0010) + record(0x0200, struct.pack("<HHHHH", 0, 3, 0, 2, 0)) + number_cell(2, 1, 5.0)
    sheet += record(0x000A)
    head = biff5_bof(0x0005) + record(0x0042, struct.pack("<H", 1252))
    boundsheet_size = 4 + 6 + 1 + len("Ledger")
    position = len(head) + boundsheet_size + 4
    head += record(0x0085, struct.pack("<IHB", position, 0, len("Ledger")) + b"Ledger") + record(0x000A)
    data = compound_file(head + sheet, name="Book")

    [scanned] = xls_sheets(data)
    assert (scanned.name, scanned.rows, scanned.columns, scanned.declared) == ("Ledger", 3, 2, (0, 3, 0, 2))
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["Ledger"] and book.get_sheet_by_name("Ledger").end == (2, 1)
