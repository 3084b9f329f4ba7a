"""The cycle collector is held off while a ledger is imported (``inventory.db.without_cycle_collection``, held by
``import_ledger``), and is back after."""

from __future__ import annotations

import gc

import pytest

from importers.ledger import import_ledger
from importers.rows import LedgerReader
from importers.sandbox import Child
from inventory.db import without_cycle_collection
from tests.importers.conftest import HEADER, ledger_row, sheet_of_rows


def test_the_collector_is_off_inside_and_as_it_was_after():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), without_cycle_collection():
        assert not gc.isenabled()
        raise RuntimeError("a failed import")
    assert gc.isenabled()
    gc.disable()
    try:
        with without_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # switched off by someone else: left off
    finally:
        gc.enable()


def test_a_ledger_is_read_with_the_collector_off(session, monkeypatch):
    seen: list[bool] = []
    read_row = LedgerReader._stock_row

    def spied(*args):
        seen.append(gc.isenabled())
        return read_row(*args)

    monkeypatch.setattr(LedgerReader, "_stock_row", spied)
    data = sheet_of_rows([HEADER, *[ledger_row(批次=f"B{n}") for n in range(5)]])
    report = import_ledger(session, data, file_name="a.xlsx", actor="tester", dry_run=True)
    assert report.rows == 5 and seen == [False] * 5
    assert gc.isenabled()


def test_a_parsing_child_forked_while_the_collector_is_off_has_its_own_on():
    """Another thread's import holds the worker's collector off; a parse forked meanwhile must not inherit that."""
    with without_cycle_collection():
        child = Child(lambda send: send(gc.isenabled()))
        try:
            said = child.receive()
        finally:
            child.close()
    assert said is True
