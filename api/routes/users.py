"""Accounts and API tokens (administrators only)."""

from __future__ import annotations

from flask.views import MethodView

from api.etags import require_if_match, with_etag
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.accounts import NewTokenOut, TokenCreate, TokenOut, UserCreate, UserOut, UserQuery, UserUpdate
from api.schemas.fields import Augmented
from inventory.access import require_admin
from inventory.accounts import create_token, create_user, get_user, list_tokens, list_users, revoke_token, update_user
from inventory.reference import Role

blp = Blueprint("users", __name__, description="Accounts, roles and API tokens (administrators)")


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, UserOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """List accounts."""
        return list_users(db.session, current_actor(), role=Role(args["role"]) if "role" in args else None)

    @blp.arguments(UserCreate)
    @blp.response(201, UserOut)
    def post(self, data: dict):
        """Create an account; managers take ``warehouse_codes``, provincial staff a ``province_code``."""
        return create_user(db.session, current_actor(), **data)


@blp.route("/users/<string:username>")
class UserByName(MethodView):
    @blp.response(200, UserOut)
    def get(self, username: str):
        """One account, with its ``ETag``."""
        require_admin(current_actor())
        return with_etag(get_user(db.session, username), UserOut())

    @blp.arguments(UserUpdate)
    @blp.response(200, UserOut)
    def patch(self, data: dict, username: str):
        """Change role, scope, password or active flag.

        Send ``If-Match`` with the ``ETag`` you read: 412 if the account changed since (without it the
        change is applied, for older clients)."""
        require_admin(current_actor())
        require_if_match(get_user(db.session, username), UserOut())
        return with_etag(update_user(db.session, current_actor(), username, **data), UserOut())


@blp.route("/users/<string:username>/tokens")
class UserTokens(MethodView):
    @blp.response(200, TokenOut(many=True))
    def get(self, username: str):
        """The account's tokens (never the tokens themselves)."""
        return list_tokens(db.session, current_actor(), username)

    @blp.arguments(TokenCreate)
    @blp.response(201, NewTokenOut)
    def post(self, data: dict, username: str):
        """Create a bearer token; the token is in this response only."""
        token, plain = create_token(db.session, current_actor(), username=username, **data)
        return Augmented(token, token=plain)


@blp.route("/tokens/<id:token_id>")
class TokenById(MethodView):
    @blp.response(200, TokenOut)
    def delete(self, token_id: int):
        """Revoke a token at once."""
        return revoke_token(db.session, current_actor(), token_id)
