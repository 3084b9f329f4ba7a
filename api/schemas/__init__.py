"""Marshmallow schemas, one module per area: each schema is the contract of one endpoint's input or output.

``fields`` holds the shared field types (enum choices, quantities, dates, bounded lists, strictness);
``registry`` the reference lists, regions, warehouses, catalogue and stock; ``accounts``, ``callups``,
``nearest`` and ``reports`` their areas'. Length limits and ranges come from ``inventory`` (the model
columns' ``text_limit``, the services' constants), never repeated as literals.
"""
