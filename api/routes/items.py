"""The material catalogue."""

from __future__ import annotations

from flask.views import MethodView

from api.etags import require_if_match, with_etag
from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint, SelectPage
from api.schemas.registry import ItemCreate, ItemOut, ItemQuery, ItemSuggestionOut, ItemSuggestionQuery, ItemUpdate
from inventory.catalogue import create_item, delete_item, get_item, list_items, suggest_items, update_item
from inventory.reference import Category

blp = Blueprint("items", __name__, description="Catalogue of emergency materials")


@blp.route("/items")
class Items(MethodView):
    @blp.arguments(ItemQuery, location="query")
    @blp.response(200, ItemOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, args: dict):
        """List items, by category or by part of the code, name or an alias."""
        category = Category(args["category"]) if "category" in args else None
        return list_items(db.session, category=category, q=args.get("q"))

    @blp.arguments(ItemCreate)
    @blp.response(201, ItemOut)
    def post(self, data: dict):
        """Add an item to the catalogue."""
        return create_item(db.session, current_actor(), **data)


@blp.route("/item-suggestions")
class ItemSuggestions(MethodView):
    @blp.arguments(ItemSuggestionQuery, location="query")
    @blp.response(200, ItemSuggestionOut(many=True))
    def get(self, args: dict):
        """Items for what someone is typing: exact code, name or alias alone; else names containing
        the text, then variant spellings (活性碳 → 活性炭), pinyin initials (``hxt``) and similar names."""
        return suggest_items(db.session, args["q"], limit=args["limit"])


@blp.route("/items/<string:code>")
class ItemByCode(MethodView):
    @blp.response(200, ItemOut)
    def get(self, code: str):
        """One item, with its ``ETag``."""
        return with_etag(get_item(db.session, code, field="code"), ItemOut())

    @blp.arguments(ItemUpdate)
    @blp.response(200, ItemOut)
    def patch(self, data: dict, code: str):
        """Change some fields of an item; ``aliases`` replaces the whole list.

        Send ``If-Match`` with the ``ETag`` you read: 412 if the item changed since (without it the
        change is applied, for older clients)."""
        require_if_match(get_item(db.session, code, field="code"), ItemOut())
        return with_etag(update_item(db.session, current_actor(), code, **data), ItemOut())

    @blp.response(204)
    def delete(self, code: str) -> None:
        """Delete an item that has never been stocked."""
        delete_item(db.session, current_actor(), code)
