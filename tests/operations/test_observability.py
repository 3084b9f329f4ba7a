"""Settings checked at start, request ids, JSON log lines, /health, /ready and /metrics."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from api.config import ConfigurationError, check_environment
from api.extensions import db
from api.observability import JsonFormatter
from inventory.models import OutboxDelivery, OutboxEvent, User
from inventory.reference import DeliveryChannel, DeliveryStatus, NotificationKind

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "INVENTORY_ENV": "production",
    "DATABASE_URL": "postgresql://inventory_app:secret@db.internal:5432/inventory",
    "SECRET_KEY": "k" * 64,
}


def test_a_complete_production_environment_is_accepted():
    check_environment(
        {
            **PRODUCTION,
            "DATABASE_REPLICA_URL": "postgresql://r@replica/inventory",
            "BIND": "0.0.0.0:8000",
            "TRUSTED_PROXY_COUNT": "1",
        }
    )
    check_environment({})  # a laptop: SQLite and a generated key
    for language in ("zh-CN", "zh_CN", "zh", "en", "en-GB"):
        check_environment({"DEFAULT_LANGUAGE": language})


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL is required in production"),
        ({"DATABASE_URL": "sqlite:///x.sqlite3"}, "DATABASE_URL must be a postgresql URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_REPLICA_URL": "sqlite:///r.sqlite3"}, "DATABASE_REPLICA_URL must be a postgresql URL"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set in production"),
        ({"BIND": "8000"}, "BIND must be HOST:PORT"),
        ({"WEB_CONCURRENCY": "zero"}, "WEB_CONCURRENCY must be a whole number"),
        ({"SMTP_HOST": "mail.internal"}, "MAIL_FROM is required with SMTP_HOST"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT must be a whole number from 1 to 65535"),
        ({"METRICS_ALLOW": "10.0.0.0/8,everyone"}, "METRICS_ALLOW must list networks"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be 'text' or 'json'"),
        ({"DEFAULT_LANGUAGE": "fr"}, "DEFAULT_LANGUAGE must be a language the API answers in"),
        ({"REPLICA_MAX_LAG_SECONDS": "-1"}, "REPLICA_MAX_LAG_SECONDS must be a number"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT must be a whole number from 0 to 10"),
        ({"TRUSTED_PROXY_COUNT": "all"}, "TRUSTED_PROXY_COUNT must be a whole number from 0 to 10"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(change, named):
    with pytest.raises(ConfigurationError, match=named):
        check_environment({**PRODUCTION, **change})


def test_a_flask_command_with_a_bad_setting_stops_with_one_line_naming_it(tmp_path):
    """README: "gunicorn and every `flask` command stop with one line naming each bad one"; a flask command
    once printed the whole traceback of the app's import around that line."""
    env = {**os.environ, "BIND": "nonsense", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "check-ledger"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "cannot start: BIND must be HOST:PORT (127.0.0.1:8000, 0.0.0.0:8000) or unix:PATH, not 'nonsense'"
    ]


def test_gunicorn_started_from_another_directory_checks_the_settings(tmp_path):
    """gunicorn.conf.py checks the settings with api/config.py's file alone, which takes the languages from
    inventory/reference.py (their one home, the importers' too): found from any directory gunicorn starts in."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update({"DEFAULT_LANGUAGE": "fr", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    done = subprocess.run(
        [*gunicorn, "--chdir", str(ROOT), "--check-config", "wsgi:app"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("cannot start: DEFAULT_LANGUAGE must be a language the API answers in (zh-CN or en), not 'fr'")
    ), done.stderr


def test_every_answer_carries_a_request_id_and_problems_quote_it(anonymous_client):
    refused = anonymous_client.get("/api/v1/warehouses")
    assert refused.status_code == 401
    assert len(refused.headers["X-Request-ID"]) == 32
    assert refused.json["request_id"] == refused.headers["X-Request-ID"]
    traced = anonymous_client.get("/api/v1/warehouses", headers={"X-Request-ID": "lb-7f3a"})
    assert traced.headers["X-Request-ID"] == traced.json["request_id"] == "lb-7f3a"
    forged = anonymous_client.get("/api/v1/warehouses", headers={"X-Request-ID": 'x" injected'})
    assert forged.headers["X-Request-ID"] != 'x" injected'  # only plain tokens are taken over


def test_a_json_log_line_per_request(app, client, caplog):
    app.config["LOG_FORMAT"] = "json"
    with caplog.at_level(logging.INFO, logger="inventory.requests"):
        answer = client.get("/api/v1/items", headers={"X-Request-ID": "req-42"})
    (record,) = [r for r in caplog.records if r.name == "inventory.requests"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42" == answer.headers["X-Request-ID"]
    assert (line["account"], line["endpoint"], line["method"], line["status"]) == ("admin", "items.Items", "GET", 200)
    assert line["duration_ms"] >= 0 and line["level"] == "info"


def test_health_and_ready(anonymous_client):
    assert anonymous_client.get("/health").json == {"status": "ok"}
    ready = anonymous_client.get("/ready")
    assert ready.status_code == 200
    assert ready.json["status"] == "ready" and ready.json["migrations"] == "current"


def test_ready_says_when_the_schema_is_behind_the_code(app, anonymous_client):
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '53667a9bc804'"))  # the first revision
    try:
        behind = anonymous_client.get("/ready")
        assert behind.status_code == 503 and behind.json["status"] == "migrations pending", behind.json
    finally:
        from api.observability import migration_heads

        (head,) = migration_heads()
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def _sample(exposition: str, prefix: str) -> float:
    values = [float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(prefix)]
    return sum(values)


def test_metrics_count_requests_searches_cache_reloads_and_read_the_database(
    app, client, make_warehouse, stocked_line, anonymous_client
):
    stocked_line(50, warehouse=make_warehouse("MET-1"))
    before = anonymous_client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        assert (
            client.get("/api/v1/nearest", query_string={"lat": 39.93, "lon": 116.42, "item": "PD-001"}).status_code
            == 200
        )
    assert client.post("/api/v1/warehouses/MET-1", json={}).status_code == 405
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    event = OutboxEvent(kind=NotificationKind.DAILY_DIGEST, payload="{}")
    db.session.add(event)
    db.session.flush()
    statuses = (DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.SENT)
    db.session.add_all(
        OutboxDelivery(event_id=event.id, user_id=admin.id, channel=DeliveryChannel.EMAIL, status=status)
        for status in statuses
    )
    db.session.commit()
    answer = anonymous_client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    after = answer.get_data(as_text=True)
    searches = 'inventory_http_requests_total{endpoint="nearest.Nearest",method="GET",status="200"}'
    assert _sample(after, searches) - _sample(before, searches) == 3
    latency = 'inventory_http_request_duration_seconds_count{endpoint="nearest.Nearest"}'
    assert _sample(after, latency) - _sample(before, latency) == 3
    nearest = 'inventory_nearest_searches_total{kind="nearest",outcome="ok"}'
    assert _sample(after, nearest) - _sample(before, nearest) == 3
    assert _sample(after, 'inventory_http_requests_total{endpoint="unmatched",method="POST",status="405"}') >= 1
    reloads = 'inventory_worker_cache_reloads_total{tables="warehouse"}'
    assert _sample(after, reloads) > _sample(before, reloads)  # a new warehouse: this worker reloaded its index
    assert "inventory_outbox_backlog 2.0" in after
    assert "inventory_outbox_backlog 0.0" in before  # nothing waiting yet; after: two waiting, one sent


def test_metrics_are_for_the_allowed_network_or_the_token(app):
    app.config["METRICS_TOKEN"] = "scrape-secret"
    outsider = app.test_client()
    outsider.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert outsider.get("/metrics").status_code == 403
    assert outsider.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert outsider.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    app.config["METRICS_ALLOW"] = ["203.0.113.0/24"]
    assert outsider.get("/metrics").status_code == 200
