"""Every file the API hands out goes through ``send_download``: one rule for download names.

The header carries both names RFC 6266 allows: ``filename*`` (UTF-8, the Chinese name browsers use) and a
readable ASCII ``filename`` for clients that only read that one. Flask's own fallback drops the non-ASCII
characters (环境应急物资台账-110000-20261130.xlsx became ``-110000-20261130.xlsx``); here the caller gives the
English words that stand in for them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import IO
from urllib.parse import quote

from flask import Response, send_file

NOT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_file_name(name: str, readable: str) -> str:
    """``name`` when it is plain ASCII, else ``readable`` followed by whatever ASCII part ``name`` keeps.

    ``环境应急物资台账-110000-20261130.xlsx`` with ``emergency-materials-ledger`` →
    ``emergency-materials-ledger-110000-20261130.xlsx``; ``bad-坏.xlsx`` with ``ledger-check`` →
    ``ledger-check-bad.xlsx``.
    """
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = NOT_SAFE.sub("", suffix)
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    kept = NOT_SAFE.sub("-", folded).strip("-._")
    if kept == stem:
        return name
    readable = NOT_SAFE.sub("-", readable).strip("-")
    whole = f"{readable}-{kept}" if kept and not kept.startswith(readable) else (kept or readable)
    return f"{whole}.{suffix}" if suffix else whole


def content_disposition(name: str, readable: str) -> str:
    fallback = ascii_file_name(name, readable)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def send_download(data: IO[bytes], mimetype: str, name: str, readable: str) -> Response:
    """``data`` as an attachment called ``name`` (``readable``: the ASCII words for its non-ASCII part)."""
    # send_file writes a header from the name it is given, and a line break there (a query value in the name:
    # settlement.xlsx?warehouse=%0A) raised a 500: it gets the ASCII fallback, and the header is replaced anyway.
    response = send_file(data, mimetype=mimetype, as_attachment=True, download_name=ascii_file_name(name, readable))
    response.headers["Content-Disposition"] = content_disposition(name, readable)
    return response
