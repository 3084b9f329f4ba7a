"""Sending what the outbox holds: email through an SMTP server, signed webhooks, and the worker round.

A round claims due deliveries (``inventory.outbox.claim_due``) and commits, reads what to send and ends
that read, sends each one with no transaction open (a slow mail server never holds a database lock), then
records each outcome in a short transaction of its own. So unlike the services, ``deliver_round`` commits:
it is the worker's loop, and a claim must be visible to other workers before the slow part starts.

Webhook bodies are JSON, signed with the account's secret: ``X-EMI-Signature: sha256=<hex HMAC-SHA256 of
the body>``; ``X-EMI-Delivery`` is the same on every retry of one delivery, so a receiver can drop repeats.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import NotificationSetting, OutboxDelivery, User, utcnow
from inventory.notice_text import notice_for
from inventory.outbox import Claim, Outcome, claim_due, event_payload, finish_delivery
from inventory.reference import DeliveryChannel

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-EMI-Signature"
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server: ``security`` is starttls (port 587), tls (implicit TLS, port 465) or none (a local relay)."""

    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout: float = 30.0
    ca_file: str | None = None  # an internal CA's certificate; default: the system's trust store


@dataclass(frozen=True)
class DeliverySettings:
    mail: MailSettings = MailSettings()
    webhook_timeout: float = 15.0


@dataclass(frozen=True)
class Job:
    """One claimed delivery, read out of the database before anything is sent."""

    delivery_id: int
    event_id: int
    channel: DeliveryChannel
    kind: str
    occurred_at: dt.datetime
    username: str
    address: str
    secret: str
    payload: dict
    problem: str = ""  # set when there is nothing to send to: a permanent failure


# --- the worker round -----------------------------------------------------------------------------------


@dataclass
class RoundReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_round(
    session: Session,
    settings: DeliverySettings,
    *,
    worker: str,
    limit: int = 50,
    clock: Callable[[], dt.datetime] = utcnow,
) -> RoundReport:
    """Claim, send and record up to ``limit`` due deliveries; commits after each step (see the module's note)."""
    claim = claim_due(session, now=clock(), worker=worker, limit=limit)
    session.commit()
    report = RoundReport(claimed=len(claim.delivery_ids))
    if not claim.delivery_ids:
        return report
    jobs = load_jobs(session, claim)
    session.commit()  # end the read: nothing is held while sending
    for job in jobs:
        outcome = send(job, settings)
        if finish_delivery(session, claim, job.delivery_id, outcome, now=clock()):
            report.sent += outcome.sent
            report.failed += outcome.permanent and not outcome.sent
            report.retrying += not outcome.sent and not outcome.permanent
        session.commit()
    return report


def load_jobs(session: Session, claim: Claim) -> list[Job]:
    rows = session.execute(
        select(OutboxDelivery, User, NotificationSetting)
        .join(User, User.id == OutboxDelivery.user_id)
        .outerjoin(NotificationSetting, NotificationSetting.user_id == User.id)
        .where(OutboxDelivery.id.in_(claim.delivery_ids), OutboxDelivery.claimed_by == claim.token)
        .order_by(OutboxDelivery.id)
    ).all()
    jobs = []
    for delivery, user, setting in rows:
        email = setting.email if setting else ""
        url = setting.webhook_url if setting else ""
        address = email if delivery.channel is DeliveryChannel.EMAIL else url
        problem = ""
        if not user.active:
            problem = f"account {user.username} is deactivated"
        elif not address:
            problem = f"account {user.username} has no {delivery.channel.value} address"
        jobs.append(
            Job(
                delivery_id=delivery.id,
                event_id=delivery.event_id,
                channel=delivery.channel,
                kind=delivery.event.kind.value,
                occurred_at=delivery.event.created_at,
                username=user.username,
                address=address,
                secret=setting.webhook_secret if setting else "",
                payload=event_payload(delivery.event),
                problem=problem,
            )
        )
    return jobs


def send(job: Job, settings: DeliverySettings) -> Outcome:
    """One attempt; never raises for a failure of the far side, it becomes the outcome."""
    if job.problem:
        return Outcome(sent=False, permanent=True, detail=job.problem, address=job.address)
    started = time.monotonic()
    try:
        if job.channel is DeliveryChannel.EMAIL:
            sent, permanent, detail = send_email(job, settings.mail)
        else:
            sent, permanent, detail = send_webhook(job, settings.webhook_timeout)
    except Exception as error:  # a message this code cannot build: the same every time, so given up and logged
        log.exception("delivery %s could not be sent", job.delivery_id)
        sent, permanent, detail = False, True, f"not sendable: {type(error).__name__}: {error}"
    elapsed = int((time.monotonic() - started) * 1000)
    return Outcome(sent=sent, permanent=permanent, detail=detail, address=job.address, duration_ms=elapsed)


# --- email ----------------------------------------------------------------------------------------------


def compose_email(job: Job, sender: str) -> EmailMessage:
    notice = notice_for(job.kind, job.payload)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = job.address
    message["Subject"] = " ".join(notice.subject.split())  # a header is one line, whatever a name holds
    message["Date"] = formatdate(localtime=False)
    # One Message-ID per delivery: a resend after a lost acknowledgement is recognisably the same mail.
    message["Message-ID"] = make_msgid(idstring=f"emi-delivery-{job.delivery_id}", domain=_domain_of(sender))
    message["X-EMI-Event"] = job.kind
    message["X-EMI-Delivery"] = str(job.delivery_id)
    message.set_content(notice.body())
    return message


def _domain_of(sender: str) -> str:
    return sender.rpartition("@")[2].strip(" >") or "localhost"


def send_email(job: Job, mail: MailSettings) -> tuple[bool, bool, str]:
    """(sent, permanent, detail). A refused recipient or message (5xx) is permanent; all else is retried."""
    if not mail.host or not mail.sender:
        return False, False, "SMTP_HOST or MAIL_FROM is not set: mail waits until it is"
    message = compose_email(job, mail.sender)
    try:
        with _smtp_connection(mail) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return False, all(code >= 500 for code in codes), f"recipient refused: {error.recipients}"
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        return False, error.smtp_code >= 500, f"SMTP {error.smtp_code}: {_text(error.smtp_error)}"
    except smtplib.SMTPAuthenticationError as error:  # the server's settings are wrong: mail waits for a fix
        return False, False, f"SMTP authentication failed ({error.smtp_code})"
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        return False, False, f"SMTP server unreachable: {type(error).__name__}: {error}"
    return True, False, f"250 accepted by {mail.host}:{mail.port}"


@contextlib.contextmanager
def _smtp_connection(mail: MailSettings):
    context = ssl.create_default_context(cafile=mail.ca_file) if mail.security != "none" else None
    if mail.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(mail.host, mail.port, timeout=mail.timeout, context=context)
    else:
        smtp = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
    try:
        smtp.ehlo()
        if mail.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if mail.username:
            smtp.login(mail.username, mail.password)
        yield smtp
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()  # after a failure, only close: a polite QUIT could wait out the timeout on a broken session


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# --- webhooks -------------------------------------------------------------------------------------------


def webhook_body(job: Job) -> bytes:
    notice = notice_for(job.kind, job.payload)
    body = {
        "delivery_id": job.delivery_id,
        "event_id": job.event_id,
        "kind": job.kind,
        "occurred_at": job.occurred_at.isoformat(),
        "recipient": job.username,
        "title_zh": notice.title_zh,
        "title_en": notice.title_en,
        "payload": job.payload,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: what a receiver recomputes with the secret and compares in constant time."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without its body: report it as the receiver's error."""

    def redirect_request(self, *args, **kwargs):
        return None


# Straight to the receiver: no proxy from the environment, no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def send_webhook(job: Job, timeout: float) -> tuple[bool, bool, str]:
    """(sent, permanent, detail). Any 2xx is delivered; 408, 429 and 5xx are retried, other statuses are not."""
    body = webhook_body(job)
    request = urllib.request.Request(
        job.address,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "emergency-materials-inventory",
            SIGNATURE_HEADER: sign(job.secret, body),
            "X-EMI-Event": job.kind,
            "X-EMI-Delivery": str(job.delivery_id),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return True, False, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        retry = error.code in (408, 429) or error.code >= 500
        return False, not retry, f"HTTP {error.code}"
    except (OSError, http.client.HTTPException) as error:  # refused, timed out, reset, garbled
        reason = getattr(error, "reason", error)
        return False, False, f"receiver unreachable: {reason}"
