"""Schemas of the registry: reference lists, regions, warehouses, the catalogue, stock and the ledger.

Each is the contract of one endpoint's input or output, not a model mirror. Input schemas list only what a
client may set (no ids, no quantities through the wrong door); unknown fields are rejected.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.fields import (
    LATITUDE,
    LONGITUDE,
    BoundedList,
    DateField,
    MomentField,
    QuantityField,
    StrictSchema,
    SystemTextField,
    choice,
    code_field,
    system_text,
)
from inventory.catalogue import MAX_ALIASES
from inventory.models import Item, ItemAlias, Region, StockLine
from inventory.reference import Category, MovementKind, RegionLevel, ReserveType, WarehouseLevel, WarehouseStatus
from inventory.stock import REASON_LIMIT, REFERENCE_LIMIT
from inventory.validation import (
    text_limit,
)
from inventory.warehouses import TEXT_LIMITS as WAREHOUSE_TEXT_LIMITS

# --- reference lists -------------------------------------------------------------------------


class LabelOut(Schema):
    code = fields.String()
    label_zh = fields.String()
    label_en = fields.String()


class ReferenceOut(Schema):
    reserve_types = fields.List(fields.Nested(LabelOut))
    categories = fields.List(fields.Nested(LabelOut))
    warehouse_levels = fields.List(fields.Nested(LabelOut))
    warehouse_statuses = fields.List(fields.Nested(LabelOut))
    movement_kinds = fields.List(fields.Nested(LabelOut))
    region_levels = fields.List(fields.Nested(LabelOut))
    roles = fields.List(fields.Nested(LabelOut))
    callup_statuses = fields.List(fields.Nested(LabelOut))
    callup_line_statuses = fields.List(fields.Nested(LabelOut))
    incident_types = fields.List(fields.Nested(LabelOut))
    incident_statuses = fields.List(fields.Nested(LabelOut))
    shipment_kinds = fields.List(fields.Nested(LabelOut))
    shipment_statuses = fields.List(fields.Nested(LabelOut))


# --- regions ---------------------------------------------------------------------------------


class RegionQuery(Schema):
    level = choice(RegionLevel)
    parent = fields.String(
        validate=validate.Length(equal=text_limit(Region.code)), metadata={"description": "parent region code"}
    )
    name = fields.String(
        validate=validate.Length(max=text_limit(Region.name)), metadata={"description": "part of the name"}
    )


class RegionOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    latitude = fields.Float()
    longitude = fields.Float()
    approximate = fields.Boolean(metadata={"description": "coordinate borrowed from the parent unit"})
    city_name = fields.Method(
        "_city_name", metadata={"description": "the prefecture-level city above a county (null otherwise)"}
    )
    province_name = fields.Method("_province_name", metadata={"description": "the province (null for a province)"})

    # Several counties share a name (鼓楼区 ×4): the units above tell them apart in a suggestion list.
    @staticmethod
    def _ancestors(region) -> list:
        chain, parent = [], region.parent
        while parent is not None:
            chain.append(parent)
            parent = parent.parent
        return chain

    def _city_name(self, region) -> str | None:
        return next((r.name for r in self._ancestors(region) if r.level is RegionLevel.CITY), None)

    def _province_name(self, region) -> str | None:
        return next((r.name for r in self._ancestors(region) if r.level is RegionLevel.PROVINCE), None)


# --- warehouses ------------------------------------------------------------------------------


class WarehouseFields(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=WAREHOUSE_TEXT_LIMITS["name"]))
    reserve_type = choice(ReserveType)
    organisation = fields.String(validate=validate.Length(max=WAREHOUSE_TEXT_LIMITS["organisation"]))
    county_code = fields.String(validate=validate.Regexp(r"^\d{6}$", error="a six-digit GB/T 2260 code"))
    address = fields.String(validate=validate.Length(max=WAREHOUSE_TEXT_LIMITS["address"]))
    latitude = fields.Float(validate=LATITUDE)
    longitude = fields.Float(validate=LONGITUDE)
    contact_person = fields.String(validate=validate.Length(max=WAREHOUSE_TEXT_LIMITS["contact_person"]))
    contact_phone = fields.String(validate=validate.Length(max=WAREHOUSE_TEXT_LIMITS["contact_phone"]))
    level = choice(WarehouseLevel)
    status = choice(WarehouseStatus)
    notes = fields.String(validate=validate.Length(max=WAREHOUSE_TEXT_LIMITS["notes"]))


class WarehouseCreate(WarehouseFields):
    code = fields.String(required=True, **code_field)
    name = fields.String(required=True, validate=validate.Length(min=1, max=WAREHOUSE_TEXT_LIMITS["name"]))
    reserve_type = choice(ReserveType, required=True)
    county_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="a six-digit GB/T 2260 code"))
    latitude = fields.Float(required=True, validate=LATITUDE)
    longitude = fields.Float(required=True, validate=LONGITUDE)
    level = choice(WarehouseLevel, required=True)


class WarehouseUpdate(WarehouseFields):
    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("give at least one field to change", field_name="_schema")


class WarehouseQuery(Schema):
    region = fields.String(metadata={"description": "province, city or county code"})
    reserve_type = choice(ReserveType)
    status = choice(WarehouseStatus)
    level = choice(WarehouseLevel)
    item = fields.String(metadata={"description": "item code: warehouses holding some of it"})
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "part of the name or code"})


class WarehouseOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    reserve_type = fields.String()
    organisation = fields.String()
    county_code = fields.String()
    city_code = fields.String()
    province_code = fields.String()
    county_name = fields.String(attribute="county.name")
    address = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    contact_person = fields.String()
    contact_phone = fields.String()
    level = fields.String()
    status = fields.String()
    notes = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


# --- catalogue -------------------------------------------------------------------------------


class ItemFields(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=text_limit(Item.name)))
    category = choice(Category)
    specification = fields.String(validate=validate.Length(max=text_limit(Item.specification)))
    unit = fields.String(validate=validate.Length(min=1, max=text_limit(Item.unit)))
    shelf_life_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=36500))
    aliases = BoundedList(
        fields.String(validate=validate.Length(min=1, max=text_limit(ItemAlias.alias))), max_length=MAX_ALIASES
    )


class ItemCreate(ItemFields):
    code = fields.String(required=True, **code_field)
    name = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(Item.name)))
    category = choice(Category, required=True)
    unit = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(Item.unit)))


class ItemUpdate(ItemFields):
    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("give at least one field to change", field_name="_schema")


class ItemQuery(Schema):
    category = choice(Category)
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "part of code, name or alias"})


class ItemSuggestionQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"description": "as typed"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=20))


class ItemSuggestionOut(Schema):
    code = fields.String(attribute="item.code")
    name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    category = fields.String(attribute="item.category")
    how = fields.String(metadata={"description": "exact, contains, alias (variant spelling), pinyin or similar"})
    score = fields.Float(metadata={"description": "how sure, 0..1"})
    via = fields.String(metadata={"description": "the code, name or alias the text was matched to"})


class ItemOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    category = fields.String()
    specification = fields.String()
    unit = fields.String()
    shelf_life_days = fields.Integer(allow_none=True)
    aliases = fields.Method("alias_names")
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()

    def alias_names(self, item) -> list[str]:
        return [a.alias for a in item.aliases]


# --- stock and ledger ------------------------------------------------------------------------


class MovementCommon(StrictSchema):
    reason = fields.String(validate=validate.Length(max=REASON_LIMIT))
    reference = fields.String(validate=validate.Length(max=REFERENCE_LIMIT))


class ReceiptIn(MovementCommon):
    warehouse_code = fields.String(required=True)
    item_code = fields.String(required=True)
    quantity = QuantityField(required=True)
    batch = fields.String(validate=validate.Length(max=text_limit(StockLine.batch)))
    production_date = DateField()
    expiry_date = DateField()

    @validates_schema
    def expiry_after_production(self, data: dict, **kwargs) -> None:
        if data.get("production_date") and data.get("expiry_date") and data["expiry_date"] < data["production_date"]:
            raise ValidationError("expiry date is before the production date", field_name="expiry_date")


class IssueIn(MovementCommon):
    quantity = QuantityField(required=True)
    allow_expired = fields.Boolean(
        load_default=False,
        metadata={
            "description": "issue from a batch past its expiry date (otherwise 409); requires a reason, "
            "which the ledger entry records"
        },
    )


class TransferIn(MovementCommon):
    to_warehouse_code = fields.String(required=True)
    quantity = QuantityField(required=True)


class AdjustmentIn(MovementCommon):
    delta = QuantityField(required=True, positive=False, metadata={"description": "signed change"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_LIMIT))


class StocktakeIn(MovementCommon):
    counted_quantity = QuantityField(required=True, allow_zero=True)


class StockLineQuery(Schema):
    warehouse = fields.String(metadata={"description": "warehouse code"})
    item = fields.String(metadata={"description": "item code"})
    category = choice(Category)
    region = fields.String(metadata={"description": "province, city or county code"})
    batch = fields.String()
    expiring_before = DateField(metadata={"description": "expiry date strictly before this day"})
    include_empty = fields.Boolean(load_default=False)


class StockLineDetailQuery(Schema):
    as_of = MomentField(
        default_timezone=None, metadata={"description": "also report the quantity at this moment (ISO 8601 with zone)"}
    )


class MovementQuery(Schema):
    warehouse = fields.String()
    item = fields.String()
    kind = choice(MovementKind)
    reference = fields.String()
    since = MomentField()
    until = MomentField()


class StockLineOut(Schema):
    id = fields.Integer()
    warehouse_code = fields.String(attribute="warehouse.code")
    warehouse_name = fields.String(attribute="warehouse.name")
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    category = fields.String(attribute="item.category")
    unit = fields.String(attribute="item.unit")
    batch = fields.String()
    quantity = QuantityField(metadata={"description": "on hand"})
    reserved = QuantityField(metadata={"description": "held for call-ups not yet dispatched"})
    available = QuantityField(metadata={"description": "on hand minus reserved: what an issue may take"})
    in_transit_quantity = QuantityField(
        allow_zero=True,
        dump_only=True,
        metadata={"description": "shipped from this line, not yet received: out of on hand"},
    )
    production_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    updated_at = fields.AwareDateTime()


class HoldingOut(Schema):
    callup_code = fields.String()
    incident_name = fields.String()
    line_id = fields.Integer(metadata={"description": "the call-up line holding the stock"})
    quantity = QuantityField()


class OnTheRoadOut(Schema):
    shipment_code = fields.String()
    kind = fields.String()
    target_warehouse_code = fields.String(allow_none=True, metadata={"description": "none: to an incident"})
    quantity = QuantityField()
    departed_at = fields.AwareDateTime()
    eta = fields.AwareDateTime(allow_none=True)


class StockLineDetailOut(StockLineOut):
    held_by = fields.List(
        fields.Nested(HoldingOut), metadata={"description": "the call-up lines whose reservations make up `reserved`"}
    )
    in_transit = fields.List(
        fields.Nested(OnTheRoadOut),
        metadata={"description": "shipped from this line, not yet received: out of on hand, not consumed"},
    )
    as_of = fields.AwareDateTime()
    quantity_as_of = QuantityField()


class MovementOut(Schema):
    id = fields.Integer()
    stock_line_id = fields.Integer()
    warehouse_code = fields.String(attribute="stock_line.warehouse.code")
    item_code = fields.String(attribute="stock_line.item.code")
    batch = fields.String(attribute="stock_line.batch")
    kind = fields.String()
    delta = QuantityField(positive=False)
    quantity_after = QuantityField()
    actor = fields.String()
    reason = SystemTextField()
    reference = fields.String(allow_none=True)
    transfer_key = fields.String(allow_none=True)
    occurred_at = fields.AwareDateTime()


class TransferOut(Schema):
    out = fields.Nested(MovementOut)
    into = fields.Nested(MovementOut)


def movement_dict(movement) -> dict:
    """``MovementOut().dump(movement)`` built directly: the write path answers hundreds of these a second, and
    marshmallow's dump was a tenth of a movement's view (a test holds the two equal)."""
    line = movement.stock_line
    return {
        "id": movement.id,
        "stock_line_id": movement.stock_line_id,
        "warehouse_code": line.warehouse.code,
        "item_code": line.item.code,
        "batch": line.batch,
        "kind": str(movement.kind),
        "delta": float(movement.delta),
        "quantity_after": float(movement.quantity_after),
        "actor": movement.actor,
        "reason": system_text(movement.reason),
        "reference": movement.reference,
        "transfer_key": movement.transfer_key,
        "occurred_at": movement.occurred_at.isoformat(),
    }


def transfer_dict(transfer) -> dict:
    """``TransferOut().dump(transfer)`` built directly."""
    return {"out": movement_dict(transfer.out), "into": movement_dict(transfer.into)}
