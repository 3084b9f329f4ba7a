"""Marshmallow schemas, one module per area: each schema is the contract of one endpoint's input or output.

``common`` holds the shared field types (quantities, dates, bounded lists, enum choices) and the
registry's schemas (reference lists, regions, warehouses, items, stock); ``accounts``, ``callups``,
``nearest`` and ``reports`` hold their areas'. Length limits and ranges come from ``inventory``.
"""
