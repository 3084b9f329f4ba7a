"""Notifications: events go in the outbox with the change that causes them, to the right accounts only."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from inventory.accounts import create_user, principal_for
from inventory.callups import decline_line, dispatch_line, raise_callup
from inventory.clock import business_today
from inventory.digest import send_digests
from inventory.errors import Forbidden, NotFound, ValidationFailed
from inventory.geo import Incident, Point
from inventory.models import Notification, OutboxDelivery, OutboxEvent
from inventory.nearest import NeedRequest
from inventory.notice_text import notice_for
from inventory.notifications import get_settings, list_notifications, mark_read, unread_count, update_settings
from inventory.outbox import record_event
from inventory.quotas import create_quota
from inventory.reference import DeliveryChannel, NotificationKind

INCIDENT = Incident(Point(39.90, 116.40))


@pytest.fixture
def scene(session, make_warehouse, stocked_line):
    """Two stocked warehouses (NEAR 20 t, FAR 100 t of activated carbon), a manager of each, a bystander
    manager of a third, empty warehouse, and a responder."""
    near = stocked_line(20, warehouse=make_warehouse("NEAR", latitude=39.95, longitude=116.40))
    far = stocked_line(100, warehouse=make_warehouse("FAR", latitude=40.60, longitude=116.40))
    make_warehouse("ELSEWHERE", latitude=31.2, longitude=121.4, county_code="310101")
    users = {
        "near": create_user(session, "tester", username="m-near", role="manager", warehouse_codes=["NEAR"]),
        "far": create_user(session, "tester", username="m-far", role="manager", warehouse_codes=["FAR"]),
        "other": create_user(session, "tester", username="m-other", role="manager", warehouse_codes=["ELSEWHERE"]),
        "responder": create_user(session, "tester", username="rita", role="responder"),
    }
    session.commit()
    return {"lines": {"NEAR": near, "FAR": far}, "users": users}


def inbox(session, user) -> list[Notification]:
    return list(session.scalars(list_notifications(principal_for(user))))


def raise_for(session, scene, quantity) -> object:
    return raise_callup(
        session,
        principal_for(scene["users"]["responder"]),
        incident_name="河道油污",
        incident=INCIDENT,
        needs=[NeedRequest(item="PD-001", quantity=Decimal(quantity))],
    )


def test_a_call_up_tells_the_managers_of_each_source_warehouse_and_no_one_else(session, scene):
    callup = raise_for(session, scene, 30)
    session.commit()
    users = scene["users"]
    near, far = inbox(session, users["near"]), inbox(session, users["far"])
    assert [n.event.kind for n in near] == [NotificationKind.CALLUP_LINE_WAITING]
    payload = json.loads(near[0].event.payload)
    assert payload["callup_code"] == callup.code and payload["warehouse_code"] == "NEAR"
    assert [(line["item_code"], line["quantity"]) for line in payload["lines"]] == [("PD-001", "20")]
    assert json.loads(far[0].event.payload)["lines"][0]["quantity"] == "10"
    assert inbox(session, users["other"]) == [] and inbox(session, users["responder"]) == []
    title = notice_for(near[0].event.kind, payload).title_zh
    assert callup.code in title and "待" in title


def test_dispatch_and_decline_tell_the_requester_and_a_re_plan_tells_the_new_source(session, scene):
    callup = raise_for(session, scene, 10)  # all from NEAR
    session.commit()
    users = scene["users"]
    (line,) = callup.lines
    decline_line(session, principal_for(users["near"]), line.id, reason="车辆不足")
    session.commit()
    requester = inbox(session, users["responder"])
    assert [n.event.kind for n in requester] == [NotificationKind.CALLUP_LINE_DECLINED]
    assert json.loads(requester[0].event.payload)["reason"] == "车辆不足"
    far_inbox = inbox(session, users["far"])
    assert [n.event.kind for n in far_inbox] == [NotificationKind.CALLUP_LINE_WAITING]
    replanned = json.loads(far_inbox[0].event.payload)["lines"][0]["line_id"]
    dispatch_line(session, principal_for(users["far"]), replanned, note="已装车")
    session.commit()
    kinds = [n.event.kind for n in inbox(session, users["responder"])]
    assert kinds == [NotificationKind.CALLUP_LINE_DISPATCHED, NotificationKind.CALLUP_LINE_DECLINED]
    assert inbox(session, users["other"]) == []


def test_an_event_is_rolled_back_with_the_change_that_caused_it(session, scene):
    raise_for(session, scene, 30)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_email_and_webhook_deliveries_are_queued_only_for_the_channels_opted_in(session, scene):
    users = scene["users"]
    update_settings(
        session,
        principal_for(users["near"]),
        email="near@example.org",
        webhook_url="http://127.0.0.1:9/hook",
        subscriptions={"callup_line_waiting": ["email"], "callup_line_declined": ["webhook"]},
    )
    raise_for(session, scene, 30)
    session.commit()
    deliveries = session.scalars(select(OutboxDelivery)).all()
    assert [(d.user_id, d.channel) for d in deliveries] == [(users["near"].id, DeliveryChannel.EMAIL)]


def test_opting_in_needs_an_address_and_clearing_it_drops_the_opt_in(session, scene):
    me = principal_for(scene["users"]["near"])
    with pytest.raises(ValidationFailed) as refused:
        update_settings(session, me, subscriptions={"callup_line_waiting": ["email"]})
    assert refused.value.field == "subscriptions"
    update_settings(session, me, email="a@example.org", subscriptions={"callup_line_waiting": ["email"]})
    settings = update_settings(session, me, email="")
    assert settings.subscriptions[NotificationKind.CALLUP_LINE_WAITING] == ()
    with pytest.raises(ValidationFailed) as refused:
        update_settings(session, me, webhook_url="ftp://example.org/x")
    assert refused.value.field == "webhook_url"
    assert update_settings(session, me, webhook_url="https://example.org/hook").webhook_secret


def test_the_inbox_is_the_callers_own(session, scene):
    users = scene["users"]
    event = record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": "SH-1"}, [users["near"]])
    session.commit()
    (mine,) = inbox(session, users["near"])
    assert mine.event_id == event.id and unread_count(session, principal_for(users["near"])) == 1
    with pytest.raises(NotFound):
        mark_read(session, principal_for(users["far"]), mine.id)
    mark_read(session, principal_for(users["near"]), mine.id)
    assert unread_count(session, principal_for(users["near"])) == 0
    with pytest.raises(Forbidden):
        list_notifications("system")


def test_the_inbox_from_the_shell_lists_and_marks_read_the_accounts_own(app, session, scene):
    users = scene["users"]
    first = record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": "SH-1"}, [users["near"]])
    second = record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": "SH-2"}, [users["near"]])
    record_event(session, NotificationKind.SHIPMENT_OVERDUE, {"shipment_code": "SH-9"}, [users["far"]])
    session.commit()
    runner = app.test_cli_runner()

    listed = runner.invoke(args=["inbox", "--as", "m-near", "--json"])
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert [entry["payload"]["shipment_code"] for entry in body] == ["SH-2", "SH-1"]  # newest first, mine only
    newest = runner.invoke(args=["inbox", "--as", "m-near", "--limit", "1", "--mark-read", "--lang", "en"])
    assert newest.exit_code == 0 and newest.output.startswith("* #") and "1 marked read; 1 unread" in newest.output
    assert re.match(r"\* #\d+ \d{4}-\d\d-\d\d \d\d:\d\d UTC ", newest.output), newest.output  # says its zone
    mine = principal_for(users["near"])
    read = {n.event_id: n.read_at is not None for n in session.scalars(list_notifications(mine))}
    assert read == {second.id: True, first.id: False}
    unread = runner.invoke(args=["inbox", "--as", "m-near", "--unread", "--json"])
    assert [entry["payload"]["shipment_code"] for entry in json.loads(unread.output)] == ["SH-1"]
    assert unread_count(session, principal_for(users["far"])) == 1  # another account's inbox is untouched
    refused = runner.invoke(args=["inbox"])
    assert refused.exit_code != 0 and "--as" in refused.output


def test_inactive_accounts_and_duplicates_are_not_recipients(session, scene):
    users = scene["users"]
    users["far"].active = False
    event = record_event(
        session, NotificationKind.RECEIPT_DISCREPANCY, {"shipment_code": "SH-2"}, [users["near"], users["near"].id]
    )
    assert [n.user_id for n in session.scalars(select(Notification).where(Notification.event_id == event.id))] == [
        users["near"].id
    ]
    assert record_event(session, NotificationKind.RECEIPT_DISCREPANCY, {}, [users["far"]]) is None


def test_the_daily_digest_reads_the_reports_in_the_accounts_scope_once_a_day(session, scene):
    users = scene["users"]
    today = business_today()  # the call-up's plan reads today's date too
    lines = scene["lines"]
    lines["NEAR"].expiry_date = today + dt.timedelta(days=5)  # expiring at NEAR only
    create_quota(session, "tester", warehouse="FAR", item="PD-001", minimum=Decimal(500))  # FAR holds 100
    raise_for(session, scene, 10)
    for who in ("near", "far", "other", "responder"):
        update_settings(
            session, principal_for(users[who]), email=f"{who}@example.org", subscriptions={"daily_digest": ["email"]}
        )
    session.commit()
    run = send_digests(session, today=today)
    session.commit()
    assert (run.recorded, run.empty) == (3, 1)  # m-other has nothing to be told
    digest = {who: json.loads(inbox(session, users[who])[0].event.payload) for who in ("near", "far", "responder")}
    assert digest["near"]["expiring"]["count"] == 1 and digest["near"]["shortfalls"]["count"] == 0
    assert digest["near"]["open_callups"]["count"] == 1  # waiting at NEAR
    assert digest["far"]["expiring"]["count"] == 0 and digest["far"]["shortfalls"]["count"] == 1
    assert digest["far"]["open_callups"]["count"] == 0
    assert digest["responder"]["open_callups"]["count"] == 1 and digest["responder"]["expiring"]["count"] == 0
    assert "FAR" in digest["far"]["shortfalls"]["rows"][0]
    again = send_digests(session, today=today)
    assert (again.recorded, again.already_sent) == (0, 3)
    assert notice_for(NotificationKind.DAILY_DIGEST, digest["near"]).title_en.startswith(f"Daily digest {today}")


@pytest.mark.slow
def test_settings_changed_twice_at_once_never_opt_in_to_a_cleared_address(app, session, scene):
    """Racing on PostgreSQL (real threads, one connection each): the same person, in two tabs, clears the email
    address and opts in to email. Either order leaves no opt-in to email without an address (the opt-in after
    the clearing is refused); unlocked, both were done and deliveries were queued for no address."""
    import functools

    from api.extensions import db
    from tests.unit.racing import run_at_once

    me = principal_for(scene["users"]["near"])
    for _round in range(8):
        update_settings(session, me, email="near@example.org", subscriptions={})
        session.commit()
        session.remove()
        answers = run_at_once(
            app,
            [
                functools.partial(update_settings, db.session, me, email=""),
                functools.partial(update_settings, db.session, me, subscriptions={"callup_line_waiting": ["email"]}),
            ],
        )
        assert answers[0] == "done", answers
        settings = get_settings(db.session, me)
        assert (settings.email, settings.subscriptions[NotificationKind.CALLUP_LINE_WAITING]) == ("", ()), answers
        db.session.remove()


def _told_of_a_dispatch(session, scene):
    """The responder's inbox entry for a line of a new call-up dispatched without a note."""
    callup = raise_for(session, scene, 10)
    session.commit()
    (line,) = callup.lines
    dispatch_line(session, principal_for(scene["users"]["near"]), line.id)
    session.commit()
    (told,) = inbox(session, scene["users"]["responder"])
    return told


def test_a_dispatch_without_a_note_is_told_in_chinese_in_the_chinese_text(session, scene):
    """The system's own note of a dispatch ("shipment SH-…, ledger entry N") stood in English in the Chinese inbox
    line and email ("说明：shipment SH-…, ledger entry 126003"); a person's note stays as written."""
    told = _told_of_a_dispatch(session, scene)
    notice = notice_for(told.event.kind, json.loads(told.event.payload))
    assert re.fullmatch(
        r"事件：河道油污；操作人：m-near；说明：发运单 SH-\d{8}-\d{5}，台账记录 \d+", notice.lines_zh[0]
    )
    assert re.search(r"note: shipment SH-\d{8}-\d{5}, ledger entry \d+$", notice.lines_en[0])
    assert (
        notice_for(told.event.kind, {**json.loads(told.event.payload), "note": "已装车"})
        .lines_zh[0]
        .endswith("说明：已装车")
    )


@pytest.mark.parametrize("note", ["shipment tents, ledger entry 5", "shipment SH-2, ledger entry 5"])
def test_a_persons_note_shaped_like_the_systems_stays_as_written_in_the_chinese_text(session, scene, note):
    """The Chinese notice read the system's note by a pattern of its own (``\\S+`` for the shipment), so a person's
    note that merely looked like it ("shipment tents, ledger entry 5") was said as "发运单 tents，台账记录 5"; the
    notice now reads it as the API does (``inventory.system_texts``): only a shipment's real code is one."""
    told = _told_of_a_dispatch(session, scene)
    notice = notice_for(told.event.kind, {**json.loads(told.event.payload), "note": note})
    assert notice.lines_zh[0].endswith(f"说明：{note}")
