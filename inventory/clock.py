"""The business calendar: China keeps one time zone, so "today" (expiry, production dates) is
Beijing's date whatever zone the server runs in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BUSINESS_TIMEZONE = ZoneInfo("Asia/Shanghai")


def business_today() -> dt.date:
    return dt.datetime.now(BUSINESS_TIMEZONE).date()
