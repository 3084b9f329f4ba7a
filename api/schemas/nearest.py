"""Contracts of the nearest-stock search and the plans: query and body in, answer out.

The output schemas are the only serialisation of these answers: the CLI's ``--json`` and its
table both dump through them, so the command line and the API cannot drift apart.
Rules that need the database (one location form, item or category, known items) live in the
services, which the CLI calls too; the schemas declare types and ranges for validation and docs.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.fields import LATITUDE, LONGITUDE, BoundedList, QuantityField, StrictSchema, choice
from inventory.models import Item, Region
from inventory.nearest import DEFAULT_LIMIT, DEFAULT_RADIUS_KM, MAX_LIMIT, MAX_NEEDS, MAX_RADIUS_KM
from inventory.reference import Category, ReserveType
from inventory.validation import text_limit


class CommaSeparatedList(BoundedList):
    """A list from repeated parameters (``?t=a&t=b``), comma lists (``?t=a,b``) or both."""

    def _deserialize(self, value, attr, data, **kwargs) -> list:
        values = value if isinstance(value, list | tuple) else [value]
        parts = [part.strip() for item in values for part in str(item).split(",") if part.strip()]
        return super()._deserialize(parts, attr, data, **kwargs)


class RoundedFloat(fields.Float):
    """A float written with a fixed number of decimals (distances to the metre)."""

    def __init__(self, places: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.places = places

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else round(float(value), self.places)


def radius_field() -> fields.Float:
    return fields.Float(
        load_default=DEFAULT_RADIUS_KM,
        validate=validate.Range(min=0, min_inclusive=False, max=MAX_RADIUS_KM),
        metadata={"description": f"search radius in km (default {DEFAULT_RADIUS_KM}, at most {MAX_RADIUS_KM})"},
    )


class IncidentLocationFields(StrictSchema):
    """The incident: ``lat`` and ``lon``, or ``county`` — never both."""

    lat = fields.Float(validate=LATITUDE, metadata={"description": "incident latitude (WGS-84)"})
    lon = fields.Float(validate=LONGITUDE, metadata={"description": "incident longitude (WGS-84)"})
    county = fields.String(
        validate=validate.Length(min=1, max=text_limit(Region.name)),
        metadata={"description": "instead of lat/lon: a county-level or city code, or its name (海淀区, 东莞)"},
    )


# --- nearest search ----------------------------------------------------------------------------


class NearestQuery(IncidentLocationFields):
    item = fields.String(
        validate=validate.Length(min=1, max=text_limit(Item.name)), metadata={"description": "item code, name or alias"}
    )
    category = choice(Category, metadata={"description": "instead of an item: every item of this category"})
    quantity = QuantityField(
        metadata={"description": "with an item: mark the warehouses that alone hold this much (it filters nothing)"}
    )
    radius_km = radius_field()
    reserve_types = CommaSeparatedList(
        choice(ReserveType),
        max_length=len(ReserveType),
        metadata={"description": "only these reserve types: repeat it or give a comma list"},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"how many warehouses (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"},
    )
    include_expired = fields.Boolean(
        load_default=False, metadata={"description": "also count batches past their expiry date"}
    )


class IncidentOut(Schema):
    latitude = fields.Float(attribute="point.latitude")
    longitude = fields.Float(attribute="point.longitude")
    county_code = fields.String(allow_none=True, metadata={"description": "when located by county"})
    county_name = fields.String(allow_none=True)


class ItemRefOut(Schema):
    code = fields.String()
    name = fields.String()
    unit = fields.String()
    category = fields.String()


class NearbyWarehouseOut(Schema):
    code = fields.String()
    name = fields.String()
    reserve_type = fields.String()
    county_code = fields.String()
    county_name = fields.String()
    city_code = fields.String()
    province_code = fields.String()
    contact_person = fields.String()
    contact_phone = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()


class BatchLineFields(Schema):
    stock_line_id = fields.Integer()
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    batch = fields.String()
    expiry_date = fields.Date(allow_none=True)
    expired = fields.Boolean(metadata={"description": "past its expiry date (listed only with include_expired)"})
    available = QuantityField(metadata={"description": "on hand minus reserved"})


class NearbyStockOut(Schema):
    distance_km = RoundedFloat(3, metadata={"description": "geodesic (WGS-84) distance from the incident"})
    warehouse = fields.Nested(NearbyWarehouseOut)
    total_available = QuantityField(allow_none=True, metadata={"description": "the item's available stock here"})
    cumulative_available = QuantityField(
        allow_none=True, metadata={"description": "available here and in every nearer warehouse listed"}
    )
    covers_quantity = fields.Boolean(
        allow_none=True, metadata={"description": "this warehouse alone holds the quantity asked (null: none asked)"}
    )
    lines = fields.List(fields.Nested(BatchLineFields), metadata={"description": "batches, first expiry first"})


class NearestOut(Schema):
    incident = fields.Nested(IncidentOut)
    item = fields.Nested(ItemRefOut, allow_none=True)
    category = fields.String(allow_none=True)
    quantity = QuantityField(allow_none=True)
    radius_km = fields.Float()
    reserve_types = fields.List(fields.String(), metadata={"description": "the filter applied; empty: all types"})
    include_expired = fields.Boolean()
    distance = fields.String(metadata={"description": "how distances are measured: geodesic"})
    results = fields.List(fields.Nested(NearbyStockOut))


# --- plans -------------------------------------------------------------------------------------


class NeedIn(StrictSchema):
    item = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(Item.name)))
    quantity = QuantityField(required=True)


class PlanIn(IncidentLocationFields):
    needs = BoundedList(fields.Nested(NeedIn), required=True, min_length=1, max_length=MAX_NEEDS)
    radius_km = radius_field()
    reserve_type_preference = BoundedList(
        choice(ReserveType),
        load_default=list,
        max_length=len(ReserveType),
        metadata={"description": "reserve types to use first, in order; the others follow together"},
    )
    reserve_types = BoundedList(
        choice(ReserveType),
        load_default=list,
        max_length=len(ReserveType),
        metadata={"description": "only warehouses of these reserve types (empty: all), as in the nearest search"},
    )


class NeedOutcomeOut(Schema):
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    requested = QuantityField()
    allocated = QuantityField()
    shortfall = QuantityField(allow_zero=True, metadata={"description": "what stock within the radius cannot cover"})
    other_units = fields.Method(
        "variant_items",
        metadata={
            "description": "unit variants of the item (stock counted in a unit that does not convert): "
            "not allocated, listed so their stock can be asked for in their own unit"
        },
    )

    def variant_items(self, need) -> list[dict]:
        return [{"item_code": ref.code, "item_name": ref.name, "unit": ref.unit} for ref in need.variants]


class AllocationOut(BatchLineFields):
    quantity = QuantityField(metadata={"description": "to take from this batch"})


class WarehouseAllocationOut(Schema):
    distance_km = RoundedFloat(3)
    tier = fields.Integer(
        metadata={"description": "index of its reserve type in the preference; the rest share the last"}
    )
    warehouse = fields.Nested(NearbyWarehouseOut)
    lines = fields.List(fields.Nested(AllocationOut))


class PlanOut(Schema):
    incident = fields.Nested(IncidentOut)
    radius_km = fields.Float()
    reserve_type_preference = fields.List(fields.String())
    reserve_types = fields.List(fields.String(), metadata={"description": "the filter applied; empty: all types"})
    distance = fields.String()
    covered = fields.Boolean(metadata={"description": "every need is covered in full"})
    needs = fields.List(fields.Nested(NeedOutcomeOut))
    warehouses = fields.List(fields.Nested(WarehouseAllocationOut), metadata={"description": "in order of use"})


# --- the nearest answer and the plan, built directly ------------------------------------------------
# The busiest reads: a marshmallow dump of their nested schemas cost more CPU than the search itself.
# These build the same dicts NearestOut().dump() and PlanOut().dump() give (tests hold them equal on
# real answers), so the schemas stay the contract and the OpenAPI document is unchanged.


def _quantity(value) -> float | None:
    return None if value is None else float(value)


def _warehouse_dict(w) -> dict:
    return {
        "code": w.code,
        "name": w.name,
        "reserve_type": str(w.reserve_type),
        "county_code": w.county_code,
        "county_name": w.county_name,
        "city_code": w.city_code,
        "province_code": w.province_code,
        "contact_person": w.contact_person,
        "contact_phone": w.contact_phone,
        "latitude": float(w.latitude),
        "longitude": float(w.longitude),
    }


def _line_fields(line) -> dict:
    """What a batch line of a search and a plan's allocation both show, in the schemas' field order."""
    return {
        "stock_line_id": line.stock_line_id,
        "item_code": line.item.code,
        "item_name": line.item.name,
        "unit": line.item.unit,
        "batch": line.batch,
        "expiry_date": None if line.expiry_date is None else line.expiry_date.isoformat(),
    }


def _batch_line_dict(line) -> dict:
    return {**_line_fields(line), "expired": bool(line.expired), "available": _quantity(line.available)}


def nearest_answer_dict(answer) -> dict:
    """``NearestOut().dump(answer)``, without marshmallow."""
    item = answer.item
    return {
        "incident": _incident_dict(answer.incident),
        "item": None
        if item is None
        else {"code": item.code, "name": item.name, "unit": item.unit, "category": str(item.category)},
        "category": None if answer.category is None else str(answer.category),
        "quantity": _quantity(answer.quantity),
        "radius_km": float(answer.radius_km),
        "reserve_types": [str(value) for value in answer.reserve_types],
        "include_expired": bool(answer.include_expired),
        "distance": answer.distance,
        "results": [
            {
                "distance_km": round(float(result.distance_km), 3),
                "warehouse": _warehouse_dict(result.warehouse),
                "total_available": _quantity(result.total_available),
                "cumulative_available": _quantity(result.cumulative_available),
                "covers_quantity": None if result.covers_quantity is None else bool(result.covers_quantity),
                "lines": [_batch_line_dict(line) for line in result.lines],
            }
            for result in answer.results
        ],
    }


def _incident_dict(incident) -> dict:
    return {
        "latitude": float(incident.point.latitude),
        "longitude": float(incident.point.longitude),
        "county_code": incident.county_code,
        "county_name": incident.county_name,
    }


def _allocation_dict(line) -> dict:
    """``AllocationOut``: a plan's line has no ``expired`` (only unexpired stock is allocated), so it is left out."""
    return {**_line_fields(line), "available": _quantity(line.available), "quantity": _quantity(line.quantity)}


def plan_answer_dict(plan) -> dict:
    """``PlanOut().dump(plan)``, without marshmallow (a test holds them equal on real plans)."""
    return {
        "incident": _incident_dict(plan.incident),
        "radius_km": float(plan.radius_km),
        "reserve_type_preference": [str(value) for value in plan.reserve_type_preference],
        "reserve_types": [str(value) for value in plan.reserve_types],
        "distance": plan.distance,
        "covered": bool(plan.covered),
        "needs": [
            {
                "item_code": need.item.code,
                "item_name": need.item.name,
                "unit": need.item.unit,
                "requested": _quantity(need.requested),
                "allocated": _quantity(need.allocated),
                "shortfall": _quantity(need.shortfall),
                "other_units": [
                    {"item_code": ref.code, "item_name": ref.name, "unit": ref.unit} for ref in need.variants
                ],
            }
            for need in plan.needs
        ],
        "warehouses": [
            {
                "distance_km": round(float(allocation.distance_km), 3),
                "tier": allocation.tier,
                "warehouse": _warehouse_dict(allocation.warehouse),
                "lines": [_allocation_dict(line) for line in allocation.lines],
            }
            for allocation in plan.warehouses
        ],
    }
