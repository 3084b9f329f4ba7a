"""Schemas of the accounts, tokens, login and audit endpoints."""

from __future__ import annotations

import json

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.extensions import db
from api.schemas.fields import BoundedList, MomentField, StrictSchema, choice
from inventory.accounts import MAX_TOKEN_DAYS, MAX_WAREHOUSES_PER_USER, MIN_PASSWORD_LENGTH
from inventory.models import ApiToken, User, Warehouse
from inventory.reference import Role
from inventory.validation import text_limit
from inventory.warehouses import warehouse_codes

province_code = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{2}0000$", error="a province code"))


class LoginIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=text_limit(User.username)))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class UserFields(StrictSchema):
    display_name = fields.String(validate=validate.Length(max=text_limit(User.display_name)))
    role = choice(Role)
    province_code = province_code
    password = fields.String(load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=200))
    active = fields.Boolean()
    warehouse_codes = BoundedList(
        fields.String(validate=validate.Length(max=text_limit(Warehouse.code))), max_length=MAX_WAREHOUSES_PER_USER
    )


class UserCreate(UserFields):
    username = fields.String(required=True, validate=validate.Length(min=2, max=text_limit(User.username)))
    role = choice(Role, required=True)


class UserUpdate(UserFields):
    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("give at least one field to change", field_name="_schema")


class UserQuery(Schema):
    role = choice(Role)


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    province_code = fields.String(allow_none=True)
    active = fields.Boolean()
    has_password = fields.Function(lambda user: user.password_hash is not None)
    warehouse_codes = fields.Function(lambda user: [w.code for w in user.warehouses])
    created_at = fields.AwareDateTime()


class PrincipalOut(Schema):
    username = fields.String()
    role = fields.String()
    province_code = fields.String(allow_none=True)
    warehouse_codes = fields.Function(
        lambda principal: warehouse_codes(db.session, principal.warehouse_ids),
        metadata={"description": "a manager's warehouses, by code"},
    )
    warehouse_ids = fields.Function(
        lambda principal: sorted(principal.warehouse_ids),
        metadata={"description": "the same warehouses by internal id (the page matches rows by id)"},
    )


class LoginOut(Schema):
    user = fields.Nested(PrincipalOut)
    csrf_token = fields.String(metadata={"description": "send as X-CSRF-Token on every write"})


class TokenCreate(StrictSchema):
    name = fields.String(validate=validate.Length(max=text_limit(ApiToken.name)))
    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=MAX_TOKEN_DAYS))


class TokenOut(Schema):
    id = fields.Integer()
    username = fields.String(attribute="user.username")
    name = fields.String()
    prefix = fields.String(metadata={"description": "first characters, to recognise the token"})
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    created_by = fields.String()


class NewTokenOut(TokenOut):
    token = fields.String(metadata={"description": "shown once; only its hash is stored"})


class AuditQuery(Schema):
    username = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_key = fields.String()
    since = MomentField()
    until = MomentField()


class AuditOut(Schema):
    id = fields.Integer()
    occurred_at = fields.AwareDateTime()
    actor = fields.String()
    address = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_key = fields.String()
    province_code = fields.String(allow_none=True)
    before = fields.Function(lambda entry: json.loads(entry.before) if entry.before else None)
    after = fields.Function(lambda entry: json.loads(entry.after) if entry.after else None)
