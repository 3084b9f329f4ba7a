"""The domain package stays free of the edges: no Flask, marshmallow or openpyxl imports."""

import ast
from pathlib import Path

FORBIDDEN = {"flask", "flask_sqlalchemy", "flask_smorest", "marshmallow", "openpyxl", "api", "importers"}


def test_inventory_imports_no_edge_library():
    offenders = []
    for path in (Path(__file__).parents[2] / "inventory").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    assert offenders == []
