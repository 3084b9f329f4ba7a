"""Health and the closed vocabularies (reserve types, categories, levels…)."""

from __future__ import annotations

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


@blp.route("/health")
@blp.doc(responses={503: {"description": "database unreachable"}})
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
