"""The floor of bench_load: a bare WSGI app answering every request with the same bytes (a real answer).

What gunicorn, the connection and the client cost with nothing behind them: no Flask, no database.
"""

import os
from pathlib import Path

ANSWER = Path(os.environ["BARE_ANSWER"]).read_bytes() if os.environ.get("BARE_ANSWER") else b"{}"
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [ANSWER]
