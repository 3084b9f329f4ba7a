"""Schemas of incidents, shipments and receipt, consumption, returns and settlement."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.fields import BoundedList, MomentField, QuantityField, StrictSchema, SystemTextField, choice, row_id
from inventory.models import Consumption, EmergencyIncident, Region, Shipment, ShipmentLine, UnitPrice
from inventory.reference import LANGUAGES, IncidentStatus, IncidentType, ShipmentKind, ShipmentStatus
from inventory.shipments import MAX_SHIPMENT_LINES, is_overdue
from inventory.validation import text_limit


def _text(column, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=text_limit(column)), **kwargs)


class ShipmentDetailsFields(Schema):
    """How it travels (all optional): carrier or vehicle, driver and phone, departure (default now), ETA."""

    carrier = _text(Shipment.carrier)
    vehicle = _text(Shipment.vehicle)
    driver = _text(Shipment.driver)
    driver_phone = _text(Shipment.driver_phone)
    departed_at = MomentField(metadata={"description": "departure (default: now)"})
    eta = MomentField(metadata={"description": "estimated arrival; a shipment still on the road after it is overdue"})


class IncidentIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(EmergencyIncident.name)))
    incident_type = choice(IncidentType, required=True)
    place = _text(EmergencyIncident.place)
    county_code = fields.String(validate=validate.Length(equal=6), metadata={"description": "county-level code"})
    county = fields.String(
        validate=validate.Length(min=1, max=text_limit(Region.name)),
        metadata={"description": "instead of county_code: its code or name, as `/nearest?county=` takes it (海淀)"},
    )
    started_at = MomentField()
    lead_organisation = _text(EmergencyIncident.lead_organisation)


class IncidentQuery(Schema):
    status = choice(IncidentStatus)


class ShipmentQuery(Schema):
    status = choice(ShipmentStatus)
    kind = choice(ShipmentKind)
    warehouse = fields.String(metadata={"description": "warehouse code: shipments leaving or reaching it"})
    incident = fields.String(metadata={"description": "incident code"})
    overdue = fields.Boolean(load_default=False, metadata={"description": "only those in transit past their ETA"})


class DispatchShipmentIn(StrictSchema, ShipmentDetailsFields):
    line_ids = BoundedList(row_id(), required=True, min_length=1, max_length=MAX_SHIPMENT_LINES)
    note = _text(ShipmentLine.discrepancy_reason)
    allow_expired = fields.Boolean(load_default=False)


class TransferLineIn(StrictSchema):
    stock_line_id = row_id(required=True)
    quantity = QuantityField(required=True)


class TransferShipmentIn(StrictSchema, ShipmentDetailsFields):
    to_warehouse_code = fields.String(required=True)
    lines = BoundedList(fields.Nested(TransferLineIn), required=True, min_length=1, max_length=MAX_SHIPMENT_LINES)
    note = _text(Shipment.note)


class LineReceiptIn(StrictSchema):
    id = row_id(required=True, metadata={"description": "shipment line id"})
    received = QuantityField(required=True, allow_zero=True)
    damaged = QuantityField(allow_zero=True)
    short = QuantityField(allow_zero=True, metadata={"description": "default: sent - received - damaged"})
    reason = _text(ShipmentLine.discrepancy_reason, metadata={"description": "required when short or damaged"})


class ShipmentReceiptIn(StrictSchema):
    lines = BoundedList(fields.Nested(LineReceiptIn), load_default=list, max_length=MAX_SHIPMENT_LINES)


class ConsumptionIn(StrictSchema):
    callup_line_id = row_id(required=True)
    quantity = QuantityField(required=True)
    note = _text(Consumption.note)


class ReturnLineIn(StrictSchema):
    callup_line_id = row_id(required=True)
    quantity = QuantityField(required=True)


class ReturnIn(StrictSchema, ShipmentDetailsFields):
    lines = BoundedList(fields.Nested(ReturnLineIn), required=True, min_length=1, max_length=MAX_SHIPMENT_LINES)
    to_warehouse_code = fields.String(metadata={"description": "default: the lines' source warehouse"})
    note = _text(Shipment.note)


class UnitPriceIn(StrictSchema):
    warehouse_code = fields.String(required=True)
    item = fields.String(required=True, metadata={"description": "item code, name or alias"})
    price = QuantityField(required=True, allow_zero=True, metadata={"description": "yuan per catalogue unit"})
    agreement = _text(UnitPrice.agreement)


class UnitPriceQuery(Schema):
    warehouse = fields.String()


class SettlementQuery(Schema):
    warehouse = fields.String(metadata={"description": "one source warehouse"})


class SettlementWorkbookQuery(SettlementQuery):
    lang = fields.String(load_default="zh", validate=validate.OneOf(LANGUAGES))


class ShipmentLineOut(Schema):
    id = fields.Integer()
    callup_line_id = fields.Integer(allow_none=True)
    stock_line_id = fields.Integer()
    target_stock_line_id = fields.Integer(allow_none=True)
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    batch = fields.String(attribute="stock_line.batch")
    expiry_date = fields.Date(attribute="stock_line.expiry_date", allow_none=True)
    quantity = QuantityField()
    received = QuantityField(allow_zero=True)
    short = QuantityField(allow_zero=True)
    damaged = QuantityField(allow_zero=True)
    lost = QuantityField(allow_zero=True, metadata={"description": "short + damaged"})
    discrepancy_reason = fields.String()


class ShipmentOut(Schema):
    code = fields.String()
    kind = fields.String()
    status = fields.String()
    overdue = fields.Function(is_overdue, metadata={"type": "boolean", "description": "in transit past its ETA"})
    incident_code = fields.String(attribute="incident.code", allow_none=True)
    source_warehouse_code = fields.String(attribute="source_warehouse.code", allow_none=True)
    source_warehouse_name = fields.String(attribute="source_warehouse.name", allow_none=True)
    target_warehouse_code = fields.String(attribute="target_warehouse.code", allow_none=True)
    target_warehouse_name = fields.String(attribute="target_warehouse.name", allow_none=True)
    carrier = fields.String()
    vehicle = fields.String()
    driver = fields.String()
    driver_phone = fields.String()
    departed_at = fields.AwareDateTime()
    eta = fields.AwareDateTime(allow_none=True)
    note = fields.String()
    sent_by = fields.String()
    received_by = fields.String(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(ShipmentLineOut))


class LineAccountOut(Schema):
    callup_code = fields.String()
    line_id = fields.Integer()
    warehouse_code = fields.String()
    warehouse_name = fields.String()
    reserve_type = fields.String()
    item_code = fields.String()
    item_name = fields.String()
    batch = fields.String()
    dispatched = QuantityField(allow_zero=True)
    in_transit = QuantityField(allow_zero=True)
    received = QuantityField(allow_zero=True)
    lost = QuantityField(allow_zero=True, metadata={"description": "short or damaged on the way out"})
    consumed = QuantityField(allow_zero=True)
    returned = QuantityField(allow_zero=True, metadata={"description": "sent back from the site"})
    return_lost = QuantityField(allow_zero=True)
    on_site = QuantityField(allow_zero=True)


class TimelineEntryOut(Schema):
    at = fields.AwareDateTime()
    event = fields.String()
    actor = fields.String()
    callup_code = fields.String(allow_none=True)
    shipment_code = fields.String(allow_none=True)
    line_id = fields.Integer(allow_none=True)
    quantity = QuantityField(allow_zero=True, allow_none=True)
    note = SystemTextField()


class IncidentSummaryOut(Schema):
    code = fields.String()
    name = fields.String()
    incident_type = fields.String()
    place = fields.String()
    county_code = fields.String(allow_none=True)
    started_at = fields.AwareDateTime()
    status = fields.String()
    lead_organisation = fields.String()
    created_by = fields.String()
    closed_by = fields.String(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    callup_codes = fields.Method("_callup_codes")

    def _callup_codes(self, incident) -> list[str]:
        return [callup.code for callup in incident.callups]


class IncidentRecordOut(IncidentSummaryOut):
    lines = fields.List(fields.Nested(LineAccountOut), metadata={"description": "per dispatched call-up line"})
    timeline = fields.List(fields.Nested(TimelineEntryOut), metadata={"description": "oldest first"})


class ConsumptionOut(Schema):
    id = fields.Integer()
    callup_line_id = fields.Integer()
    quantity = QuantityField()
    recorded_by = fields.String()
    recorded_at = fields.AwareDateTime()
    note = fields.String()


class UnitPriceOut(Schema):
    warehouse_code = fields.String(attribute="warehouse.code")
    warehouse_name = fields.String(attribute="warehouse.name")
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    price = QuantityField(allow_zero=True)
    agreement = fields.String()
    set_by = fields.String()
    updated_at = fields.AwareDateTime()


class SettlementRowOut(Schema):
    warehouse_code = fields.String(attribute="warehouse.code")
    warehouse_name = fields.String(attribute="warehouse.name")
    reserve_type = fields.String(attribute="warehouse.reserve_type")
    organisation = fields.String(attribute="warehouse.organisation")
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    dispatched = QuantityField(allow_zero=True)
    received = QuantityField(allow_zero=True)
    lost = QuantityField(allow_zero=True)
    consumed = QuantityField(allow_zero=True)
    returned = QuantityField(allow_zero=True)
    charged = QuantityField(allow_zero=True, metadata={"description": "consumed + lost"})
    unit_price = QuantityField(allow_zero=True, allow_none=True)
    amount = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "yuan, two decimals"})


class SettlementOut(Schema):
    incident_code = fields.String(attribute="incident.code")
    incident_name = fields.String(attribute="incident.name")
    rows = fields.List(fields.Nested(SettlementRowOut), metadata={"description": "sources paid at agreed prices"})
    replenishment = fields.List(
        fields.Nested(SettlementRowOut), metadata={"description": "government reserves to restock (补充储备)"}
    )
    total_amount = fields.Decimal(as_string=True)
    unpriced = fields.Integer(metadata={"description": "rows charged something without an agreed price"})
