"""Contracts of the readiness reports and the reserve quotas: query or body in, JSON out.

The output schemas are the only serialisation of the answers: the Excel downloads
(``importers.report_workbooks``) and the CLI's tables and ``--json`` are drawn from their dumps, so the
three cannot disagree. Rules that need the database (one target, one material, known items and
regions, scopes) live in the services; the schemas declare types and ranges for validation and docs.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.fields import QuantityField, RegionField, StrictSchema, choice
from api.schemas.nearest import ItemRefOut, RoundedFloat
from inventory.models import Item, Warehouse
from inventory.nearest import MAX_RADIUS_KM
from inventory.quotas import NOTE_LIMIT
from inventory.reference import LANGUAGES, Category
from inventory.reports.coverage import DEFAULT_COVERAGE_RADIUS_KM
from inventory.reports.expiry import DEFAULT_EXPIRY_WINDOW_DAYS, MAX_EXPIRY_WINDOW_DAYS
from inventory.validation import text_limit


def region_code_field(description: str) -> fields.String:
    return RegionField(metadata={"description": f"{description}, or its name (北京市, 海淀区)"})


def item_field() -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=text_limit(Item.name)), metadata={"description": "item code, name or alias"}
    )


class WorkbookQuery(Schema):
    lang = fields.String(
        load_default="zh", validate=validate.OneOf(LANGUAGES), metadata={"description": "headers and labels"}
    )


# --- expiry ------------------------------------------------------------------------------------


class ExpiringQuery(Schema):
    within_days = fields.Integer(
        load_default=DEFAULT_EXPIRY_WINDOW_DAYS,
        validate=validate.Range(min=0, max=MAX_EXPIRY_WINDOW_DAYS),
        metadata={"description": f"expired, or expiring within this many days (at most {MAX_EXPIRY_WINDOW_DAYS})"},
    )
    region = region_code_field("province, city or county code")
    warehouse = fields.String(
        validate=validate.Length(min=1, max=text_limit(Warehouse.code)), metadata={"description": "warehouse code"}
    )
    category = choice(Category)
    item = item_field()


class ExpiringWorkbookQuery(ExpiringQuery, WorkbookQuery):
    pass


class ExpiringLineOut(Schema):
    stock_line_id = fields.Integer()
    warehouse_code = fields.String()
    warehouse_name = fields.String()
    reserve_type = fields.String()
    warehouse_status = fields.String()
    province_code = fields.String()
    province_name = fields.String()
    city_code = fields.String()
    city_name = fields.String()
    county_code = fields.String()
    county_name = fields.String()
    item_code = fields.String()
    item_name = fields.String()
    category = fields.String()
    unit = fields.String()
    batch = fields.String()
    quantity = QuantityField(metadata={"description": "on hand"})
    reserved = QuantityField(allow_zero=True, metadata={"description": "held for call-ups"})
    production_date = fields.Date(allow_none=True)
    expiry_date = fields.Date()
    days_left = fields.Integer(metadata={"description": "days until the expiry date; negative once expired"})
    expired = fields.Boolean()


# --- quotas ------------------------------------------------------------------------------------


class QuotaIn(StrictSchema):
    """The target (a warehouse or a region) and the material (an item or a category): one of each."""

    warehouse = fields.String(
        validate=validate.Length(min=1, max=text_limit(Warehouse.code)), metadata={"description": "warehouse code"}
    )
    region = region_code_field("instead of a warehouse: a province, city or county code")
    item = item_field()
    category = choice(Category, metadata={"description": "instead of an item: every item of the category"})
    minimum = QuantityField(required=True, metadata={"description": "the least quantity to hold"})
    note = fields.String(validate=validate.Length(max=NOTE_LIMIT))


class QuotaUpdate(StrictSchema):
    minimum = QuantityField()
    note = fields.String(validate=validate.Length(max=NOTE_LIMIT))

    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("give at least one field to change", field_name="_schema")


class QuotaQuery(Schema):
    region = region_code_field("quotas of this region, of regions inside it and of its warehouses")
    warehouse = fields.String(validate=validate.Length(min=1, max=text_limit(Warehouse.code)))
    item = item_field()
    category = choice(Category)


class QuotaOut(Schema):
    id = fields.Integer()
    target_type = fields.Function(lambda quota: "warehouse" if quota.warehouse is not None else "region")
    target_code = fields.String()
    target_name = fields.Function(lambda quota: (quota.warehouse or quota.region).name)
    province_code = fields.String()
    warehouse_code = fields.Function(lambda quota: quota.warehouse.code if quota.warehouse is not None else None)
    region_code = fields.String(allow_none=True)
    item_code = fields.Function(lambda quota: quota.item.code if quota.item is not None else None)
    item_name = fields.Function(lambda quota: quota.item.name if quota.item is not None else None)
    unit = fields.Function(lambda quota: quota.item.unit if quota.item is not None else None)
    category = fields.Function(lambda quota: str(quota.category) if quota.category is not None else None)
    minimum = QuantityField()
    note = fields.String()
    set_by = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class QuotaReportQuery(Schema):
    region = region_code_field("quotas of this region, of regions inside it and of its warehouses")
    below_only = fields.Boolean(load_default=False, metadata={"description": "only quotas not met"})


class QuotaReportWorkbookQuery(QuotaReportQuery, WorkbookQuery):
    pass


class QuotaStatusOut(Schema):
    quota = fields.Nested(QuotaOut)
    held = QuantityField(
        allow_zero=True, metadata={"description": "on hand (reserved included) in unexpired batches, active warehouses"}
    )
    shortfall = QuantityField(allow_zero=True, metadata={"description": "minimum - held, at least 0"})
    below = fields.Boolean(metadata={"description": "held < minimum (a quota met exactly is not below)"})
    units = fields.List(fields.String(), metadata={"description": "units of the items counted in held"})


# --- coverage ----------------------------------------------------------------------------------


class CoverageQuery(StrictSchema):
    item = item_field()
    category = choice(Category, metadata={"description": "instead of an item: every item of the category"})
    radius_km = fields.Float(
        load_default=DEFAULT_COVERAGE_RADIUS_KM,
        validate=validate.Range(min=0, min_inclusive=False, max=MAX_RADIUS_KM),
        metadata={"description": f"a place is covered with usable stock at most this far (≤, at most {MAX_RADIUS_KM})"},
    )
    min_quantity = QuantityField(
        metadata={"description": "with an item: only warehouses holding at least this much available count"}
    )
    province = region_code_field("only the county-level places of this province (holders anywhere count)")


class CoverageWorkbookQuery(CoverageQuery, WorkbookQuery):
    pass


class CoverageGapOut(Schema):
    code = fields.String(attribute="place.code")
    name = fields.String(attribute="place.name")
    city_code = fields.String(attribute="place.city_code")
    city_name = fields.String(attribute="place.city_name")
    province_code = fields.String(attribute="place.province_code")
    province_name = fields.String(attribute="place.province_name")
    latitude = fields.Float(attribute="place.latitude")
    longitude = fields.Float(attribute="place.longitude")
    nearest_km = RoundedFloat(
        3, allow_none=True, metadata={"description": "geodesic km to the nearest usable stock; null: none in China"}
    )
    nearest_warehouse_code = fields.String(allow_none=True)


class ProvinceCoverageOut(Schema):
    code = fields.String()
    name = fields.String()
    counties_total = fields.Integer(attribute="places")
    counties_uncovered = fields.Integer(attribute="uncovered")


class CoverageOut(Schema):
    item = fields.Nested(ItemRefOut, allow_none=True)
    category = fields.String(allow_none=True)
    radius_km = fields.Float()
    min_quantity = QuantityField(allow_none=True)
    province = fields.String(allow_none=True)
    as_of = fields.Date(metadata={"description": "the business date: batches expiring before it do not count"})
    distance = fields.String(metadata={"description": "how distances are measured: geodesic"})
    holders = fields.Integer(metadata={"description": "active warehouses holding usable stock"})
    counties_total = fields.Integer(attribute="places", metadata={"description": "county-level places examined"})
    counties_uncovered = fields.Function(lambda report: len(report.gaps))
    provinces = fields.List(fields.Nested(ProvinceCoverageOut))
    uncovered = fields.List(fields.Nested(CoverageGapOut), attribute="gaps")


# --- dashboard ---------------------------------------------------------------------------------


class DashboardQuery(StrictSchema):
    region = region_code_field("a province (its cities), a city (its counties); omit for the provinces")


class DashboardWorkbookQuery(DashboardQuery, WorkbookQuery):
    pass


class ItemFiguresOut(Schema):
    item_code = fields.String(attribute="code")
    item_name = fields.String(attribute="name")
    unit = fields.String()
    stock_lines = fields.Integer()
    quantity = QuantityField(allow_zero=True, metadata={"description": "on hand, in the item's unit"})


class CategoryFiguresOut(Schema):
    category = fields.String()
    stock_lines = fields.Integer()
    expired_lines = fields.Integer()
    stock_lines_by_reserve_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(ItemFiguresOut))


class RegionFiguresOut(Schema):
    code = fields.String(allow_none=True, metadata={"description": "null: the whole country"})
    name = fields.String()
    level = fields.String(allow_none=True)
    active_warehouses = fields.Integer()
    warehouses_by_reserve_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    stock_lines = fields.Integer(metadata={"description": "lines holding something, any warehouse status or expiry"})
    expired_lines = fields.Integer()
    categories = fields.List(fields.Nested(CategoryFiguresOut))


class DashboardOut(Schema):
    as_of = fields.Date()
    totals = fields.Nested(RegionFiguresOut, attribute="region", metadata={"description": "the region asked for"})
    regions = fields.List(fields.Nested(RegionFiguresOut), attribute="rows", metadata={"description": "its children"})
