"""Login throttling that slows an attacker, not the account's owner.

Attempts are counted per (account, source address) in ``login_throttle``, in the database so the
limit holds across workers and hosts. Each attempt first reserves its slot with one atomic
statement (INSERT … ON CONFLICT DO UPDATE … WHERE allowed, RETURNING the count): parallel guesses
can never check more passwords than the limit, on SQLite or PostgreSQL.

- Per account and source: ``PAIR_FREE_ATTEMPTS`` (5) attempts, then a delay before each further
  one that starts at 30 s and doubles up to 15 minutes. Someone guessing from one place therefore
  slows only themselves there; the owner elsewhere is not affected.
- A source where the account logged in before is *known*: strangers' failures there or elsewhere
  never block that login (only its own account-and-source count applies).
- Unknown sources also share two generous caps, with the same growing delay once reached: per
  source address over all accounts (``SOURCE_FREE_ATTEMPTS``, for one host trying many accounts,
  without locking out a whole NAT) and per account over all unknown sources
  (``ACCOUNT_FREE_ATTEMPTS``, for guesses spread over many addresses).
- A successful login clears its account-and-source count and gives back its slot on the caps.
  Counts start again after ``WINDOW`` (1 hour).
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inventory.errors import TooManyAttempts
from inventory.models import LoginThrottle

PAIR_FREE_ATTEMPTS = 5
SOURCE_FREE_ATTEMPTS = 100
ACCOUNT_FREE_ATTEMPTS = 50
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)
WINDOW = dt.timedelta(hours=1)
ANY = "*"  # the username or address of a cap row: any account (per source) or any source (per account)


def delay_after(attempts: int, free: int) -> dt.timedelta:
    """How long the next attempt waits once ``attempts`` were made in the window (none while free)."""
    if attempts < free:
        return dt.timedelta(0)
    return min(FIRST_DELAY * 2 ** min(attempts - free, 16), MAX_DELAY)


def _key(username: str, address: str):
    return (LoginThrottle.username == username) & (LoginThrottle.address == address)


def _reserve(session: Session, username: str, address: str, free: int, now: dt.datetime) -> None:
    """Count one attempt on this row if one is allowed now, atomically; else TooManyAttempts."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    expired = LoginThrottle.window_started_at <= now - WINDOW
    statement = (
        insert(LoginThrottle)
        .values(username=username, address=address, attempts=1, window_started_at=now, next_allowed_at=now)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.username, LoginThrottle.address],
            set_={
                "attempts": case((expired, 1), else_=LoginThrottle.attempts + 1),
                "window_started_at": case((expired, now), else_=LoginThrottle.window_started_at),
            },
            where=or_(LoginThrottle.next_allowed_at <= now, expired),
        )
        .returning(LoginThrottle.attempts)
    )
    attempts = session.scalar(statement)
    if attempts is None:
        allowed_at = session.scalar(select(LoginThrottle.next_allowed_at).where(_key(username, address)))
        wait = max(1, math.ceil((allowed_at - now).total_seconds())) if allowed_at else 1
        raise TooManyAttempts(f"too many failed logins; try again in {wait} seconds", wait)
    delay = delay_after(attempts, free)
    if delay:
        # Still this transaction, which holds the row (PostgreSQL) or the database (SQLite) locked.
        session.execute(update(LoginThrottle).where(_key(username, address)).values(next_allowed_at=now + delay))


def is_known_source(session: Session, username: str, address: str) -> bool:
    """Has ``username`` logged in from ``address`` before?"""
    return session.scalar(select(LoginThrottle.last_success_at).where(_key(username, address))) is not None


def reserve_attempt(session: Session, username: str, address: str) -> bool:
    """Count a login attempt before its password is checked; raise TooManyAttempts if it must wait.

    All or nothing: when one count refuses, the caller rolls back so none of them is counted. The
    caller commits a granted attempt before checking the password, so it counts even if the check
    fails, and a lock is held only for these few statements. Returns whether the source is known.
    """
    now = dt.datetime.now(dt.UTC)
    known = is_known_source(session, username, address)
    if not known:
        _reserve(session, ANY, address, SOURCE_FREE_ATTEMPTS, now)
        _reserve(session, username, ANY, ACCOUNT_FREE_ATTEMPTS, now)
    _reserve(session, username, address, PAIR_FREE_ATTEMPTS, now)
    return known


def record_success(session: Session, username: str, address: str, *, known: bool) -> None:
    """A login succeeded: clear its count, remember the source, give back its slots on the caps."""
    now = dt.datetime.now(dt.UTC)
    session.execute(
        update(LoginThrottle)
        .where(_key(username, address))
        .values(attempts=0, window_started_at=now, next_allowed_at=now, last_success_at=now)
    )
    if not known:
        for key in (_key(ANY, address), _key(username, ANY)):
            session.execute(
                update(LoginThrottle).where(key, LoginThrottle.attempts > 0).values(attempts=LoginThrottle.attempts - 1)
            )
