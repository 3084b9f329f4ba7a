"""Readiness reports: what to put right before an incident, not at 3 a.m. during one.

- ``expiry``: batches expired or expiring within a window (``expiring_stock``).
- ``shortfall``: every reserve quota against the usable stock held (``quota_shortfalls``).
- ``coverage``: county-level places with no usable stock within reach (``coverage_gaps``).
- ``dashboard``: a region's warehouses and stock per child region (``dashboard_figures``).
- ``common``: what several reports share (``ReportRows``, ``usable_stock``).

Who reads which rows is decided in ``inventory.access``; the quotas themselves are set in ``inventory.quotas``.
"""
