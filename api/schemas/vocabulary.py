"""Schemas of the catalogue vocabularies: reserve-type words, pack factors, item suggestions, the review list."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.fields import MessageField, QuantityField, StrictSchema, choice
from inventory.models import ItemUnit, ReserveTypeWord
from inventory.reference import ReserveType
from inventory.validation import text_limit


class ReserveTypeWordIn(StrictSchema):
    word = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(ReserveTypeWord.word)))
    reserve_type = choice(ReserveType, required=True)


class ReserveTypeWordOut(Schema):
    word = fields.String()
    reserve_type = fields.String()
    added_by = fields.String(allow_none=True, metadata={"description": "null: shipped with the system"})


class PackFactorIn(StrictSchema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(ItemUnit.unit)))
    factor = QuantityField(required=True, metadata={"description": "how many of the item's unit one `unit` is"})


class PackFactorOut(Schema):
    item_code = fields.String()
    unit = fields.String()
    factor = QuantityField()
    variant_code = fields.String(allow_none=True, metadata={"description": "the unit variant merged, if any"})
    lines_moved = fields.Integer()


class ReviewOut(Schema):
    item_code = fields.String()
    item_name = fields.String()
    reason = fields.String(metadata={"description": "new_item or unit_variant"})
    detail = MessageField(metadata={"description": "in the request's language"})
    reference = MessageField(
        metadata={"description": "IMPORT-<id> and the first row that gave it, in the request's language"}
    )
    created_at = fields.AwareDateTime()
    import_id = fields.Integer(allow_none=True, metadata={"description": "the import whose review lists it"})
    entry_id = fields.Integer(metadata={"description": "its entry there: confirm or correct it by that entry"})
