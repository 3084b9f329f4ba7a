"""Hostile and wrong files are refused before any XML is parsed; formulas are never evaluated."""

from __future__ import annotations

import io
import zipfile

import pytest

from importers import workbook
from importers.workbook import check_workbook, open_ledger_workbook
from inventory.errors import ValidationFailed
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows, zipped
from tests.importers.xls_corpus import XLS_DIRECTORY, biff_workbook, compound_file, label, number_cell


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"code,name\nW-1,x\n", "not an Excel workbook"),
        (b"%PDF-1.7 ...", "not an Excel workbook"),
        (b"PK\x03\x04 truncated", "damaged"),
        (zipped({"word/document.xml": b"<w/>"}), "not an Excel workbook"),
        (zipped({"xl/workbook.bin": b"\0"}), "xlsb"),
    ],
    ids=["csv", "pdf", "broken-zip", "docx", "xlsb"],
)
def test_files_that_are_not_xlsx_are_refused_naming_the_file(data, message):
    with pytest.raises(ValidationFailed) as refused:
        check_workbook(data)
    assert refused.value.field == "file" and message in refused.value.message


def test_a_workbook_with_a_password_to_open_is_refused_saying_so():
    """An .xlsx with a password to open is a compound file whose directory names an EncryptedPackage stream
    (MS-OFFCRYPTO, written by msoffcrypto-tool): refused by the parsing child's record scan, which reads it."""
    with pytest.raises(ValidationFailed) as refused:
        open_ledger_workbook((XLS_DIRECTORY / "encrypted.xlsx").read_bytes())
    assert refused.value.message == (
        "the workbook has a password to open: remove the password, save it, and upload it again"
    )


def ledger_saying(text: str) -> list[list]:
    return [HEADER, ledger_row("W-1", text)]


@pytest.mark.parametrize("kind", ["xls", "xlsx stored"])
def test_a_ledger_whose_cell_says_encrypted_package_is_read(kind):
    """The word in a cell, as the file stores it (an .xls's UTF-16 label, a zip member stored uncompressed), is
    text, not a password: only a compound file's directory entry of that name is one (it was refused as one)."""
    text = "EncryptedPackage 防护服"
    if kind == "xls":
        cells = label(0, 0, "物资名称") + label(0, 1, "数量") + label(1, 0, text) + number_cell(1, 1, 5)
        data = compound_file(biff_workbook([("台账", cells)]))
        assert text.encode("utf-16-le") in data
    else:
        out = io.BytesIO()
        source = zipfile.ZipFile(io.BytesIO(sheet_of_rows(ledger_saying(text))))
        with source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as stored:
            for name in source.namelist():
                stored.writestr(name, source.read(name))
        data = out.getvalue()
        assert text.encode() in data
    check_workbook(data)
    book = open_ledger_workbook(data)
    try:
        assert any(text in row for table in book.tables for _number, row in book.rows(table))
    finally:
        book.close()


def test_a_compound_file_that_is_no_workbook_is_refused_as_not_an_excel_workbook():
    """A Word 97 document or an Outlook message renamed .xls: an OLE2 compound file like an .xls, without its
    Workbook stream. Told plainly, not with the reader's 'Cfb error: Cannot find Workbook stream'."""
    from tests.importers.xls_corpus import XLS_DIRECTORY

    data = (XLS_DIRECTORY / "county_no_codes.xls").read_bytes()
    document = data.replace("Workbook".encode("utf-16-le"), "WordDocu".encode("utf-16-le"), 1)

    with pytest.raises(ValidationFailed) as refused:
        open_ledger_workbook(document)
    assert refused.value.message == "the file is not an Excel workbook (save it as Excel Workbook *.xlsx)"


def test_a_decompression_bomb_is_refused_from_its_declared_sizes():
    bomb = zipped({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * 60_000_000})
    assert len(bomb) < 200_000

    with pytest.raises(ValidationFailed, match="decompression bomb"):
        check_workbook(bomb)


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(workbook, "MAX_ROWS", 3)
    data = sheet_of_rows([HEADER, *(ledger_row(f"W-{n}") for n in range(5))])

    with pytest.raises(ValidationFailed, match="at most 3"):
        open_ledger_workbook(data)


def test_a_workbook_without_a_ledger_header_is_refused():
    with pytest.raises(ValidationFailed, match="no sheet has a ledger header"):
        open_ledger_workbook(sheet_of_rows([["姓名", "年龄"], ["张三", 30]]))


def test_xml_entities_are_never_expanded(session, run_import):
    """A billion-laughs sheet: refused or read literally, never expanded (calamine ignores DTDs)."""
    source = zipfile.ZipFile(io.BytesIO(sheet_of_rows([HEADER, ledger_row("W-1")])))
    members = {name: source.read(name) for name in source.namelist()}
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10 if n > 1 else b"&lol;" * 10) for n in range(1, 10)
        )
        + b"]>"
    )
    sheet = members["xl/worksheets/sheet1.xml"]
    members["xl/worksheets/sheet1.xml"] = laughs + sheet[sheet.index(b"<worksheet") :].replace(b"W-1", b"&lol9;")

    try:
        report = run_import(zipped(members))
    except ValidationFailed as refused:
        assert refused.field == "file"
        return
    codes = {issue.value for issue in report.errors}
    assert not any(isinstance(code, str) and len(code) > 1000 for code in codes)


def test_a_formula_is_read_as_its_saved_value_never_evaluated(session, run_import):
    row = ledger_row("W-1", quantity="=2+3")  # openpyxl saves formulas without a cached value
    report = run_import(sheet_of_rows([HEADER, row]))

    assert report.status == "rejected"  # never evaluated: the cell is named, not read as a missing quantity
    assert report.errors[0].column == "数量" and report.errors[0].message.startswith("the formula in G2 has no saved")


def test_a_worker_outlives_the_longest_upload_parse(monkeypatch):
    """gunicorn kills a worker silent for `timeout` seconds: it must be longer than the parse may take."""
    import runpy
    from pathlib import Path

    from importers import limits

    monkeypatch.delenv("GUNICORN_TIMEOUT", raising=False)
    settings = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert settings["timeout"] > limits.PARSE_WAIT_SECONDS + 10


def test_the_parsing_child_sends_equal_texts_as_one_object_and_cuts_long_ones():
    texts: dict[str, str] = {}
    first = workbook._bounded(["".join(["北京", "市"]), 1.0, "x" * (workbook.MAX_CELL_CHARS + 50)], texts)
    second = workbook._bounded(["".join(["北京", "市"]), 1.0, "y"], texts)
    assert first[0] == second[0] == "北京市" and first[0] is second[0]  # built apart, sent as one object
    assert len(first[2]) == workbook.MAX_CELL_CHARS + 1  # still too long for any field, so still refused
    assert second[1:] == [1.0, "y"]
