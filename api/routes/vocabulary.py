"""Catalogue vocabularies staff extend: reserve-type words, an item's pack factors; item suggestions; the
catalogue part of the review list (what imports guessed)."""

from __future__ import annotations

from flask.views import MethodView

from api.extensions import db
from api.identity import current_actor
from api.routes.paging import Blueprint
from api.schemas.vocabulary import (
    PackFactorIn,
    PackFactorOut,
    ReserveTypeWordIn,
    ReserveTypeWordOut,
    ReviewOut,
)
from inventory.import_review import catalogue_reviews
from inventory.unit_variants import set_pack_factor
from inventory.vocabulary import add_reserve_type_word, list_reserve_type_words, remove_reserve_type_word

blp = Blueprint("vocabulary", __name__, description="Words and units the importer understands; item suggestions")


@blp.route("/reserve-type-words")
class ReserveTypeWords(MethodView):
    @blp.response(200, ReserveTypeWordOut(many=True))
    def get(self):
        """Every word a ledger may write for a reserve type: the shipped ones, then those staff added."""
        return list_reserve_type_words(db.session)

    @blp.arguments(ReserveTypeWordIn)
    @blp.response(201, ReserveTypeWordOut)
    def post(self, data: dict):
        """Teach the importer a word for a reserve type (admins and provincial staff); 409 if it means another."""
        return add_reserve_type_word(db.session, current_actor(), data["word"], data["reserve_type"])


@blp.route("/reserve-type-words/<string:word>")
class ReserveTypeWordByWord(MethodView):
    @blp.response(204)
    def delete(self, word: str):
        """Take back a word staff added (shipped words stay)."""
        remove_reserve_type_word(db.session, current_actor(), word)


@blp.route("/items/<string:code>/pack-factors")
class PackFactors(MethodView):
    @blp.arguments(PackFactorIn)
    @blp.response(201, PackFactorOut)
    def post(self, data: dict, code: str):
        """Set 1 `unit` = `factor` of the item's unit (1 包 = 10 张); stock kept as a unit variant in that unit
        moves into the item by ledger movements (409 when call-ups hold part of it)."""
        return set_pack_factor(db.session, current_actor(), code, data["unit"], data["factor"])


@blp.route("/catalogue-reviews")
class CatalogueReviews(MethodView):
    @blp.response(200, ReviewOut(many=True))
    def get(self):
        """Items imports added or split off that a person should confirm (new item, unit variant): the open
        new-item and unit-variant entries of the imports' review lists, one per item. Confirm or correct one with
        ``POST /imports/{import_id}/review/{entry_id}/confirm|correct``; that settles it for every import."""
        return catalogue_reviews(db.session)
