"""Web login for the page: a session cookie plus a CSRF token, using the same accounts.

The session is kept in the database; logout ends it there, so a copied cookie stops working too.
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from api.extensions import db
from api.identity import client_address, current_actor, current_session_key, end_session, start_session
from api.routes.paging import Blueprint
from api.schemas.accounts import LoginIn, LoginOut, PrincipalOut
from inventory.accounts import begin_login, end_web_session, finish_login, start_web_session
from inventory.errors import Unauthenticated

blp = Blueprint("auth", __name__, description="Login and the current user")


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(LoginIn)
    @blp.response(200, LoginOut)
    @blp.doc(security=[], responses={401: {"description": "wrong credentials"}, 429: {"description": "rate-limited"}})
    def post(self, data: dict):
        """Log in with username and password; sets the session cookie and returns the CSRF token."""
        attempt = begin_login(db.session, data["username"], client_address())
        # The attempt must count whatever follows (a wrong password fails the request): commit it
        # before the password is checked. This also keeps the throttle's row lock short.
        db.session.commit()
        principal = finish_login(db.session, attempt, data["password"])
        if principal is None:
            raise Unauthenticated("wrong username or password", field="password")
        key = start_web_session(db.session, principal, lifetime=current_app.permanent_session_lifetime)
        return {"user": principal, "csrf_token": start_session(key)}


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """End this web session at once (a copy of the cookie stops working too); other sessions go on."""
        actor = current_actor()
        key = current_session_key()
        if key is not None:
            end_web_session(db.session, actor, key)
        end_session()


@blp.route("/auth/me")
class Me(MethodView):
    @blp.response(200, PrincipalOut)
    def get(self):
        """Who the request is authenticated as."""
        return current_actor()
