"""Paging a SQLAlchemy select with flask-smorest's pagination parameters."""

from __future__ import annotations

from flask_smorest import Page
from sqlalchemy import func, select

from api.extensions import db


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
