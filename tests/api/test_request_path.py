"""The shortcuts of the request path every route shares load, refuse and count exactly as the libraries did."""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import RAISE, ValidationError
from webargs.flaskparser import FlaskParser

from api.identity import SessionCookies
from api.metrics import REQUESTS, record_request
from api.routes.paging import ArgumentParser
from api.schemas.nearest import NearestQuery

QUERIES = [
    "lat=30.5&lon=114.3&item=SC-001",
    "lat=30.5&lon=114.3&item=SC-001&reserve_types=government,enterprise&reserve_types=production",  # repeated, comma
    "lat=30.5&lat=99&lon=114.3&item=SC-001",  # a single-valued field given twice: the first value counts
    "lat=abc&lon=114.3&limit=0",  # refused: two fields named
    "lat=30.5&lon=114.3&colour=red",  # an unknown parameter
    "lat=30.5&lon=114.3&reserve_types=nowhere",
    "",
]


def _parse(parser: FlaskParser, query: str) -> object:
    app = Flask(__name__)
    with app.test_request_context(f"/nearest?{query}"):
        from flask import request

        try:
            return parser.parse(NearestQuery(), request, location="query", unknown=RAISE)
        except ValidationError as error:
            return ("refused", error.messages)
        except Exception as error:  # webargs turns a ValidationError into an HTTP error (422)
            return ("refused", getattr(error, "data", {}).get("messages"))


@pytest.mark.parametrize("query", QUERIES)
def test_the_query_parser_loads_and_refuses_as_webargs_does(query):
    assert _parse(ArgumentParser(), query) == _parse(FlaskParser(), query)


def test_the_session_serializer_is_built_once_per_key():
    app = Flask(__name__)
    app.secret_key = "first"
    cookies = SessionCookies()
    serializer = cookies.get_signing_serializer(app)
    assert cookies.get_signing_serializer(app) is serializer
    signed = serializer.dumps({"sid": "x"})
    app.secret_key = "second"  # a changed key (tests change it on a running app) signs anew
    assert cookies.get_signing_serializer(app) is not serializer
    assert cookies.get_signing_serializer(app).dumps({"sid": "x"}) != signed
    app.config["SECRET_KEY_FALLBACKS"] = ["first"]  # the old key still reads old cookies
    assert cookies.get_signing_serializer(app).loads(signed) == {"sid": "x"}
    app.secret_key = ""
    assert cookies.get_signing_serializer(app) is None


def test_the_request_counter_counts_each_request_once():
    series = REQUESTS.labels("test.Endpoint", "GET", "200")
    before = series._value.get()
    for _ in range(3):
        record_request("test.Endpoint", "GET", 200, 0.001)
    assert series._value.get() == before + 3


def test_every_api_blueprint_reads_its_query_string_through_the_one_parser(app):
    """A blueprint made from flask_smorest's own class would quietly read its query strings another way."""
    import flask_smorest

    from api.routes.paging import Blueprint

    api_blueprints = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert len(api_blueprints) >= 19  # every module of api/routes with a blueprint (19 today)
    assert [bp.name for bp in api_blueprints if not isinstance(bp, Blueprint)] == []


def test_a_read_ends_its_transaction_and_leaves_loaded_objects_attached(app, client):
    """``end_read``: a session holding objects is rolled back (they stay attached, expired), an empty one closed."""
    from sqlalchemy import inspect, select

    from api.extensions import db
    from inventory.models import User

    user = db.session.scalars(select(User).where(User.username == "admin")).one()
    assert client.get("/api/v1/auth/me").status_code == 200
    assert not db.session().in_transaction()
    assert not inspect(user).detached and inspect(user).expired
    assert user.username == "admin"  # reloaded in a new transaction
    db.session.rollback()
    db.session.expunge_all()
    assert client.get("/api/v1/auth/me").status_code == 200  # the worker knows the token: nothing loaded
    assert not db.session().in_transaction()


def test_ensure_sync_answers_as_flask_does(app):
    """Remembered per function: a plain function or method comes back as it is, an ``async def`` is wrapped."""

    def plain() -> None:
        return None

    async def coroutine() -> None:
        return None

    class View:
        def get(self) -> None:
            return None

    for _ in range(2):
        assert app.ensure_sync(plain) is plain
        method = View().get
        assert app.ensure_sync(method) is method
        try:
            wrapped = app.ensure_sync(coroutine)
        except RuntimeError:  # Flask's async support needs asgiref, which this project does not install
            continue
        assert wrapped is not coroutine
