"""Health and the closed vocabularies (reserve types, categories, levels…)."""

from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import text

from api.extensions import db
from api.routes.paging import Blueprint
from api.schemas import ReferenceOut
from inventory.reference import (
    CallUpLineStatus,
    CallUpStatus,
    Category,
    MovementKind,
    RegionLevel,
    ReserveType,
    Role,
    WarehouseLevel,
    WarehouseStatus,
)

blp = Blueprint("meta", __name__, description="Health and reference vocabularies")


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"description": "always `ok` when the answer is 200"})
    database = fields.String(required=True, metadata={"description": "the database dialect: `sqlite` or `postgresql`"})


@blp.route("/health")
@blp.response(200, HealthOut)
@blp.doc(security=[], responses={503: {"description": "the database is unreachable or busy"}})
def health() -> dict:
    """Liveness and database reachability."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok", "database": db.engine.dialect.name}


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
    }
