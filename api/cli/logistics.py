"""``incident``, ``shipments`` and ``settlement``: the logistics of an incident from the shell.

Thin wrappers over the services ``/api/v1/incidents`` and ``/api/v1/shipments`` call; ``--json`` prints
the API's body. ``shipments flag-overdue`` is for cron: it flags each shipment past its ETA once (the
overdue event's call site, ``inventory.shipments.shipment_events``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

from api.cli.common import OutputFile, account_option, one_transaction, operator_option, utc_minute
from api.config import LANGUAGES
from api.extensions import db
from api.schemas.logistics import IncidentRecordOut, SettlementOut, ShipmentOut
from api.service_calls import incident_view
from importers import report_workbooks as workbooks
from inventory.access import Principal
from inventory.arrivals import receive_shipment
from inventory.clock import business_today
from inventory.incidents import get_incident
from inventory.settlement import settlement_sheet
from inventory.shipments import flag_overdue, list_shipments


def register(app: Flask) -> None:
    @app.cli.group("incident")
    def incident_group() -> None:
        """Incident records: what happened to their stock."""

    @incident_group.command("show")
    @click.argument("code")
    @click.option("--json", "as_json", is_flag=True, help="the API's body")
    def show(code: str, as_json: bool) -> None:
        """The incident's line accounts and timeline."""
        with one_transaction():
            body = IncidentRecordOut().dump(incident_view(db.session, get_incident(db.session, code)))
        if as_json:
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
            return
        click.echo(f"{body['code']} {body['name']} [{body['status']}] call-ups: {', '.join(body['callup_codes'])}")
        for line in body["lines"]:
            click.echo(
                f"  line {line['line_id']} {line['warehouse_code']} {line['item_code']}: dispatched "
                f"{line['dispatched']}, in transit {line['in_transit']}, received {line['received']}, lost "
                f"{line['lost']}, consumed {line['consumed']}, returned {line['returned']}, on site {line['on_site']}"
            )
        for entry in body["timeline"]:
            quantity = f" {entry['quantity']}" if entry["quantity"] is not None else ""
            at = utc_minute(entry["at"])
            click.echo(f"  {at} {entry['event']}{quantity} by {entry['actor']} {entry['note']}".rstrip())

    @app.cli.group("shipments")
    def shipments_group() -> None:
        """Shipments in transit."""

    @shipments_group.command("flag-overdue")
    def flag_overdue_command() -> None:
        """Flag shipments past their ETA (each once) and list every shipment now overdue."""
        with one_transaction():
            flagged = {shipment.code for shipment in flag_overdue(db.session)}
            overdue = db.session.scalars(list_shipments(db.session, overdue=True)).all()
            lines = [
                f"{s.code} {s.kind.value} ETA {utc_minute(s.eta)}{' (newly flagged)' if s.code in flagged else ''}"
                for s in overdue
            ]
        click.echo("\n".join(lines) if lines else "no shipment is overdue")

    @shipments_group.command("receive")
    @click.argument("code")
    @account_option()
    def receive(code: str, operator: Principal) -> None:
        """Record a shipment as arrived in full (discrepancies go through the API or the page)."""
        with one_transaction():
            body = ShipmentOut().dump(receive_shipment(db.session, operator, code))
        click.echo(f"{body['code']} delivered: {len(body['lines'])} lines received in full")

    @app.cli.command("settlement")
    @click.argument("incident_code")
    @click.option("--warehouse", help="one source warehouse")
    @click.option("-o", "--output", type=OutputFile(), help="write the .xlsx here")
    @click.option("--lang", type=click.Choice(LANGUAGES), default="zh", show_default=True)
    @operator_option
    def settlement(incident_code: str, warehouse: str | None, output: Path | None, lang: str, operator: Principal):
        """The settlement sheet of an incident: JSON on stdout, or the workbook with -o."""
        with one_transaction():
            incident = get_incident(db.session, incident_code)
            body = SettlementOut().dump(settlement_sheet(db.session, operator, incident, warehouse_code=warehouse))
        if output is None:
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
            return
        with output.open("wb") as out:
            workbooks.settlement_workbook(
                out, body, scope=warehouse or incident_code, lang=lang, today=business_today()
            )
        click.echo(f"{output}: {len(body['rows'])} settlement rows, {len(body['replenishment'])} to replenish")
