"""``flask --app wsgi deliver``, ``send-digests`` and ``inbox``: the notification worker, the daily digest (for
cron) and an account's in-page inbox read from the shell.

``deliver`` sends what the outbox holds (one round, or ``--loop`` as a service); several may run at once on
one or more hosts: each delivery is claimed by exactly one. ``send-digests`` records today's digests in the
outbox; the next ``deliver`` round sends them. ``inbox --as USER`` lists what ``GET /notifications`` lists
(``--mark-read`` marks what it showed read, as ``POST /notifications/{id}/read`` does).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time

import click
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from api.cli.common import account_option, one_transaction, utc_minute
from api.config import LANGUAGES
from api.extensions import db
from api.schemas.notifications import NotificationOut
from inventory.access import Principal
from inventory.db import classify_database_error, intends_to_write
from inventory.delivery import SMTP_SECURITY, DeliverySettings, MailSettings, RoundReport, deliver_round
from inventory.digest import send_digests
from inventory.notifications import list_notifications, mark_read, unread_count

log = logging.getLogger(__name__)


def delivery_settings(config) -> DeliverySettings:
    """The app's SMTP and webhook settings (from the environment, see the README) for the worker."""
    security = config["SMTP_SECURITY"]
    if security not in SMTP_SECURITY:
        raise click.ClickException(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, not {security!r}")
    return DeliverySettings(
        mail=MailSettings(
            host=config["SMTP_HOST"],
            port=config["SMTP_PORT"],
            security=security,
            username=config["SMTP_USERNAME"],
            password=config["SMTP_PASSWORD"],
            sender=config["MAIL_FROM"],
            timeout=config["SMTP_TIMEOUT"],
            ca_file=config["SMTP_CA_FILE"],
        ),
        webhook_timeout=config["WEBHOOK_TIMEOUT"],
    )


def run_round(settings: DeliverySettings, worker: str, batch: int) -> RoundReport:
    with intends_to_write():
        try:
            return deliver_round(db.session, settings, worker=worker, limit=batch)
        finally:
            db.session.rollback()


def register(app: Flask) -> None:
    @app.cli.command("deliver")
    @click.option("--loop", is_flag=True, help="keep running: a round every --interval seconds (for systemd)")
    @click.option("--interval", default=15.0, show_default=True, help="seconds between rounds with --loop")
    @click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 1000), help="deliveries per round")
    def deliver(loop: bool, interval: float, batch: int) -> None:
        """Send due email and webhook deliveries from the outbox; failures are retried later with backoff."""
        settings = delivery_settings(current_app.config)
        worker = f"{socket.gethostname()}:{os.getpid()}"[:64]
        if not loop:
            report = run_round(settings, worker, batch)
            click.echo(_summary(report))
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while not stopping:
            try:
                report = run_round(settings, worker, batch)
            except DBAPIError as error:  # the database is down or busy: wait and go on, lose nothing
                failure = classify_database_error(error)
                log.warning("deliver: database unavailable (%s); next round in %s s", failure, interval)
                report = RoundReport()
            if report.claimed:
                click.echo(_summary(report))
            if report.claimed < batch:
                time.sleep(interval)

    @app.cli.command("send-digests")
    def send_digests_command() -> None:
        """Record today's digest for every account opted in to it (run once a day from cron)."""
        with one_transaction():
            run = send_digests(db.session)
        click.echo(f"digests recorded: {run.recorded}, empty: {run.empty}, already sent today: {run.already_sent}")

    @app.cli.command("inbox")
    @click.option("--unread", is_flag=True, help="only what is unread")
    @click.option("--mark-read", "mark", is_flag=True, help="mark the notifications shown read")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="the newest this many")
    @click.option("--lang", type=click.Choice(LANGUAGES), default="zh", show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="the API's body (GET /notifications)")
    @account_option()
    def inbox(unread: bool, mark: bool, limit: int, lang: str, as_json: bool, operator: Principal) -> None:
        """Your in-page inbox (with --as USERNAME: the shell operator has none), newest first."""
        with one_transaction():
            shown = db.session.scalars(list_notifications(operator, unread_only=unread).limit(limit)).all()
            body = NotificationOut(many=True).dump(shown)
            if mark:
                for notification in shown:
                    mark_read(db.session, operator, notification.id)
            left = unread_count(db.session, operator)
        if as_json:
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
            return
        for entry in body:
            state = "  " if entry["read_at"] else "* "
            click.echo(f"{state}#{entry['id']} {utc_minute(entry['created_at'])} {entry[f'title_{lang}']}")
            for line in entry[f"lines_{lang}"]:
                click.echo(f"      {line}")
        marked = f"{sum(1 for entry in body if not entry['read_at'])} marked read; " if mark else ""
        click.echo(f"{len(body)} shown; {marked}{left} unread")


def _summary(report: RoundReport) -> str:
    return f"claimed {report.claimed}: sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
