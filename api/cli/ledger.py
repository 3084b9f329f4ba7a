"""``flask --app wsgi import-ledger`` / ``export-ledger``: Excel ledgers from the shell.

Thin wrappers over the same services as ``POST /api/v1/imports`` and ``GET /api/v1/exports/ledger.xlsx``;
each command is one transaction (``one_transaction``).

``import-ledger`` exits 0 when the file is clean, 1 when it has errors (nothing written, or a dry run),
2 when ``--skip-invalid`` imported the valid rows and skipped others.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import Flask

from api.cli.common import OutputFile, one_transaction, operator_option
from api.config import LANGUAGES
from api.extensions import db
from importers.annotate import annotate_workbook
from importers.export import export_ledger
from importers.ledger import import_ledger
from importers.outcome import ImportReport
from inventory.access import Principal
from inventory.regions import region_names

SHOWN_ISSUES = 50


def register(app: Flask) -> None:
    @app.cli.command("import-ledger")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="check everything and write nothing")
    @click.option("--skip-invalid", is_flag=True, help="import the valid rows and report the others")
    @click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
    @click.option(
        "--report",
        "report_path",
        type=OutputFile(),
        help="also write the workbook with an issues column here",
    )
    @click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="HEADER=FIELD",
        help="what an unknown column holds (a ledger field, or ignore); repeat for each column",
    )
    @click.option("--profile", help="apply the saved column mapping NAME; with --map, save the mapping as NAME")
    @operator_option
    def import_ledger_command(
        path: Path,
        dry_run: bool,
        skip_invalid: bool,
        as_json: bool,
        report_path: Path | None,
        maps: tuple[str, ...],
        profile: str | None,
        operator: Principal,
    ) -> None:
        """Import an Excel ledger (.xlsx or .xls) as stocktakes: all of it in one transaction, or nothing."""
        column_map = {}
        for given in maps:
            header, separator, field_name = given.rpartition("=")
            if not separator or not header.strip():
                raise click.BadParameter(f"{given!r}: write HEADER=FIELD", param_hint="--map")
            column_map[header] = field_name
        data = path.read_bytes()
        started = time.perf_counter()
        with _Progress() as progress, one_transaction():
            report = import_ledger(
                db.session,
                data,
                file_name=path.name,
                actor=operator,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=progress,
                column_map=column_map,
                profile=profile,
            )
        if report_path is not None:
            report_path.write_bytes(annotate_workbook(data, report))
        if as_json:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            _print_report(report, time.perf_counter() - started)
            if report_path is not None:
                click.echo(f"issues written into {report_path}")
        if report.has_errors:
            sys.exit(2 if report.status == "imported" else 1)

    @app.cli.command("export-ledger")
    @click.option("--region", help="province, city or county code or name, e.g. 北京市 (default: everything)")
    @click.option("-o", "--output", type=OutputFile(), help="default: a dated name")
    @click.option("--lang", type=click.Choice(LANGUAGES), default="zh", show_default=True)
    @operator_option
    def export_ledger_command(region: str | None, output: Path | None, lang: str, operator: Principal) -> None:
        """Write the ledger of a region as .xlsx: summary, one row per stock line, warehouses."""
        started = time.perf_counter()
        target = output or Path("ledger.xlsx")
        with one_transaction():
            region = region_names(db.session).region_named(region) if region else None
            result = export_ledger(db.session, str(target), actor=operator, region=region, lang=lang)
        if output is None:
            target = target.rename(result.file_name)
        click.echo(
            f"{target}: {result.rows} stock lines, {result.warehouses} warehouses, "
            f"{result.in_transit} shipment lines in transit in {time.perf_counter() - started:.1f} s"
        )


class _Progress:
    """A click progress bar on a terminal (stderr, so ``--json`` output stays clean); silent otherwise."""

    def __init__(self) -> None:
        self.bar = None

    def __enter__(self) -> _Progress:
        return self

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="reading rows", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_report(report: ImportReport, seconds: float) -> None:
    click.echo(f"{report.summary()} ({seconds:.1f} s)")
    if report.reference:
        click.echo(f"ledger entries: reference {report.reference}")
    if report.previous_import:
        earlier = report.previous_import
        click.echo(f"note: the same file was imported before (import {earlier['import_id']}, {earlier['imported_at']})")
    for issue in [*report.errors, *report.warnings][:SHOWN_ISSUES]:
        where = ", ".join(
            part
            for part in (
                issue.sheet or "",
                f"row {issue.row}" if issue.row else "",
                f"[{issue.column}]" if issue.column else "",
            )
            if part
        )
        value = f" (value {issue.value!r})" if issue.value is not None else ""
        click.echo(f"  {issue.severity}: {where}: {issue.message}{value}", err=issue.severity == "error")
    hidden = report.errors_total + report.warnings_total - SHOWN_ISSUES
    if hidden > 0:
        click.echo(f"  … and {hidden} more (use --json or --report for all)")
