"""The domain: typed SQLAlchemy models and the services that hold every business rule.

Nothing in this package imports Flask, marshmallow or openpyxl: the API, the importers and the
CLI are edges that call these services with a session and plain values.
"""
