"""What ledger headers and cell words mean: the column mapping as data, not code.

Each field lists the Chinese and English header the exporter writes (first two entries) followed by the
variants people type. Headers are compared after ``header_key``: NFKC (full-width → half-width), case folded,
bracketed notes such as "数量（吨）" or "(必填)" removed, spaces and punctuation dropped. To teach the importer a
new header, add it here; nothing else changes.

Over 400 lines because it is data: the header variants, value words and units people use, in one place.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

from inventory.errors import ValidationFailed
from inventory.reference import Category, WarehouseLevel, WarehouseStatus
from inventory.validation import fold


@dataclass(frozen=True)
class ColumnSpec:
    field: str
    zh: str
    en: str
    variants: tuple[str, ...] = ()
    # Which part of a ledger row the field belongs to.
    part: str = "stock"


def _spec(field: str, zh: str, en: str, *variants: str, part: str) -> ColumnSpec:
    return ColumnSpec(field=field, zh=zh, en=en, variants=variants, part=part)


WAREHOUSE = "warehouse"
STOCK = "stock"
REGION = "region"

COLUMNS: tuple[ColumnSpec, ...] = (
    # --- the warehouse ------------------------------------------------------------------------
    _spec(
        "warehouse_code",
        "仓库编码",
        "Warehouse code",
        "仓库代码",
        "仓库编号",
        "储备库编码",
        "储备库代码",
        "储备库编号",
        "库点编码",
        "库点代码",
        "储备点编码",
        "warehouse id",
        "warehouse no",
        "depot code",
        part=WAREHOUSE,
    ),
    _spec(
        "warehouse_name",
        "仓库名称",
        "Warehouse name",
        "仓库",
        "储备库名称",
        "储备库",
        "库点名称",
        "储备点名称",
        "储备点",
        "储备仓库",
        "储备库点",
        "储备库点名称",
        "库房名称",
        "储备地点名称",  # 名称 under a 储备地点 / 存放地点 group header: the place is the warehouse
        "存放地点名称",
        "存放点名称",
        "warehouse",
        "depot name",
        "depot",
        part=WAREHOUSE,
    ),
    _spec(
        "reserve_type",
        "储备类型",
        "Reserve type",
        "储备方式",
        "储备性质",
        "储备类别",
        "储备形式",
        "reserve",
        "reserve kind",
        part=WAREHOUSE,
    ),
    _spec("level", "仓库级别", "Level", "级别", "储备库级别", "储备级别", "库级别", "warehouse level", part=WAREHOUSE),
    _spec("status", "状态", "Status", "仓库状态", "启用状态", "使用状态", "warehouse status", part=WAREHOUSE),
    _spec(
        "organisation",
        "所属单位",
        "Organisation",
        "管理单位",
        "责任单位",
        "储备单位",
        "权属单位",
        "单位名称",
        "企业名称",
        "organization",
        "owner",
        "owning organisation",
        part=WAREHOUSE,
    ),
    _spec(
        "address",
        "地址",
        "Address",
        "详细地址",
        "仓库地址",
        "存放地址",
        "存放地点",
        "储备地点",
        part=WAREHOUSE,
    ),
    _spec("latitude", "纬度", "Latitude", "lat", "北纬", part=WAREHOUSE),
    _spec("longitude", "经度", "Longitude", "lon", "lng", "long", "东经", part=WAREHOUSE),
    # Both coordinates in one cell (118.8,32.0 / 118.8°E 32.0°N): read by importers.values.parse_coordinates.
    _spec(
        "coordinates",
        "经纬度",
        "Coordinates",
        "坐标",
        "经纬度坐标",
        "地理坐标",
        "位置坐标",
        "gps坐标",
        "gps",
        "lon/lat",
        "lat/lon",
        part=WAREHOUSE,
    ),
    _spec(
        "contact_person",
        "联系人",
        "Contact person",
        "负责人",
        "管理人",
        "责任人",
        "仓库负责人",
        "contact",
        "contact name",
        part=WAREHOUSE,
    ),
    _spec(
        "contact_phone",
        "联系电话",
        "Contact phone",
        "电话",
        "手机",
        "手机号码",
        "联系方式",
        "联系人电话",
        "phone",
        "telephone",
        "tel",
        "mobile",
        part=WAREHOUSE,
    ),
    _spec("notes", "备注", "Notes", "说明", "remarks", "remark", "note", "comments", part=WAREHOUSE),
    # --- where it is: GB/T 2260 names and codes ------------------------------------------------
    _spec("province_name", "省份", "Province", "省", "所在省", "省级行政区", "省名称", "province name", part=REGION),
    _spec("province_code", "省代码", "Province code", "省份代码", "省级代码", "省区划代码", part=REGION),
    _spec(
        "city_name", "地市", "City", "市", "地级市", "所在市", "城市", "市州", "city name", "prefecture", part=REGION
    ),
    _spec("city_code", "地市代码", "City code", "市代码", "市级代码", "地级市代码", "prefecture code", part=REGION),
    _spec(
        "county_name",
        "区县",
        "County",
        "县",
        "县区",
        "县市区",
        "所在区县",
        "所在县区",
        "所属区县",
        "所属县区",
        "所在县",
        "县级行政区",
        "county name",
        "district",
        part=REGION,
    ),
    _spec(
        "county_code",
        "区县代码",
        "County code",
        "县代码",
        "县区代码",
        "县级代码",
        "行政区划代码",
        "区划代码",
        "行政区代码",
        "district code",
        "region code",
        part=REGION,
    ),
    # --- the stock line ---------------------------------------------------------------------
    _spec("item_code", "物资编码", "Item code", "物资代码", "物资编号", "material code", "item no", part=STOCK),
    _spec(
        "item_name",
        "物资名称",
        "Item",
        "item name",
        "物资",
        "名称",
        "品名",
        "物资品名",
        "应急物资名称",
        "物资品种",
        "物资名称及规格",  # the name with its specification in one cell (活性炭 颗粒): the name is what counts
        "物资名称及规格型号",
        "名称及规格",
        "名称规格",
        "品名规格",
        "material",
        "material name",
        part=STOCK,
    ),
    _spec("category", "物资类别", "Category", "类别", "物资类型", "物资分类", "分类", "品类", "物资种类", part=STOCK),
    _spec(
        "specification",
        "规格型号",
        "Specification",
        "规格",
        "型号",
        "规格参数",
        "物资规格",
        "规格及型号",
        "型号规格",
        "spec",
        "model",
        part=STOCK,
    ),
    _spec("unit", "计量单位", "Unit", "单位", "uom", "unit of measure", part=STOCK),
    _spec(
        "quantity",
        "数量",
        "Quantity",
        "库存数量",
        "储备数量",
        "现有数量",
        "实有数量",
        "实存数量",
        "在库数量",
        "现存数量",
        "实物数量",
        "实储数量",  # beside 应储数量 (what should be held), left unknown: not stock
        "实储",
        "实存",
        "实际数量",
        "实际库存",
        "实际库存数量",
        "实际储备量",
        "实际储备数量",
        "现有库存",
        "物资数量",
        "库存数",
        "现库存",
        "库存",
        "存量",
        "储备量",
        "储备数",
        "库存量",
        "现有储备量",
        "实有储备量",
        "数量及单位",  # 2吨 in one cell: parse_amount reads the unit from the quantity cell
        "数量和单位",
        "数量及计量单位",
        "qty",
        "stock",
        "on hand",
        "quantity on hand",
        part=STOCK,
    ),
    _spec("batch", "批次", "Batch", "批号", "批次号", "生产批号", "batch no", "lot", "lot no", part=STOCK),
    _spec(
        "production_date",
        "生产日期",
        "Production date",
        "出厂日期",
        "生产时间",
        "manufacture date",
        "manufactured",
        "mfg date",
        "date of manufacture",
        part=STOCK,
    ),
    _spec(
        "expiry_date",
        "有效期至",
        "Expiry date",
        "有效期",  # a date, or a shelf life (3年) counted from the production date: importers.values
        "失效日期",
        "到期日期",
        "到期日",
        "过期日期",
        "有效期截止",
        "有效期截止日期",
        "有效期限",
        "失效期",
        "过期时间",
        "保质期至",
        "有效日期",
        "保质期",  # a date, or a shelf life (2年) counted from the production date, as 有效期
        "保质期限",
        "expiry",
        "expiration date",
        "expires",
        "best before",
        "use by",
        part=STOCK,
    ),
)

COLUMNS_BY_FIELD: dict[str, ColumnSpec] = {spec.field: spec for spec in COLUMNS}

# Headers that say "a date or a shelf life" (3年): beside a header naming the date itself (有效期至, 到期日期 …)
# they yield to it, whichever comes first: a county form writes 生产日期 | 保质期 | 有效期至, the date is in the last.
YIELDING_HEADERS: frozenset[str] = frozenset({"有效期", "有效期限", "保质期", "保质期限"})

# Place headers (read as the address) that name the warehouse itself when a stock table has no warehouse column: a
# county ledger lists 物资名称 | 数量 | 存放地点 (XX乡政府仓库), and the place is where the stock is kept.
PLACE_HEADERS: frozenset[str] = frozenset({"存放地点", "储备地点"})

# Headers people add that carry nothing to import: recognised, so they raise no "unknown column" warning.
IGNORED_HEADERS: tuple[str, ...] = (
    "序号",
    "编号",
    "行号",
    "no",
    "index",
    "可用数量",
    "available",
    "预留数量",
    "已预留",
    "reserved",
    "错误",
    "errors",
    "导入错误",
    "导入检查 Import check",  # the column importers.annotate adds: a corrected report re-imports cleanly
    "导入检查",
)

# Headers above the real header row of a two-level header ("仓库信息" over 编码 | 名称 …) end in these words;
# without them the group text prefixes its sub-headers ("仓库" + "名称" → 仓库名称).
GROUP_SUFFIXES: tuple[str, ...] = ("基本信息", "基本情况", "信息", "情况", "information", "info", "details")

# A row whose first text cells are one of these is a total, subtotal or sum: skipped, not imported.
TOTAL_MARKERS: frozenset[str] = frozenset(
    {"合计", "总计", "小计", "共计", "总合计", "total", "totals", "subtotal", "sum"}
)

# A row starting with one of these and holding little else, or whose every cell starts with one (a sign-off
# line: 填表人：… 审核人：… 联系电话：… 日期：…), is a note under the table: skipped.
FOOTER_PREFIXES: tuple[str, ...] = (
    "注",
    "备注",
    "说明",
    "填表人",
    "填报人",
    "制表人",
    "审核人",
    "负责人",
    "填报单位",
    "填表单位",
    "填报日期",
    "填表日期",
    "制表日期",
    "复核人",
    "审批人",
    "统计人",
    "单位负责人",
    "主要负责人",
    "分管领导",
    "联系人",
    "联系电话",
    "电话",
    "手机",
    "填报时间",
    "填表时间",
    "制表时间",
    "日期",
    "签字",
    "盖章",
    "note",
)

# A cell saying the table ends here (the rest of a printed form left empty): its row is skipped with a note.
END_MARKERS: frozenset[str] = frozenset({"以下空白", "以下无", "以下为空", "以下无内容", "此页空白", "本页以下空白"})

# The template's example row says so in its first column; it is never imported.
EXAMPLE_MARKERS: frozenset[str] = frozenset({"示例", "例", "样例", "example", "sample"})

# Sheets that are never ledgers (the export's summary, the template's instructions).
SKIPPED_SHEETS: frozenset[str] = frozenset(
    {
        "汇总",
        "summary",
        "说明",
        "填表说明",
        "填报说明",
        "填写说明",
        "编制说明",
        "填表说明instructions",
        "instructions",
        "readme",
        "导入检查结果",
    }
)

# The ledger export's in-transit sheet (importers.export): stock on the road, out of every warehouse's on hand.
# An import skips it by its name, or by its shipment-code header under any name: it is never stock.
IN_TRANSIT_SHEETS: frozenset[str] = frozenset({"在途", "intransit"})
SHIPMENT_CODE_HEADER = ("发运单号", "Shipment code")
IN_TRANSIT_HEADERS: frozenset[str] = frozenset({"发运单号", "shipmentcode"})

# Cells that mean "no date" in a date column (an item without expiry).
NO_DATE_MARKERS: frozenset[str] = frozenset(
    {"长期", "长期有效", "永久", "无", "无期限", "不适用", "/", "-", "—", "--", "n/a", "na", "none", "never"}
)

# Cells that say "none" in a quantity column: refused, asking for 0 (a count of none is a number too).
NO_QUANTITY_MARKERS: frozenset[str] = frozenset({"无", "没有", "暂无", "空", "/", "-", "—", "——", "--", "n/a", "none"})

# Words people write for the closed vocabularies, beyond the Chinese and English labels in inventory.reference
# (those are always accepted, as are the codes and each part of a "A/B" label).
VALUE_VARIANTS: dict[type, dict[str, str]] = {
    WarehouseLevel: {
        "国家": "national",
        "国家级储备库": "national",
        "省": "provincial",
        "省级储备库": "provincial",
        "市": "municipal",
        "地市级": "municipal",
        "市级储备库": "municipal",
        "city": "municipal",
        "县": "county",
        "区县级": "county",
        "县区级": "county",
        "区级": "county",
        "县级储备库": "county",
        "district": "county",
    },
    WarehouseStatus: {
        "在用": "active",
        "正常": "active",
        "使用中": "active",
        "运行": "active",
        "启用中": "active",
        "停用中": "inactive",
        "废弃": "inactive",
        "关闭": "inactive",
        "disabled": "inactive",
        "closed": "inactive",
    },
    Category: {
        "污染源切断类": "source_cutoff",
        "源头切断": "source_cutoff",
        "污染物控制类": "pollutant_control",
        "污染物收集类": "pollutant_collection",
        "污染物降解类": "pollutant_degradation",
        "安全防护类": "safety_protection",
        "个人防护": "safety_protection",
        "应急通信": "communication_command",
        "通信指挥": "communication_command",
        "应急指挥": "communication_command",
        "环境监测类": "environmental_monitoring",
        "应急监测": "environmental_monitoring",
        "监测": "environmental_monitoring",
        "其它": "other",
    },
}

# Where a warehouse may sit and still pass without a warning (a generous box around China).
CHINA_LATITUDE = (3.0, 54.0)
CHINA_LONGITUDE = (73.0, 136.0)

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|<[^<>]*>|《[^《》]*》")
_NOISE = re.compile(r"[\s*※#:;,.、/\\|_\-'\"`~!?·•]+")


def header_key(text: object) -> str:
    """The comparable form of a header or a vocabulary word: no brackets, spaces or punctuation."""
    return _key(str(text or ""))


@functools.lru_cache(maxsize=65_536)  # ledger cells repeat (names, labels): each distinct text is folded once
def _key(text: str) -> str:
    folded = fold(text)
    without_notes = _BRACKETS.sub("", folded)
    return _NOISE.sub("", without_notes or folded)


def bracket_notes(text: object) -> list[str]:
    """The bracketed parts of a header ("数量（吨）" → ["吨"]), where units are often written."""
    return [match.group(0)[1:-1].strip() for match in _BRACKETS.finditer(fold(str(text or "")))]


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for spec in COLUMNS:
        for text in (spec.field, spec.zh, spec.en, *spec.variants):
            index.setdefault(header_key(text), spec.field)
    for text in IGNORED_HEADERS:
        index.setdefault(header_key(text), "")
    index.pop("", None)
    return index


# header key → field name ("" for a known column that is not imported)
HEADER_INDEX: dict[str, str] = _header_index()

IGNORE = "ignore"  # what a person maps a column to when it is not to be imported


def closest_field(header: str) -> str | None:
    """The known field whose header words are most like ``header`` (difflib ratio ≥ 0.5), to suggest."""
    key = header_key(header)
    if not key:
        return None
    best = difflib.get_close_matches(key, [word for word, name in HEADER_INDEX.items() if name], n=1, cutoff=0.5)
    return HEADER_INDEX[best[0]] if best else None


def checked_mapping(mapping: dict[str, str]) -> dict[str, str]:
    """A person's column mapping (header as written → field name, or ``ignore``) keyed as headers are compared.

    Raises ``ValidationFailed`` (field ``map``) naming a field that does not exist.
    """
    checked: dict[str, str] = {}
    for header, field_name in mapping.items():
        key, name = header_key(header), str(field_name).strip()
        if not key:
            raise ValidationFailed(f"map: a header is empty ({header!r}={field_name!r})", field="map")
        if name not in COLUMNS_BY_FIELD and name not in (IGNORE, ""):
            fields = ", ".join(COLUMNS_BY_FIELD)
            raise ValidationFailed(f"map: {name!r} is not a ledger field (one of {fields}, or ignore)", field="map")
        checked[key] = "" if name in (IGNORE, "") else name
    return checked
