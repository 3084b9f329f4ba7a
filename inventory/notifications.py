"""An account's side of notifications: its in-page inbox, where its email and webhooks go, what it opted in to,
and the log of what was sent to it. Every function works on the caller's own account only.

Events themselves are written by ``inventory.outbox.record_event`` and sent by ``inventory.delivery``.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from inventory.access import Actor, as_principal
from inventory.audit import record_audit
from inventory.db import locked
from inventory.errors import Conflict, Forbidden, NotFound, ValidationFailed
from inventory.models import (
    Notification,
    NotificationSetting,
    NotificationSubscription,
    OutboxDelivery,
    OutboxEvent,
    User,
    utcnow,
)
from inventory.reference import DeliveryChannel, NotificationKind
from inventory.validation import check_text, text_limit

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SECRET_BYTES = 32


def _own_id(actor: Actor) -> int:
    """The caller's account id: the inbox and the settings belong to an account, not to the shell operator."""
    principal = as_principal(actor)
    if principal.user_id is None:
        raise Forbidden(f"{principal.username} has no account inbox (use --as USERNAME)")
    return principal.user_id


# --- the inbox ------------------------------------------------------------------------------------------


def list_notifications(actor: Actor, *, unread_only: bool = False, kind: NotificationKind | None = None) -> Select:
    """The caller's inbox, newest first."""
    stmt = select(Notification).where(Notification.user_id == _own_id(actor)).order_by(Notification.id.desc())
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if kind is not None:
        stmt = stmt.join(OutboxEvent, OutboxEvent.id == Notification.event_id).where(OutboxEvent.kind == kind)
    return stmt


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(
        select(func.count()).where(Notification.user_id == _own_id(actor), Notification.read_at.is_(None))
    )


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the caller's notifications read (404 for anyone else's: it is not theirs to know of)."""
    owner = _own_id(actor)
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != owner:
        raise NotFound(f"no notification {notification_id}", field="notification_id")
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(notification)
    return notification


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark every unread notification of the caller read; returns how many were."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == _own_id(actor), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --- settings and opt-ins -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    email: str
    webhook_url: str
    webhook_secret: str
    subscriptions: dict[NotificationKind, tuple[DeliveryChannel, ...]]


def get_settings(session: Session, actor: Actor) -> Settings:
    user_id = _own_id(actor)
    row = session.get(NotificationSetting, user_id)
    chosen: dict[NotificationKind, list[DeliveryChannel]] = {kind: [] for kind in NotificationKind}
    for kind, channel in session.execute(
        select(NotificationSubscription.kind, NotificationSubscription.channel).where(
            NotificationSubscription.user_id == user_id
        )
    ):
        chosen[kind].append(channel)
    return Settings(
        email=row.email if row else "",
        webhook_url=row.webhook_url if row else "",
        webhook_secret=row.webhook_secret if row else "",
        subscriptions={kind: tuple(sorted(found, key=list(DeliveryChannel).index)) for kind, found in chosen.items()},
    )


def update_settings(
    session: Session,
    actor: Actor,
    *,
    email: str | None = None,
    webhook_url: str | None = None,
    subscriptions: Mapping[str, Iterable[str]] | None = None,
) -> Settings:
    """Change the caller's addresses and opt-ins; what is not given stays. A webhook gets its secret on first use.

    Opting in to a channel needs its address (422 on ``subscriptions`` otherwise), and clearing an address
    drops the opt-ins that used it, so no delivery is ever queued for nowhere.
    """
    user_id, row = _own_settings_locked(session, actor)
    if row is None:
        row = NotificationSetting(user_id=user_id, email="", webhook_url="", webhook_secret="")
        session.add(row)
    before = {"email": row.email, "webhook_url": row.webhook_url}
    if email is not None:
        row.email = check_email(email)
    if webhook_url is not None:
        row.webhook_url = check_webhook_url(webhook_url)
        if row.webhook_url and not row.webhook_secret:
            row.webhook_secret = secrets.token_hex(SECRET_BYTES)
    addresses = {DeliveryChannel.EMAIL: row.email, DeliveryChannel.WEBHOOK: row.webhook_url}
    if subscriptions is not None:
        wanted = _check_subscriptions(subscriptions)
        for channel in sorted({channel for _, channel in wanted}, key=list(DeliveryChannel).index):
            if not addresses[channel]:
                raise ValidationFailed(f"set the {channel.value} address before opting in to it", field="subscriptions")
        session.execute(delete(NotificationSubscription).where(NotificationSubscription.user_id == user_id))
        session.add_all(
            NotificationSubscription(user_id=user_id, kind=kind, channel=channel) for kind, channel in sorted(wanted)
        )
    for channel, address in addresses.items():
        if not address:
            session.execute(
                delete(NotificationSubscription).where(
                    NotificationSubscription.user_id == user_id, NotificationSubscription.channel == channel
                )
            )
    session.flush()
    record_audit(
        session,
        actor,
        "notifications.settings",
        object_type="user",
        object_key=as_principal(actor).username,
        before=before,
        after={"email": row.email, "webhook_url": row.webhook_url},
    )
    return get_settings(session, actor)


def rotate_webhook_secret(session: Session, actor: Actor) -> Settings:
    """A new signing secret (the old one stops verifying at once); needs a webhook URL."""
    _user_id, row = _own_settings_locked(session, actor)
    if row is None or not row.webhook_url:
        raise Conflict("there is no webhook URL to sign for: set one first", field="webhook_url")
    row.webhook_secret = secrets.token_hex(SECRET_BYTES)
    session.flush()
    username = as_principal(actor).username
    record_audit(session, actor, "notifications.rotate_secret", object_type="user", object_key=username)
    return get_settings(session, actor)


def _own_settings_locked(session: Session, actor: Actor) -> tuple[int, NotificationSetting | None]:
    """The caller's account id and settings row, read after locking the account's row (it always exists, the
    settings row may not yet): one person's changes from two tabs queue, each checking the addresses the other
    committed, instead of opting in to an address being cleared or both adding the first settings row."""
    user_id = _own_id(actor)
    session.execute(locked(select(User.id).where(User.id == user_id), User, "edit"))
    return user_id, session.get(NotificationSetting, user_id, populate_existing=True)


def check_email(value: str) -> str:
    value = check_text(value, "email", max_length=text_limit(NotificationSetting.email)).strip()
    if value and not EMAIL_PATTERN.match(value):
        raise ValidationFailed(f"{value!r} is not an email address", field="email")
    return value


def check_webhook_url(value: str) -> str:
    value = check_text(value, "webhook_url", max_length=text_limit(NotificationSetting.webhook_url)).strip()
    if not value:
        return value
    if any(character.isspace() for character in value):  # urlsplit keeps "http://a b/" as host "a b"
        raise ValidationFailed("not a URL: it contains a space", field="webhook_url")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - parsing the port is what refuses "http://host:port-that-is-no-number"
    except ValueError as error:
        raise ValidationFailed(f"not a URL: {error}", field="webhook_url") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("the webhook URL must be an http:// or https:// address", field="webhook_url")
    if parts.username or parts.password:
        raise ValidationFailed("put no credentials in the webhook URL: the body is signed", field="webhook_url")
    return value


def _check_subscriptions(subscriptions: Mapping[str, Iterable[str]]) -> set[tuple[NotificationKind, DeliveryChannel]]:
    wanted = set()
    for kind, channels in subscriptions.items():
        try:
            parsed_kind = NotificationKind(kind)
            wanted.update((parsed_kind, DeliveryChannel(channel)) for channel in channels)
        except ValueError as error:
            raise ValidationFailed(f"unknown event kind or channel in {kind!r}", field="subscriptions") from error
    return wanted


# --- the delivery log -----------------------------------------------------------------------------------


def list_deliveries(actor: Actor) -> Select:
    """What was (or is still to be) sent to the caller, newest first, each with its attempts."""
    return select(OutboxDelivery).where(OutboxDelivery.user_id == _own_id(actor)).order_by(OutboxDelivery.id.desc())
