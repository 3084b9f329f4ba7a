"""Nearest stock to an incident, and plans covering a list of needs (computed, never stored)."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE
from sqlalchemy.orm import Session

from api.extensions import db
from api.routes.paging import Blueprint, json_answer
from api.schemas.nearest import NearestOut, NearestQuery, PlanIn, PlanOut, nearest_answer_dict, plan_answer_dict
from api.service_calls import find_nearest, plan_from
from inventory.nearest import NearestAnswer

blp = Blueprint("nearest", __name__, description="Nearest stock to an incident and plans to cover needs")


# A schema instance, not the class: webargs would build a schema (deep-copying its fields) on every request.
# The lean path (api/lean.py) parses with the same instance and arguments, through the same parser.
NEAREST_QUERY = NearestQuery()
NEAREST_ARGUMENTS = {"location": "query", "unknown": RAISE}


def nearest_response(session: Session, args: dict) -> Response:
    """The answer to a search from its loaded ``NearestQuery`` arguments (the view's, and the lean path's)."""
    answer: NearestAnswer = find_nearest(session, args)
    return json_answer(nearest_answer_dict(answer))


@blp.route("/nearest")
class Nearest(MethodView):
    @blp.arguments(NEAREST_QUERY, **NEAREST_ARGUMENTS)
    @blp.response(200, NearestOut)
    def get(self, args: dict) -> Response:
        """Active warehouses nearest an incident holding available stock of an item or category.

        Available = on hand minus reserved, in unexpired batches (expiry today still counts) unless
        `include_expired`. Ordered by geodesic distance (WGS-84), ties by warehouse code. Every
        warehouse with some available stock is listed; with `quantity`, `covers_quantity` says
        whether it alone holds that much and `cumulative_available` how much the nearer ones hold.
        """
        return nearest_response(db.session, args)


@blp.route("/plans")
class Plans(MethodView):
    @blp.arguments(PlanIn())
    @blp.response(200, PlanOut)
    def post(self, data: dict) -> Response:
        """Plan how to cover needs from the nearest stock; nothing is reserved or stored.

        Warehouses are used tier by tier: all of the first type in `reserve_type_preference`
        (nearest first), then the second, …, then every other type together, nearest first.
        Within a warehouse, batches go first-expiry-first-out (no expiry last). Only unexpired
        available stock within `radius_km` is allocated; `shortfall` says what it cannot cover.
        """
        return json_answer(plan_answer_dict(plan_from(db.session, data)))
