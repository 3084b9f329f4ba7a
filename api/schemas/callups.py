"""Schemas of the call-up endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.fields import QuantityField, StrictSchema, SystemTextField, choice
from api.schemas.logistics import ShipmentDetailsFields
from api.schemas.nearest import PlanIn, RoundedFloat
from inventory.models import CallUp, CallUpEvent, CallUpLine
from inventory.reference import CallUpStatus
from inventory.validation import text_limit


class CallUpIn(PlanIn):
    incident_name = fields.String(
        validate=validate.Length(min=1, max=text_limit(CallUp.incident_name)),
        metadata={"description": "required unless incident_code is given (then its name by default)"},
    )
    incident_code = fields.String(metadata={"description": "the incident record to raise it against"})
    note = fields.String(validate=validate.Length(max=text_limit(CallUp.note)))


class CallUpQuery(Schema):
    status = choice(CallUpStatus)
    requester = fields.String()
    warehouse = fields.String(metadata={"description": "warehouse code: call-ups drawing on it"})


class DecisionIn(StrictSchema, ShipmentDetailsFields):
    note = fields.String(validate=validate.Length(max=text_limit(CallUpLine.reason)))
    allow_expired = fields.Boolean(
        load_default=False,
        metadata={"description": "dispatch a batch that expired while reserved; the note must say why"},
    )


class DeclineIn(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(CallUpLine.reason)))


class CancelIn(StrictSchema):
    reason = fields.String(validate=validate.Length(max=text_limit(CallUpEvent.note)))


class CallUpNeedOut(Schema):
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    unit = fields.String(attribute="item.unit")
    requested = QuantityField()


class CallUpLineOut(Schema):
    id = fields.Integer()
    status = fields.String()
    warehouse_code = fields.String(attribute="warehouse.code")
    warehouse_name = fields.String(attribute="warehouse.name")
    contact_person = fields.String(attribute="warehouse.contact_person")
    contact_phone = fields.String(attribute="warehouse.contact_phone")
    distance_km = RoundedFloat(3, metadata={"description": "geodesic (WGS-84) km from the incident, to the metre"})
    stock_line_id = fields.Integer()
    item_code = fields.String(attribute="item.code")
    item_name = fields.String(attribute="item.name")
    batch = fields.String(attribute="stock_line.batch")
    expiry_date = fields.Date(attribute="stock_line.expiry_date", allow_none=True)
    quantity = QuantityField()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    reason = SystemTextField()


class CallUpEventOut(Schema):
    event = fields.String()
    line_id = fields.Integer(allow_none=True)
    actor = fields.String()
    note = SystemTextField()
    occurred_at = fields.AwareDateTime()


class CallUpOut(Schema):
    code = fields.String()
    incident_name = fields.String()
    incident_code = fields.Function(
        lambda callup: callup.incident.code if callup.incident is not None else None, allow_none=True
    )
    latitude = fields.Float()
    longitude = fields.Float()
    county_code = fields.String(allow_none=True)
    radius_km = fields.Float()
    requester = fields.String()
    status = fields.String()
    note = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    needs = fields.List(fields.Nested(CallUpNeedOut))
    lines = fields.List(fields.Nested(CallUpLineOut))
    events = fields.List(fields.Nested(CallUpEventOut), metadata={"description": "status history, oldest first"})
