"""Closed vocabularies of the domain, each value with its Chinese and English label.

Values are stable codes stored in the database and used in the API; labels are for people.
"""

from __future__ import annotations

import enum

# The languages people read this system in: every label below is given in both, and the API, the CLI and the
# workbooks it writes answer in one of them (``api.config.language_of`` reads a request's; the importers' and
# the reports' workbooks take ``lang=``). Here, the lowest layer, so that every edge names the same two.
LANGUAGES = ("zh", "en")


class LabelledEnum(str, enum.Enum):  # noqa: UP042 - StrEnum forbids the extra label arguments
    """A string enum whose members carry ``label_zh`` and ``label_en``."""

    label_zh: str
    label_en: str

    def __new__(cls, value: str, label_zh: str, label_en: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label_zh = label_zh
        member.label_en = label_en
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def describe(cls) -> list[dict[str, str]]:
        return [{"code": m.value, "label_zh": m.label_zh, "label_en": m.label_en} for m in cls]


class ReserveType(LabelledEnum):
    """The four levels of reserve in the national environmental emergency material database."""

    GOVERNMENT = ("government", "政府储备", "Government reserve")
    ENTERPRISE = ("enterprise", "企业储备", "Enterprise storage")
    THIRD_PARTY = ("third_party", "第三方服务/社会化储备", "Third-party service reserve")
    PRODUCTION = ("production", "生产能力储备/企业生产保障", "Production-capacity guarantee")


class WarehouseLevel(LabelledEnum):
    NATIONAL = ("national", "国家级", "National")
    PROVINCIAL = ("provincial", "省级", "Provincial")
    MUNICIPAL = ("municipal", "市级", "Municipal")
    COUNTY = ("county", "县级", "County")


class WarehouseStatus(LabelledEnum):
    ACTIVE = ("active", "启用", "Active")
    INACTIVE = ("inactive", "停用", "Inactive")


class Category(LabelledEnum):
    """Categories of the Chinese environmental emergency resource surveys, plus "other"."""

    SOURCE_CUTOFF = ("source_cutoff", "污染源切断", "Pollution-source cut-off")
    POLLUTANT_CONTROL = ("pollutant_control", "污染物控制", "Pollutant control")
    POLLUTANT_COLLECTION = ("pollutant_collection", "污染物收集", "Pollutant collection")
    POLLUTANT_DEGRADATION = ("pollutant_degradation", "污染物降解", "Pollutant degradation")
    SAFETY_PROTECTION = ("safety_protection", "安全防护", "Safety protection")
    COMMUNICATION_COMMAND = ("communication_command", "应急通信和指挥", "Emergency communication & command")
    ENVIRONMENTAL_MONITORING = ("environmental_monitoring", "环境监测", "Environmental monitoring")
    OTHER = ("other", "其他", "Other")


class RegionLevel(LabelledEnum):
    PROVINCE = ("province", "省级", "Province")
    CITY = ("city", "地级", "Prefecture / city")
    COUNTY = ("county", "县级", "County")


class MovementKind(LabelledEnum):
    RECEIPT = ("receipt", "入库", "Receipt")
    ISSUE = ("issue", "出库", "Issue")
    TRANSFER_OUT = ("transfer_out", "调出", "Transfer out")
    TRANSFER_IN = ("transfer_in", "调入", "Transfer in")
    ADJUSTMENT = ("adjustment", "调整", "Adjustment")
    STOCKTAKE = ("stocktake", "盘点", "Stocktake")
    # Logistics: stock that left on a shipment is in transit until received (or lost) at the other end.
    SHIP_OUT = ("ship_out", "发运出库（在途）", "Shipped out (in transit)")
    SHIP_IN = ("ship_in", "到货入库", "Shipment received")
    RETURN_IN = ("return_in", "归还入库", "Return received")


class Role(LabelledEnum):
    """One role per account; the scope (province, warehouses) narrows what it may change."""

    ADMIN = ("admin", "系统管理员", "Administrator")
    PROVINCIAL = ("provincial", "省级管理员", "Provincial staff")
    MANAGER = ("manager", "仓库管理员", "Warehouse manager")
    RESPONDER = ("responder", "应急响应人员", "Responder")
    VIEWER = ("viewer", "只读用户", "Viewer")


class CallUpStatus(LabelledEnum):
    OPEN = ("open", "调用中", "Open")
    COMPLETED = ("completed", "已完成", "Completed")
    CANCELLED = ("cancelled", "已取消", "Cancelled")
    # Nothing could be reserved (or every source declined): not completed, and it may still be cancelled.
    UNFILLED = ("unfilled", "未预留到物资", "Nothing reserved")


class CallUpLineStatus(LabelledEnum):
    RESERVED = ("reserved", "已预留", "Reserved")
    DISPATCHED = ("dispatched", "已发运", "Dispatched")
    DECLINED = ("declined", "已拒绝", "Declined")
    CANCELLED = ("cancelled", "已取消", "Cancelled")


class ReviewKind(LabelledEnum):
    """What an import decided on its own and lists for review (``inventory/import_review.py``)."""

    NEW_WAREHOUSE = ("new_warehouse", "新登记的仓库", "Warehouse registered")
    NEW_ITEM = ("new_item", "新增的物资", "Item added")
    FUZZY_MATCH = ("fuzzy_match", "近似匹配的物资", "Item matched by similarity")
    UNIT_VARIANT = ("unit_variant", "单位变体", "Unit variant")
    DETAIL_CONFLICT = ("detail_conflict", "仓库信息不一致", "Warehouse details that differed")


class NotificationKind(LabelledEnum):
    """What an account can be told about (inbox, email, webhook); the digest is the daily summary."""

    CALLUP_LINE_WAITING = ("callup_line_waiting", "有调用待本仓库处理", "Call-up line waiting for my warehouse")
    CALLUP_LINE_DISPATCHED = ("callup_line_dispatched", "我的调用已发运", "My call-up line dispatched")
    CALLUP_LINE_DECLINED = ("callup_line_declined", "我的调用被拒绝", "My call-up line declined")
    SHIPMENT_OVERDUE = ("shipment_overdue", "发运超时未到", "Shipment overdue")
    RECEIPT_DISCREPANCY = ("receipt_discrepancy", "接收数量有差异", "Receipt with discrepancies")
    DAILY_DIGEST = ("daily_digest", "每日摘要", "Daily digest")


class DeliveryChannel(LabelledEnum):
    """Where an event goes besides the in-page inbox (which every account always has)."""

    EMAIL = ("email", "电子邮件", "Email")
    WEBHOOK = ("webhook", "Webhook", "Webhook")


class DeliveryStatus(LabelledEnum):
    PENDING = ("pending", "待发送", "Pending")
    SENT = ("sent", "已发送", "Sent")
    FAILED = ("failed", "发送失败", "Failed")


# --- logistics (branch logistics) ---------------------------------------------------------------


class IncidentType(LabelledEnum):
    WATER = ("water", "水污染", "Water pollution")
    AIR = ("air", "大气污染", "Air pollution")
    SOIL = ("soil", "土壤污染", "Soil pollution")
    CHEMICAL_SPILL = ("chemical_spill", "危化品泄漏", "Hazardous chemical spill")
    OIL_SPILL = ("oil_spill", "溢油", "Oil spill")
    OTHER = ("other", "其他", "Other")


class IncidentStatus(LabelledEnum):
    OPEN = ("open", "处置中", "Open")
    CLOSED = ("closed", "已结束", "Closed")


class ShipmentKind(LabelledEnum):
    DISPATCH = ("dispatch", "调用发运", "Call-up dispatch")
    TRANSFER = ("transfer", "仓库调拨", "Transfer between warehouses")
    RETURN = ("return", "归还", "Return")


class ShipmentStatus(LabelledEnum):
    IN_TRANSIT = ("in_transit", "在途", "In transit")
    DELIVERED = ("delivered", "已接收", "Delivered")
