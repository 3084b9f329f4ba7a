"""Entity tags for the editable resources (warehouses, items, users, quotas): no lost updates.

The one home of the validator: a strong ETag is the SHA-256 of the resource's JSON representation,
exactly as its GET returns it (the output schema's dump, keys sorted). It changes whenever anything a
client can see changes (aliases, managed warehouses, ``updated_at``) and needs no extra column.

GET and PATCH send ``ETag``. A PATCH with ``If-Match`` is applied only if the tag still matches the
row, locked first (FOR UPDATE on PostgreSQL; SQLite's write transaction is exclusive already), so two
editors cannot both pass the check; a stale tag is 412 Precondition Failed naming ``If-Match`` and
changes nothing. A PATCH without ``If-Match`` is still applied (compatibility with existing clients).
"""

from __future__ import annotations

import hashlib
import json

from flask import request
from flask_smorest import abort
from marshmallow import Schema
from sqlalchemy import inspect, select

from api.extensions import db


def etag_of(obj: object, schema: Schema) -> str:
    representation = json.dumps(schema.dump(obj), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(representation.encode()).hexdigest()[:32]


def require_if_match(obj: object, schema: Schema) -> None:
    """Refuse with 412 when ``If-Match`` is given and names neither ``*`` nor the row's current tag."""
    if "If-Match" not in request.headers:
        return
    _lock_row(obj)
    db.session.refresh(obj)
    if_match = request.if_match
    if if_match.star_tag or if_match.contains(etag_of(obj, schema)):
        return
    abort(
        412,
        message="the resource changed since you read it (If-Match does not match its ETag); reload and retry",
        messages={"headers": {"If-Match": ["stale: does not match the current ETag"]}},
    )


def _lock_row(obj: object) -> None:
    """SELECT … FOR UPDATE of the row alone (eager joins of the mapper cannot take FOR UPDATE on PostgreSQL)."""
    state = inspect(obj)
    key = state.mapper.primary_key
    match = [column == value for column, value in zip(key, state.identity, strict=True)]
    db.session.execute(select(*key).where(*match).with_for_update())


def with_etag(obj: object, schema: Schema) -> tuple[object, int, dict[str, str]]:
    """``obj`` with its ``ETag`` header, from its state as stored (flushed and read back)."""
    db.session.flush()
    db.session.refresh(obj)
    return obj, 200, {"ETag": f'"{etag_of(obj, schema)}"'}
