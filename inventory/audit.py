"""The audit log: every write, with who, when, from where, and the state before and after."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum

from sqlalchemy import Select, insert, inspect, select
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal, province_scope
from inventory.db import insert_many
from inventory.driver_statements import DriverStatement
from inventory.models import AuditEntry


def snapshot(obj: object, *, exclude: tuple[str, ...] = ("password_hash", "token_hash")) -> dict:
    """The column values of a model instance as JSON-ready data (secrets left out)."""
    state = inspect(obj)
    keys = _SNAPSHOT_KEYS.get((state.mapper, exclude))
    if keys is None:
        keys = _SNAPSHOT_KEYS[state.mapper, exclude] = tuple(
            column.key for column in state.mapper.column_attrs if column.key not in exclude
        )
    # A loaded column's value is in the instance's dict, where the attribute would read it (an import audits
    # thousands of new warehouses); one not loaded (expired, deferred) is read through the attribute.
    loaded = state.dict
    return {key: _plain(loaded[key] if key in loaded else getattr(obj, key)) for key in keys}


_SNAPSHOT_KEYS: dict[tuple[object, tuple[str, ...]], tuple[str, ...]] = {}  # (mapper, exclude) → column keys
_AS_IS = frozenset({str, int, float, bool, type(None)})  # exactly these types: an Enum subclassing str is not


def _plain(value: object) -> object:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_key: object,
    province_code: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    entry = AuditEntry(**audit_row(actor, action, object_type, object_key, province_code, before, after))
    session.add(entry)
    return entry


_AUDIT_COLUMNS = tuple(column.key for column in AuditEntry.__table__.columns if column.key != "id")  # all given
# Built once and sent as the driver's SQL: the stock movements' path, hundreds a second. RETURNING only because
# the driver's rows are read back (psycopg has none to give for a bare INSERT).
_AUDIT_INSERT = DriverStatement(insert(AuditEntry.__table__).returning(AuditEntry.__table__.c.id), _AUDIT_COLUMNS)


def insert_audit(session: Session, actor: Actor, action: str, **details: object) -> None:
    """``record_audit`` (the same keyword arguments) written at once as one INSERT, no ORM object: for
    callers that keep no entry."""
    values = audit_row(actor, action, **details)
    _AUDIT_INSERT.rows(session, {"occurred_at": dt.datetime.now(dt.UTC), **values})


def record_audits(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    entries: Iterable[tuple[object, str | None, dict | None]],
) -> int:
    """Many entries of one action at once, one bulk INSERT (``record_audit``'s values, no ORM object each):
    ``entries`` gives (object key, province code, state after) per object. Pending objects are flushed
    first, so the entries follow what was recorded before them."""
    session.flush()
    done = {"occurred_at": dt.datetime.now(dt.UTC), **_who_did_what(actor, action, object_type)}  # the same for all
    return insert_many(
        session,
        AuditEntry.__table__,
        ({**done, **_to_what(key, province, None, after)} for key, province, after in entries),
    )


def audit_row(
    actor: Actor,
    action: str,
    object_type: str,
    object_key: object,
    province_code: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> dict[str, object]:
    """An audit entry's columns but ``occurred_at``: for a statement that writes the entry itself."""
    return {
        **_who_did_what(actor, action, object_type),
        **_to_what(object_key, province_code, before, after),
    }


def _who_did_what(actor: Actor, action: str, object_type: str) -> dict[str, object]:
    principal = as_principal(actor)
    return {
        "actor": principal.username,
        "address": principal.address[:45],
        "action": action,
        "object_type": object_type,
    }


def _to_what(
    object_key: object, province_code: str | None, before: dict | None, after: dict | None
) -> dict[str, object]:
    return {
        "object_key": str(object_key)[:64],
        "province_code": province_code,
        "before": audit_json(before) if before is not None else None,
        "after": audit_json(after) if after is not None else None,
    }


def audit_json(state: dict) -> str:
    """A state before or after as the audit log stores it."""
    return _AUDIT_ENCODER.encode(state)


# What ``json.dumps(state, ensure_ascii=False, default=str)`` builds on every call, built once.
_AUDIT_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def list_audit(
    session: Session,
    actor: Actor,
    *,
    username: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_key: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select:
    """Audit entries newest first, clipped to the caller's province for provincial staff."""
    province = province_scope(actor)
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if province is not None:
        stmt = stmt.where(AuditEntry.province_code == province)
    if username:
        stmt = stmt.where(AuditEntry.actor == username)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_key:
        stmt = stmt.where(AuditEntry.object_key == object_key)
    if since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.occurred_at <= until)
    return stmt
