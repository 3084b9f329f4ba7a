"""What the web page needs beyond the resource endpoints: map settings, its session, my warehouses.

The page keeps the CSRF token in memory only, so after a reload it asks ``/page/session`` who is
logged in and for the session's token again (a same-origin read: another site cannot see it).
"""

from __future__ import annotations

import hashlib
import json

from flask import current_app, g, request, session
from flask.views import MethodView
from marshmallow import Schema, fields

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint
from api.schemas.accounts import PrincipalOut
from api.schemas.registry import WarehouseOut
from inventory.accounts import get_user
from inventory.demo import is_demo
from inventory.regions import base_map

blp = Blueprint("page", __name__, description="Settings and session state for the web page")


class PageConfigOut(Schema):
    tile_url = fields.String(metadata={"description": "map tile URL template ({z}/{x}/{y}), from MAP_TILE_URL"})
    tile_attribution = fields.String(metadata={"description": "plain-text credit shown on the map"})
    demo = fields.Boolean(metadata={"description": "a demo database (as in /health): the page shows a banner"})


class BaseMapOut(Schema):
    provinces = fields.List(fields.List(fields.Raw()), metadata={"description": "[name, latitude, longitude]"})
    cities = fields.List(fields.List(fields.Raw()), metadata={"description": "[name, latitude, longitude]"})
    places = fields.List(
        fields.List(fields.Float()), metadata={"description": "[latitude, longitude] of every county-level place"}
    )


class PageSessionOut(Schema):
    user = fields.Nested(PrincipalOut, allow_none=True, metadata={"description": "null when nobody is logged in"})
    csrf_token = fields.String(
        allow_none=True, metadata={"description": "the login session's token for X-CSRF-Token (null without one)"}
    )


@blp.route("/page-config")
class PageConfig(MethodView):
    @blp.response(200, PageConfigOut)
    @blp.doc(security=[])
    def get(self) -> dict:
        """Map settings for the page (anonymous): the tile layer is configuration, not code."""
        return {
            "tile_url": current_app.config["MAP_TILE_URL"],
            "tile_attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
            "demo": is_demo(db.session),
        }


@blp.route("/page/base-map")
class BaseMap(MethodView):
    @blp.response(200, BaseMapOut)
    @blp.doc(security=[])
    def get(self):
        """The map without tiles (anonymous, cached a day): province and city names, county-level points.

        Public geography from ``regions.csv``; the page draws it when no tile server answers.
        """
        body = json.dumps(base_map(db.session), ensure_ascii=False, separators=(",", ":"))
        etag = hashlib.sha256(body.encode()).hexdigest()[:32]
        if request.if_none_match.contains(etag):
            response = current_app.response_class(status=304)
        else:
            response = current_app.response_class(body, mimetype="application/json")
        response.set_etag(etag)
        response.cache_control.public = True
        response.cache_control.max_age = 86400
        return response


@blp.route("/page/session")
class PageSession(MethodView):
    @blp.response(200, PageSessionOut)
    @blp.doc(security=[])
    def get(self) -> dict:
        """Who the browser is logged in as, and the session's CSRF token; ``user`` null if nobody.

        Answers 200 either way, so a page opened before login logs no error.
        """
        principal = g.get("principal")
        if principal is None:
            return {"user": None, "csrf_token": None}
        return {"user": principal, "csrf_token": session.get("csrf")}


@blp.route("/page/my-warehouses")
class MyWarehouses(MethodView):
    @blp.response(200, WarehouseOut(many=True))
    def get(self) -> list:
        """The warehouses assigned to the caller (managers); empty for other roles."""
        principal = current_actor()
        if not principal.warehouse_ids:
            return []
        return sorted(get_user(db.session, principal.username).warehouses, key=lambda warehouse: warehouse.code)
