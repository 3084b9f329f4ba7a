"""The spreadsheet edge: Excel ledgers in (``import_ledger``) and out (``export_ledger``).

Header detection, the column mapping (data, in ``columns``), cell parsing, the ledger reader and writer.
Business rules stay in ``inventory``: rows go through its services, so an import refuses what the API
refuses.
"""

from importers.export import export_ledger
from importers.ledger import import_ledger

__all__ = ["export_ledger", "import_ledger"]
