"""Blueprints, one module per resource."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from api.routes import audit, auth, items, meta, regions, stock, users, warehouses

    for module in (meta, auth, regions, warehouses, items, stock, users, audit):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
