"""Schemas of the inbox, the notification settings and the delivery log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.fields import StrictSchema, choice
from inventory.models import NotificationSetting
from inventory.notice_text import notice_for
from inventory.outbox import event_payload
from inventory.reference import DeliveryChannel, NotificationKind
from inventory.validation import text_limit

KINDS = [kind.value for kind in NotificationKind]
CHANNELS = [channel.value for channel in DeliveryChannel]


class NotificationQuery(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only those not read yet"})
    kind = choice(NotificationKind)


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String(attribute="event.kind")
    title_zh = fields.Method("_title_zh")
    title_en = fields.Method("_title_en")
    lines_zh = fields.Method("_lines_zh")
    lines_en = fields.Method("_lines_en")
    payload = fields.Method("_payload", metadata={"description": "the event's facts (codes, names, quantities)"})
    created_at = fields.AwareDateTime(attribute="event.created_at")
    read_at = fields.AwareDateTime(allow_none=True)

    def _notice(self, notification):
        return notice_for(notification.event.kind, event_payload(notification.event))

    def _title_zh(self, notification) -> str:
        return self._notice(notification).title_zh

    def _title_en(self, notification) -> str:
        return self._notice(notification).title_en

    def _lines_zh(self, notification) -> list[str]:
        return list(self._notice(notification).lines_zh)

    def _lines_en(self, notification) -> list[str]:
        return list(self._notice(notification).lines_en)

    def _payload(self, notification) -> dict:
        return event_payload(notification.event)


class UnreadOut(Schema):
    unread = fields.Integer(required=True)


class MarkedOut(Schema):
    marked = fields.Integer(required=True)


class SettingsIn(StrictSchema):
    email = fields.String(validate=validate.Length(max=text_limit(NotificationSetting.email)))
    webhook_url = fields.String(validate=validate.Length(max=text_limit(NotificationSetting.webhook_url)))
    subscriptions = fields.Dict(
        keys=fields.String(validate=validate.OneOf(KINDS)),
        values=fields.List(fields.String(validate=validate.OneOf(CHANNELS)), validate=validate.Length(max=2)),
        metadata={
            "description": "every opt-in, replacing the previous ones: event kind → channels, "
            '`{"callup_line_waiting": ["email", "webhook"]}`; the inbox always gets every event'
        },
    )


class SettingsOut(Schema):
    email = fields.String()
    webhook_url = fields.String()
    webhook_secret = fields.String(
        metadata={"description": "the HMAC-SHA256 key of the X-EMI-Signature header ('' without a webhook)"}
    )
    subscriptions = fields.Method("_subscriptions")
    kinds = fields.Method("_kinds", metadata={"description": "every event kind with its labels"})

    def _subscriptions(self, settings) -> dict:
        return {kind.value: [c.value for c in channels] for kind, channels in settings.subscriptions.items()}

    def _kinds(self, settings) -> list[dict]:
        return NotificationKind.describe()


class AttemptOut(Schema):
    attempted_at = fields.AwareDateTime()
    worker = fields.String()
    address = fields.String()
    outcome = fields.String(metadata={"description": "sent, retry (tried again later) or failed (given up)"})
    detail = fields.String()
    duration_ms = fields.Integer()


class DeliveryOut(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    kind = fields.String(attribute="event.kind")
    channel = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String()
    log = fields.List(fields.Nested(AttemptOut))
