"""Call-ups over HTTP: responders raise, source managers dispatch or decline, history is kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from api.extensions import db
from inventory.models import Movement, StockLine

API = "/api/v1"


def seed_sources(make_warehouse, stocked_line, session):
    near = stocked_line(20, warehouse=make_warehouse("NEAR", latitude=39.95, longitude=116.40))
    far = stocked_line(50, warehouse=make_warehouse("FAR", latitude=40.50, longitude=116.40))
    session.commit()
    return near, far


def raise_body(**extra):
    return {
        "incident_name": "化工厂泄漏",
        "lat": 39.90,
        "lon": 116.40,
        "needs": [{"item": "activated carbon", "quantity": 30}],
        **extra,
    }


def test_responder_raises_and_sources_dispatch(client_for, make_warehouse, stocked_line, session):
    seed_sources(make_warehouse, stocked_line, session)
    responder = client_for("responder", username="rita")
    response = responder.post(f"{API}/callups", json=raise_body())
    assert response.status_code == 201, response.json
    order = response.json
    assert order["status"] == "open" and order["requester"] == "rita"
    assert [(line["warehouse_code"], line["quantity"]) for line in order["lines"]] == [("NEAR", 20.0), ("FAR", 10.0)]
    assert order["needs"][0]["requested"] == 30.0

    near_manager = client_for("manager", warehouse_codes=["NEAR"])
    near_line, far_line = order["lines"]
    assert near_manager.post(f"{API}/callup-lines/{far_line['id']}/dispatch", json={}).status_code == 403
    dispatched = near_manager.post(f"{API}/callup-lines/{near_line['id']}/dispatch", json={"note": "truck 1"})
    assert dispatched.status_code == 200 and dispatched.json["status"] == "dispatched"
    far_manager = client_for("manager", warehouse_codes=["FAR"])
    assert far_manager.post(f"{API}/callup-lines/{far_line['id']}/dispatch", json={}).status_code == 200

    final = responder.get(f"{API}/callups/{order['code']}").json
    assert final["status"] == "completed"
    assert [event["event"] for event in final["events"]] == ["raised", "dispatched", "dispatched"]
    movements = responder.get(f"{API}/movements", query_string={"reference": order["code"]}).json
    assert sorted(m["delta"] for m in movements) == [-20.0, -10.0]


def test_decline_replans_and_cancel_releases(client_for, make_warehouse, stocked_line, session):
    seed_sources(make_warehouse, stocked_line, session)
    responder = client_for("responder", username="rita")
    order = responder.post(f"{API}/callups", json=raise_body(needs=[{"item": "PD-001", "quantity": 10}])).json
    assert [line["warehouse_code"] for line in order["lines"]] == ["NEAR"]
    near_manager = client_for("manager", warehouse_codes=["NEAR"])
    missing_reason = near_manager.post(f"{API}/callup-lines/{order['lines'][0]['id']}/decline", json={})
    assert missing_reason.status_code == 422 and "reason" in missing_reason.json["errors"]
    declined = near_manager.post(f"{API}/callup-lines/{order['lines'][0]['id']}/decline", json={"reason": "flooded"})
    assert declined.status_code == 200
    replanned = responder.get(f"{API}/callups/{order['code']}").json
    assert [(line["warehouse_code"], line["status"]) for line in replanned["lines"]] == [
        ("NEAR", "declined"),
        ("FAR", "reserved"),
    ]
    assert client_for("responder").post(f"{API}/callups/{order['code']}/cancel", json={}).status_code == 403
    cancelled = responder.post(f"{API}/callups/{order['code']}/cancel", json={"reason": "contained"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert db.session.scalar(select(func.sum(StockLine.reserved))) == 0


def test_who_may_raise_and_bad_input(client_for, make_warehouse, stocked_line, session, anonymous_client):
    seed_sources(make_warehouse, stocked_line, session)
    for role in ("viewer", "manager"):
        assert client_for(role).post(f"{API}/callups", json=raise_body()).status_code == 403
    assert anonymous_client.post(f"{API}/callups", json=raise_body()).status_code == 401
    responder = client_for("responder")
    no_name = responder.post(f"{API}/callups", json={k: v for k, v in raise_body().items() if k != "incident_name"})
    assert no_name.status_code == 422 and "incident_name" in no_name.json["errors"]
    unknown_item = responder.post(f"{API}/callups", json=raise_body(needs=[{"item": "unobtainium", "quantity": 1}]))
    assert unknown_item.status_code in (404, 422) and unknown_item.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.sum(StockLine.reserved))) == 0
    listed = responder.get(f"{API}/callups", query_string={"status": "open"})
    assert listed.status_code == 200 and listed.json == []


def test_a_batch_that_expired_while_reserved_is_dispatched_only_when_allowed_with_a_note(
    client_for, make_warehouse, stocked_line, session
):
    near, _ = seed_sources(make_warehouse, stocked_line, session)
    order = client_for("responder", username="rita").post(f"{API}/callups", json=raise_body()).json
    line_id = next(line["id"] for line in order["lines"] if line["warehouse_code"] == "NEAR")
    expired = {"production_date": dt.date(2019, 1, 1), "expiry_date": dt.date(2020, 1, 1)}
    session.execute(update(StockLine).where(StockLine.id == near.id).values(**expired))  # expired while held
    session.commit()
    manager = client_for("manager", warehouse_codes=["NEAR"])

    refused = manager.post(f"{API}/callup-lines/{line_id}/dispatch", json={"note": "truck 1"})
    assert refused.status_code == 409 and "allow_expired" in refused.json["errors"]
    no_reason = manager.post(f"{API}/callup-lines/{line_id}/dispatch", json={"allow_expired": True})
    assert no_reason.status_code == 422 and "note" in no_reason.json["errors"]
    too_long = manager.post(f"{API}/callup-lines/{line_id}/dispatch", json={"allow_expired": True, "note": "长" * 490})
    assert too_long.status_code == 422 and "note" in too_long.json["errors"]  # the note the ledger has room for

    sent = manager.post(
        f"{API}/callup-lines/{line_id}/dispatch", json={"allow_expired": True, "note": "still sealed, checked"}
    )
    assert sent.status_code == 200, sent.json
    issue = db.session.scalars(select(Movement).where(Movement.reference == order["code"])).one()
    assert "expired 2020-01-01" in issue.reason and "still sealed, checked" in issue.reason
