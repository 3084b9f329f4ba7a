"""Domain errors. The edges map each class to a status code; messages are safe to show users."""

from __future__ import annotations

from typing import Self

IS_REQUIRED = "is required"


class DomainError(Exception):
    """Base of every rule violation a service reports.

    ``field`` names the input the error is about (for a problem body), when there is one. ``predicate``: what
    the message says of that field, when the message is the field's name and that (``of_field``).
    """

    title = "Request refused"
    predicate: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @classmethod
    def of_field(cls, field: str, predicate: str) -> Self:
        """``field`` and what is wrong with it (``name is longer than 200 characters``), kept apart so that an edge
        that calls the field by other words (a ledger's column header, ``said_of``) says the very same of them."""
        error = cls(f"{field} {predicate}", field=field)
        error.predicate = predicate
        return error

    def said_of(self, words: str) -> str:
        """The message about the field called ``words`` (``仓库名称 is longer than 200 characters``); a message
        that is not the field's name and a predicate, as it is."""
        return self.message if self.predicate is None else f"{words} {self.predicate}"

    @property
    def missing(self) -> bool:
        """Whether it says a required field was not given (``required``)."""
        return self.predicate == IS_REQUIRED


def required(field: str) -> ValidationFailed:
    """A required field not given: ``name is required``."""
    return ValidationFailed.of_field(field, IS_REQUIRED)


class NotFound(DomainError):
    title = "Not found"


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a domain rule (unknown county, expiry before production…)."""

    title = "Invalid input"


class Conflict(DomainError):
    """The request clashes with existing state (duplicate code, batch with other dates, in use…)."""

    title = "Conflict"


class InsufficientStock(DomainError):
    title = "Insufficient stock"

    def __init__(self, stock_line_id: int, requested: object, available: object, *, field: str = "quantity") -> None:
        super().__init__(
            f"stock line {stock_line_id} has {plain_number(available)} available, "
            f"cannot remove {plain_number(requested)}",
            field=field,
        )
        self.stock_line_id = stock_line_id
        self.requested = requested
        self.available = available


def plain_number(value: object) -> str:
    """12.500 → 12.5 and 1E+2 → 100, for messages people read."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


class Unauthenticated(DomainError):
    title = "Unauthorized"


class Forbidden(DomainError):
    title = "Forbidden"


class TooManyAttempts(DomainError):
    title = "Too Many Requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
