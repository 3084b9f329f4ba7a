"""Health and the closed vocabularies (reserve types, categories, levels…)."""

from __future__ import annotations

from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError

from api.errors import database_unavailable_response, log_database_failure
from api.extensions import db
from api.routes.paging import Blueprint
from api.schemas.registry import ReferenceOut
from inventory.db import DatabaseFailure, classify_database_error
from inventory.demo import is_demo
from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    Category,
    IncidentStatus,
    IncidentType,
    MovementKind,
    RegionLevel,
    ReserveType,
    Role,
    ShipmentKind,
    ShipmentStatus,
    WarehouseLevel,
    WarehouseStatus,
)

blp = Blueprint("meta", __name__, description="Health and reference vocabularies")


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"description": "always `ok` when the answer is 200"})
    database = fields.String(required=True, metadata={"description": "the database dialect: `sqlite` or `postgresql`"})
    demo = fields.Boolean(
        required=True,
        metadata={"description": "the database holds the invented demo dataset (seed-demo): not real warehouses"},
    )


@blp.route("/health")
@blp.response(200, HealthOut)
@blp.doc(
    security=[],
    responses={
        503: {
            "description": "the database cannot answer: "
            '`{"status": "unavailable", "database": "<database>: <cause> (<code>)"}` with `Retry-After`'
        }
    },
)
def health() -> dict | Response:
    """Liveness and database reachability (a 503 naming the cause when the database cannot answer)."""
    try:
        demo = is_demo(db.session)
    except DBAPIError as error:
        db.session.rollback()
        failure = classify_database_error(error) or DatabaseFailure("unavailable", type(error.orig).__name__)
        log_database_failure(failure, error, "health answered 503")
        return database_unavailable_response(failure)
    return {"status": "ok", "database": db.engine.dialect.name, "demo": demo}


@blp.route("/reference")
@blp.response(200, ReferenceOut)
def reference() -> dict:
    """Every closed vocabulary with its codes and Chinese and English labels."""
    return {
        "reserve_types": ReserveType.describe(),
        "categories": Category.describe(),
        "warehouse_levels": WarehouseLevel.describe(),
        "warehouse_statuses": WarehouseStatus.describe(),
        "movement_kinds": MovementKind.describe(),
        "region_levels": RegionLevel.describe(),
        "roles": Role.describe(),
        "callup_statuses": CallUpStatus.describe(),
        "callup_line_statuses": CallUpLineStatus.describe(),
        "incident_types": IncidentType.describe(),
        "incident_statuses": IncidentStatus.describe(),
        "shipment_kinds": ShipmentKind.describe(),
        "shipment_statuses": ShipmentStatus.describe(),
    }
