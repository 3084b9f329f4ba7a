"""Schemas of the catalogue vocabularies: reserve-type words, pack factors, item suggestions, the review list."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.fields import QuantityField, StrictSchema, choice
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


class SuggestionQuery(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))


class SuggestionOut(Schema):
    code = fields.Function(lambda match: match.item.code)
    name = fields.Function(lambda match: match.item.name)
    unit = fields.Function(lambda match: match.item.unit)
    how = fields.String(metadata={"description": "exact, alias (a variant spelling), similar or pinyin"})
    score = fields.Float()
    via = fields.String(metadata={"description": "the catalogue name the text was matched through"})


class ReviewOut(Schema):
    item_code = fields.String()
    item_name = fields.String()
    reason = fields.String(metadata={"description": "new_item or unit_variant"})
    detail = fields.String()
    reference = fields.String()
    created_at = fields.AwareDateTime()
