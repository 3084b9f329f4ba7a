"""What every workbook this project writes shares: the media type, formats, widths and the formula guard.

The ledger export, the annotated upload and the report workbooks all write with xlsxwriter through
``streaming_workbook`` and ``workbook_styles``, and pass every text cell through ``neutralise``.
"""

from __future__ import annotations

from typing import IO

import xlsxwriter

from importers.values import FORMULA_TRIGGERS
from inventory.reference import LabelledEnum

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Column widths of the ledger's fields, wherever a workbook has such a column.
WIDTHS = {
    "province_name": 10,
    "province_code": 8,
    "city_name": 12,
    "city_code": 8,
    "county_name": 12,
    "county_code": 8,
    "warehouse_code": 11,
    "warehouse_name": 36,
    "reserve_type": 16,
    "item_code": 9,
    "item_name": 16,
    "category": 14,
    "specification": 24,
    "unit": 6,
    "batch": 11,
    "quantity": 12,
    "production_date": 11,
    "expiry_date": 11,
    "level": 8,
    "status": 6,
    "organisation": 30,
    "address": 30,
    "longitude": 11,
    "latitude": 10,
    "contact_person": 9,
    "contact_phone": 13,
    "notes": 30,
}


def neutralise(text: str) -> str:
    """OWASP formula-injection guard: text a spreadsheet could run as a formula gets a leading "'"."""
    return "'" + text if text and text.startswith(FORMULA_TRIGGERS) else text


def streaming_workbook(out: str | IO[bytes]) -> xlsxwriter.Workbook:
    """A workbook in constant-memory mode (rows stream to disk, in order) that writes text as text, never
    as a number or a formula."""
    return xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )


def workbook_styles(book: xlsxwriter.Workbook) -> dict:
    """The shared cell formats: title, header, section, date, integer, decimal, coordinate, total, text."""
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "header": book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
        ),
        "section": book.add_format({"bold": True, "font_size": 12}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "integer": book.add_format({"num_format": "#,##0"}),
        "decimal": book.add_format({"num_format": "#,##0.0##"}),
        "coordinate": book.add_format({"num_format": "0.000000"}),
        "total": book.add_format({"bold": True, "num_format": "#,##0.###", "top": 1}),
        "text": book.add_format({"num_format": "@"}),
    }


def enum_label(member: LabelledEnum | str, enum_class: type[LabelledEnum], lang: str) -> str:
    """A reference code (reserve type, category, …) as its label in the workbook's language."""
    member = enum_class(member)
    return member.label_zh if lang == "zh" else member.label_en
