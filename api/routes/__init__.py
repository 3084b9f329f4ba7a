"""Blueprints, one module per resource."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from api.routes import audit, auth, callups, items, meta, nearest, page, regions, stock, users, warehouses

    for module in (meta, auth, regions, warehouses, items, stock, nearest, callups, users, audit, page):
        api.register_blueprint(module.blp, url_prefix="/api/v1")

    from api.routes import exports, imports  # Excel ledgers in and out

    for module in (imports, exports):
        api.register_blueprint(module.blp, url_prefix="/api/v1")

    from api.routes import quotas, reports  # readiness: reserve quotas and reports

    for module in (quotas, reports):
        api.register_blueprint(module.blp, url_prefix="/api/v1")

    from api.routes import vocabulary  # words, units and suggestions for field ledgers

    for module in (vocabulary,):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
