"""The daily digest (``flask --app wsgi send-digests``, from cron): one outbox event per opted-in account and day.

What it says comes from the readiness reports, read with the account's own scope, never recomputed here:
stock expiring within 30 days (``reports.expiry``), quotas below their minimum (``reports.shortfall``, which
reads ``quotas.list_quotas``) and the call-ups still open that concern the account. Running it twice on one
day sends nothing twice: the event's ``dedupe_key`` names the account and the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.access import Principal
from inventory.accounts import principal_for
from inventory.callups import list_callups
from inventory.clock import business_today
from inventory.errors import plain_number
from inventory.models import CallUp, CallUpLine, NotificationSubscription, OutboxEvent, User, Warehouse
from inventory.outbox import record_event
from inventory.reference import CallUpLineStatus, CallUpStatus, Category, NotificationKind, Role
from inventory.reports.expiry import DEFAULT_EXPIRY_WINDOW_DAYS, expiring_stock
from inventory.reports.shortfall import quota_shortfalls

ROWS_PER_SECTION = 20  # a mail lists this many per section and says how many more the page shows
# Responders and viewers read the whole country: a national list of expiring stock is no digest.
SCOPED_ROLES = frozenset({Role.ADMIN, Role.PROVINCIAL, Role.MANAGER})


@dataclass
class DigestRun:
    recorded: int = 0
    empty: int = 0
    already_sent: int = 0


def send_digests(session: Session, *, today: dt.date | None = None) -> DigestRun:
    """Record today's digest for every active account opted in to it (the caller commits)."""
    today = today or business_today()
    run = DigestRun()
    users = session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            exists().where(
                NotificationSubscription.user_id == User.id,
                NotificationSubscription.kind == NotificationKind.DAILY_DIGEST,
            ),
        )
        .order_by(User.id)
    ).all()
    for user in users:
        key = f"digest:{user.id}:{today.isoformat()}"
        if session.scalar(select(OutboxEvent.id).where(OutboxEvent.dedupe_key == key)) is not None:
            run.already_sent += 1
            continue
        payload = digest_payload(session, principal_for(user), today)
        if not any(payload[name]["count"] for name in ("expiring", "shortfalls", "open_callups")):
            run.empty += 1
            continue
        try:
            with session.begin_nested():  # a parallel run recorded it first: the unique key refuses ours
                record_event(session, NotificationKind.DAILY_DIGEST, payload, [user], dedupe_key=key)
            run.recorded += 1
        except IntegrityError:
            run.already_sent += 1
    return run


def digest_payload(session: Session, principal: Principal, today: dt.date) -> dict:
    """The three sections for one account: a count and the first rows of each."""
    payload: dict = {"date": today.isoformat(), "username": principal.username}
    if principal.role in SCOPED_ROLES:
        payload["expiring"] = _expiring(session, principal, today)
        payload["shortfalls"] = _shortfalls(session, principal, today)
    else:
        payload["expiring"] = payload["shortfalls"] = {"count": 0, "rows": []}
    payload["open_callups"] = _open_callups(session, principal)
    return payload


def _expiring(session: Session, principal: Principal, today: dt.date) -> dict:
    report = expiring_stock(session, principal, within_days=DEFAULT_EXPIRY_WINDOW_DAYS, today=today)
    count = session.scalar(select(func.count()).select_from(report.statement.order_by(None).subquery()))
    rows = [
        f"{line.expiry_date} · {line.warehouse_code} {line.warehouse_name} · {line.item_name} {line.batch} · "
        f"{plain_number(line.quantity)} {line.unit} · {line.days_left:+d} d"
        for line in map(report.record, session.execute(report.statement.limit(ROWS_PER_SECTION)))
    ]
    return {"count": count, "rows": rows}


def _shortfalls(session: Session, principal: Principal, today: dt.date) -> dict:
    short = quota_shortfalls(session, principal, below_only=True, today=today)
    rows = []
    for status in short[:ROWS_PER_SECTION]:
        quota = status.quota
        material = quota.item.name if quota.item is not None else Category(quota.category).label_zh
        rows.append(
            f"{quota.target_code} · {material} · {plain_number(status.held)} / {plain_number(quota.minimum)} · "
            f"-{plain_number(status.shortfall)}"
        )
    return {"count": len(short), "rows": rows}


def _open_callups(session: Session, principal: Principal) -> dict:
    """Responders: the open call-ups they raised; managers: those waiting at their warehouses; provincial
    staff: those drawing on their province; administrators: every open one."""
    statement = list_callups(session, status=CallUpStatus.OPEN)
    waiting = select(CallUpLine.callup_id).where(CallUpLine.status == CallUpLineStatus.RESERVED)
    if principal.role is Role.MANAGER:
        statement = statement.where(
            CallUp.id.in_(waiting.where(CallUpLine.warehouse_id.in_(sorted(principal.warehouse_ids))))
        )
    elif principal.role is Role.PROVINCIAL:
        in_province = waiting.join(Warehouse, Warehouse.id == CallUpLine.warehouse_id).where(
            Warehouse.province_code == principal.province_code
        )
        statement = statement.where(CallUp.id.in_(in_province))
    elif principal.role is not Role.ADMIN:
        statement = list_callups(session, status=CallUpStatus.OPEN, requester=principal.username)
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = [
        f"{callup.code} · {callup.incident_name} · {callup.requester} · "
        f"{sum(line.status is CallUpLineStatus.RESERVED for line in callup.lines)} reserved"
        for callup in session.scalars(statement.limit(ROWS_PER_SECTION))
    ]
    return {"count": count, "rows": rows}
