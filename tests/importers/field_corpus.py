"""Workbooks made the way county offices and enterprises fill them in, each with its known bad rows.

Every ``FieldBook`` models one family of real ledgers (no warehouse codes, details repeated and not always
the same, merged cells, an enterprise's form above its table, notes and totals under the data, several
layouts in one workbook, Chinese numerals, odd dates, coordinates in one cell, unit variants, typos …) and
records, as it writes them, which rows are bad (sheet, Excel row) and what the good rows hold:
``tests/importers/test_field_corpus.py`` imports each and checks that exactly the bad rows are rejected and
every good row is in.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

# Catalogue items (inventory/data/catalogue.csv) with their catalogue units.
UNITS = {"活性炭": "吨", "生石灰": "吨", "吸油毡": "张", "围油栏": "米", "沙袋": "袋", "潜水泵": "台", "氢氧化钠": "吨"}


@dataclass
class FieldBook:
    """One workbook of the corpus: its bytes, its bad rows, and what its good rows put in stock."""

    name: str
    bad: set[tuple[str, int]] = field(default_factory=set)
    good_rows: int = 0
    total: Decimal = Decimal(0)  # the good rows' quantities, in catalogue units
    warehouses: int = 0  # distinct warehouses the good rows stock
    data: bytes = b""


class SheetWriter:
    """Appends rows to a sheet and notes which are bad and what the good ones count."""

    def __init__(self, book: FieldBook, sheet: Worksheet) -> None:
        self.book = book
        self.sheet = sheet

    @property
    def next_row(self) -> int:
        return self.sheet.max_row + 1 if self.sheet.max_row > 1 or self.sheet["A1"].value is not None else 1

    def put(self, *values: object) -> int:
        number = self.next_row
        for column, value in enumerate(values, start=1):
            if value is not None:
                self.sheet.cell(row=number, column=column, value=value)
        return number

    def blank(self) -> None:
        # openpyxl's max_row ignores an empty row: a space in a far column keeps the row (a blank separator).
        self.sheet.cell(row=self.next_row, column=30, value=" ")

    def good(self, counted: Decimal | int | str, *values: object) -> int:
        """A row that must get in; ``counted`` is its quantity in the catalogue unit."""
        self.book.good_rows += 1
        self.book.total += Decimal(str(counted))
        return self.put(*values)

    def bad(self, *values: object) -> int:
        number = self.put(*values)
        self.book.bad.add((self.sheet.title, number))
        return number

    def merge_down(self, columns: str, first: int, last: int) -> None:
        for column in columns:
            self.sheet.merge_cells(f"{column}{first}:{column}{last}")


def _saved(book: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _new(name: str, *, warehouses: int) -> tuple[FieldBook, openpyxl.Workbook]:
    book = openpyxl.Workbook()
    book.remove(book.active)
    return FieldBook(name=name, warehouses=warehouses), book


COUNTY_HEADER = ["序号", "储备库名称", "所在区县", "储备类型", "联系人", "联系电话", "物资名称", "规格型号"]
COUNTY_HEADER += ["计量单位", "数量", "备注"]


def county_no_codes() -> FieldBook:
    """A county office's ledger: titles, no warehouse codes, warehouse cells merged down over the items."""
    corpus, book = _new("县级台账无编码", warehouses=3)
    out = SheetWriter(corpus, book.create_sheet("2024年台账"))
    out.put("东城区环境应急物资储备台账")
    out.put("填报单位：东城区生态环境局")
    out.put(*COUNTY_HEADER)
    groups = [
        ("东城区应急物资储备库", "东城区", "政府储备", "张三", "010-1111"),
        ("东城区一号库", "东城区", "政府储备", "李四", "010-2222"),
        ("和平里储备点", "东城区", "政府储备", "王五", "010-3333"),
    ]
    serial = 0
    for position, details in enumerate(groups):
        first = out.next_row
        for item, quantity, counted in (("活性炭", "1,200", 1200), ("生石灰", "１２", 12), ("吸油毡", 500, 500)):
            serial += 1
            cells = (serial, *(details if out.next_row == first else (None,) * 5), item, "", UNITS[item])
            out.good(counted, *cells, quantity, "")
        serial += 1
        cells = (serial, None, None, None, None, None)
        if position == 1:
            out.bad(*cells, "沙袋", "", "袋", "若干", "数量不清")  # quantity unreadable
        elif position == 2:
            out.bad(*cells, None, "", "", 30, "")  # no item
        else:
            out.good(40, *cells, "沙袋", "", "袋", 40, "")
        out.merge_down("BCDEF", first, out.next_row - 1)
    corpus.data = _saved(book)
    return corpus


def repeated_details_differ() -> FieldBook:
    """Warehouse details repeated on every row, not always the same: phone differs, address only once."""
    corpus, book = _new("明细不一致", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("物资台账"))
    out.put("仓库名称", "区县", "储备类型", "地址", "联系电话", "物资名称", "单位", "数量")
    out.good(5, "海淀区应急物资库", "海淀区", "政府", "北京市海淀区中关村1号", "13800000001", "活性炭", "吨", 5)
    out.good(6, "海淀区应急物资库", "海淀区", "政府", None, "13800000002", "生石灰", "吨", 6)
    out.good(7, "海淀区应急物资库", "海淀区", "政府", None, "13800000001", "围油栏", "米", 7)
    out.bad("海淀区应急物资库", "海淀区", "政府", None, "13800000001", "沙袋", "袋", -5)  # negative
    out.good(8, "海淀区 应急物资仓库", "海淀区", "政府", "中关村1号", "13800000003", "沙袋", "袋", 8)
    out.good(9, "大兴区储备库", "大兴区", "政府", "", "13900000000", "活性炭", "吨", 9)
    corpus.data = _saved(book)
    return corpus


def one_bad_row_alone() -> FieldBook:
    """One bad cell among a warehouse's rows (a reserve type nobody knows, a date that is no date)."""
    corpus, book = _new("坏行不连累", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "批次", "生产日期")
    out.good(1, "玄武区储备库", "玄武区", "政府储备", "活性炭", "吨", 1, "A", "2025-01-10")
    out.bad("玄武区储备库", "玄武区", "国家队", "活性炭", "吨", 2, "B", "2025-01-10")
    out.good(3, "玄武区储备库", "玄武区", "政府储备", "生石灰", "吨", 3, "A", "")
    out.bad("玄武区储备库", "玄武区", "政府储备", "生石灰", "吨", 4, "B", "2025-13-45")
    out.good(5, "玄武区储备库", "玄武区", "政府储备", "吸油毡", "张", 5, "A", "")
    corpus.data = _saved(book)
    return corpus


def enterprise_forms() -> FieldBook:
    """An enterprise: one sheet per site, the site's details as a form above a table with no warehouse columns."""
    corpus, book = _new("企业调查表", warehouses=2)
    first = SheetWriter(corpus, book.create_sheet("江宁厂区"))
    first.put("南京某化工有限公司江宁厂区环境应急资源调查表")
    first.put("单位名称", "南京某化工有限公司江宁厂区", None, "储备类型", "企业")
    first.put("地址：江苏省南京市江宁区秣陵街道1号")
    first.put("联系人", "王工", None, "联系电话", "025-12345678")
    first.blank()
    first.put("序号", "物资名称", "规格型号", "单位", "数量", "备注")
    first.good(20, 1, "活性炭", "", "吨", 20, "")
    first.good(300, 2, "吸油毡", "", "张", 300, "")
    first.bad(3, "围油栏", "", "米", None, "")  # no quantity
    first.good(2, 4, "潜水泵", "", "台", 2, "")
    second = SheetWriter(corpus, book.create_sheet("玄武仓库"))
    second.put("单位名称：南京某化工有限公司玄武仓库")
    second.put("详细地址", "南京市玄武区龙蟠路2号", None, "储备类型", "企业")
    second.put("联系人：李工")
    second.put("序号", "物资名称", "规格型号", "单位", "数量", "备注")
    second.good(1, 1, "氢氧化钠", "片碱", "吨", 1, "")
    second.bad(2, "", "", "吨", 4, "")  # no item
    corpus.data = _saved(book)
    return corpus


def enterprise_coordinates_only() -> FieldBook:
    """An enterprise form with coordinates and no county or address county: the nearest county seat."""
    corpus, book = _new("企业仅坐标", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("厂区"))
    out.put("单位名称", "某石化公司码头", None, "储备类型", "企业")
    out.put("经度", 118.79, None, "纬度", 32.06)
    out.put("地址", "码头东侧仓库")
    out.put("物资名称", "单位", "数量")
    out.good(100, "围油栏", "米", 100)
    out.good(50, "吸油毡", "张", 50)
    out.bad("吸油毡", "张", "很多")
    corpus.data = _saved(book)
    return corpus


def notes_totals_blanks() -> FieldBook:
    """Blank separator rows, subtotals, totals, notes and signatures below and between the data."""
    corpus, book = _new("合计与注释", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("应急物资储备情况统计表")
    out.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "生产日期")
    out.good(10, "海淀区储备库", "海淀区", "政府储备", "活性炭", "吨", 10, "2025-03-01")
    out.good(20, "海淀区储备库", "海淀区", "政府储备", "生石灰", "吨", 20, "")
    out.put("小计", None, None, None, None, 30)
    out.blank()
    out.good(5, "东城区储备库", "东城区", "政府储备", "沙袋", "袋", 5, "")
    out.bad("东城区储备库", "东城区", "政府储备", "活性炭", "吨", 6, "2025-13-45")
    out.put(None, None, None, "以下空白")  # the printed form's remaining lines left empty
    out.put("小计", None, None, None, None, 11)
    out.blank()
    out.put("合计", None, None, None, None, 41)
    out.put("注：数量以2024年12月31日盘点为准。")
    out.put("填表人：张三", None, None, "审核人：李四")
    out.put("制表人：王五", None, "复核人：赵六", None, "日期：2025.3.1")  # a sign-off line of three
    corpus.data = _saved(book)
    return corpus


def several_layouts() -> FieldBook:
    """Two sheets with different layouts: one flat, one with a two-level merged header and merged cells."""
    corpus, book = _new("多种版式", warehouses=3)
    flat = SheetWriter(corpus, book.create_sheet("县局"))
    flat.put("物资名称", "数量", "单位", "仓库名称", "区县", "储备类型")
    flat.good(3, "活性炭", 3, "吨", "江宁区储备库", "江宁区", "政府储备")
    flat.bad("活性炭", "abc", "吨", "江宁区储备库", "江宁区", "政府储备")
    grouped = SheetWriter(corpus, book.create_sheet("乡镇"))
    grouped.put("序号", "仓库信息", None, None, "物资信息")
    grouped.put(None, "名称", "所在区县", "储备类型", "名称", "计量单位", "数量")
    grouped.sheet.merge_cells("B1:D1")
    grouped.sheet.merge_cells("E1:G1")
    grouped.good(7, 1, "淳化街道储备点", "江宁区", "政府储备", "沙袋", "袋", 7)
    grouped.good(8, 2, None, None, None, "活性炭", "吨", 8)
    grouped.bad(3, None, None, None, "生石灰", "吨", "-1")
    grouped.merge_down("BCD", 3, 5)
    grouped.good(2, 4, "秣陵街道储备点", "江宁区", "政府储备", "活性炭", "吨", 2)
    corpus.data = _saved(book)
    return corpus


def unknown_headers() -> FieldBook:
    """Columns no vocabulary foresaw: warned about with the closest known field, never a reason to reject."""
    corpus, book = _new("未知表头", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "负责领导", "存放区域")
    out.good(4, "大兴区储备库", "大兴区", "政府储备", "活性炭", "吨", 4, "赵", "A区")
    out.good(5, "大兴区储备库", "大兴区", "政府储备", "生石灰", "吨", 5, "赵", "B区")
    out.bad("大兴区储备库", "大兴区", "政府储备", "沙袋", "袋", "abc", "赵", "C区")
    corpus.data = _saved(book)
    return corpus


def same_name_two_counties() -> FieldBook:
    """The same warehouse name in two counties is two warehouses; a county nobody knows rejects its rows."""
    corpus, book = _new("同名不同县", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    out.good(1, "应急物资储备库", "东城区", "政府储备", "活性炭", "吨", 1)
    out.good(2, "应急物资储备库", "海淀区", "政府储备", "活性炭", "吨", 2)
    out.bad("应急物资储备库", "不存在区", "政府储备", "活性炭", "吨", 3)
    corpus.data = _saved(book)
    return corpus


def names_written_differently() -> FieldBook:
    """One warehouse written several ways (width, spaces, brackets, 库/仓库/储备库): one warehouse."""
    corpus, book = _new("名称写法不一", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("一季度"))
    out.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    out.good(1, "玄武区（１号）应急物资储备库", "玄武区", "政府储备", "活性炭", "吨", 1)
    out.good(2, "玄武区(1号)仓库", "玄武区", "政府储备", "生石灰", "吨", 2)
    out.bad("玄武区 (1号) 库", "玄武区", "政府储备", "沙袋", "袋", "未知")
    more = SheetWriter(corpus, book.create_sheet("二季度"))
    more.put("储备库名称", "区县", "储备类型", "物资名称", "单位", "数量")
    more.good(3, "玄武区1号 储备库", "南京市玄武区", "政府", "沙袋", "袋", 3)
    corpus.data = _saved(book)
    return corpus


def code_on_one_row_name_on_another() -> FieldBook:
    """One warehouse given by name and county on some rows and with its code on another (before or after, in
    another sheet): one warehouse, under the code the file gives; the second import finds it again."""
    corpus, book = _new("编码与名称混写", warehouses=1)
    january = SheetWriter(corpus, book.create_sheet("一月"))  # the name-only rows come first
    january.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    january.good(4, "东城区应急物资储备库", "东城区", "政府储备", "活性炭", "吨", 4)
    january.bad("东城区应急物资储备库", "东城区", "政府储备", "生石灰", "吨", "很多")
    february = SheetWriter(corpus, book.create_sheet("二月"))
    february.put("仓库编码", "仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    february.good(5, "DC-001", "东城区应急物资储备仓库", "东城区", "政府储备", "生石灰", "吨", 5)
    february.good(6, None, "东城区储备库", "东城区", "政府储备", "沙袋", "袋", 6)  # the code left blank here
    february.bad(None, "东城区储备库", "东城区", "政府储备", "活性炭", "吨", 7)  # counted in 一月 already
    corpus.data = _saved(book)
    return corpus


def county_and_enterprise_mixed() -> FieldBook:
    """A county's workbook carrying its own ledger and an enterprise's survey sheet."""
    corpus, book = _new("县与企业混合", warehouses=2)
    county = SheetWriter(corpus, book.create_sheet("县储备库"))
    county.put(*COUNTY_HEADER)
    county.good(9, 1, "江宁区应急物资储备库", "江宁区", "政府储备", "周", "025-1", "活性炭", "", "吨", 9, "")
    county.good(8, 2, None, None, None, None, None, "围油栏", "", "米", 8, "")
    county.bad(3, None, None, None, None, None, "沙袋", "", "袋", "", "")
    county.merge_down("BCDEF", 1 + 1, 4)
    enterprise = SheetWriter(corpus, book.create_sheet("某企业"))
    enterprise.put("单位名称", "江宁某材料厂", None, "储备类型", "企业")
    enterprise.put("单位地址", "江苏省南京市江宁区东山街道")
    enterprise.put("地址", "江苏省南京市江宁区东山街道")
    enterprise.put("物资名称", "规格型号", "计量单位", "数量")
    enterprise.good(6, "活性炭", "", "吨", 6)
    enterprise.bad("活性炭", "", "吨", "见附表")
    corpus.data = _saved(book)
    return corpus


def template_and_county_mixed() -> FieldBook:
    """Our template (codes) in one sheet, a county's name-only rows for other warehouses in the next."""
    corpus, book = _new("模板与县表混合", warehouses=3)
    template = SheetWriter(corpus, book.create_sheet("模板"))
    template.put("仓库编码", "仓库名称", "储备类型", "区县代码", "物资名称", "计量单位", "数量", "批次")
    template.good(10, "W-T1", "东城区模板库", "政府储备", "110101", "活性炭", "吨", 10, "B1")
    template.good(11, "W-T1", "东城区模板库", "政府储备", "110101", "生石灰", "吨", 11, "B1")
    template.bad("W-T1", "东城区模板库", "政府储备", "110101", "活性炭", "吨", 12, "B1")  # counted twice
    county = SheetWriter(corpus, book.create_sheet("县表"))
    county.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    county.good(1, "海淀区甲库", "海淀区", "政府储备", "活性炭", "吨", 1)
    county.good(2, "海淀区乙库", "海淀区", "政府储备", "活性炭", "吨", 2)
    county.bad("海淀区乙库", "海淀区", "政府储备", "不存在的物资", "", 2)  # unknown item, no unit
    corpus.data = _saved(book)
    return corpus


def numbers_and_dates_as_typed() -> FieldBook:
    """Chinese numerals, units inside the quantity, dates as people type them."""
    corpus, book = _new("数字日期写法", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "批次", "生产日期", "有效期至")
    out.good(12, "东城区储备库", "东城区", "政府储备", "活性炭", "吨", "十二", "A", "2025.03", "长期")
    out.good(5, "东城区储备库", "东城区", "政府储备", "生石灰", "", "五吨", "A", "2025.3.15", "/")
    out.good(50, "东城区储备库", "东城区", "政府储备", "沙袋", "袋", "约50", "A", "2025年3月", "无")
    out.good(200, "东城区储备库", "东城区", "政府储备", "围油栏", "", "200 米", "A", "20250315", "")
    out.bad("东城区储备库", "东城区", "政府储备", "吸油毡", "张", "若干", "A", "", "")
    corpus.data = _saved(book)
    return corpus


def enterprise_coordinates_in_one_cell() -> FieldBook:
    """An enterprise writing its coordinates in one cell, and materials in units the catalogue lacks."""
    corpus, book = _new("坐标单元格与单位变体", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("厂区"))
    out.put("单位名称", "某港口公司", None, "储备类型", "企业自储")
    out.put("坐标", "118.8°E 32.0°N")
    out.put("物资名称", "单位", "数量")
    out.good(10, "吸油毡", "包", 10)  # kept as a unit variant of the item
    out.good(3, "活性碳", "吨", 3)  # a typo of 活性炭
    out.bad("吸油毡", "包", "很多")
    corpus.data = _saved(book)
    return corpus


def county_form_as_filled() -> FieldBook:
    """A county bureau's printed form: 数量 merged over the number and its unit, dates as typed, a subtotal under
    a warehouse's merged cells, a sign-off line."""
    corpus, book = _new("县局填报表", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("应急物资"))
    out.put("青秀区环境应急物资储备情况表")
    out.put("填报单位：南宁市青秀生态环境局", None, None, None, None, None, "填报日期：2025年3月5号")
    out.put("序号", "储备库名称", "所在区县", "储备类型", "物资名称", "数量", None, "生产日期", "有效期至")
    out.sheet.merge_cells("F3:G3")  # one 数量 header over the number and its unit
    first = out.next_row
    out.good("0.5", 1, "青秀区应急物资储备库", "青秀区", "政府储备", "活性炭", 500, "公斤", "2025年3月5号", "2027年")
    out.good(2000, 2, None, None, None, "围油栏", 2, "公里", "2024.3.5.", "长期")
    out.bad(3, None, None, None, "沙袋", "若干", "袋", "", "")
    out.put(None, None, None, None, "小计", 2000.5)  # in the item column, under the warehouse's merged cells
    out.merge_down("BCD", first, out.next_row - 1)
    out.good(40, 4, "长塘镇储备点", "青秀区", "政府储备", "沙袋", 40, "袋", "", "")
    out.put("合计", None, None, None, None, 2040.5)
    out.put("填表人：黄工", None, "审核人：韦科长", None, "联系电话：0771-5551234")  # a sign-off line
    corpus.data = _saved(book)
    return corpus


def county_without_reserve_type() -> FieldBook:
    """A county's sheet without a 储备类型 column: a warehouse already registered is found, a new one is refused
    with its rows (saying which column to fill in), and one without a county is refused saying so."""
    corpus, book = _new("无储备类型列", warehouses=1)
    known = SheetWriter(corpus, book.create_sheet("登记"))
    known.put("仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    known.good(1, "宾阳县应急物资储备库", "宾阳县", "政府储备", "活性炭", "吨", 1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("仓库名称", "所在区县", "联系人", "物资名称", "计量单位", "数量")
    out.good(2, "宾阳县应急物资储备库", "宾阳县", "覃", "沙袋", "袋", 2)  # found by name: its type is known
    out.bad("宾阳县新建储备点", "宾阳县", "韦", "活性炭", "吨", 3)  # new, and no reserve type
    out.bad("宾阳县新建储备点", "宾阳县", "韦", "沙袋", "袋", 4)
    out.bad("无县储备点", None, "李", "活性炭", "吨", 5)  # new, and no county
    corpus.data = _saved(book)
    return corpus


def details_on_the_first_row_only() -> FieldBook:
    """The warehouse name merged down (or repeated) on every row, its county, type and contact on the group's
    first row only: each row is the warehouse above, not a warehouse without a county."""
    corpus, book = _new("明细只填首行", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("序号", "仓库名称", "区县", "储备类型", "联系人", "联系电话", "物资名称", "计量单位", "数量")
    out.good(2, 1, "隆安县那桐镇储备点", "隆安县", "政府储备", "韦", "138 0000 0000", "活性炭", "吨", 2)
    out.good(200, None, None, None, None, None, None, "沙袋", "袋", 200)
    out.bad(None, None, None, None, None, None, "围油栏", "米", "50-60")  # a range
    out.merge_down("AB", 2, 4)  # only the serial number and the name are merged
    out.good(3, 2, "隆安县乔建镇储备点", "隆安县", "政府储备", "黄", "0771-6521234", "活性炭", "吨", 3)
    out.good(30, 3, "隆安县乔建镇储备点", None, None, None, None, "沙袋", "袋", 30)  # the name repeated
    out.good(40, 4, "隆安县乔建镇储备点", None, None, "黄", None, "围油栏", "米", 40)
    corpus.data = _saved(book)
    return corpus


def one_sheet_per_reserve_type() -> FieldBook:
    """A county's workbook with one sheet per reserve type (政府储备, 企业储备, 社会化储备) and no 储备类型
    column: the sheet's name is the type; a sheet with another name still needs the column."""
    corpus, book = _new("按储备类型分表", warehouses=3)
    for title, name in (
        ("政府储备", "西乡塘区应急物资库"),
        ("企业储备", "西乡塘区某化工厂"),
        ("社会化储备", "西乡塘区某物流公司"),
    ):
        out = SheetWriter(corpus, book.create_sheet(title))
        out.put("仓库名称", "所在区县", "物资名称", "计量单位", "数量")
        out.good(2, name, "西乡塘区", "活性炭", "吨", 2)
        out.good(20, name, "西乡塘区", "沙袋", "袋", 20)
    other = SheetWriter(corpus, book.create_sheet("补充"))
    other.put("仓库名称", "所在区县", "物资名称", "计量单位", "数量")
    other.bad("西乡塘区新仓库", "西乡塘区", "活性炭", "吨", 1)  # no reserve type anywhere
    corpus.data = _saved(book)
    return corpus


def place_group_over_name_and_address() -> FieldBook:
    """A two-row header whose 储备地点 group stands over 名称 | 地址, every other header merged down both rows:
    that 名称 is the warehouse's, not the item's."""
    corpus, book = _new("储备地点分组表头", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("序号", "储备地点", None, "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    out.put(None, "名称", "地址")
    out.sheet.merge_cells("B1:C1")
    for column in "ADEFGH":
        out.sheet.merge_cells(f"{column}1:{column}2")
    out.good(1, 1, "上林县大丰镇储备点", "大丰镇政府院内", "上林县", "政府储备", "活性炭", "吨", 1)
    out.good(20, 2, "上林县明亮镇储备点", "明亮镇", "上林县", "政府储备", "沙袋", "袋", 20)
    out.bad(3, "上林县明亮镇储备点", "明亮镇", "上林县", "政府储备", "沙袋", "袋", "若干")
    corpus.data = _saved(book)
    return corpus


def two_tables_in_one_sheet() -> FieldBook:
    """One sheet holding two tables, each under its heading (一、政府储备 / 二、企业储备) and its own copy of the
    header row: the second header is no stock row (and adds no item 物资名称 to the catalogue)."""
    corpus, book = _new("一表两段", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    header = ("序号", "仓库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    out.put("一、政府储备")
    out.put(*header)
    out.good(1, 1, "横州市一号库", "横州市", "政府储备", "活性炭", "吨", 1)
    out.bad(2, "横州市一号库", "横州市", "政府储备", "新型吸附剂", "吨", "很多")  # its new item is not added
    out.blank()
    out.put("二、企业储备")
    out.put(*header)
    out.good(2, 1, "横州市某糖厂", "横州市", "企业储备", "活性炭", "吨", 2)
    corpus.data = _saved(book)
    return corpus


# --- Guangxi county bureaus' ledgers as filled in Excel and WPS (南宁市's counties) -------------------------


def group_headers_over_item_and_place() -> FieldBook:
    """A two-row header: 储备物资 merged over 名称 | 规格 | 数量 | 单位 and 存放地点 over 省 | 市 | 县 | 详细地址, the
    other headers merged down both rows: that 名称 is the item's, 县 the warehouse's county."""
    corpus, book = _new("储备物资与存放地点分组表头", warehouses=2)
    out = SheetWriter(corpus, book.create_sheet("应急物资"))
    out.put("序号", "储备库名称", "储备物资", None, None, None, "存放地点", None, None, None, "储备类型", "联系人")
    out.put(None, None, "名称", "规格", "数量", "单位", "省", "市", "县", "详细地址")
    out.sheet.merge_cells("C1:F1")
    out.sheet.merge_cells("G1:J1")
    for column in "ABKL":
        out.sheet.merge_cells(f"{column}1:{column}2")
    place = ("广西壮族自治区", "南宁市", "隆安县", "城厢镇1号")
    out.good(2, 1, "隆安县应急物资储备库", "活性炭", "颗粒", 2, "吨", *place, "政府储备", "韦工")
    out.good(200, 2, "隆安县应急物资储备库", "沙袋", "", 200, "袋", *place, "政府储备", "韦工")
    out.bad(3, "隆安县应急物资储备库", "围油栏", "", "若干", "米", *place, "政府储备", "韦工")
    out.good(
        300, 4, "马山县储备点", "吸油毡", "", 300, "张", "广西壮族自治区", "南宁市", "马山县", "白山镇", "政府", "覃"
    )
    corpus.data = _saved(book)
    return corpus


def group_headers_typed_not_merged() -> FieldBook:
    """Group headers typed in their first cell only (centred across the selection, not merged): 储备库 over
    名称 | 所在区县 | 储备类型 and 储备物资 over 名称 | 单位 | 数量; the first 名称 is the warehouse's."""
    corpus, book = _new("分组表头未合并", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("序号", "储备库", None, None, "储备物资", None, None)
    out.put(None, "名称", "所在区县", "储备类型", "名称", "单位", "数量")
    out.good(2, 1, "横州市应急物资储备库", "横州市", "政府储备", "活性炭", "吨", 2)
    out.good(50, 2, "横州市应急物资储备库", "横州市", "政府储备", "沙袋", "袋", 50)
    out.bad(3, "横州市应急物资储备库", "横州市", "政府储备", "生石灰", "吨", -3)
    corpus.data = _saved(book)
    return corpus


def quantity_over_number_and_unit_unmerged() -> FieldBook:
    """数量 centred over two columns without merging them (the second header cell blank): the number, then its
    unit; 500 | 公斤 of an item counted in 吨 is 0.5 吨, not 500."""
    corpus, book = _new("数量与单位两列未合并", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "物资名称", "数量", None, "备注")
    out.good("0.5", "武鸣区储备库", "武鸣区", "政府储备", "活性炭", 500, "公斤", "")
    out.good(20, "武鸣区储备库", "武鸣区", "政府储备", "沙袋", 20, "袋", "")
    out.good(2000, "武鸣区储备库", "武鸣区", "政府储备", "围油栏", 2, "公里", "")
    out.bad("武鸣区储备库", "武鸣区", "政府储备", "吸油毡", "很多", "张", "")
    corpus.data = _saved(book)
    return corpus


def reserve_type_section_headings() -> FieldBook:
    """One table cut into sections by headings naming the reserve type (一、政府储备 merged across the row,
    （二）企业储备, 三 | 社会化储备) and no 储备类型 column: each heading gives its rows their type."""
    corpus, book = _new("按储备类型分段", warehouses=3)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("马山县环境应急物资储备台账")
    out.put("序号", "储备库名称", "所在区县", "物资名称", "计量单位", "数量")
    out.put("一、政府储备")
    out.sheet.merge_cells("A3:F3")
    out.good(1, 1, "马山县应急物资储备库", "马山县", "活性炭", "吨", 1)
    out.good(20, 2, "马山县应急物资储备库", "马山县", "沙袋", "袋", 20)
    out.bad(3, "马山县应急物资储备库", "马山县", "围油栏", "米", "若干")
    out.put("（二）企业储备")
    out.good(3, 1, "马山县某糖厂", "马山县", "活性炭", "吨", 3)
    out.put("三", "社会化储备")
    out.good(5, 1, "马山县某物流公司", "马山县", "沙袋", "袋", 5)
    corpus.data = _saved(book)
    return corpus


def category_headings_with_serials() -> FieldBook:
    """Rows grouped under headings of a serial number and one label (一 | 污染源切断类, 1 | 污染物收集类), the rows
    numbered 1.1, 1.2 …: each heading is skipped with a warning, never refused."""
    corpus, book = _new("类别标题行", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("序号", "物资名称", "计量单位", "数量", "储备库名称", "所在区县", "储备类型")
    out.put("一", "污染源切断类")
    out.good(10, "1.1", "沙袋", "袋", 10, "良庆区储备库", "良庆区", "政府储备")
    out.good(5, "1.2", "围油栏", "米", 5, "良庆区储备库", "良庆区", "政府储备")
    out.put("二", "污染物降解类")
    out.good(1, "2.1", "活性炭", "吨", 1, "良庆区储备库", "良庆区", "政府储备")
    out.put("（三）", "安全防护类")
    out.bad("3.1", "防毒面具", "个", "abc", "良庆区储备库", "良庆区", "政府储备")
    out.good(6, "3.2", "化学防护服", "套", 6, "良庆区储备库", "良庆区", "政府储备")
    corpus.data = _saved(book)
    return corpus


def column_numbers_under_header() -> FieldBook:
    """A printed form's row numbering its columns under the header (1 2 3 …, （1）（2）…, 甲 乙 丙 丁 …)."""
    corpus, book = _new("表头下栏次行", warehouses=1)
    header = ("序号", "储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    first = SheetWriter(corpus, book.create_sheet("一季度"))
    first.put(*header)
    first.put("甲", "乙", "丙", "丁", "戊", "己", "庚")
    first.good(5, 1, "邕宁区储备库", "邕宁区", "政府储备", "活性炭", "吨", 5)
    first.bad(2, "邕宁区储备库", "邕宁区", "国家队", "生石灰", "吨", 2)
    second = SheetWriter(corpus, book.create_sheet("二季度"))
    second.put(*header)
    second.put(*(f"（{number}）" for number in range(1, 8)))
    second.good(6, 1, "邕宁区储备库", "邕宁区", "政府储备", "沙袋", "袋", 6)
    third = SheetWriter(corpus, book.create_sheet("三季度"))
    third.put(*header)
    third.put(None, *range(1, 7))
    third.good(7, 1, "邕宁区储备库", "邕宁区", "政府储备", "吸油毡", "张", 7)
    corpus.data = _saved(book)
    return corpus


def quantities_as_typed_more() -> FieldBook:
    """Quantities as typed: a unit inside (200kg, 0.5吨, 30 双, 2台套), full width (１２０), a Chinese comma
    (1，200), approximate (约100), ten thousands (1.5万), a pack count (2箱（每箱20个） of a new item counted in 个:
    40); a range of packs (2箱（每箱20-30个）) is refused."""
    corpus, book = _new("数量写法补充", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    site = ("上林县储备库", "上林县", "政府储备")
    out.good("0.2", *site, "活性炭", "", "200kg")
    out.good("0.5", *site, "生石灰", "吨", "0.5吨")
    out.good(120, *site, "沙袋", "袋", "１２０")
    out.good(1200, *site, "吸油毡", "张", "1，200")
    out.good(100, *site, "围油栏", "米", "约100")
    out.good(50, *site, "耐酸碱手套", "副", "50双")
    out.good("0.5", *site, "氢氧化钠", "kg", 500)
    out.good("1.5", *site, "熟石灰", "吨", "1.5 t")
    out.good(20, *site, "救生衣", "件", "20（件）")
    out.good(30, *site, "防化靴", "双", "30 双")
    out.good(2, *site, "潜水泵", "台", "2台套")
    out.good(15000, *site, "通用吸附棉", "张", "1.5万")
    out.good(40, *site, "应急收集桶", "个", "2箱（每箱20个）")
    out.bad(*site, "应急收集袋", "个", "2箱（每箱20-30个）")
    corpus.data = _saved(book)
    return corpus


def dates_as_typed_more() -> FieldBook:
    """Dates as typed: Excel serial numbers in a plain number cell, a year as a number (2023), a month as a number
    (2023.12), text months and days, a shelf life (三年), "good until" (至2026年12月, 2026.12.31前); 23.5.6 and 2023.1
    (January or October?) are refused."""
    corpus, book = _new("日期写法补充", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "批次", "生产日期", "有效期至")
    site = ("宾阳县储备库", "宾阳县", "政府储备", "活性炭", "吨", 1)
    out.good(1, *site, "A", 45292, 46023)
    out.good(1, *site, "B", 2023, "2026年12月")
    out.good(1, *site, "C", 2023.12, 2026.12)
    out.good(1, *site, "D", "2023年12月", "长期")
    out.good(1, *site, "E", "/", "/")
    out.good(1, *site, "F", dt.datetime(2023, 5, 6), "2026.5.5")
    out.good(1, *site, "G", "2023-05-06 00:00:00", "2026/05/05")
    out.good(1, *site, "H", "2023年5月6号", "三年")
    out.good(1, *site, "K", "2023.5", "2026.12.31前")  # "good until"
    out.good(1, *site, "L", "2023年", "至2026年12月")
    out.bad(*site, "I", "23.5.6", "")
    out.bad(*site, "J", 2023.1, "")
    corpus.data = _saved(book)
    return corpus


def coordinates_in_columns_as_typed() -> FieldBook:
    """Longitude and latitude columns as typed: degrees-minutes-seconds (108°16′17″, 108°16'17", 108度16分17秒),
    E/N letters before or after, 东经/北纬, degrees and decimal minutes, full-width digits."""
    corpus, book = _new("经纬度写法", warehouses=7)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "经度", "纬度", "物资名称", "计量单位", "数量")
    for number, (longitude, latitude) in enumerate(
        (
            ("108°16′17″", "23°10′03″"),
            ("E108.27", "N23.17"),
            ("108°16'17\"", "23°10'03\""),
            ("108度16分17秒", "23度10分3秒"),
            ("东经108.27°", "北纬23.17°"),
            ("108.27E", "23.17N"),
            ("１０８．２７", "２３．１７"),
        ),
        start=1,
    ):
        out.good(1, f"武鸣区{number}号库", "武鸣区", "政府储备", longitude, latitude, "活性炭", "吨", 1)
    out.bad("武鸣区1号库", "武鸣区", "政府储备", "108°16′17″", "23°10′03″", "沙袋", "袋", "若干")
    corpus.data = _saved(book)
    return corpus


def phones_as_typed() -> FieldBook:
    """Phones as typed: an extension (转8001), two numbers, a mobile number saved as a number, an area code in
    brackets: kept as written, never a reason to refuse."""
    corpus, book = _new("电话写法", warehouses=5)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "联系人", "联系电话", "物资名称", "计量单位", "数量")
    for number, phone in enumerate(
        (
            "0771-5551234转8001",
            "0771-5551234/13800000000",
            13800000000,
            "（0771）5551234",
            "138 0000 0000、0771-5551234",
        ),
        start=1,
    ):
        out.good(1, f"良庆区{number}号库", "良庆区", "政府储备", "黄", phone, "活性炭", "吨", 1)
    out.bad("良庆区1号库", "良庆区", "政府储备", "黄", "0771-5551234转8001", "沙袋", "袋", -20)
    corpus.data = _saved(book)
    return corpus


def township_sheets() -> FieldBook:
    """A county's workbook with a sheet per township, each under its title, 所在区县 and 填报单位 lines."""
    corpus, book = _new("乡镇分表", warehouses=2)
    for town in ("那桐镇", "乔建镇"):
        out = SheetWriter(corpus, book.create_sheet(town))
        out.put(f"隆安县{town}环境应急物资储备台账")
        out.put("所在区县：隆安县", None, None, "填报日期：2024年3月1日")
        out.put("填报单位：隆安县生态环境局")
        out.put("序号", "储备点名称", "物资名称", "规格型号", "计量单位", "数量", "储备类型")
        out.good(1, 1, f"{town}储备点", "活性炭", "", "吨", 1, "政府储备")
        out.good(50, 2, f"{town}储备点", "沙袋", "", "袋", 50, "政府储备")
        if town == "乔建镇":
            out.bad(3, f"{town}储备点", "围油栏", "", "米", "见附表", "政府储备")
    corpus.data = _saved(book)
    return corpus


def headers_as_typed_columns_apart() -> FieldBook:
    """Headers with line breaks, full-width and trailing spaces, in an unusual order, blank columns between."""
    corpus, book = _new("表头空格换行与空列", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("数　量", None, "物资\n名称", None, "计量\n单位 ", "序　号", "储备库\n名称 ", " 所在区县　", "储备类型 ")
    out.good(5, 5, None, "活性炭", None, "吨", 1, "江南区储备库", "江南区", "政府储备")
    out.good(6, 6, None, "沙袋", None, "袋", 2, "江南区储备库", "江南区", "政府储备")
    out.bad(7, None, None, None, "袋", 3, "江南区储备库", "江南区", "政府储备")
    corpus.data = _saved(book)
    return corpus


def title_block_and_merged_total() -> FieldBook:
    """A title merged across, a 填报单位（盖章） line, a 合  计 row merged across the first columns, an empty
    sign-off line (填报人： 联系电话： 审核人：)."""
    corpus, book = _new("标题块与合并合计", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("兴宁区环境应急物资储备情况统计表")
    out.sheet.merge_cells("A1:G1")
    out.put("填报单位（盖章）：兴宁区生态环境局", None, None, None, "填报日期：2024年12月")
    out.put("序号", "储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    out.good(5, 1, "兴宁区储备库", "兴宁区", "政府储备", "活性炭", "吨", 5)
    out.good(100, 2, "兴宁区储备库", "兴宁区", "政府储备", "沙袋", "袋", 100)
    out.bad(3, "兴宁区储备库", "兴宁区", "政府储备", "吸油毡", "张", "—")
    total = out.put("合  计", None, None, None, None, None, 105)
    out.sheet.merge_cells(f"A{total}:F{total}")
    out.put("填报人：", None, "联系电话：", None, "审核人：")
    corpus.data = _saved(book)
    return corpus


def reserve_types_with_levels() -> FieldBook:
    """Reserve types written with the government's level (县级政府储备, 市级政府储备), 政府性储备, 企业代储 …;
    a word nobody uses for a reserve type (政府采购) is refused."""
    corpus, book = _new("储备类型带级别", warehouses=6)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    for number, word in enumerate(
        ("县级政府储备", "市级政府储备", "政府性储备", "企业代储", "协议代储", "政府（实物）")
    ):
        out.good(1, f"西乡塘区{number + 1}号库", "西乡塘区", word, "活性炭", "吨", 1)
    out.bad("西乡塘区7号库", "西乡塘区", "政府采购", "活性炭", "吨", 1)
    corpus.data = _saved(book)
    return corpus


def name_and_quantity_with_their_details() -> FieldBook:
    """物资名称及规格 and 数量及单位 headers: the name (with its specification) and the quantity with its unit."""
    corpus, book = _new("名称及规格与数量及单位", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("序号", "储备库名称", "所在区县", "储备类型", "物资名称及规格", "数量及单位")
    out.good(2, 1, "青秀区储备库", "青秀区", "政府储备", "活性炭", "2吨")
    out.good(200, 2, "青秀区储备库", "青秀区", "政府储备", "沙袋", "200袋")
    out.good(1500, 3, "青秀区储备库", "青秀区", "政府储备", "围油栏", "1.5公里")
    out.bad(4, "青秀区储备库", "青秀区", "政府储备", "吸油毡", "若干张")
    corpus.data = _saved(book)
    return corpus


def county_written_short_or_with_city() -> FieldBook:
    """The county without its suffix (隆安), the city without 市 (南宁), a trailing space; a county nobody knows
    is refused."""
    corpus, book = _new("区县简写", warehouses=3)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("储备库名称", "地市", "区县", "储备类型", "物资名称", "计量单位", "数量")
    out.good(1, "甲库", "南宁市", "隆安", "政府储备", "活性炭", "吨", 1)
    out.good(2, "乙库", "南宁", "马山", "政府储备", "活性炭", "吨", 2)
    out.good(3, "丙库", "南宁市", "青秀区 ", "政府储备", "活性炭", "吨", 3)
    out.bad("丁库", "南宁市", "某某县", "政府储备", "活性炭", "吨", 4)
    corpus.data = _saved(book)
    return corpus


def quantity_over_should_and_actual() -> FieldBook:
    """数量 merged over 应储 | 实储 (what should be held, what is), the other headers merged down both rows: the
    stock is 实储; 应储 is no column of the ledger (a warning)."""
    corpus, book = _new("应储与实储", warehouses=1)
    out = SheetWriter(corpus, book.create_sheet("台账"))
    out.put("序号", "储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    out.put(None, None, None, None, None, None, "应储", "实储")
    out.sheet.merge_cells("G1:H1")
    for column in "ABCDEF":
        out.sheet.merge_cells(f"{column}1:{column}2")
    out.good(2, 1, "横州市应急物资储备库", "横州市", "政府储备", "活性炭", "吨", 5, 2)
    out.good(80, 2, "横州市应急物资储备库", "横州市", "政府储备", "沙袋", "袋", 100, 80)
    out.bad(3, "横州市应急物资储备库", "横州市", "政府储备", "围油栏", "米", 200, "待补")
    corpus.data = _saved(book)
    return corpus


def shelf_life_columns() -> FieldBook:
    """A shelf life as a bare number under a header naming its unit (有效期（月） | 36), a 保质期 column (2年, refused
    without a production date); a bare 3 under 有效期 is refused (3 years? not 3 January 1900), saying to write a
    date or a shelf life."""
    corpus, book = _new("保质期写法", warehouses=1)
    months = SheetWriter(corpus, book.create_sheet("药剂"))
    months.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "批次", "生产日期", "有效期（月）")
    months.good(1, "良庆区储备库", "良庆区", "政府储备", "活性炭", "吨", 1, "A", "2024-01-01", 36)
    months.good(2, "良庆区储备库", "良庆区", "政府储备", "氢氧化钠", "吨", 2, "A", "2024-01-01", "24")
    life = SheetWriter(corpus, book.create_sheet("器材"))
    life.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "生产日期", "保质期")
    life.good(10, "良庆区储备库", "良庆区", "政府储备", "吸油毡", "张", 10, "2024-01-01", "2年")
    life.bad("良庆区储备库", "良庆区", "政府储备", "围油栏", "米", 50, None, "3年")  # from when? no production date
    dates = SheetWriter(corpus, book.create_sheet("其他"))
    dates.put("储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量", "生产日期", "有效期")
    dates.good(5, "良庆区储备库", "良庆区", "政府储备", "沙袋", "袋", 5, "2024-01-01", "2026-06-30")
    dates.bad("良庆区储备库", "良庆区", "政府储备", "生石灰", "吨", 3, "2024-01-01", 3)
    corpus.data = _saved(book)
    return corpus


def two_row_header_not_merged_down() -> FieldBook:
    """A two-row header whose first-row headers are not merged down (the second row blank beneath them): 物资信息
    typed over 名称 | 单位 | 数量 in one sheet, 数量 over 应储 | 实储 in the other; the header is both rows."""
    corpus, book = _new("两行表头未向下合并", warehouses=1)
    items = SheetWriter(corpus, book.create_sheet("物资"))
    items.put("序号", "储备库名称", "所在区县", "储备类型", "物资信息")
    items.put(None, None, None, None, "名称", "单位", "数量")
    items.good(2, 1, "邕宁区应急物资储备库", "邕宁区", "政府储备", "活性炭", "吨", 2)
    items.bad(2, "邕宁区应急物资储备库", "邕宁区", "政府储备", "生石灰", "吨", "一些")
    counts = SheetWriter(corpus, book.create_sheet("应储实储"))
    counts.put("序号", "储备库名称", "所在区县", "储备类型", "物资名称", "计量单位", "数量")
    counts.put(None, None, None, None, None, None, "应储", "实储")
    counts.good(80, 1, "邕宁区应急物资储备库", "邕宁区", "政府储备", "沙袋", "袋", 100, 80)
    counts.bad(2, "邕宁区应急物资储备库", "邕宁区", "政府储备", "围油栏", "米", 500, "")
    corpus.data = _saved(book)
    return corpus


FAMILIES: tuple[Callable[[], FieldBook], ...] = (
    county_no_codes,
    repeated_details_differ,
    one_bad_row_alone,
    enterprise_forms,
    enterprise_coordinates_only,
    notes_totals_blanks,
    several_layouts,
    unknown_headers,
    same_name_two_counties,
    names_written_differently,
    code_on_one_row_name_on_another,
    county_and_enterprise_mixed,
    template_and_county_mixed,
    numbers_and_dates_as_typed,
    county_form_as_filled,
    county_without_reserve_type,
    details_on_the_first_row_only,
    one_sheet_per_reserve_type,
    place_group_over_name_and_address,
    two_tables_in_one_sheet,
    group_headers_over_item_and_place,
    group_headers_typed_not_merged,
    quantity_over_number_and_unit_unmerged,
    reserve_type_section_headings,
    category_headings_with_serials,
    column_numbers_under_header,
    quantities_as_typed_more,
    dates_as_typed_more,
    coordinates_in_columns_as_typed,
    phones_as_typed,
    township_sheets,
    headers_as_typed_columns_apart,
    title_block_and_merged_total,
    reserve_types_with_levels,
    name_and_quantity_with_their_details,
    county_written_short_or_with_city,
    quantity_over_should_and_actual,
    shelf_life_columns,
    two_row_header_not_merged_down,
    enterprise_coordinates_in_one_cell,  # the last: test_import_report_language reviews its unit variant
)
