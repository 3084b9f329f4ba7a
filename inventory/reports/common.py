"""What several readiness reports share: a report as one streamable select, and what counts as usable stock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, or_
from sqlalchemy.orm import Session

from inventory.models import StockLine, Warehouse
from inventory.reference import WarehouseStatus

T = TypeVar("T")


@dataclass(frozen=True)
class ReportRows(Generic[T]):
    """A report as one select of plain columns and the function turning a row into a record.

    The API pages it in the database; the workbook and the CLI stream every row.
    """

    statement: Select
    record: Callable[[Row], T]

    def stream(self, session: Session, chunk: int = 5_000) -> Iterator[T]:
        for row in session.execute(self.statement.execution_options(yield_per=chunk)):
            yield self.record(row)


def usable_stock(today: dt.date) -> ColumnElement[bool]:
    """Stock that counts as ready: in an active warehouse, on hand, not past its expiry date."""
    return and_(
        Warehouse.status == WarehouseStatus.ACTIVE,
        StockLine.quantity > 0,
        or_(StockLine.expiry_date.is_(None), StockLine.expiry_date >= today),
    )
