"""The outbox: events written in the same transaction as the change that causes them, sent later by a worker.

``record_event`` adds the event, one inbox entry per recipient and one pending delivery per channel each
recipient opted in to, and nothing else: no network, so a request never waits for (or fails with) a mail
server. Rolled back with the change, the event never existed; committed with it, it is never lost.

Workers (``flask --app wsgi deliver``, see ``inventory.delivery``) take due deliveries with ``claim_due``:
a conditional UPDATE that only one worker can win per row (on PostgreSQL the candidates are first read
``FOR UPDATE SKIP LOCKED``, so two workers do not even queue on the same rows), then send outside any
transaction and record the outcome with ``finish_delivery``, which only the claim's holder can do.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from inventory.models import (
    DeliveryAttempt,
    Notification,
    NotificationSubscription,
    OutboxDelivery,
    OutboxEvent,
    User,
    manager_warehouse,
)
from inventory.reference import DeliveryStatus, NotificationKind, Role

# A claim lasts this long: longer than any one send may take (SMTP and webhook timeouts are well below
# it). A worker that dies holding claims only delays those deliveries by this much.
CLAIM_SECONDS = 300
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
DETAIL_LIMIT = 500


def record_event(
    session: Session,
    kind: NotificationKind,
    payload: Mapping[str, object],
    recipients: Iterable[User | int],
    *,
    dedupe_key: str | None = None,
) -> OutboxEvent | None:
    """Write the event for ``recipients`` (accounts or their ids) in the caller's transaction.

    Inactive accounts and duplicates are dropped; with no recipient left nothing is written (None).
    """
    user_ids = _active_ids(session, recipients)
    if not user_ids:
        return None
    event = OutboxEvent(kind=kind, payload=json.dumps(payload, ensure_ascii=False, default=str), dedupe_key=dedupe_key)
    session.add(event)
    session.flush()
    session.add_all(Notification(event_id=event.id, user_id=user_id) for user_id in user_ids)
    opted_in = session.execute(
        select(NotificationSubscription.user_id, NotificationSubscription.channel)
        .where(NotificationSubscription.kind == kind, NotificationSubscription.user_id.in_(user_ids))
        .order_by(NotificationSubscription.user_id, NotificationSubscription.channel)
    )
    session.add_all(
        OutboxDelivery(event_id=event.id, user_id=user_id, channel=channel, status=DeliveryStatus.PENDING)
        for user_id, channel in opted_in
    )
    session.flush()
    return event


def _active_ids(session: Session, recipients: Iterable[User | int]) -> list[int]:
    ids = sorted({r.id if isinstance(r, User) else int(r) for r in recipients})
    if not ids:
        return []
    return list(session.scalars(select(User.id).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)))


def event_payload(event: OutboxEvent) -> dict:
    return json.loads(event.payload)


# --- who is told -------------------------------------------------------------------------------------


def warehouse_managers(session: Session, warehouse_id: int) -> list[User]:
    """The active managers assigned to a warehouse: they, and only they, hear of its call-up lines."""
    return list(
        session.scalars(
            select(User)
            .join(manager_warehouse, manager_warehouse.c.user_id == User.id)
            .where(manager_warehouse.c.warehouse_id == warehouse_id, User.role == Role.MANAGER, User.active.is_(True))
            .order_by(User.id)
        )
    )


def account_named(session: Session, username: str) -> list[User]:
    """The account behind a username (a call-up's requester) as a recipient list: empty for ``system`` or none."""
    user = session.scalar(select(User).where(User.username == username))
    return [user] if user is not None and user.active else []


# --- claiming and finishing deliveries ------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A worker's hold on some deliveries until ``until``."""

    token: str
    worker: str
    until: dt.datetime
    delivery_ids: tuple[int, ...]


def claim_due(session: Session, *, now: dt.datetime, worker: str, limit: int = 50) -> Claim:
    """Claim up to ``limit`` due deliveries for this worker (the caller commits).

    Each row is taken with a conditional UPDATE (still pending, due and unclaimed or its claim expired),
    so of two workers exactly one wins a row on either database; PostgreSQL's SKIP LOCKED lets the
    second pick other rows instead of waiting for the first one's transaction.
    """
    token = str(uuid.uuid4())
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimable = and_(
        OutboxDelivery.status == DeliveryStatus.PENDING,
        OutboxDelivery.next_attempt_at <= now,
        or_(OutboxDelivery.claimed_until.is_(None), OutboxDelivery.claimed_until < now),
    )
    candidates = session.scalars(
        select(OutboxDelivery.id)
        .where(claimable)
        .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    won = []
    for delivery_id in candidates:
        result = session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.id == delivery_id, claimable)
            .values(claimed_by=token, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            won.append(delivery_id)
    return Claim(token, worker, until, tuple(won))


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, or a failure that is ``permanent`` (given up) or not (tried again)."""

    sent: bool
    detail: str = ""
    permanent: bool = False
    address: str = ""
    duration_ms: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … doubling up to an hour: a server down all night is retried hourly, never dropped."""
    return dt.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def finish_delivery(session: Session, claim: Claim, delivery_id: int, outcome: Outcome, *, now: dt.datetime) -> bool:
    """Record an attempt's outcome and log it, if this worker still holds the claim (the caller commits).

    A transient failure puts the delivery back with a backoff; it is only given up on a permanent one
    (no address, a refused recipient, a 4xx from the webhook). False: the claim was lost, nothing written.
    """
    attempts = OutboxDelivery.attempts + 1
    if outcome.sent:
        values = {"status": DeliveryStatus.SENT, "sent_at": now, "last_error": ""}
    elif outcome.permanent:
        values = {"status": DeliveryStatus.FAILED, "last_error": outcome.detail[:DETAIL_LIMIT]}
    else:
        done = session.scalar(select(OutboxDelivery.attempts).where(OutboxDelivery.id == delivery_id)) or 0
        values = {"next_attempt_at": now + retry_delay(done + 1), "last_error": outcome.detail[:DETAIL_LIMIT]}
    result = session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == delivery_id, OutboxDelivery.claimed_by == claim.token)
        .values(attempts=attempts, claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.add(
        DeliveryAttempt(
            delivery_id=delivery_id,
            attempted_at=now,
            worker=claim.worker[:64],
            address=outcome.address[:500],
            outcome="sent" if outcome.sent else "failed" if outcome.permanent else "retry",
            detail=outcome.detail[:DETAIL_LIMIT],
            duration_ms=outcome.duration_ms,
        )
    )
    session.flush()
    return True
