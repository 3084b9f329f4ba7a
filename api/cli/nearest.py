"""``flask --app wsgi nearest``: the nearest-stock search from the shell.

It runs the API's own search (``find_nearest``) and dumps the answer through the API's output
schema: ``--json`` prints exactly the API's response body, and the table is drawn from that
same dump, so the shell and the API cannot disagree.
"""

from __future__ import annotations

import click
from flask import Flask, current_app

from api.cli.terminal import column_widths, format_row, truncate
from api.extensions import db
from api.schemas.nearest import NearestOut
from api.service_calls import find_nearest
from inventory.errors import DomainError
from inventory.nearest import DEFAULT_LIMIT, DEFAULT_RADIUS_KM
from inventory.reference import Category, ReserveType

NAME_WIDTH = 36


def register(app: Flask) -> None:
    @app.cli.command("nearest")
    @click.option("--lat", type=float, help="incident latitude (WGS-84)")
    @click.option("--lon", type=float, help="incident longitude (WGS-84)")
    @click.option("--county", help="instead of --lat/--lon: a county or city code or name")
    @click.option("--item", help="item code, name or alias")
    @click.option("--category", type=click.Choice([c.value for c in Category]), help="instead of --item")
    @click.option("--quantity", help="mark the warehouses that alone hold this much of the item")
    @click.option("--limit", type=int, default=DEFAULT_LIMIT, show_default=True)
    @click.option("--radius", "radius_km", type=float, default=DEFAULT_RADIUS_KM, show_default=True, help="km")
    @click.option("--reserve-type", "reserve_types", multiple=True, type=click.Choice([t.value for t in ReserveType]))
    @click.option("--include-expired", is_flag=True, help="also count batches past their expiry date")
    @click.option("--json", "as_json", is_flag=True, help="print the API's JSON instead of a table")
    def nearest(as_json: bool, **args: object) -> None:
        """Warehouses nearest an incident holding available stock of an item, nearest first."""
        try:
            answer = find_nearest(db.session, args)
        except DomainError as error:
            if not error.field:
                raise click.ClickException(error.message) from error
            option = "--" + {"radius_km": "radius", "reserve_types": "reserve-type"}.get(error.field, error.field)
            raise click.ClickException(f"{option}: {error.message}") from error
        finally:
            db.session.rollback()  # a read: nothing to commit
        data = NearestOut().dump(answer)
        if as_json:
            click.echo(current_app.json.response(data).get_data(as_text=True), nl=False)
        else:
            click.echo(render_table(data))


def render_table(data: dict) -> str:
    """The dumped answer as a fixed-width table, one warehouse a row and its batches below."""
    incident = data["incident"]
    where = f"{incident['latitude']}, {incident['longitude']}"
    if incident["county_name"]:
        where += f" ({incident['county_name']} {incident['county_code']})"
    what = (
        f"{data['item']['name']} ({data['item']['code']}, {data['item']['unit']})" if data["item"] else data["category"]
    )
    lines = [f"Nearest {what} to {where}, within {data['radius_km']:g} km: {len(data['results'])} warehouses"]
    if not data["results"]:
        return lines[0]
    header = ["#", "km", "warehouse", "name", "reserve type", "county", "available", "covers", "contact", "phone"]
    rows = []
    for rank, result in enumerate(data["results"], start=1):
        warehouse = result["warehouse"]
        covers = {True: "yes", False: "no", None: "-"}[result["covers_quantity"]]
        total = result["total_available"]
        rows.append(
            [
                str(rank),
                f"{result['distance_km']:.1f}",
                warehouse["code"],
                truncate(warehouse["name"], NAME_WIDTH),
                warehouse["reserve_type"],
                warehouse["county_name"],
                "-" if total is None else f"{total:g}",
                covers,
                warehouse["contact_person"],
                warehouse["contact_phone"],
            ]
        )
    widths = column_widths(header, rows)
    lines.append(format_row(header, widths))
    for row, result in zip(rows, data["results"], strict=True):
        lines.append(format_row(row, widths))
        for batch in result["lines"]:
            expiry = batch["expiry_date"] or "no expiry"
            if batch["expired"]:
                expiry += " (EXPIRED)"
            label = f" {batch['item_name']}" if not data["item"] else ""
            lines.append(
                f"      {batch['available']:g} {batch['unit']}{label}, batch {batch['batch'] or '-'}, "
                f"expires {expiry}, stock line {batch['stock_line_id']}"
            )
    return "\n".join(lines)
