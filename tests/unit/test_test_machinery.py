"""The test machinery's own shortcuts hold: what the ``app`` fixture skips at teardown could not have failed."""

from __future__ import annotations

from inventory.models import Movement, ShipmentLine
from tests.conftest import STOCK_ROOT, _holds_stock


def test_every_row_the_teardown_checks_read_hangs_from_a_stock_line():
    """Ledger entries and shipment lines name a stock line: with none, the ledger and logistics checks hold."""
    for model in (Movement, ShipmentLine):
        column = model.__table__.c.stock_line_id
        assert not column.nullable, model
        assert [key.column.table.name for key in column.foreign_keys] == [STOCK_ROOT], model


def test_the_teardown_checks_run_once_a_test_wrote_a_stock_line(app, stocked_line):
    assert not _holds_stock()
    stocked_line()
    assert _holds_stock()
