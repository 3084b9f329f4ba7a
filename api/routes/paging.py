"""Paging a SQLAlchemy select with flask-smorest's pagination parameters."""

from __future__ import annotations

from typing import ClassVar

import flask_smorest
from flask_smorest import Page
from sqlalchemy import func, select

from api.extensions import db

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


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
        count = select(func.count()).select_from(self.collection.order_by(None).subquery())
        return db.session.scalar(count)

    @property
    def items(self) -> list:
        stmt = self.collection.offset(self.page_params.first_item).limit(self.page_params.page_size)
        return list(db.session.scalars(stmt).unique())
