"""Paging a SQLAlchemy select with flask-smorest's pagination parameters."""

from __future__ import annotations

from typing import ClassVar

import flask_smorest
from flask_smorest import Page
from sqlalchemy import func, select

from api.extensions import db

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# No table holds this many rows: a page beyond it is empty without asking the database, whose integers
# (SQLite's and PostgreSQL's 64 bits) a larger OFFSET would overflow.
MAX_OFFSET = 2**62


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with our paging defaults (it reads them from the class)."""

    DEFAULT_PAGINATION_PARAMETERS: ClassVar[dict[str, int]] = {
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
    }


class SelectPage(Page):
    """Counts and slices a ``select()`` in the database rather than in Python."""

    @property
    def item_count(self) -> int:
        return count_rows(self.statement)

    @property
    def statement(self):
        """The select being paged (subclasses page something that holds one)."""
        return self.collection

    @property
    def items(self) -> list:
        if self.page_params.first_item >= MAX_OFFSET:
            return []
        stmt = self.statement.offset(self.page_params.first_item).limit(self.page_params.page_size)
        return list(db.session.scalars(stmt).unique())


def count_rows(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
