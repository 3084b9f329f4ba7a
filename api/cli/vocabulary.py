"""``flask --app wsgi vocabulary …``: the words and units the importer understands, from the shell.

Thin wrappers over ``inventory.vocabulary`` and ``inventory.unit_variants`` (the services behind
``/api/v1/reserve-type-words``, ``/items/{code}/pack-factors`` and ``/catalogue-reviews``); each is one transaction.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from api.cli.common import one_transaction, operator_option
from api.extensions import db
from inventory.access import Principal
from inventory.import_review import catalogue_reviews
from inventory.reference import ReserveType
from inventory.unit_variants import set_pack_factor
from inventory.vocabulary import add_reserve_type_word, list_reserve_type_words


def register(app: Flask) -> None:
    group = AppGroup("vocabulary", help="Words and units the ledger importer understands.")

    @group.command("reserve-words")
    def reserve_words() -> None:
        """List the words read as reserve types (shipped, then added)."""
        for entry in list_reserve_type_words(db.session):
            click.echo(f"{entry['word']}\t{entry['reserve_type']}\t{entry['added_by'] or '(shipped)'}")

    @group.command("add-reserve-word")
    @click.argument("word")
    @click.argument("reserve_type", type=click.Choice([member.value for member in ReserveType]))
    @operator_option
    def add_reserve_word(word: str, reserve_type: str, operator: Principal) -> None:
        """Read WORD as RESERVE_TYPE in every ledger from now on."""
        with one_transaction():
            add_reserve_type_word(db.session, operator, word, reserve_type)
        click.echo(f"{word} → {reserve_type}")

    @group.command("set-factor")
    @click.argument("item_code")
    @click.argument("unit")
    @click.argument("factor")
    @operator_option
    def set_factor(item_code: str, unit: str, factor: str, operator: Principal) -> None:
        """1 UNIT = FACTOR of ITEM_CODE's unit; merges a unit variant in UNIT into the item."""
        with one_transaction():
            merged = set_pack_factor(db.session, operator, item_code, unit, factor)
        moved = f"; {merged.variant_code}: {merged.lines_moved} lines merged" if merged.variant_code else ""
        click.echo(f"{merged.item_code}: 1 {merged.unit} = {merged.factor.normalize():f}{moved}")

    @group.command("review")
    def review() -> None:
        """Items imports added or split off that a person should confirm."""
        for entry in catalogue_reviews(db.session):
            click.echo(f"{entry.item_code}\t{entry.item_name}\t{entry.reason}\t{entry.detail}\t{entry.reference}")

    app.cli.add_command(group)
