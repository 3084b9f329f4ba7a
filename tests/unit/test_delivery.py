"""The deliver worker against a local SMTP server and a local webhook receiver: down for a while, nothing lost;
two workers at once, nothing sent twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from api.extensions import db
from inventory.accounts import create_user, principal_for
from inventory.delivery import SIGNATURE_HEADER, DeliverySettings, MailSettings, deliver_round
from inventory.models import DeliveryAttempt, OutboxDelivery
from inventory.notifications import update_settings
from inventory.outbox import claim_due, record_event
from inventory.reference import DeliveryStatus, NotificationKind
from tests.live_server import free_port
from tests.mail_and_hooks import SmtpServer, WebhookReceiver, self_signed_certificate
from tests.unit.racing import run_at_once

# The worker's clock in these tests: an hour ahead, so every delivery the test records is already due.
T0 = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def smtp(smtp_port):
    server = SmtpServer(smtp_port)
    yield server
    server.stop()


@pytest.fixture
def receiver():
    hook = WebhookReceiver(free_port())
    yield hook
    hook.stop()


def plain_mail(port: int) -> DeliverySettings:
    return DeliverySettings(
        mail=MailSettings(host="127.0.0.1", port=port, security="none", sender="应急物资 <noreply@example.org>"),
        webhook_timeout=5,
    )


@pytest.fixture
def subscriber(session):
    """An account opted in to shipment_overdue by email and webhook (the webhook URL set by ``hook_url``)."""

    def make(username: str = "li.ming", *, email: str = "li.ming@example.org", hook_url: str = "", channels=("email",)):
        user = create_user(session, "tester", username=username, role="responder")
        update_settings(
            session,
            principal_for(user),
            email=email,
            webhook_url=hook_url,
            subscriptions={"shipment_overdue": list(channels)},
        )
        session.commit()
        return user

    return make


def overdue(session, user, code: str = "SH-0001"):
    event = record_event(
        session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": code, "eta": "2026-07-01T06:00"}, [user]
    )
    session.commit()
    return event


def at(seconds: float):
    return lambda: T0 + dt.timedelta(seconds=seconds)


def shipment_in(message) -> str:
    return re.search(r"SH-\d+", str(message["Subject"])).group()


def log_of(session, delivery_id: int) -> list[str]:
    attempts = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id))
    return [attempt.outcome for attempt in attempts]


def test_email_goes_through_the_smtp_server_once(session, subscriber, smtp):
    smtp.start()
    overdue(session, subscriber())
    report = deliver_round(session, plain_mail(smtp.port), worker="w1", clock=at(0))
    assert (report.claimed, report.sent) == (1, 1)
    (message,) = smtp.messages
    assert message["To"] == "li.ming@example.org" and "SH-0001" in str(message["Subject"])
    assert "发运 SH-0001 已超过预计到达时间" in message.get_content()
    delivery = session.scalars(select(OutboxDelivery)).one()
    assert delivery.status is DeliveryStatus.SENT and log_of(session, delivery.id) == ["sent"]
    assert deliver_round(session, plain_mail(smtp.port), worker="w1", clock=at(3600)).claimed == 0
    assert len(smtp.messages) == 1


def test_a_mail_server_that_is_down_delays_mail_and_loses_none(session, subscriber, smtp):
    user = subscriber()
    for number in range(3):
        overdue(session, user, f"SH-{number}")
    settings = plain_mail(smtp.port)
    down = deliver_round(session, settings, worker="w1", clock=at(0))
    assert (down.claimed, down.retrying, down.sent) == (3, 3, 0)
    assert deliver_round(session, settings, worker="w1", clock=at(10)).claimed == 0  # backing off
    again = deliver_round(session, settings, worker="w1", clock=at(31))  # still down: the wait doubles
    assert again.retrying == 3
    assert deliver_round(session, settings, worker="w1", clock=at(60)).claimed == 0
    smtp.start()
    back = deliver_round(session, settings, worker="w1", clock=at(92))
    assert back.sent == 3
    assert sorted(shipment_in(m) for m in smtp.messages) == ["SH-0", "SH-1", "SH-2"]
    for delivery in session.scalars(select(OutboxDelivery)):
        assert delivery.status is DeliveryStatus.SENT and delivery.attempts == 3
        assert log_of(session, delivery.id) == ["retry", "retry", "sent"]


def test_starttls_and_login_with_the_configured_credentials(session, subscriber, smtp_port, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer(smtp_port, tls_context=context, credentials=("mailer", "s3cret")).start()
    try:
        overdue(session, subscriber())
        # aiosmtpd answers a failed login by going silent: the short timeout keeps the test quick.
        good = MailSettings(
            host="127.0.0.1", port=smtp_port, username="mailer", password="s3cret", sender="noreply@example.org"
        )
        trusted = MailSettings(**{**vars(good), "ca_file": str(cert), "timeout": 2})
        untrusted = deliver_round(session, DeliverySettings(mail=good), worker="w", clock=at(0))
        assert untrusted.retrying == 1  # the certificate is not trusted: retried, not lost
        assert "CERTIFICATE" in session.scalars(select(DeliveryAttempt)).one().detail.upper()
        wrong = DeliverySettings(mail=MailSettings(**{**vars(trusted), "password": "x"}))
        assert deliver_round(session, wrong, worker="w", clock=at(40)).retrying == 1 and server.messages == []
        ok = deliver_round(session, DeliverySettings(mail=trusted), worker="w", clock=at(200))
        assert ok.sent == 1 and len(server.messages) == 1
    finally:
        server.stop()


def test_webhooks_are_signed_and_retried_until_the_receiver_takes_them(session, subscriber, receiver):
    user = subscriber(hook_url=receiver.url, channels=("webhook",))
    secret = update_settings(session, principal_for(user)).webhook_secret
    session.commit()
    event = overdue(session, user)
    settings = plain_mail(free_port())
    assert deliver_round(session, settings, worker="w", clock=at(0)).retrying == 1  # receiver not listening
    receiver.start()
    receiver.statuses = [503]
    assert deliver_round(session, settings, worker="w", clock=at(31)).retrying == 1
    assert deliver_round(session, settings, worker="w", clock=at(92)).sent == 1
    ((headers, body),) = receiver.requests
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    sent = json.loads(body)
    assert sent["event_id"] == event.id and sent["payload"]["shipment_code"] == "SH-0001"
    assert sent["kind"] == "shipment_overdue" and sent["recipient"] == "li.ming"
    delivery = session.scalars(select(OutboxDelivery)).one()
    assert log_of(session, delivery.id) == ["retry", "retry", "sent"]
    assert headers["X-EMI-Delivery"] == str(delivery.id)


def test_a_receiver_that_refuses_the_hook_is_given_up_on(session, subscriber, receiver):
    receiver.start()
    receiver.statuses = [410]
    overdue(session, subscriber(hook_url=receiver.url, channels=("webhook",)))
    report = deliver_round(session, plain_mail(free_port()), worker="w", clock=at(0))
    assert report.failed == 1
    delivery = session.scalars(select(OutboxDelivery)).one()
    assert delivery.status is DeliveryStatus.FAILED and delivery.last_error == "HTTP 410"


def test_two_workers_claim_disjoint_deliveries(app, session, subscriber):
    user = subscriber()
    for number in range(12):
        record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": f"SH-{number}"}, [user])
    session.commit()
    claims = []
    run_at_once(app, [lambda: claims.append(claim_due(db.session, now=T0, worker="a", limit=8))] * 2)
    taken = [delivery_id for claim in claims for delivery_id in claim.delivery_ids]
    assert len(taken) == len(set(taken)) == 12


def test_two_deliverers_at_once_send_every_mail_exactly_once(app, session, subscriber, smtp):
    smtp.start()
    user = subscriber()
    for number in range(10):
        record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": f"SH-{number}"}, [user])
    session.commit()
    settings = plain_mail(smtp.port)
    reports = []
    run_at_once(app, [lambda: reports.append(deliver_round(db.session, settings, worker="x", clock=at(0)))] * 2)
    assert sum(report.sent for report in reports) == 10
    subjects = [shipment_in(message) for message in smtp.messages]
    assert sorted(subjects) == sorted(f"SH-{number}" for number in range(10))


def test_a_claim_left_by_a_dead_worker_is_taken_again_after_it_expires(session, subscriber, smtp):
    overdue(session, subscriber())
    claim_due(session, now=T0, worker="dead")
    session.commit()
    smtp.start()
    assert deliver_round(session, plain_mail(smtp.port), worker="w", clock=at(60)).claimed == 0
    assert deliver_round(session, plain_mail(smtp.port), worker="w", clock=at(301)).sent == 1
    assert len(smtp.messages) == 1


def test_the_deliver_and_send_digests_commands(app, session, subscriber, smtp):
    smtp.start()
    user = subscriber()
    opt_ins = {"shipment_overdue": ["email"], "daily_digest": ["email"]}
    update_settings(session, principal_for(user), subscriptions=opt_ins)
    session.commit()
    overdue(session, user)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_SECURITY="none", MAIL_FROM="noreply@example.org")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deliver"])
    assert result.exit_code == 0, result.output
    assert "claimed 1: sent 1" in result.output and len(smtp.messages) == 1
    digests = runner.invoke(args=["send-digests"])
    assert digests.exit_code == 0 and "empty: 1" in digests.output  # a responder with no open call-up
    app.config["SMTP_SECURITY"] = "ssl"
    assert "SMTP_SECURITY must be one of" in runner.invoke(args=["deliver"]).output


def test_a_line_break_in_a_name_cannot_add_a_mail_header(session, subscriber, smtp):
    smtp.start()
    user = subscriber()
    record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": "SH-9\r\nBcc: x@evil.example"}, [user])
    session.commit()
    assert deliver_round(session, plain_mail(smtp.port), worker="w", clock=at(0)).sent == 1
    (message,) = smtp.messages
    assert message["Bcc"] is None and smtp.collector.envelopes[0][1] == ["li.ming@example.org"]
    assert "\n" not in str(message["Subject"]) and "SH-9 Bcc: x@evil.example" in str(message["Subject"])


def test_deliver_loop_keeps_sending_until_sigterm(session, subscriber, smtp, database_url):
    smtp.start()
    user = subscriber()
    overdue(session, user, "SH-1")
    settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none"}
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test", "MAIL_FROM": "n@example.org", **settings}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "deliver", "--loop", "--interval", "0.2"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: len(smtp.messages) == 1)
        overdue(session, user, "SH-2")  # recorded while the worker runs: the next round takes it
        wait_for(lambda: len(smtp.messages) == 2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        worker.kill()
    assert sorted(shipment_in(message) for message in smtp.messages) == ["SH-1", "SH-2"]
    assert "claimed 1: sent 1" in worker.stdout.read().decode()


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
