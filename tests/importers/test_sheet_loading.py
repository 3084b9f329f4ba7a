"""The parsing child loads a workbook's sheets two at a time (``_load_sheets``): what it gets, and the first
error it reports, are what loading them one after another gives."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from importers.workbook import _load_sheets, _open_book, open_ledger_workbook
from inventory.errors import ValidationFailed
from tests.importers.conftest import HEADER, ledger_row, zipped

TITLES = ["台账", "储备库", "说明二", "其他", "附表"]


def workbook_of_sheets() -> bytes:
    """Five sheets of different sizes, some with merged cells, a ledger table among them."""
    book = openpyxl.Workbook()
    for position, title in enumerate(TITLES):
        sheet = book.active if position == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(HEADER)
        for number in range(position * 40 + 3):
            sheet.append(ledger_row(f"W-{position}-{number % 7}", quantity=number))
        if position % 2:
            sheet.merge_cells(start_row=2, start_column=1, end_row=6, end_column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def what(sheet) -> tuple:
    return sheet.name, sheet.start, sheet.end, sheet.merged_cell_ranges, sheet.to_python()


@pytest.mark.parametrize("count", [1, 2, 5])
def test_sheets_loaded_two_at_a_time_are_the_sheets_loaded_one_after_another(count):
    data = workbook_of_sheets()
    names = TITLES[:count]
    alone = _open_book(data)

    loaded = _load_sheets(data, _open_book(data), names)

    assert sorted(loaded) == sorted(names)
    assert {name: what(loaded[name]) for name in names} == {name: what(alone.get_sheet_by_name(name)) for name in names}


def test_the_first_unreadable_sheet_in_the_workbook_is_the_one_named():
    """Sheets 2 and 3 are broken: the error names sheet 2, whichever of the two was loaded first."""
    data = workbook_of_sheets()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for part in ("xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"):
        members[part] = members[part].replace(b"</c>", b"", 1)

    for _ in range(5):
        with pytest.raises(ValidationFailed, match="sheet '储备库' cannot be read"):
            open_ledger_workbook(zipped(members))
