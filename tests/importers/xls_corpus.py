"""The field corpus saved as Excel 97-2003 workbooks (.xls), as many county offices still save their ledgers.

``tests/importers/xls/<family>.xls`` holds each family of ``field_corpus`` written cell for cell (values, merged
ranges, dates as date cells) by xlwt, which is not a dependency of the project: regenerate them after a change to
the corpus with

    pip install --target /tmp/xlwt xlwt==1.3.0
    PYTHONPATH=/tmp/xlwt .venv/bin/python -m tests.importers.xls_corpus

``test_field_corpus`` imports each one next to its .xlsx and expects exactly the same of both. Beside them,
two hostile files: ``hostile_far_corner.xls`` (a cell at BIFF8's last row and column, written by xlwt) and
``encrypted.xlsx`` (a one-row ledger with a password to open, written by msoffcrypto-tool's ``OOXMLFile.encrypt``).
"""

from __future__ import annotations

import datetime as dt
import io
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


def main() -> None:  # pragma: no cover - run by hand, with xlwt
    from tests.importers.field_corpus import FAMILIES

    XLS_DIRECTORY.mkdir(exist_ok=True)
    for family in FAMILIES:
        (XLS_DIRECTORY / f"{family.__name__}.xls").write_bytes(as_xls(family().data))


if __name__ == "__main__":
    main()
