"""Who is making the request, for the ledger's ``actor`` column.

Accounts and tokens are not built yet (see the Accounts issue); until then every API write is
recorded as made by ``anonymous`` and the CLI records its ``--as`` operator name.
"""

ANONYMOUS = "anonymous"


def current_actor() -> str:
    return ANONYMOUS
