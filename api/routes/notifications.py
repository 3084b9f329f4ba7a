"""The caller's own notifications: the in-page inbox, email and webhook settings, the delivery log."""

from __future__ import annotations

from flask.views import MethodView

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.notifications import (
    DeliveryOut,
    MarkedOut,
    NotificationOut,
    NotificationQuery,
    SettingsIn,
    SettingsOut,
    UnreadOut,
)
from inventory.notifications import (
    get_settings,
    list_deliveries,
    list_notifications,
    mark_all_read,
    mark_read,
    rotate_webhook_secret,
    unread_count,
    update_settings,
)
from inventory.reference import NotificationKind

blp = Blueprint("notifications", __name__, description="Your inbox, email and webhook opt-ins, and the delivery log")


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """Your inbox, newest first: call-up lines waiting for your warehouses, your call-ups' lines decided, …"""
        kind = NotificationKind(args["kind"]) if args.get("kind") else None
        return list_notifications(current_actor(), unread_only=args["unread"], kind=kind)


@blp.route("/notifications/unread-count")
class UnreadCount(MethodView):
    @blp.response(200, UnreadOut)
    def get(self):
        """How many of your notifications are unread (the page's badge)."""
        return {"unread": unread_count(db.session, current_actor())}


@blp.route("/notifications/<id:notification_id>/read")
class MarkRead(MethodView):
    @blp.response(200, NotificationOut)
    def post(self, notification_id: int):
        """Mark one of your notifications read (404 for anyone else's)."""
        return mark_read(db.session, current_actor(), notification_id)


@blp.route("/notifications/read-all")
class MarkAllRead(MethodView):
    @blp.response(200, MarkedOut)
    def post(self):
        """Mark every unread notification of yours read."""
        return {"marked": mark_all_read(db.session, current_actor())}


@blp.route("/notifications/settings")
class Settings(MethodView):
    @blp.response(200, SettingsOut)
    def get(self):
        """Your email address, webhook URL and secret, and which events you receive by email or webhook."""
        return get_settings(db.session, current_actor())

    @blp.arguments(SettingsIn)
    @blp.response(200, SettingsOut)
    def put(self, data: dict):
        """Change your addresses and opt-ins (fields left out stay; `subscriptions` replaces every opt-in).

        Opting in to a channel needs its address; a new webhook URL gets a signing secret. Webhook bodies
        are signed `X-EMI-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`.
        """
        return update_settings(db.session, current_actor(), **data)


@blp.route("/notifications/settings/webhook-secret")
class WebhookSecret(MethodView):
    @blp.response(200, SettingsOut)
    def post(self):
        """A new webhook signing secret; the old one stops verifying at once."""
        return rotate_webhook_secret(db.session, current_actor())


@blp.route("/notifications/deliveries")
class Deliveries(MethodView):
    @blp.response(200, DeliveryOut(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """What was sent to you by email or webhook, newest first, with every attempt (the delivery log)."""
        return list_deliveries(current_actor())
