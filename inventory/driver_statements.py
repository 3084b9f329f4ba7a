"""Core statements compiled once per database and sent as the driver's own SQL: the stock write path.

A receipt or an issue is three writes (the conditional UPDATE, the ledger entry, the audit entry) at hundreds
a second. Through ``Session.execute`` each cost more CPU in SQLAlchemy (the compiled-cache lookup, the
execution context, the result's metadata) than the database spent on it. A ``DriverStatement`` keeps what
SQLAlchemy would compile for the statement on each dialect, with the types' bind processors (quantities to
thousandths, aware timestamps to naive UTC, enums to their codes), and runs it through
``inventory.db.driver_rows``: the engine's cursor events still see it (statement counters, the data-version
memo), and a driver error is wrapped and handled exactly as SQLAlchemy's own execution would.

The statement is the same SQL either way; only who builds the parameter list differs.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from inventory.db import driver_rows


class DriverStatement:
    """``statement`` (with ``column_keys``: an INSERT's columns, each given every time) for the driver."""

    def __init__(self, statement: ClauseElement, column_keys: tuple[str, ...] | None = None) -> None:
        self.statement = statement
        self.column_keys = column_keys
        # (dialect, driver) → (SQL, parameter names in order, bind processors by name, positional?)
        self._compiled: dict[tuple[str, str], tuple[str, tuple[str, ...], dict[str, Callable], bool]] = {}
        # dialect name → each selected column's result processor (None: the driver's value is the answer)
        self._converters: dict[str, tuple[Callable | None, ...]] = {}

    def compiled(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Callable], bool]:
        key = (dialect.name, dialect.driver)  # the driver decides the paramstyle
        found = self._compiled.get(key)
        if found is None:
            keys = list(self.column_keys) if self.column_keys is not None else None
            compiled = self.statement.compile(dialect=dialect, column_keys=keys)
            positional = bool(compiled.positional)
            names = tuple(compiled.positiontup) if positional else tuple(compiled.bind_names.values())
            found = (compiled.string, names, dict(compiled._bind_processors), positional)
            self._compiled[key] = found
        return found

    def rows(self, session: Session, values: dict) -> list[tuple]:
        """Run in the session's transaction with ``values`` by parameter name; the driver's rows (unconverted)."""
        return self._run(session.connection(), values)

    def values(self, session: Session, values: dict) -> list[tuple]:
        """``rows``, each column converted as SQLAlchemy would convert it (a date on SQLite, an enum by its
        code, thousandths to a quantity): for a read whose answer Python uses, of a ``select`` of columns."""
        connection = session.connection()
        rows = self._run(connection, values)
        if not rows:
            return rows
        dialect = connection.dialect
        converters = self._converters.get(dialect.name)
        if converters is None:
            converters = self._converters[dialect.name] = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
        return [
            tuple(value if convert is None else convert(value) for convert, value in zip(converters, row, strict=True))
            for row in rows
        ]

    def _run(self, connection, values: dict) -> list[tuple]:
        sql, names, processors, positional = self.compiled(connection.dialect)
        if positional:
            parameters: list | dict = [
                processors[name](values[name]) if name in processors else values[name] for name in names
            ]
        else:
            parameters = {
                name: processors[name](values[name]) if name in processors else values[name] for name in names
            }
        return driver_rows(connection, sql, parameters)
