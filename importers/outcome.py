"""What an import found: counts, errors and warnings located by sheet, Excel row and column header."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING

from inventory.import_review import MAX_ROWS_KEPT, ReviewEntry

if TYPE_CHECKING:
    from importers.workbook import Column

ERROR = "error"
WARNING = "warning"
NOTE = "note"  # what was skipped on purpose (totals, notes under the table, blank rows): no action needed
MAX_LISTED_ISSUES = 5_000  # a file with more is wrong from top to bottom: the first few thousand say why


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem, where the person will find it: sheet, row and column as Excel shows them."""

    severity: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None  # the header text as written in the file
    cell: str | None = None  # e.g. "F7"
    field: str | None = None  # the ledger field the column maps to
    value: object = None  # the rejected value, as read
    suggestion: str | None = None  # for an unknown column: the closest known field

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}


def json_value(value: object) -> object:
    """A cell value that JSON can carry and a person can recognise."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        if not math.isfinite(value):  # a crafted cell (<v>NaN</v>, an .xls's NaN double): JSON has no NaN
            return str(value)
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


@dataclass
class ImportReport:
    """The answer to an import or a dry run; ``status`` is validated, imported or rejected."""

    file_name: str
    sha256: str
    dry_run: bool
    skip_invalid: bool
    status: str = "validated"
    import_id: int | None = None
    reference: str | None = None
    actor: str = ""
    sheets: list[dict] = field(default_factory=list)
    rows: int = 0
    rows_rejected: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)
    errors_total: int = 0
    warnings_total: int = 0
    previous_import: dict | None = None
    # Set by ``in_language``: the summary already in the reader's language.
    translated_summary: str | None = field(default=None, repr=False)
    profile_saved: str | None = None  # the column-mapping profile saved with this import
    # What the import decided on its own, for a person to confirm or correct: (kind, subject) → entry.
    review: dict[tuple[str, str], ReviewEntry] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return self.errors_total > 0

    @property
    def refused(self) -> bool:
        """Errors refuse the file unless ``skip_invalid`` and some row is left to import: a file whose every
        row was refused, or whose only sheet could not be read (no warehouse column), applies nothing because
        of its errors, and is rejected rather than recorded as an import of nothing."""
        return self.has_errors and (not self.skip_invalid or self.rows_rejected >= self.rows)

    def add(self, issue: Issue) -> None:
        if issue.severity == NOTE:
            if len(self.notes) < MAX_LISTED_ISSUES:
                self.notes.append(issue)
            return
        if issue.severity == ERROR:
            self.errors_total += 1
            if len(self.errors) < MAX_LISTED_ISSUES:
                self.errors.append(issue)
        else:
            self.warnings_total += 1
            if len(self.warnings) < MAX_LISTED_ISSUES:
                self.warnings.append(issue)

    def put_in_row_order(self) -> None:
        """Errors, warnings and notes as a person reads the workbook: file-wide first, then by sheet (in the
        order read) and row; the steps after reading (warehouses, stock) add theirs late."""
        sheets = {sheet["name"]: position for position, sheet in enumerate(self.sheets)}

        def place(issue: Issue) -> tuple[int, int]:
            if issue.sheet is None:
                return (-1, 0)
            return (sheets.get(issue.sheet, len(sheets)), issue.row or 0)

        for issues in (self.errors, self.warnings, self.notes):
            issues.sort(key=place)

    def issues_by_row(self) -> dict[tuple[str, int], list[Issue]]:
        """Issues grouped by (sheet, row), for the annotated workbook."""
        grouped: dict[tuple[str, int], list[Issue]] = {}
        for issue in [*self.errors, *self.warnings]:
            if issue.sheet is not None and issue.row is not None:
                grouped.setdefault((issue.sheet, issue.row), []).append(issue)
        return grouped

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "skip_invalid": self.skip_invalid,
            "import_id": self.import_id,
            "reference": self.reference,
            "actor": self.actor,
            "sheets": self.sheets,
            "rows": self.rows,
            "rows_rejected": self.rows_rejected,
            "counts": self.counts,
            "errors_total": self.errors_total,
            "warnings_total": self.warnings_total,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
            "notes": [issue.to_dict() for issue in self.notes],
            "previous_import": self.previous_import,
            "profile_saved": self.profile_saved,
            "review": [
                {"kind": entry.kind, "subject": entry.subject, "detail": entry.detail, "rows": entry.rows[:20]}
                for entry in self.review.values()
            ],
        }

    def summary_parts(self) -> list[str]:
        """The summary's pieces, each one message of the API's catalog (the API translates them one by one)."""
        verb = {"validated": "checked", "imported": "imported", "rejected": "refused"}[self.status]
        parts = [f"{self.file_name}: {verb}", f"{self.rows} rows"]
        parts += [f"{name.replace('_', ' ')} {value}" for name, value in self.counts.items() if value]
        if self.errors_total:
            parts.append(f"{self.errors_total} errors in {self.rows_rejected} rows")
        if self.warnings_total:
            parts.append(f"{self.warnings_total} warnings")
        if self.status == "rejected":
            parts.append("nothing was written")
        return parts

    def summary(self) -> str:
        """One line for a terminal or a problem ``detail``."""
        return self.translated_summary or "; ".join(self.summary_parts())

    def in_language(self, translate: Callable[[str], str], separator: str = "; ") -> ImportReport:
        """A copy whose issue messages and summary went through ``translate`` (the API's message catalog)."""

        def shown(issues: list[Issue]) -> list[Issue]:
            return [replace(issue, message=translate(issue.message)) for issue in issues]

        summary = separator.join(translate(part) for part in self.summary_parts())
        return replace(
            self,
            errors=shown(self.errors),
            warnings=shown(self.warnings),
            notes=shown(self.notes),
            translated_summary=summary,
        )


@dataclass(slots=True)
class Source:
    """Where a value was read: for error messages and the annotated workbook."""

    sheet: str
    row: int
    column: Column | None = None
    value: object = None


class IssueLog:
    """Adds located issues to a report, and remembers which rows an error rejected."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.rejected: set[tuple[str, int]] = set()

    def warn(self, message: str, **where: object) -> None:
        if "value" in where:  # a cell value, as errors carry it
            where["value"] = json_value(where["value"])
        self.report.add(Issue(WARNING, message, **where))  # type: ignore[arg-type]

    def review(self, kind: str, subject: str, detail: str, sheet: str | None = None, row: int | None = None) -> None:
        """Put something decided without asking on the import's review list (``inventory.import_review``)."""
        self.review_rows(kind, subject, detail, [(sheet, row)])

    def review_rows(self, kind: str, subject: str, detail: str, rows: list[tuple[str | None, int | None]]) -> None:
        """``review`` for each (sheet, row) of ``rows`` in turn, at once (a new warehouse's thousands of rows); a
        place without its sheet or row puts the entry on the list without it."""
        entry = self.report.review.get((kind, subject))
        if entry is None:
            entry = self.report.review[kind, subject] = ReviewEntry(kind, subject, detail)
        room = MAX_ROWS_KEPT - len(entry.rows)
        if room > 0:
            entry.rows.extend(islice((where for where in rows if None not in where), room))

    def note(self, message: str, **where: object) -> None:
        self.report.add(Issue(NOTE, message, **where))  # type: ignore[arg-type]

    def warn_at(self, source: Source, message: str, value: object = None) -> None:
        """A warning about the value read at ``source`` (its column, when known)."""
        self.warn(
            message,
            sheet=source.sheet,
            row=source.row,
            column=source.column.header if source.column else None,
            value=value,
        )

    def cell_error(self, sheet: str, number: int, column: Column | None, value: object, message: str) -> None:
        """An error in one cell (or, without a column, in the row): the row is rejected."""
        self.rejected.add((sheet, number))
        self.report.add(
            Issue(
                ERROR,
                message,
                sheet=sheet,
                row=number,
                column=column.header if column else None,
                cell=f"{column.letter}{number}" if column else None,
                field=column.field if column else None,
                value=json_value(value),
            )
        )

    def source_error(self, source: Source, field_name: str | None, message: str) -> None:
        """An error about the value read at ``source``, blamed on ledger field ``field_name``."""
        self.rejected.add((source.sheet, source.row))
        self.report.add(
            Issue(
                ERROR,
                message,
                sheet=source.sheet,
                row=source.row,
                column=source.column.header if source.column else None,
                cell=f"{source.column.letter}{source.row}" if source.column else None,
                field=field_name or None,
                value=json_value(source.value),
            )
        )
