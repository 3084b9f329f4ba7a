"""The inbox, notification settings and the delivery log over HTTP: every account sees and changes its own only."""

from __future__ import annotations

from tests.api.helpers import API, PROBLEM_JSON


def seed_and_raise(client_for, make_warehouse, stocked_line, session):
    """NEAR (20 t) and FAR (50 t) with a manager each, a third manager elsewhere; rita raises a call-up for 30 t."""
    stocked_line(20, warehouse=make_warehouse("NEAR", latitude=39.95, longitude=116.40))
    stocked_line(50, warehouse=make_warehouse("FAR", latitude=40.50, longitude=116.40))
    make_warehouse("ELSEWHERE")
    session.commit()
    clients = {
        "near": client_for("manager", username="m-near", warehouse_codes=["NEAR"]),
        "far": client_for("manager", username="m-far", warehouse_codes=["FAR"]),
        "other": client_for("manager", username="m-other", warehouse_codes=["ELSEWHERE"]),
        "rita": client_for("responder", username="rita"),
    }
    body = {"incident_name": "化工厂泄漏", "lat": 39.90, "lon": 116.40, "needs": [{"item": "活性炭", "quantity": 30}]}
    order = clients["rita"].post(f"{API}/callups", json=body)
    assert order.status_code == 201, order.json
    return clients, order.json


def test_managers_see_their_warehouses_lines_and_the_requester_sees_decisions(
    client_for, make_warehouse, stocked_line, session
):
    clients, order = seed_and_raise(client_for, make_warehouse, stocked_line, session)
    near = clients["near"].get(f"{API}/notifications")
    assert near.status_code == 200
    (waiting,) = near.json
    assert waiting["kind"] == "callup_line_waiting" and waiting["read_at"] is None
    assert waiting["payload"]["warehouse_code"] == "NEAR" and order["code"] in waiting["title_zh"]
    assert waiting["lines_en"][0].startswith("活性炭 batch B1: 20")
    assert clients["other"].get(f"{API}/notifications").json == []
    assert clients["rita"].get(f"{API}/notifications/unread-count").json == {"unread": 0}

    near_line = next(line for line in order["lines"] if line["warehouse_code"] == "NEAR")
    assert clients["near"].post(f"{API}/callup-lines/{near_line['id']}/dispatch", json={}).status_code == 200
    (dispatched,) = clients["rita"].get(f"{API}/notifications", query_string={"unread": "true"}).json
    assert dispatched["kind"] == "callup_line_dispatched" and dispatched["payload"]["quantity"] == "20"


def test_marking_read_is_for_the_owner_only(client_for, make_warehouse, stocked_line, session):
    clients, _ = seed_and_raise(client_for, make_warehouse, stocked_line, session)
    (mine,) = clients["near"].get(f"{API}/notifications").json
    assert clients["near"].get(f"{API}/notifications/unread-count").json == {"unread": 1}
    stranger = clients["far"].post(f"{API}/notifications/{mine['id']}/read")
    assert stranger.status_code == 404 and stranger.mimetype == PROBLEM_JSON
    read = clients["near"].post(f"{API}/notifications/{mine['id']}/read")
    assert read.status_code == 200 and read.json["read_at"] is not None
    assert clients["near"].get(f"{API}/notifications/unread-count").json == {"unread": 0}
    assert clients["near"].get(f"{API}/notifications", query_string={"unread": "true"}).json == []
    assert clients["far"].post(f"{API}/notifications/read-all").json == {"marked": 1}
    assert clients["far"].get(f"{API}/notifications/unread-count").json == {"unread": 0}


def test_settings_opt_in_per_event_and_channel(client_for):
    me = client_for("responder", username="rita")
    empty = me.get(f"{API}/notifications/settings").json
    assert empty["email"] == "" and empty["subscriptions"]["callup_line_declined"] == []
    assert me.post(f"{API}/notifications/settings/webhook-secret").status_code == 409  # no webhook yet
    assert {kind["code"] for kind in empty["kinds"]} >= {"shipment_overdue", "receipt_discrepancy", "daily_digest"}

    refused = me.put(f"{API}/notifications/settings", json={"subscriptions": {"callup_line_declined": ["email"]}})
    assert refused.status_code == 422 and "subscriptions" in refused.json["errors"]
    assert me.put(f"{API}/notifications/settings", json={"email": "not-an-address"}).json["errors"].keys() == {"email"}
    for url in ("file:///etc", "http://[::1", "http://host:port/", "https://user:pw@example.org/"):
        assert "webhook_url" in me.put(f"{API}/notifications/settings", json={"webhook_url": url}).json["errors"]
    unknown = me.put(f"{API}/notifications/settings", json={"subscriptions": {"everything": ["email"]}})
    assert unknown.status_code == 422

    saved = me.put(
        f"{API}/notifications/settings",
        json={
            "email": "rita@example.org",
            "webhook_url": "https://hooks.example.org/emi",
            "subscriptions": {"callup_line_declined": ["email", "webhook"], "daily_digest": ["email"]},
        },
    )
    assert saved.status_code == 200, saved.json
    assert saved.json["subscriptions"]["callup_line_declined"] == ["email", "webhook"]
    secret = saved.json["webhook_secret"]
    assert len(secret) == 64
    rotated = me.post(f"{API}/notifications/settings/webhook-secret")
    assert rotated.status_code == 200 and rotated.json["webhook_secret"] not in ("", secret)
    other = client_for("viewer").get(f"{API}/notifications/settings").json
    assert other["email"] == "" and other["webhook_secret"] == ""


def test_the_delivery_log_lists_my_deliveries_only(client_for, make_warehouse, stocked_line, session):
    clients, _ = seed_and_raise(client_for, make_warehouse, stocked_line, session)
    assert clients["far"].get(f"{API}/notifications/deliveries").json == []
    clients["far"].put(
        f"{API}/notifications/settings",
        json={"email": "far@example.org", "subscriptions": {"callup_line_waiting": ["email"]}},
    )
    body = {"incident_name": "二次泄漏", "lat": 39.90, "lon": 116.40, "needs": [{"item": "活性炭", "quantity": 1}]}
    assert clients["rita"].post(f"{API}/callups", json=body).status_code == 201  # NEAR is all reserved: FAR
    (delivery,) = clients["far"].get(f"{API}/notifications/deliveries").json
    assert delivery["channel"] == "email" and delivery["status"] == "pending" and delivery["log"] == []
    assert delivery["kind"] == "callup_line_waiting"
    assert clients["near"].get(f"{API}/notifications/deliveries").json == []


def test_anonymous_callers_have_no_inbox(anonymous_client):
    assert anonymous_client.get(f"{API}/notifications").status_code == 401
    assert anonymous_client.get(f"{API}/notifications/unread-count").status_code == 401
