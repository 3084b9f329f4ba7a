"""Migration 9c3e5a7b1d42 moves the catalogue reviews (item_review) into the import review list: nothing lost."""

from __future__ import annotations

import datetime as dt
import json

import flask_migrate
import pytest
import sqlalchemy as sa

from api import create_app
from api.extensions import db
from tests.empty_database import empty_database

BEFORE, AFTER = "e4b7c2a91f05", "9c3e5a7b1d42"


@pytest.fixture
def empty_database_url(db_kind, database_template, tmp_path):
    """A database of its own (the test migrates it step by step): a new file, or a new PostgreSQL database."""
    with empty_database(db_kind, database_template, tmp_path, "review_migration") as url:
        yield url


def test_the_catalogue_reviews_survive_the_move_into_the_import_review_list(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    at = dt.datetime(2026, 11, 1, 8, 0)
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE)
        with db.engine.begin() as connection:
            for item_id, code, name, unit in [
                (1, "X-FELT", "吸油毡", "张"),
                (2, "X-FELT-U1", "吸油毡（包）", "包"),
                (3, "X-TENT", "应急帐篷", "顶"),
            ]:
                connection.execute(
                    sa.text(
                        "INSERT INTO item (id, code, name, category, specification, unit, created_at, updated_at)"
                        " VALUES (:id, :code, :name, 'other', '', :unit, :at, :at)"
                    ),
                    {"id": item_id, "code": code, "name": name, "unit": unit, "at": at},
                )
            connection.execute(sa.text("INSERT INTO item_variant (item_id, base_item_id, unit) VALUES (2, 1, '包')"))
            connection.execute(
                sa.text(
                    "INSERT INTO ledger_import (id, file_name, sha256, actor, imported_at, skip_invalid, rows,"
                    " rows_rejected, warnings, warehouses_created, warehouses_updated, items_created, lines_created,"
                    " lines_changed, lines_unchanged) VALUES (7, 'a.xlsx', 'ab', 'officer', :at, false, 3, 0, 1, 0,"
                    " 0, 1, 3, 0, 0)"
                ),
                {"at": at},
            )
            connection.execute(  # the import's own entry for the felt it added
                sa.text(
                    "INSERT INTO import_review_item (import_id, kind, subject, detail, rows, status, resolution,"
                    " resolved_by) VALUES (7, 'new_item', 'X-FELT', 'added', :rows, 'open', '', '')"
                ),
                {"rows": json.dumps([["台账", 3]], ensure_ascii=False)},
            )
            for item_id, reason, detail, reference, resolved_by in [
                (1, "new_item", "'吸油毡' … inferred from '吸油'", "台账 第3行", None),
                (2, "unit_variant", "'包' does not convert", "台账 第5行", "alice"),  # merged by a pack factor
                (3, "new_item", "'应急帐篷' … filed under other", "库存 第9行", None),  # no entry in any import
            ]:
                connection.execute(
                    sa.text(
                        "INSERT INTO item_review (item_id, reason, detail, reference, created_at, resolved_by)"
                        " VALUES (:item_id, :reason, :detail, :reference, :at, :resolved_by)"
                    ),
                    {
                        "item_id": item_id,
                        "reason": reason,
                        "detail": detail,
                        "reference": reference,
                        "at": at,
                        "resolved_by": resolved_by,
                    },
                )

        flask_migrate.upgrade(revision=AFTER)

        with db.engine.connect() as connection:
            assert "item_review" not in sa.inspect(connection).get_table_names()
            moved = connection.execute(
                sa.text(
                    "SELECT import_id, kind, subject, detail, rows, status, resolution, resolved_by, created_at"
                    " FROM import_review_item ORDER BY id"
                )
            ).all()
        assert [tuple(row[:8]) for row in moved] == [
            (7, "new_item", "X-FELT", "'吸油毡' … inferred from '吸油'", '[["台账", 3]]', "open", "", ""),
            (
                None,
                "unit_variant",
                "X-FELT-U1",
                "'包' does not convert",
                '[["台账", 5]]',
                "corrected",
                "X-FELT",
                "alice",
            ),
            (None, "new_item", "X-TENT", "'应急帐篷' … filed under other", '[["库存", 9]]', "open", "", ""),
        ]
        assert all(row.created_at is not None for row in moved)

        from inventory.import_review import catalogue_reviews

        with app.test_request_context():
            listed = [(r.item_code, r.reason, r.reference) for r in catalogue_reviews(db.session)]
            db.session.remove()
        assert listed == [
            ("X-FELT", "new_item", "IMPORT-7 sheet 台账 row 3"),
            ("X-TENT", "new_item", "sheet 库存 row 9"),
        ]
        db.engine.dispose()
