"""``flask --app wsgi deliver`` and ``send-digests``: the notification worker and the daily digest (for cron).

``deliver`` sends what the outbox holds (one round, or ``--loop`` as a service); several may run at once on
one or more hosts: each delivery is claimed by exactly one. ``send-digests`` records today's digests in the
outbox; the next ``deliver`` round sends them.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time

import click
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from api.cli.common import one_transaction
from api.extensions import db
from inventory.db import classify_database_error, intends_to_write
from inventory.delivery import SMTP_SECURITY, DeliverySettings, MailSettings, RoundReport, deliver_round
from inventory.digest import send_digests

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


def _summary(report: RoundReport) -> str:
    return f"claimed {report.claimed}: sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
