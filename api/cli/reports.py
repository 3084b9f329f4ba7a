"""``flask --app wsgi report …``: the readiness reports from the shell.

Each subcommand makes the API's own service call (the ``*_from`` helpers of ``api.service_calls``)
and dumps the answer through the API's output schema: ``--json`` prints the API's body (the list
reports with every row, unpaginated) and the table is drawn from that same dump.

``--as USERNAME`` reads as that account, with its role and scope: a manager sees their own
warehouses, provincial staff their province. The default, the trusted ``system`` operator, reads
everything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import click
from flask import Flask, current_app

from api.cli.common import account_option
from api.cli.terminal import render_table, truncate
from api.extensions import db
from api.schemas.reports import CoverageOut, DashboardOut, ExpiringLineOut, QuotaStatusOut
from api.service_calls import coverage_from, dashboard_from, expiring_from, quotas_from
from inventory.access import Principal
from inventory.errors import DomainError
from inventory.reference import Category, ReserveType
from inventory.regions import region_names
from inventory.reports.coverage import DEFAULT_COVERAGE_RADIUS_KM
from inventory.reports.expiry import DEFAULT_EXPIRY_WINDOW_DAYS

NAME_WIDTH = 30
# The option a service's error field comes from, where the names differ.
OPTION_FOR_FIELD = {"within_days": "within-days", "radius_km": "radius", "min_quantity": "min-quantity"}


reader_option = account_option(dest="reader")
json_option = click.option("--json", "as_json", is_flag=True, help="print the API's JSON instead of a table")


@contextlib.contextmanager
def _report() -> Iterator[None]:
    """A read: nothing to commit; a domain error becomes a CLI error naming the option."""
    try:
        yield
    except DomainError as error:
        if not error.field:
            raise click.ClickException(error.message) from error
        raise click.ClickException(f"--{OPTION_FOR_FIELD.get(error.field, error.field)}: {error.message}") from error
    finally:
        db.session.rollback()


def _named_regions(args: dict) -> dict:
    """``--region`` and ``--province`` as the API takes them: a code, or a name (北京, 海淀区) made its code."""
    for option in ("region", "province"):
        if args.get(option):
            args[option] = region_names(db.session).region_named(args[option], field=option)
    return args


def _echo_json(data: object) -> None:
    click.echo(current_app.json.response(data).get_data(as_text=True), nl=False)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def register(app: Flask) -> None:
    @app.cli.group("report")
    def report() -> None:
        """Readiness reports: expiring stock, reserve quotas, coverage gaps, dashboard figures."""

    @report.command("expiring")
    @click.option("--within-days", type=int, default=DEFAULT_EXPIRY_WINDOW_DAYS, show_default=True)
    @click.option("--region", help="province, city or county code or name")
    @click.option("--warehouse", help="warehouse code")
    @click.option("--category", type=click.Choice([c.value for c in Category]))
    @click.option("--item", help="item code, name or alias")
    @reader_option
    @json_option
    def expiring(reader: Principal, as_json: bool, **args: object) -> None:
        """Stock lines expired or expiring within N days, first expiry first."""
        with _report():
            lines = expiring_from(db.session, reader, _named_regions(args)).stream(db.session)
            data = ExpiringLineOut(many=True).dump(list(lines))
        if as_json:
            _echo_json(data)
            return
        click.echo(f"{len(data)} stock lines expired or expiring within {args['within_days']} days")
        _echo_table(
            ["days left", "expiry", "warehouse", "name", "county", "item", "batch", "quantity"],
            data,
            lambda line: [
                str(line["days_left"]),
                line["expiry_date"],
                line["warehouse_code"],
                truncate(line["warehouse_name"], NAME_WIDTH),
                line["county_name"],
                line["item_name"],
                line["batch"] or "-",
                f"{line['quantity']:g} {line['unit']}",
            ],
        )

    @report.command("quotas")
    @click.option("--region", help="province, city or county code or name")
    @click.option("--below-only", is_flag=True, help="only quotas not met")
    @reader_option
    @json_option
    def quotas(reader: Principal, as_json: bool, **args: object) -> None:
        """Reserve quotas against what is held (on hand in unexpired batches of active warehouses)."""
        with _report():
            data = QuotaStatusOut(many=True).dump(quotas_from(db.session, reader, _named_regions(args)))
        if as_json:
            _echo_json(data)
            return
        below = sum(status["below"] for status in data)
        click.echo(f"{len(data)} quotas, {below} below their minimum")
        _echo_table(
            ["quota", "target", "name", "material", "minimum", "held", "shortfall", "units", "below"],
            data,
            lambda status: [
                str(status["quota"]["id"]),
                status["quota"]["target_code"],
                truncate(status["quota"]["target_name"], NAME_WIDTH),
                status["quota"]["item_name"] or status["quota"]["category"],
                _number(status["quota"]["minimum"]),
                _number(status["held"]),
                _number(status["shortfall"]),
                ",".join(status["units"]) or "-",
                "BELOW" if status["below"] else "",
            ],
        )

    @report.command("coverage")
    @click.option("--item", help="item code, name or alias")
    @click.option("--category", type=click.Choice([c.value for c in Category]), help="instead of --item")
    @click.option("--radius", "radius_km", type=float, default=DEFAULT_COVERAGE_RADIUS_KM, show_default=True)
    @click.option("--min-quantity", help="with --item: only warehouses holding at least this much count")
    @click.option("--province", help="only this province's counties, code or name (holders anywhere count)")
    @json_option
    def coverage(as_json: bool, **args: object) -> None:
        """County-level places with no usable stock within the radius, and counties per province."""
        with _report():
            data = CoverageOut().dump(coverage_from(db.session, _named_regions(args)))
        if as_json:
            _echo_json(data)
            return
        what = f"{data['item']['name']} ({data['item']['code']})" if data["item"] else data["category"]
        click.echo(
            f"{what} within {data['radius_km']:g} km: {data['counties_uncovered']} of {data['counties_total']} "
            f"counties uncovered ({data['holders']} warehouses hold usable stock, as of {data['as_of']})"
        )
        _echo_table(
            ["province", "city", "county", "code", "nearest km", "nearest warehouse"],
            data["uncovered"],
            lambda gap: [
                gap["province_name"],
                gap["city_name"],
                gap["name"],
                gap["code"],
                "none" if gap["nearest_km"] is None else f"{gap['nearest_km']:.1f}",
                gap["nearest_warehouse_code"] or "-",
            ],
        )
        _echo_table(
            ["province", "code", "counties", "uncovered"],
            data["provinces"],
            lambda p: [p["name"], p["code"], str(p["counties_total"]), str(p["counties_uncovered"])],
        )

    @report.command("dashboard")
    @click.option("--region", help="a province (its cities) or a city (its counties), code or name; default: provinces")
    @json_option
    def dashboard(as_json: bool, **args: object) -> None:
        """Active warehouses by reserve type and stock lines per child region, with the totals."""
        with _report():
            data = DashboardOut().dump(dashboard_from(db.session, _named_regions(args)))
        if as_json:
            _echo_json(data)
            return
        types = [t.value for t in ReserveType]
        _echo_table(
            ["code", "region", "warehouses", *types, "stock lines", "expired"],
            [*data["regions"], data["totals"]],
            lambda region: [
                region["code"] or "-",
                region["name"],
                str(region["active_warehouses"]),
                *(str(region["warehouses_by_reserve_type"][t]) for t in types),
                str(region["stock_lines"]),
                str(region["expired_lines"]),
            ],
        )


def _echo_table(header: list[str], records: list[dict], cells: Callable[[dict], list[str]]) -> None:
    if records:
        click.echo(render_table(header, [cells(record) for record in records]))
