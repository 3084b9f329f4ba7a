"""Hostile and malformed workbooks through the real HTTP path: a 4xx problem, never a 500, never a dead worker.

Each file here once killed or bloated a worker or answered 500: a far-corner cell (calamine allocated the
whole sheet, 512 GiB, and aborted), a cell at ZZ150000 (3.4 GiB, accepted), DTDs, lying zip sizes, a date
cell formatted as a time, and a seeded mutation fuzz of a valid ledger.
"""

from __future__ import annotations

import io
import json
import random
import re
import resource
import struct
import time
import zipfile

import openpyxl
import pytest

from api.messages import catalog
from importers import limits
from importers import workbook as workbook_module
from importers.values import is_blank, parse_text
from importers.workbook import XLS_SIGNATURE, column_letter, open_ledger_workbook
from inventory.validation import INVALID_CHARACTERS
from tests.api.helpers import API, PROBLEM_JSON
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows, zipped
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

SHEET = "xl/worksheets/sheet1.xml"
VALID = sheet_of_rows([["东城区台账"], HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "1,500")])
PEAK_GROWTH_MB = 400  # the worker's own peak memory may not grow more than this on any hostile file


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_sheet(sheet_xml: bytes, **parts: bytes) -> bytes:
    members = members_of(VALID)
    members[SHEET] = sheet_xml
    members.update({name.replace("__", "/").replace("_xml", ".xml"): data for name, data in parts.items()})
    return zipped(members)


def cell_at(ref: str, *, dimension: bool = True) -> bytes:
    """The valid ledger plus one cell at ``ref`` (and, with ``dimension``, a used range declared up to it)."""
    sheet = members_of(VALID)[SHEET]
    row = re.sub(r"[A-Z]", "", ref)
    extra = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'.encode()
    sheet = sheet.replace(b"</sheetData>", extra + b"</sheetData>")
    sheet = re.sub(rb"<dimension [^>]*/>", f'<dimension ref="A1:{ref}"/>'.encode() if dimension else b"", sheet)
    return with_sheet(sheet)


def sparse_rows(rows: int = 150_000) -> bytes:
    """A sheet of ``rows`` rows holding one cell each, strewn over the columns up to ZZ, no used range declared."""
    sheet = members_of(VALID)[SHEET]
    picked = random.Random(7)
    cells = b"".join(
        f'<row r="{n}"><c r="{column_letter(picked.randrange(702))}{n}"><v>{n}</v></c></row>'.encode()
        for n in range(10, rows + 1)
    )
    sheet = sheet.replace(b"</sheetData>", cells + b"</sheetData>")
    return with_sheet(re.sub(rb"<dimension [^>]*/>", b"", sheet))


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 9))
    + b"]>"
)


def dtd_in(part: str) -> bytes:
    members = members_of(VALID)
    xml = members[part]
    start = xml.index(b"<", xml.index(b"?>") + 2) if xml.startswith(b"<?xml") else 0
    body = xml[start:].replace(b"</", b"<x>&lol8;</x></", 1) if part == SHEET else xml[start:]
    members[part] = LAUGHS + body
    return zipped(members)


def lying_sizes() -> bytes:
    """Shared strings of 30 MB whose zip headers declare 1,000 bytes (a bomb the directory does not show)."""
    members = members_of(VALID)
    members["xl/sharedStrings.xml"] = b'<sst xmlns="x"><si><t>' + b"a" * 30_000_000 + b"</t></si></sst>"
    data = bytearray(zipped(members))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        for match in re.finditer(re.escape(signature), bytes(data)):
            header = match.start()
            name_offset = header + (30 if signature == b"PK\x03\x04" else 46)
            name_length = struct.unpack_from("<H", data, header + (26 if signature == b"PK\x03\x04" else 28))[0]
            if bytes(data[name_offset : name_offset + name_length]) == b"xl/sharedStrings.xml":
                struct.pack_into("<I", data, header + offset, 1_000)
    return bytes(data)


def time_formatted_date() -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(VALID))
    cell = book.active["I3"]  # 生产日期
    cell.value = 0.25  # what a date typed into a cell formatted as a time shows
    cell.number_format = "hh:mm"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def corpus_stream() -> bytes:
    from importers.xls_records import workbook_stream

    return workbook_stream((XLS_DIRECTORY / "county_no_codes.xls").read_bytes())


def xls_record_past_the_end() -> bytes:
    """The corpus ledger whose last record says it is 4,000 bytes long: its stream ends first."""
    stream = bytearray(corpus_stream())
    last = stream.rindex(b"\x0a\x00\x00\x00")  # the last sheet's EOF
    stream[last + 2 : last + 4] = struct.pack("<H", 4_000)
    return compound_file(bytes(stream[: last + 4]))


def xls_stream_cut_short() -> bytes:
    """The corpus ledger's Workbook stream cut in the middle of a record, in a whole compound file."""
    stream = corpus_stream()
    return compound_file(stream[: stream.rindex(b"\x0a\x00\x00\x00") - 3])


def xls_many_sheets(count: int = 300) -> bytes:
    """``count`` sheets of one column each, down to BIFF8's last row: 65,536 cells of grid each, 20 million in all."""
    return compound_file(biff_workbook([(f"S{n}", label(0, 0, "x") + number_cell(65_535, 0, n)) for n in range(count)]))


def xls_sheets_sharing_records(count: int = 50) -> bytes:
    """``count`` sheets listed at the records of the first, one cell far down: calamine loads it once per name."""
    sheet = label(0, 0, "x") + number_cell(65_535, 100, 1)
    first = len(biff_workbook([(f"S{n}", b"") for n in range(count)]))  # where the first sheet's records begin
    first -= count * len(record(0x0809, bytes(16)) + record(0x000A))
    sheets = [(f"S{n}", sheet if n == 0 else b"") for n in range(count)]
    return compound_file(biff_workbook(sheets, positions=[None] + [first] * (count - 1)))


def xls_formula_of_spaces() -> bytes:
    """One 64 KB formula: a number, then PtgAttrSpace tokens of 255 spaces each, which calamine inserts one by one
    before the number as it writes the formula out (67 KB: the parse's whole 40 s of CPU, 46 s of waiting)."""
    return compound_file(
        biff_workbook([("台账", formula(0, 0, bytes([0x1E, 1, 0]) + bytes([0x19, 0x40, 0, 0xFF]) * 16_000))])
    )


def xls_labels_declaring_64k(count: int = 40_000) -> bytes:
    """LABEL records of 14 bytes declaring 65,535 characters each: calamine makes room for each (560 KB: 2.6 GB)."""
    return compound_file(
        biff_workbook([("台账", record(0x0204, struct.pack("<HHHHB", 0, 0, 0, 0xFFFF, 0) + b"x") * count)])
    )


def xls_one_string_many_cells(count: int = 40_000) -> bytes:
    """One shared string of 30,000 characters shown by ``count`` cells (560 KB): calamine copies it into each,
    1.2 GB."""
    cells = b"".join(shared_label(row, 0, 0) for row in range(count))
    return compound_file(biff_workbook([("台账", cells)], strings=["x" * 30_000]))


def one_string_many_cells(count: int = 40_000) -> bytes:
    """One shared string of 30,000 characters shown by ``count`` cells (210 KB): python-calamine copies it into each
    (1.2 GB), as it does an .xls's LABELSST."""
    sheet = members_of(VALID)[SHEET]
    rows = "".join(f'<row r="{row}"><c r="A{row}" t="s"><v>0</v></c></row>' for row in range(1, count + 1))
    sheet = sheet[: sheet.index(b"<sheetData")] + b"<sheetData>" + rows.encode() + b"</sheetData></worksheet>"
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
    return with_sheet(sheet, xl__sharedStrings_xml=strings + b"x" * 30_000 + b"</t></si></sst>")


def renamed(data: bytes, part: str, name: str, target: bytes | None = None) -> bytes:
    """``data`` with its ``part`` under another ``name``, and the relationship to it saying ``target``."""
    members = members_of(data)
    members[name] = members.pop(part)
    if target is not None:
        rels = "xl/_rels/workbook.xml.rels"
        members[rels] = members[rels].replace(b'Target="/' + part.encode() + b'"', b'Target="' + target + b'"')
    return zipped(members)


def behind_a_prefixed_tag(data: bytes, prefix: bytes) -> bytes:
    """``data`` with its workbook's relationships written with this namespace prefix (``<a-b:Relationship …>``),
    which calamine reads as any other."""
    members = members_of(data)
    rels = "xl/_rels/workbook.xml.rels"
    members[rels] = (
        members[rels]
        .replace(b"<Relationships xmlns=", b"<" + prefix + b":Relationships xmlns:" + prefix + b"=")
        .replace(b"<Relationship ", b"<" + prefix + b":Relationship ")
        .replace(b"</Relationships>", b"</" + prefix + b":Relationships>")
    )
    return zipped(members)


def dat_sheet(data: bytes) -> bytes:
    return renamed(data, SHEET, "xl/worksheets/sheet1.dat", b"worksheets/sheet1.dat")


HOSTILE = {
    "far-corner": lambda: cell_at("XFD1048576"),
    "far-corner-undeclared": lambda: cell_at("XFD1048576", dimension=False),
    "ZZ150000": lambda: cell_at("ZZ150000"),
    "sparse-150000-rows": sparse_rows,
    "dtd-in-styles": lambda: dtd_in("xl/styles.xml"),
    "dtd-in-sheet": lambda: dtd_in(SHEET),
    "bomb-shared-strings": lambda: zipped(
        {**members_of(VALID), "xl/sharedStrings.xml": b"<sst><si><t>" + b"x" * 60_000_000 + b"</t></si></sst>"}
    ),
    "lying-zip-sizes": lying_sizes,
    "not-a-zip": lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "truncated-zip": lambda: VALID[: len(VALID) // 2],
    "zip-without-directory-end": lambda: VALID[:-22],
    # .xls (an OLE2 compound file): no scan sees it; the child loads it under its limits, then holds each sheet
    # to MAX_SHEET_AREA (a cell at the last row and column of BIFF8's grid: 65,536 x 256)
    "xls-far-corner": lambda: (XLS_DIRECTORY / "hostile_far_corner.xls").read_bytes(),
    "xls-truncated": lambda: (XLS_DIRECTORY / "county_no_codes.xls").read_bytes()[:3000],
    "xls-not-a-workbook": lambda: XLS_SIGNATURE + bytes(range(256)) * 8,
    # .xls files a spreadsheet program never writes, refused from their records before calamine loads any sheet
    "xls-far-apart-sheets": lambda: (XLS_DIRECTORY / "hostile_far_apart_sheets.xls").read_bytes(),
    "xls-huge-dimensions": lambda: compound_file(
        biff_workbook([("台账", dimensions(0, 0xFFFF_FFFF, 0, 256) + label(0, 0, "x"))])
    ),
    "xls-many-sheets": xls_many_sheets,
    "xls-sheets-sharing-records": xls_sheets_sharing_records,
    "xls-record-past-the-end": xls_record_past_the_end,
    "xls-stream-cut-short": xls_stream_cut_short,
    "xls-sector-chain-cycle": lambda: compound_file(corpus_stream(), fat_edits={7: 0}),
    "xls-formula-of-spaces": xls_formula_of_spaces,
    "xls-labels-declaring-64k": xls_labels_declaring_64k,
    "xls-one-string-many-cells": xls_one_string_many_cells,
    "one-string-many-cells": one_string_many_cells,
    # calamine finds a part by its name in any case (a backslash as a slash), and a sheet wherever its relationship
    # says: parts named so were read unscanned
    "strings-named-otherwise": lambda: renamed(
        one_string_many_cells(), "xl/sharedStrings.xml", "xl\\SharedStrings.XML"
    ),
    "sheet-named-in-capitals": lambda: renamed(cell_at("ZZ150000"), SHEET, "xl/worksheets/sheet1.XML"),
    "sheet-named-dat": lambda: renamed(
        cell_at("ZZ150000"), SHEET, "xl/worksheets/sheet1.dat", b"worksheets/sheet1.dat"
    ),
    # a target starting with "//": calamine takes one "/" off and opens the zip member named "/sheets/sheet1.dat"
    "sheet-named-from-the-root": lambda: renamed(
        cell_at("ZZ150000"), SHEET, "/sheets/sheet1.dat", b"//sheets/sheet1.dat"
    ),
    # ... and behind a relationship tag whose prefix is no word (a-b:, é:): the part was read unscanned
    "sheet-named-dat-behind-a-prefix": lambda: behind_a_prefixed_tag(dat_sheet(cell_at("ZZ150000")), b"a-b"),
    "dtd-in-a-sheet-named-dat-behind-a-prefix": lambda: behind_a_prefixed_tag(dat_sheet(dtd_in(SHEET)), "é".encode()),
    # rich-text labels (RSTRING), which calamine loads as cells, far down four sheets
    "xls-far-apart-rich-labels": lambda: compound_file(
        biff_workbook([(f"S{n}", label(0, 0, "x") + rich_label(65_535, 100, "y")) for n in range(4)])
    ),
    # an .xlsx with a password to open (MS-OFFCRYPTO: a compound file holding the encrypted package)
    "password-to-open": lambda: (XLS_DIRECTORY / "encrypted.xlsx").read_bytes(),
}
TOO_LARGE = {
    "far-corner",
    "far-corner-undeclared",
    "ZZ150000",
    "sparse-150000-rows",
    "xls-far-corner",
    "xls-far-apart-sheets",
    "xls-huge-dimensions",
    "xls-many-sheets",
    "xls-formula-of-spaces",
    "xls-far-apart-rich-labels",
    "xls-one-string-many-cells",
    "one-string-many-cells",
    "strings-named-otherwise",
    "sheet-named-in-capitals",
    "sheet-named-dat",
    "sheet-named-dat-behind-a-prefix",
    "sheet-named-from-the-root",
}
LIMIT_CODES = {
    "workbook_too_many_cells",
    "sheet_area_too_large",
    "xls_area_too_large",
    "xls_formulas_too_costly",
    "workbook_text_too_long",
    "workbook_too_many_rows",
    "parse_memory_limit",
    "parse_time_limit",
}


def upload(client, data: bytes, path: str = "/imports", **form):
    return client.post(
        f"{API}{path}", data={"file": (io.BytesIO(data), "台账.xlsx"), **form}, content_type="multipart/form-data"
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("path", ["/imports", "/imports/report.xlsx"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_workbook_is_a_4xx_problem_and_the_worker_stays_small(client, name, path):
    data = HOSTILE[name]()
    before, started = peak_mb(), time.monotonic()

    response = upload(client, data, path)

    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert body["status"] == response.status_code and "file" in body["errors"]
    if name in TOO_LARGE:
        # The limit is named in the reader's language (the tests' default is English), by a catalog entry of
        # its own that says it in Chinese too.
        assert response.status_code == 413 and "limit" in body["detail"], body
        assert body["code"] in LIMIT_CODES and "上限" in catalog().translate(body["detail"], "zh"), body
    assert peak_mb() - before < PEAK_GROWTH_MB
    assert time.monotonic() - started < 30


class NoCalamine:
    """Stands in for python-calamine: a file the scan lets through would make the parse fail saying so."""

    @staticmethod
    def from_filelike(*args, **kwargs):
        raise AssertionError("python-calamine was asked to open a file the scan should have refused")

    from_path = from_filelike


@pytest.mark.parametrize(
    ("name", "status", "code", "detail"),
    [
        ("xls-far-corner", 413, "sheet_area_too_large", "sheet part 台账 declares the used range A1:IV65536"),
        ("xls-far-apart-sheets", 413, "xls_area_too_large", "used ranges of 63,176,704 cells together"),
        ("xls-huge-dimensions", 413, "sheet_area_too_large", "declares the used range A1:IV4294967295"),
        ("xls-many-sheets", 413, "xls_area_too_large", "used ranges of 19,660,800 cells together"),
        ("xls-sheets-sharing-records", 422, "workbook_damaged", "(part S0: two sheets share records)"),
        ("xls-record-past-the-end", 422, "workbook_damaged", "a record runs past the end of the stream"),
        ("xls-stream-cut-short", 422, "workbook_damaged", "a record runs past the end of the stream"),
        ("xls-sector-chain-cycle", 422, "workbook_damaged", "(part compound file: a sector chain is broken)"),
        ("xls-truncated", 422, "workbook_damaged", "a sector lies past the end of the file"),
        ("xls-formula-of-spaces", 413, "xls_formulas_too_costly", "(MAX_XLS_FORMULA_WORK)"),
        ("xls-far-apart-rich-labels", 413, "xls_area_too_large", "used ranges of 26,476,544 cells together"),
        ("xls-one-string-many-cells", 413, "workbook_text_too_long", "show 1,200,000,000 characters of text"),
        ("one-string-many-cells", 413, "workbook_text_too_long", "show 1,200,000,000 characters of text"),
        ("strings-named-otherwise", 413, "workbook_text_too_long", "show 1,200,000,000 characters of text"),
        (
            "sheet-named-in-capitals",
            413,
            "sheet_area_too_large",
            "sheet part xl/worksheets/sheet1.XML has cells out to row 150,000",
        ),
        (
            "sheet-named-dat",
            413,
            "sheet_area_too_large",
            "sheet part xl/worksheets/sheet1.dat has cells out to row 150,000",
        ),
        (
            "sheet-named-dat-behind-a-prefix",
            413,
            "sheet_area_too_large",
            "sheet part xl/worksheets/sheet1.dat has cells out to row 150,000",
        ),
        (
            "dtd-in-a-sheet-named-dat-behind-a-prefix",
            422,
            "workbook_dtd",
            "part xl/worksheets/sheet1.dat declares a DTD",
        ),
        (
            "sheet-named-from-the-root",
            413,
            "sheet_area_too_large",
            "sheet part /sheets/sheet1.dat has cells out to row 150,000",
        ),
        ("xls-labels-declaring-64k", 422, "workbook_damaged", "a text is declared longer than the file holds"),
    ],
)
def test_a_hostile_file_is_refused_by_its_scan_before_calamine_opens_it(
    client, monkeypatch, name, status, code, detail
):
    """calamine loads every sheet of an .xls when it opens it (the four far-apart sheets: ~1.9 GB; a sector chain
    going round: memory until the child's limit), and copies a shared string into each cell showing it (.xls and
    .xlsx alike): each of these is refused by the scan, calamine never asked."""
    monkeypatch.setattr(workbook_module, "CalamineWorkbook", NoCalamine)
    started = time.monotonic()

    response = upload(client, HOSTILE[name]())

    body = response.get_json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert detail in body["detail"], body
    said = "上限" if status == 413 else "已拒绝" if code == "workbook_dtd" else "已损坏"
    assert said in catalog().translate(body["detail"], "zh"), body
    assert time.monotonic() - started < 5


def test_the_corpus_xls_still_goes_to_calamine(client, monkeypatch):
    """The stand-in is asked for a file the scan lets through (so the test above shows the scan refused)."""
    monkeypatch.setattr(workbook_module, "CalamineWorkbook", NoCalamine)

    response = upload(client, (XLS_DIRECTORY / "county_no_codes.xls").read_bytes())

    assert response.status_code == 422 and "python-calamine was asked" in response.get_json()["detail"]


def test_a_date_cell_formatted_as_a_time_is_reported_not_a_500(client):
    response = upload(client, time_formatted_date(), dry_run="1")

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    [error] = response.get_json()["report"]["errors"]
    assert (error["cell"], error["value"]) == ("I3", "06:00:00") and "time" in error["message"]
    assert upload(client, time_formatted_date(), "/imports/report.xlsx").status_code == 200


def xls_with_a_password() -> bytes:
    """An .xls of the corpus whose globals carry a FILEPASS record (what Excel writes for a password to open), in
    place of its CODEPAGE record (same length: the compound file around it stays whole)."""
    data = bytearray((XLS_DIRECTORY / "county_no_codes.xls").read_bytes())
    codepage = data.index(b"\x42\x00\x02\x00", data.index(b"\x09\x08\x10\x00"))
    data[codepage : codepage + 6] = b"\x2f\x00\x02\x00\x01\x00"  # FILEPASS, RC4
    return bytes(data)


@pytest.mark.parametrize("path", ["/imports", "/imports/report.xlsx"])
def test_an_xls_with_a_password_to_open_is_refused_saying_so(client, path):
    """As an .xlsx with one is (``password-to-open`` above): not 'cannot be read: Cannot detect file format'."""
    response = upload(client, xls_with_a_password(), path)

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert "password" in body["detail"] and body["code"] == "workbook_encrypted", body
    assert "密码" in catalog().translate(body["detail"], "zh")


def xls_of_an_unknown_codepage() -> bytes:
    """An .xls of the corpus whose CODEPAGE record names no code page: whole records, which python-calamine
    cannot open ("Cannot detect file format" from memory, "Codepage 1234 not found" from a file)."""
    data = bytearray((XLS_DIRECTORY / "county_no_codes.xls").read_bytes())
    codepage = data.index(b"\x42\x00\x02\x00", data.index(b"\x09\x08\x10\x00"))
    data[codepage + 4 : codepage + 6] = b"\x34\x12"
    return bytes(data)


def test_an_unreadable_xls_says_the_reader_s_reason(client):
    response = upload(client, xls_of_an_unknown_codepage())

    assert response.status_code == 422
    assert response.get_json()["detail"] == "the workbook cannot be read: Cfb error: Codepage 1234 not found"


def test_an_unreadable_xls_without_room_for_its_copy_still_says_it_cannot_be_read(client, monkeypatch):
    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workbook_module.tempfile, "NamedTemporaryFile", no_room)
    response = upload(client, xls_of_an_unknown_codepage())

    assert response.status_code == 422
    assert response.get_json()["detail"] == "the workbook cannot be read: Cannot detect file format"


def xls_naming_two_sheets_alike() -> bytes:
    """The corpus's 一月 and 二月 ledgers, both named 一月 (Excel never writes that; a crafted file can)."""
    data = (XLS_DIRECTORY / "code_on_one_row_name_on_another.xls").read_bytes()
    return data.replace("二月".encode("utf-16-le"), "一月".encode("utf-16-le"))


def xlsx_naming_two_sheets_alike() -> bytes:
    members = members_of(sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7)], title="一月"))
    members["xl/worksheets/sheet2.xml"] = members[SHEET]
    book = members["xl/workbook.xml"].decode()
    twin = '<sheet name="一月" sheetId="2" r:id="rIdTwo"/></sheets>'
    members["xl/workbook.xml"] = book.replace("</sheets>", twin).encode()
    relations = members["xl/_rels/workbook.xml.rels"].decode()
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    second = f'<Relationship Id="rIdTwo" Type="{kind}" Target="worksheets/sheet2.xml"/></Relationships>'
    members["xl/_rels/workbook.xml.rels"] = relations.replace("</Relationships>", second).encode()
    types = members["[Content_Types].xml"].decode()
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    members["[Content_Types].xml"] = types.replace(
        "</Types>", f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{sheet_type}"/></Types>'
    ).encode()
    return zipped(members)


@pytest.mark.parametrize("named", [xls_naming_two_sheets_alike, xlsx_naming_two_sheets_alike], ids=["xls", "xlsx"])
def test_a_workbook_naming_two_sheets_alike_is_refused_saying_so(client, named):
    response = upload(client, named())

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert body["detail"] == "the workbook cannot be read: two sheets are named '一月'", body
    assert "两个工作表都名为" in catalog().translate(body["detail"], "zh")


def overlapping_merges(ranges: int) -> bytes:
    """A ledger whose warehouse cell A2 is merged down to row ~20,000 by ``ranges`` ranges over one another."""
    members = members_of(sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7)]))
    last = '<row r="20005"><c r="G20005"><v>1</v></c></row></sheetData>'
    merged = "".join(f'<mergeCell ref="A2:A{20000 + number % 5}"/>' for number in range(ranges))
    sheet = members[SHEET].decode().replace("</sheetData>", last)
    members[SHEET] = sheet.replace(
        "</worksheet>", f'<mergeCells count="{ranges}">{merged}</mergeCells></worksheet>'
    ).encode()
    return zipped(members)


def test_merged_ranges_over_one_another_cost_the_rows_not_rows_times_ranges(monkeypatch):
    """20,000 ranges over one column in a 7 KB file: each row went through every range (~200 s of CPU, refused at
    PARSE_CPU_SECONDS after holding a core that long); by column, the rows cost their cells."""
    monkeypatch.setattr(limits, "PARSE_CPU_SECONDS", 3)
    workbook = open_ledger_workbook(overlapping_merges(20_000))
    try:
        [table] = workbook.tables
        codes = [cells[0] for _number, cells in workbook.rows(table)]
    finally:
        workbook.close()
    assert len(codes) == 20_004 and set(codes[:19_999]) == {"W-1"} and codes[-1] == ""


class _Sheet:
    """What ``_sheet_rows`` reads of a python-calamine sheet."""

    def __init__(self, rows: list[list], merged: list) -> None:
        self.rows, self.merged_cell_ranges, self.start = rows, merged, (0, 0)

    def iter_rows(self):
        return iter([list(row) for row in self.rows])


def _plain_sheet_rows(sheet: _Sheet):
    """The merge filling ``_sheet_rows`` replaced: every range still running looked at on every row."""
    merges: dict = {}
    for (top, left), (bottom, right) in sheet.merged_cell_ranges:
        if bottom > top:
            merges.setdefault(top, []).append((bottom, left, right))
    active: list = []
    for number, cells in enumerate(sheet.iter_rows()):
        for bottom, left, _right in merges.pop(number, []):
            if left < len(cells):
                active.append((bottom, left, cells[left]))
        for _bottom, column, value in active:
            if column < len(cells) and is_blank(cells[column]):
                cells[column] = value
        active = [entry for entry in active if entry[0] > number]
        yield number + 1, cells


@pytest.mark.parametrize("seed", range(40))
def test_merged_cells_fill_as_the_plain_filling_did(seed):
    """Random sheets with random (even overlapping) vertical and horizontal ranges, some over blank top cells: the
    same rows, blanks read as blanks."""
    chance = random.Random(seed)
    rows = [[chance.choice(["", "", " ", None, "W-1", "W-2", 3]) for _ in range(6)] for _ in range(30)]
    merged = []
    for _ in range(chance.randrange(0, 25)):
        top, left = chance.randrange(30), chance.randrange(7)  # a column past the row's end too
        merged.append(((top, left), (min(top + chance.randrange(0, 12), 29), left + chance.randrange(0, 2))))

    def blanks_alike(sheet_rows):
        return [(number, ["" if is_blank(cell) else cell for cell in cells]) for number, cells in sheet_rows]

    got = blanks_alike(workbook_module._sheet_rows(_Sheet(rows, merged)))
    assert got == blanks_alike(_plain_sheet_rows(_Sheet(rows, merged)))


def merged_across_the_header(ranges: int) -> bytes:
    """A ledger whose first header cell is merged across ~16,000 columns by ``ranges`` ranges over one another
    (a header row under a group header, as 仓库信息 over its columns, gone wild)."""
    members = members_of(sheet_of_rows([["仓库信息"], HEADER, ledger_row("W-1", "活性炭", 7)]))
    merged = "".join(f'<mergeCell ref="A1:XF{chr(65 + number % 26)}1"/>' for number in range(ranges))
    sheet = members[SHEET].decode()
    members[SHEET] = sheet.replace(
        "</worksheet>", f'<mergeCells count="{ranges}">{merged}</mergeCells></worksheet>'
    ).encode()
    return zipped(members)


def test_merged_ranges_across_a_header_cost_the_columns_not_columns_times_ranges(monkeypatch):
    monkeypatch.setattr(limits, "PARSE_CPU_SECONDS", 3)
    workbook = open_ledger_workbook(merged_across_the_header(20_000))
    try:
        [table] = workbook.tables
        assert (table.header_row, table.columns["quantity"].index) == (2, HEADER.index("数量"))
    finally:
        workbook.close()


def _plain_group_headers(sheet: _Sheet, head: list) -> dict:
    """The group headers ``_group_headers`` gave when it wrote every column of every range."""
    by_row = dict(head)
    groups: dict = {}
    for (top, left), (bottom, right) in sheet.merged_cell_ranges:
        if right > left and top == bottom and top + 1 in by_row:
            cells = by_row[top + 1]
            text = parse_text(cells[left]) if left < len(cells) else ""
            if text:
                for column in range(left, right + 1):
                    groups.setdefault(top + 1, {})[column] = text
    return groups


@pytest.mark.parametrize("seed", range(40))
def test_group_headers_are_the_plain_ones(seed):
    chance = random.Random(seed)
    rows = [[chance.choice(["", "仓库信息", "物资信息", None, 3]) for _ in range(8)] for _ in range(6)]
    merged = []
    for _ in range(chance.randrange(0, 30)):
        top, left = chance.randrange(6), chance.randrange(10)
        merged.append(((top, left), (top + chance.choice([0, 0, 1]), left + chance.randrange(0, 6))))
    sheet = _Sheet(rows, merged)
    head = list(workbook_module._sheet_rows(sheet))
    assert workbook_module._group_headers(sheet, head) == _plain_group_headers(sheet, head)


def test_a_dry_run_with_errors_is_422_with_the_full_report(client):
    bad = sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", "lots")])

    response = upload(client, bad, dry_run="true")

    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    report = response.get_json()["report"]
    assert (report["status"], report["dry_run"], report["errors_total"]) == ("validated", True, 1)
    assert report["errors"][0]["cell"] == "G3"


ATTRIBUTE = re.compile(rb'(\b(?:r|s|t|ref|numFmtId)=")[^"]*')


def mutations(seed: int, count: int):
    """``count`` deterministic variants of the valid ledger: XML edits inside the zip, and raw byte edits."""
    random_ = random.Random(seed)
    members = members_of(VALID)
    parts = sorted(name for name in members if name.endswith((".xml", ".rels")))
    nasty = [
        b'r="XFD1048576"',
        b'r="A0"',
        b't="e"',
        b't="d"',
        b't="s"',
        b's="99999"',
        b"<v>1e308</v>",
        b"<v>-1</v>",
        b"<v>NaN</v>",
        b"<v>99999999</v>",
        b"<![CDATA[x",
        b"&#0;",
        b"\xff\xfe",
        b'<mergeCell ref="A1:XFD1"/>',
        b'numFmtId="22"',
        b'formatCode="hh:mm"',
        b'<dimension ref="A1:ZZZ9"/>',
        b"<sheetData>",
        b"</row>",
        b'<c r="B2" t="inlineStr"><is><t>',
    ]
    for _ in range(count):
        if random_.random() < 0.2:
            data = bytearray(VALID)
            for _ in range(random_.randint(1, 8)):
                data[random_.randrange(len(data))] = random_.randrange(256)
            yield bytes(data)
            continue
        changed = dict(members)
        part = random_.choice(parts)
        xml = bytearray(changed[part])
        for _ in range(random_.randint(1, 3)):
            at = random_.randrange(len(xml) + 1)
            operation = random_.randrange(4)
            if operation == 0:
                xml[at:at] = random_.choice(nasty)
            elif operation == 1:
                del xml[at : at + random_.randint(1, 40)]
            elif operation == 2:
                xml[at:at] = xml[at : at + random_.randint(1, 200)]
            else:
                xml = bytearray(ATTRIBUTE.sub(lambda m: m.group(1) + b"Z9", bytes(xml), count=1))
        changed[part] = bytes(xml)
        yield zipped(changed)


@pytest.mark.slow
def test_a_mutation_fuzz_of_a_valid_ledger_never_answers_500(client):
    started = time.monotonic()
    failures = []
    for number, data in enumerate(mutations(seed=20240301, count=100)):
        for path in ("/imports", "/imports/report.xlsx")[: 2 if number % 3 == 0 else 1]:
            response = upload(client, data, path, dry_run="1")
            if response.status_code >= 500 or (response.status_code >= 400 and response.mimetype != PROBLEM_JSON):
                failures.append((number, path, response.status_code, response.get_data(as_text=True)[:200]))
    assert not failures, failures[:10]
    assert time.monotonic() - started < 300


@pytest.mark.slow
def test_hostile_workbooks_do_not_kill_a_gunicorn_worker(gunicorn, token_for):
    """Against real workers: the far corner once made calamine abort the worker (SIGABRT)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    import psutil

    base = urlsplit(gunicorn(workers=1))
    token = token_for("admin")
    master = next(
        process
        for process in psutil.process_iter(["cmdline"])
        if f"127.0.0.1:{base.port}" in " ".join(process.info["cmdline"] or []) and "gunicorn" in str(process.info)
    )
    workers = sorted(child.pid for child in master.children())

    def post(data: bytes, path: str = "/api/v1/imports") -> tuple[int, dict]:
        body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n' + data
        body += b"\r\n--x--\r\n"
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=x"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    for _ in range(3):
        for name in ("far-corner", "far-corner-undeclared", "ZZ150000"):
            status, body = post(HOSTILE[name]())
            assert status == 413, (name, body)
    status, body = post(HOSTILE["dtd-in-styles"](), "/api/v1/imports/report.xlsx")
    assert status == 422, body

    status, report = post(VALID)
    assert status == 201 and report["status"] == "imported"
    assert sorted(child.pid for child in master.children()) == workers  # no worker died and was replaced
    assert all(psutil.Process(pid).memory_info().rss < 600 * 2**20 for pid in workers)


def test_control_characters_in_an_xls_sheet_name_are_shown_escaped(client):
    """An .xls's sheet names are BIFF strings, control characters and all: the
    report names such a sheet as the API echoes a bad field name (``inventory.validation.printable``), in its
    errors, its sheets, its warnings and the error workbook, never the raw characters (an ESC sequence reaches
    the terminal of whoever reads the CLI's report)."""
    ledger = b"".join(label(0, column, header) for column, header in enumerate(HEADER))
    row = ["W-1", "东城库", "政府储备", "110101", "活性炭", "吨", "lots"]
    ledger += b"".join(label(1, column, value) for column, value in enumerate(row))
    data = compound_file(biff_workbook([("台账\x1b\x07", ledger), ("说明\x08", label(0, 0, "填表说明"))]))

    response = upload(client, data, dry_run="1")

    body = response.get_json()
    assert response.status_code == 422 and list(body["errors"]) == ["台账\\x1b\\x07!G2"], body
    report = body["report"]
    assert [sheet["name"] for sheet in report["sheets"]] == ["台账\\x1b\\x07"]
    assert {issue["sheet"] for issue in report["errors"] + report["warnings"]} == {"台账\\x1b\\x07", "说明\\x08"}
    [skipped] = [issue["message"] for issue in report["warnings"] if issue["sheet"] == "说明\\x08"]
    assert "'说明\\x08'" in skipped  # escaped once, as the sheet is named everywhere else

    def texts(value: object) -> list[str]:
        if isinstance(value, dict):
            return [text for key, item in value.items() for text in [key, *texts(item)]]
        return [text for item in value for text in texts(item)] if isinstance(value, list) else [str(value)]

    assert not any(INVALID_CHARACTERS.search(text) for text in texts(body))

    annotated = upload(client, data, "/imports/report.xlsx")
    assert annotated.status_code == 200, annotated.get_json()
    book = openpyxl.load_workbook(io.BytesIO(annotated.data))
    assert book.sheetnames[0] == "台账＼x1b＼x07" and book.worksheets[0]["G2"].value == "lots"


def test_every_message_naming_a_sheet_names_it_escaped_once(client):
    """A sheet in transit (在途) and two sheets whose names show alike are named as the report names sheets
    (``printable``), not as the repr of that, which doubled every backslash ('在途\\\\x1f')."""
    ledger = b"".join(label(0, column, header) for column, header in enumerate(HEADER))
    row = ["W-1", "东城库", "政府储备", "110101", "活性炭", "吨", "1"]
    ledger += b"".join(label(1, column, value) for column, value in enumerate(row))
    in_transit = compound_file(biff_workbook([("台账", ledger), ("在途\x1f", label(0, 0, "发运单号"))]))

    body = upload(client, in_transit, dry_run="1").get_json()

    [note] = [issue["message"] for issue in body["notes"] if issue["sheet"] == "在途\\x1f"]
    assert "'在途\\x1f'" in note and "\\\\" not in note, note

    twice = compound_file(biff_workbook([("台账\x07", ledger), ("台账\\x07", ledger)]))
    response = upload(client, twice, dry_run="1")

    assert response.status_code == 422
    [said] = response.get_json()["errors"]["file"]
    assert said.endswith("'台账\\x07'") and "\\\\" not in said, said


def test_a_control_character_reference_in_an_xlsx_sheet_name_is_shown_escaped_too(client):
    """An .xlsx cannot hold the character, but python-calamine reads the reference &#x7; in its name as one."""
    members = members_of(sheet_of_rows([HEADER, ledger_row("W-1", "活性炭", "lots")]))
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace('name="台账"'.encode(), 'name="台账&#x7;"'.encode())

    response = upload(client, zipped(members), dry_run="1")

    assert list(response.get_json()["errors"]) == ["台账\\x07!G2"], response.get_json()
    annotated = upload(client, zipped(members), "/imports/report.xlsx")
    assert (
        annotated.status_code == 200 and openpyxl.load_workbook(io.BytesIO(annotated.data)).sheetnames[0] == "台账＼x07"
    )


def test_a_cell_of_nan_or_infinity_is_reported_in_valid_json(client):
    """A number cell holding NaN or Infinity (<v>NaN</v> in an .xlsx; an .xls's NaN double) was echoed into the
    report as the bare NaN / Infinity tokens, which are no JSON: the page's JSON.parse, and any strict client,
    could not read the refusal (or the dry run's warnings) at all. The value is now reported as text."""

    def strict(text: str) -> dict:
        def refuse(token: str):
            raise ValueError(f"{token} is not JSON")

        return json.loads(text, parse_constant=refuse)

    rows = [HEADER, ledger_row("W-1", "活性炭", 7), ledger_row("W-1", "生石灰", 8)]
    sheet = members_of(sheet_of_rows(rows))[SHEET].decode()
    quantities = re.findall(r'<c r="G\d+"[^>]*><v>[78]</v></c>', sheet)
    assert len(quantities) == 2, sheet
    sheet = sheet.replace(quantities[0], quantities[0].replace("<v>7</v>", "<v>NaN</v>"))
    sheet = sheet.replace(quantities[1], quantities[1].replace("<v>8</v>", "<v>-INF</v>"))
    members = members_of(VALID)
    members[SHEET] = sheet.encode()
    response = upload(client, zipped(members))

    assert response.status_code == 422, response.get_data(as_text=True)
    body = strict(response.get_data(as_text=True))
    assert [error["value"] for error in body["report"]["errors"]] == ["nan", "-inf"], body["report"]["errors"]
    # and the workbook written back with its issues (xlsxwriter has no NaN: it was a 422 naming "TypeError")
    annotated = upload(client, zipped(members), "/imports/report.xlsx")
    assert annotated.status_code == 200, annotated.get_data(as_text=True)
    written = openpyxl.load_workbook(io.BytesIO(annotated.data))["台账"]
    assert [written["G2"].value, written["G3"].value] == ["nan", "'-inf"]  # text starting "-" is neutralised

    head = ["仓库编码", "仓库名称", "储备类型", "区县代码", "经度", "纬度", "物资名称", "计量单位", "数量", "批次"]
    records = b"".join(label(0, column, text) for column, text in enumerate(head))
    for row, longitude in ((1, 116.4), (2, float("nan"))):
        cells = ["W-2", "库", "政府储备", "110101", longitude, 39.9, "活性炭", "吨", 1, f"B{row}"]
        for column, value in enumerate(cells):
            is_number = isinstance(value, float | int)
            records += number_cell(row, column, value) if is_number else label(row, column, value)
    response = upload(client, compound_file(biff_workbook([("台账", records)])), dry_run="true")

    assert response.status_code == 200, response.get_data(as_text=True)
    warnings = strict(response.get_data(as_text=True))["warnings"]
    assert "nan" in [warning.get("value") for warning in warnings], warnings


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda members: members.pop(SHEET), "文件中没有该工作表的内容部件（文件已损坏）"),
        (lambda members: members.update({SHEET: b"\0garbage"}), "工作表的 XML 已损坏"),
    ],
    ids=["part-missing", "xml-damaged"],
)
def test_a_sheet_calamine_cannot_load_is_refused_saying_why_in_chinese(client, change, reason):
    """python-calamine's reasons were "台账" (WorksheetNotFound: the sheet's name again) and "worksheet" (XmlError):
    "无法读取工作表 '台账'：worksheet" told a county office nothing, in English."""
    members = members_of(VALID)
    change(members)
    response = client.post(
        f"{API}/imports",
        data={"file": (io.BytesIO(zipped(members)), "台账.xlsx")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "zh-CN"},
    )

    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["detail"] == f"无法读取工作表 '台账'：{reason}", response.get_json()
