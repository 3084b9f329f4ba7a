"""The uploaded workbook handed back with a column saying what is wrong on each row.

People fix a ledger where they filled it in, so the report goes into their own file: every checked sheet
gains an "导入检查 / Import check" column beside its table, rows with errors are shaded red (warnings
yellow), and a last sheet lists every issue. Small files keep all their formatting (openpyxl edits them);
large ones are rebuilt from their values with xlsxwriter, since openpyxl needs minutes and gigabytes there.
"""

from __future__ import annotations

import datetime as dt
import io
import math

from python_calamine import CalamineWorkbook

from importers.outcome import ERROR, ImportReport, Issue
from importers.sandbox import Child
from importers.xlsx import neutralise, sheet_title, streaming_workbook
from inventory.errors import ValidationFailed
from inventory.validation import printable

EDIT_IN_PLACE_MAX_BYTES = 3 * 1024 * 1024  # ~40,000 rows: openpyxl edits faster than a person reads
# openpyxl makes an object of every cell a merged range covers: a ledger's merges cover thousands, while a few KB
# of crafted ranges over one another covered 33 million and held the edit to its CPU limit. Past this, rebuilt.
EDIT_IN_PLACE_MAX_MERGED_CELLS = 1_000_000
CHECK_HEADER = "导入检查 Import check"
ISSUES_SHEET = "导入检查结果"
ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"
ISSUE_COLUMNS = ("级别 Severity", "工作表 Sheet", "行 Row", "单元格 Cell", "列 Column", "值 Value", "问题 Problem")


def annotate_workbook(data: bytes, report: ImportReport) -> bytes:
    """The workbook ``data`` (already checked by the import) with the report's issues written into it.

    Written in a child process under the upload limits (``importers.sandbox``): openpyxl reads XML that the
    import's reader never looked at (styles, themes), and a file it cannot edit is rebuilt from its values
    instead. Raises ``ValidationFailed`` / ``WorkbookTooLarge`` for a file that neither can write back.
    """
    child = Child(lambda send: send(_annotate(data, report)))
    try:
        annotated = child.receive()
        child.receive()  # the child's end
    finally:
        child.close()
    return annotated  # type: ignore[return-value]


def _annotate(data: bytes, report: ImportReport) -> bytes:
    if len(data) <= EDIT_IN_PLACE_MAX_BYTES and _merged_cells(data) <= EDIT_IN_PLACE_MAX_MERGED_CELLS:
        try:
            return _edit_in_place(data, report)
        except MemoryError:
            raise
        except Exception:  # any file openpyxl cannot edit still gets its report, rebuilt from its values
            pass
    try:
        return _rebuild(data, report)
    except MemoryError:
        raise
    except Exception as exc:
        raise ValidationFailed(
            f"the workbook cannot be written back with its issues: {type(exc).__name__}",
            field="file",
        ) from exc


def _merged_cells(data: bytes) -> float:
    """The cells the workbook's merged ranges cover, all sheets (what openpyxl would make objects of); infinite
    for a workbook python-calamine cannot read that far (openpyxl is not asked to try)."""
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        ranges = [
            merged for name in book.sheet_names for merged in book.get_sheet_by_name(name).merged_cell_ranges or []
        ]
    except Exception:  # any reader error: the rebuild says what it can
        return float("inf")
    return sum((bottom - top + 1) * (right - left + 1) for (top, left), (bottom, right) in ranges)


def _note(issues: list[Issue]) -> str:
    lines = []
    for issue in sorted(issues, key=lambda i: i.severity != ERROR):
        word = "错误" if issue.severity == ERROR else "提示"
        where = f"[{issue.column}] " if issue.column else ""
        lines.append(f"{word}: {where}{issue.message}")
    return neutralise("\n".join(lines))


def _issue_cells(issue: Issue) -> list:
    value = issue.value
    return [
        "错误 error" if issue.severity == ERROR else "提示 warning",
        issue.sheet or "",
        issue.row or "",
        issue.cell or "",
        issue.column or "",
        neutralise(str(value)) if value is not None else "",
        neutralise(issue.message),
    ]


def _summary_line(report: ImportReport) -> str:
    return neutralise(report.summary())


def _edit_in_place(data: bytes, report: ImportReport) -> bytes:
    # Imported here: openpyxl is ~0.3 s of CPU at every start of the app, and only this edit uses it.
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True, rich_text=False)
    by_row = report.issues_by_row()
    fills = {
        ERROR: PatternFill("solid", start_color=ERROR_FILL, end_color=ERROR_FILL),
        "warning": PatternFill("solid", start_color=WARNING_FILL, end_color=WARNING_FILL),
    }
    for sheet_info in report.sheets:
        sheet = book[sheet_info["name"]]
        column = sheet.max_column + 1
        header = sheet.cell(row=sheet_info["header_row"], column=column, value=CHECK_HEADER)
        header.font = Font(bold=True, color="9C0006")
        sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].width = 60
        for (name, row), issues in by_row.items():
            if name != sheet_info["name"]:
                continue
            cell = sheet.cell(row=row, column=column, value=_note(issues))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.fill = fills[ERROR if any(i.severity == ERROR for i in issues) else "warning"]
    listing = book.create_sheet(ISSUES_SHEET)
    listing.append([_summary_line(report)])
    listing.append(list(ISSUE_COLUMNS))
    for issue in [*report.errors, *report.warnings]:
        listing.append(_issue_cells(issue))
    for letter, width in zip("ABCDEFG", (12, 14, 8, 8, 18, 24, 80), strict=True):
        listing.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rebuild(data: bytes, report: ImportReport) -> bytes:
    source = CalamineWorkbook.from_filelike(io.BytesIO(data))
    by_row = report.issues_by_row()
    out = io.BytesIO()
    book = streaming_workbook(out)
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    formats = {
        ERROR: book.add_format({"bg_color": f"#{ERROR_FILL}", "text_wrap": True}),
        "warning": book.add_format({"bg_color": f"#{WARNING_FILL}", "text_wrap": True}),
        "header": book.add_format({"bold": True, "font_color": "#9C0006"}),
    }
    named = {printable(name): name for name in source.sheet_names}  # the report shows names as ``printable`` does
    for sheet_info in report.sheets:
        name = sheet_info["name"]
        sheet = book.add_worksheet(sheet_title(name))
        values = source.get_sheet_by_name(named[name])
        start_column = values.start[1] if values.start else 0
        width = (values.width or 0) + start_column
        sheet.set_column(width, width, 60)
        for index, cells in enumerate(values.iter_rows()):
            row = index + 1
            for column, value in enumerate(cells, start=start_column):
                if value == "" or value is None:
                    continue
                if isinstance(value, dt.date | dt.datetime):
                    sheet.write_datetime(index, column, value, date_format)
                elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                    sheet.write_number(index, column, value)  # a crafted NaN or infinity is written as its text
                else:
                    sheet.write_string(index, column, neutralise(str(value)))
            if row == sheet_info["header_row"]:
                sheet.write_string(index, width, CHECK_HEADER, formats["header"])
            issues = by_row.get((name, row))
            if issues:
                kind = ERROR if any(i.severity == ERROR for i in issues) else "warning"
                sheet.write_string(index, width, _note(issues), formats[kind])
    listing = book.add_worksheet(ISSUES_SHEET)
    listing.write_string(0, 0, _summary_line(report))
    for column, text in enumerate(ISSUE_COLUMNS):
        listing.write_string(1, column, text, formats["header"])
    for row, issue in enumerate([*report.errors, *report.warnings], start=2):
        listing.write_row(row, 0, _issue_cells(issue))
    book.close()
    return out.getvalue()
