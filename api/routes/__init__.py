"""Blueprints, one module per resource."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from api.routes import items, meta, regions, stock, warehouses

    for module in (meta, regions, warehouses, items, stock):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
