"""The ledger template: the headers the importer knows, drop-down lists, an example row, instructions.

Counties fill in what they are sent; a template with lists for the closed vocabularies prevents most of
the errors an import would otherwise report.
"""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from importers.columns import COLUMNS_BY_FIELD
from inventory.reference import Category, ReserveType, WarehouseLevel, WarehouseStatus

TEMPLATE_ROWS = 2_000  # rows covered by the drop-down lists
# (field, required, what it means in Chinese, in English, example)
TEMPLATE_COLUMNS: tuple[tuple[str, bool, str, str, object], ...] = (
    (
        "warehouse_code",
        True,
        "仓库唯一编码，字母数字及 . _ -，最长32位",
        "unique code: letters, digits, . _ -",
        "BJ-DC-001",
    ),
    ("warehouse_name", True, "储备库全称", "full name of the warehouse", "东城区环境应急物资储备库"),
    ("reserve_type", True, "从下拉列表选择", "choose from the list", ReserveType.GOVERNMENT.label_zh),
    ("level", False, "国家级/省级/市级/县级，空则按县级", "national/provincial/municipal/county", "县级"),
    ("organisation", False, "管理或所属单位", "owning organisation", "东城区生态环境局"),
    ("province_name", False, "省份名称（有区县代码时可不填）", "province (optional with a county code)", "北京市"),
    ("city_name", False, "地市名称", "city", "北京市"),
    ("county_name", False, "区县名称", "county", "东城区"),
    ("county_code", True, "6位区县代码（GB/T 2260）；或填写省、市、区县名称", "6-digit county code", "110101"),
    ("address", False, "详细地址", "street address", "东城区某路1号"),
    ("longitude", False, "经度（十进制度）；空则取区县中心", "decimal degrees; blank = county centre", 116.416),
    ("latitude", False, "纬度（十进制度）", "decimal degrees", 39.928),
    ("contact_person", False, "联系人", "contact person", "张伟"),
    ("contact_phone", False, "联系电话", "phone", "13800000000"),
    ("item_code", False, "物资编码（与物资名称至少填一项）", "catalogue code (or the name)", "PD-001"),
    ("item_name", True, "物资名称或常用别名", "name or alias in the catalogue", "活性炭"),
    (
        "category",
        False,
        "新物资必填：从下拉列表选择",
        "required for a new item",
        Category.POLLUTANT_DEGRADATION.label_zh,
    ),
    ("specification", False, "规格型号", "specification", "颗粒 4-8 目"),
    ("unit", False, "计量单位；与目录单位不同时自动换算（千克→吨）", "unit; kg converts to t", "吨"),
    ("quantity", True, "现有数量（盘点数），可为0", "quantity on hand (a count), may be 0", 12.5),
    ("batch", False, "批次号；无批次可空", "batch; may be blank", "2024-01"),
    ("production_date", False, "生产日期，如 2024-03-01", "production date", dt.date(2024, 3, 1)),
    ("expiry_date", False, "有效期至；有保质期的物资可由生产日期推算", "expiry date", dt.date(2029, 3, 1)),
)
# The example row of the English template: the same warehouse and item, in English (fields not listed are
# codes, numbers and dates, the same in both).
ENGLISH_EXAMPLE: dict[str, object] = {
    "warehouse_name": "Dongcheng District Environmental Emergency Materials Depot",
    "reserve_type": ReserveType.GOVERNMENT.label_en,
    "level": WarehouseLevel.COUNTY.label_en,
    "organisation": "Dongcheng District Ecology and Environment Bureau",
    "province_name": "Beijing",
    "city_name": "Beijing",
    "county_name": "Dongcheng District",
    "address": "1 Example Road, Dongcheng District",
    "contact_person": "Zhang Wei",
    "item_name": "activated carbon",
    "category": Category.POLLUTANT_DEGRADATION.label_en,
    "specification": "granular, 4-8 mesh",
    "unit": "t",
}
CHOICE_LISTS = {
    "reserve_type": ReserveType,
    "category": Category,
    "level": WarehouseLevel,
    "status": WarehouseStatus,
}


def ledger_template(lang: str = "zh") -> bytes:
    """An empty ledger workbook with the importer's headers, lists and an example row, as .xlsx bytes."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    formats = _formats(book)
    _ledger_sheet(book, formats, lang)
    _instructions_sheet(book, formats, lang)
    book.close()
    return out.getvalue()


def _formats(book: xlsxwriter.Workbook) -> dict:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "note": book.add_format({"italic": True, "font_color": "#595959"}),
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
        "required": book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True}),
        "example": book.add_format({"italic": True, "font_color": "#808080"}),
        "example_date": book.add_format({"italic": True, "font_color": "#808080", "num_format": "yyyy-mm-dd"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "text": book.add_format({"num_format": "@"}),
    }


def _ledger_sheet(book: xlsxwriter.Workbook, formats: dict, lang: str) -> None:
    """The sheet to fill in: title, a note, the headers (required ones marked) and the example row."""
    sheet = book.add_worksheet("台账" if lang == "zh" else "Ledger")
    sheet.write_string(
        0, 0, "环境应急物资储备台账" if lang == "zh" else "Environmental emergency materials ledger", formats["title"]
    )
    sheet.write_string(
        1,
        0,
        "带*为必填；第4行为示例，可保留（不会导入）。说明见“填表说明”。"
        if lang == "zh"
        else "* = required; row 4 is an example and is never imported. See the Instructions sheet.",
        formats["note"],
    )
    sheet.write_string(2, 0, "序号" if lang == "zh" else "No.", formats["header"])
    sheet.write_string(3, 0, "示例" if lang == "zh" else "example", formats["example"])
    sheet.set_column(0, 0, 6)
    for column, (field, is_required, _zh, _en, sample) in enumerate(TEMPLATE_COLUMNS, start=1):
        spec = COLUMNS_BY_FIELD[field]
        label = (spec.zh if lang == "zh" else spec.en) + ("*" if is_required else "")
        sheet.write_string(2, column, label, formats["required"] if is_required else formats["header"])
        example = sample if lang == "zh" else ENGLISH_EXAMPLE.get(field, sample)
        _example_cell(sheet, formats, column, field, example)
        _column_validation(sheet, column, field, lang)
    sheet.set_row(2, 30)
    sheet.freeze_panes(3, 0)


def _example_cell(sheet, formats: dict, column: int, field: str, sample: object) -> None:
    """The example value in row 4, and the column's width and format (codes, phones and batches as text)."""
    if isinstance(sample, dt.date):
        sheet.write_datetime(3, column, sample, formats["example_date"])
        sheet.set_column(column, column, 12, formats["date"])
    elif isinstance(sample, int | float):
        sheet.write_number(3, column, sample, formats["example"])
        sheet.set_column(column, column, 11)
    else:
        sheet.write_string(3, column, sample, formats["example"])
        width = 10 if field.endswith("_code") else 16
        as_text = formats["text"] if field.endswith(("_code", "phone", "batch")) else None
        sheet.set_column(column, column, width, as_text)


def _column_validation(sheet, column: int, field: str, lang: str) -> None:
    """Drop-down lists for vocabulary columns; quantities not below zero."""
    enum_class = CHOICE_LISTS.get(field)
    if enum_class is not None:
        labels = [member.label_zh if lang == "zh" else member.label_en for member in enum_class]
        sheet.data_validation(
            3,
            column,
            TEMPLATE_ROWS,
            column,
            {
                "validate": "list",
                "source": labels,
                "error_type": "warning",
                "error_message": "请从列表中选择" if lang == "zh" else "Choose from the list",
            },
        )
    if field == "quantity":
        sheet.data_validation(3, column, TEMPLATE_ROWS, column, {"validate": "decimal", "criteria": ">=", "value": 0})


def _instructions_sheet(book: xlsxwriter.Workbook, formats: dict, lang: str) -> None:
    """Every column in both languages, whether required, and what it means; then how an import behaves."""
    guide = book.add_worksheet("填表说明" if lang == "zh" else "Instructions")
    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 8)
    guide.set_column(2, 3, 50)
    guide.write_row(0, 0, ["列 Column", "必填 Required", "说明", "Meaning"], formats["header"])
    for row, (field, is_required, zh, en, _sample) in enumerate(TEMPLATE_COLUMNS, start=1):
        spec = COLUMNS_BY_FIELD[field]
        enum_class = CHOICE_LISTS.get(field)
        allowed = ""
        if enum_class is not None:
            allowed = "：" + "、".join(member.label_zh for member in enum_class)
        guide.write_row(row, 0, [f"{spec.zh} / {spec.en}", "是 yes" if is_required else "", zh + allowed, en])
    notes = (
        "导入即盘点：数量为盘点后的实有数量；与系统一致的行不产生流水，重复导入同一台账不会改变库存。",
        "Importing is a stocktake: quantities are counts; a line already at that quantity writes nothing.",
        "日期可写 2024-03-01、2024/3/1、2024.3.1、2024年3月1日 或 20240301；数量可写 1,200 或 １２。",
        "Dates and numbers may be typed in any usual form; totals rows (合计) and notes below the table are skipped.",
        "也可分两张表：储备库表（仓库信息）和台账表（按仓库编码填写物资）。",
        "Two sheets also work: a warehouse sheet and a stock sheet that refers to warehouse codes.",
    )
    for offset, line in enumerate(notes, start=len(TEMPLATE_COLUMNS) + 2):
        guide.write_string(offset, 0, line, formats["note"])
