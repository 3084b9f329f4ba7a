"""Web login for the page: a session cookie plus a CSRF token, using the same accounts."""

from __future__ import annotations

from flask.views import MethodView

from api.account_schemas import LoginIn, LoginOut, PrincipalOut
from api.extensions import db
from api.identity import client_address, current_actor, end_session, start_session
from api.routes.paging import Blueprint
from inventory.accounts import login
from inventory.errors import Unauthenticated

blp = Blueprint("auth", __name__, description="Login and the current user")


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(LoginIn)
    @blp.response(200, LoginOut)
    @blp.doc(security=[], responses={401: {"description": "wrong credentials"}, 429: {"description": "rate-limited"}})
    def post(self, data: dict):
        """Log in with username and password; sets the session cookie and returns the CSRF token."""
        principal = login(db.session, data["username"], data["password"], client_address())
        if principal is None:
            # The failure must be counted even though the request fails: commit it before refusing.
            db.session.commit()
            raise Unauthenticated("wrong username or password", field="password")
        return {"user": principal, "csrf_token": start_session(principal)}


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """End the web session."""
        end_session()


@blp.route("/auth/me")
class Me(MethodView):
    @blp.response(200, PrincipalOut)
    def get(self):
        """Who the request is authenticated as."""
        return current_actor()
