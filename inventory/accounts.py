"""Accounts, passwords, API tokens, web sessions and logins.

Passwords use scrypt (a memory-hard standard KDF, in the standard library); tokens and web session
keys are 256-bit random strings of which only the SHA-256 is stored. Web sessions live in the
database, so ending one (logout) or all of a user's (password, deactivation, role or scope change)
takes effect at once on every worker and host. Login attempts are throttled per account and source
(inventory.throttle); unknown users cost the same password check as known ones.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from inventory import throttle
from inventory.access import Actor, Principal, as_principal, require_admin
from inventory.audit import record_audit, snapshot
from inventory.db import RowLock, VersionedMemo, locked, unless_taken_meanwhile
from inventory.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from inventory.models import ApiToken, Region, User, Warehouse, WebSession
from inventory.reference import RegionLevel, Role
from inventory.validation import check_text, text_limit

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOKEN_PREFIX = "emi_"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10
MAX_TOKEN_DAYS = 366
MAX_WAREHOUSES_PER_USER = 500
SESSION_TOUCH_INTERVAL = dt.timedelta(minutes=5)  # how stale last_seen_at may get before a write refreshes it
USER_FIELDS = {"display_name", "role", "province_code", "password", "active", "warehouse_codes"}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; an account without a password never matches (but costs the same)."""
    if not stored:
        hash_password(password)  # spend the same time so unknown users are not revealed
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for(user: User, address: str = "") -> Principal:
    return Principal(
        username=user.username,
        role=user.role,
        province_code=user.province_code,
        warehouse_ids=frozenset(w.id for w in user.warehouses),
        address=address,
        user_id=user.id,
    )


def get_user(session: Session, username: str, *, lock: RowLock = "") -> User:
    """The account; ``lock``: its row locked to the commit, for a change (see ``db.locked``)."""
    user = session.scalar(locked(select(User).where(User.username == username), User, lock))
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def list_users(session: Session, actor: Actor, *, role: Role | None = None) -> Select:
    require_admin(actor)
    stmt = select(User).order_by(User.username)
    if role is not None:
        stmt = stmt.where(User.role == role)
    return stmt


def _apply_user_fields(session: Session, user: User, fields: dict) -> None:
    unknown = set(fields) - USER_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    if "display_name" in fields:
        # as every kept text: without the characters that show nothing (a name of only a zero-width space showed
        # blank), control characters refused, over-long refused rather than cut
        name = fields["display_name"] or ""
        user.display_name = check_text(name, "display_name", max_length=text_limit(User.display_name))
    if "role" in fields:
        try:
            user.role = Role(fields["role"])
        except ValueError as exc:
            raise ValidationFailed(f"unknown role {fields['role']!r}", field="role") from exc
    if "province_code" in fields:
        code = fields["province_code"]
        if code is not None:
            region = session.get(Region, code)
            if region is None or region.level is not RegionLevel.PROVINCE:
                raise ValidationFailed(f"{code!r} is not a province code", field="province_code")
        user.province_code = code
    if user.role is Role.PROVINCIAL and not user.province_code:
        raise ValidationFailed("provincial staff need a province_code", field="province_code")
    if user.role is not Role.PROVINCIAL:
        if fields.get("province_code"):  # a scope the role cannot hold: dropped, it left e.g. a national admin
            raise ValidationFailed("only provincial staff have a province_code", field="province_code")
        user.province_code = None  # only provincial staff are scoped to a province
    if fields.get("password") is not None:
        password = fields["password"]
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")
        user.password_hash = hash_password(password)
    if "active" in fields:
        user.active = bool(fields["active"])
    if "warehouse_codes" in fields:
        codes = list(dict.fromkeys(fields["warehouse_codes"] or []))
        if len(codes) > MAX_WAREHOUSES_PER_USER:
            raise ValidationFailed(f"at most {MAX_WAREHOUSES_PER_USER} warehouses", field="warehouse_codes")
        found = list(session.scalars(select(Warehouse).where(Warehouse.code.in_(codes)))) if codes else []
        missing = sorted(set(codes) - {w.code for w in found})
        if missing:
            raise ValidationFailed(f"unknown warehouse {missing[0]!r}", field="warehouse_codes")
        user.warehouses = found
    if user.warehouses and user.role is not Role.MANAGER:
        raise ValidationFailed("only managers are assigned warehouses", field="warehouse_codes")


def _username_in_use(session: Session, username: str) -> Conflict | None:
    if session.scalar(select(User.id).where(User.username == username)) is None:
        return None
    return Conflict(f"user {username!r} already exists", field="username")


def create_user(session: Session, actor: Actor, *, username: str, role: str, **fields: object) -> User:
    require_admin(actor)
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed("a username is 2-64 lowercase letters, digits, '.', '_' or '-'", field="username")
    taken = _username_in_use(session, username)
    if taken is not None:
        raise taken
    user = User(username=username, display_name="", warehouses=[])
    _apply_user_fields(session, user, {"role": role, **fields})
    with unless_taken_meanwhile(session, lambda: _username_in_use(session, username)):
        session.add(user)
        session.flush()
    record_audit(session, actor, "user.create", object_type="user", object_key=username, after=snapshot(user))
    return user


def _session_relevant_state(user: User) -> dict[str, object]:
    """What a live web session depends on; a change to any of these ends the user's sessions."""
    return {
        "password": user.password_hash,
        "deactivated": user.active,
        "role": user.role,
        "scope": (user.province_code, frozenset(w.id for w in user.warehouses)),
    }


def update_user(session: Session, actor: Actor, username: str, **fields: object) -> User:
    """Change an account. A new password, deactivation, or a role or scope change ends its web sessions."""
    require_admin(actor)
    if fields.keys() & {"role", "active"}:  # a possible demotion: see _keep_an_active_admin
        _lock_active_admins(session)
    # Locked: two administrators changing one account at once each check the other's committed change (a role
    # and the warehouses only its managers hold), instead of both applying theirs to the account as first read.
    user = get_user(session, username, lock="edit")
    was_admin = user.active and user.role is Role.ADMIN
    before = snapshot(user)
    guarded = _session_relevant_state(user)
    with session.no_autoflush:  # a region lookup must not flush a half-applied change (role before its province)
        _apply_user_fields(session, user, fields)
    if was_admin and not (user.active and user.role is Role.ADMIN):
        _keep_an_active_admin(session, user)
    session.flush()
    record_audit(
        session, actor, "user.update", object_type="user", object_key=username, before=before, after=snapshot(user)
    )
    if before.get("active") and not user.active:
        _revoke_tokens_of(session, actor, user)
    now = _session_relevant_state(user)
    reason = next((key for key in guarded if guarded[key] != now[key]), None)
    if reason is not None:
        end_user_sessions(session, actor, user, reason)
    return user


def _lock_active_admins(session: Session) -> None:
    """Lock every active administrator's row, in id order, before the account being changed: two
    administrators demoting each other at once then queue instead of each holding the other's row (a deadlock)."""
    session.execute(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id).with_for_update()
    )


def _keep_an_active_admin(session: Session, leaving: User) -> None:
    """Refuse to demote or deactivate the last active administrator: only the shell could recover.

    The other active administrators' rows are locked (in id order), so two administrators demoting
    each other at once cannot both succeed: the second sees the first's change and is refused.
    """
    others = session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != leaving.id)
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not others:
        raise Conflict(
            f"{leaving.username} is the last active administrator: make another account admin first", field="role"
        )


def _revoke_where(session: Session, *conditions) -> list[int]:
    """Revokes the tokens that match and are not revoked yet, in one conditional UPDATE: the ids it revoked
    (none when another transaction revoked them first, so only one of two revocations at once is audited)."""
    return list(
        session.scalars(
            update(ApiToken)
            .where(*conditions, ApiToken.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
            .returning(ApiToken.id)
            .execution_options(synchronize_session=False)
        )
    )


def _revoke_tokens_of(session: Session, actor: Actor, user: User) -> None:
    """Deactivation revokes the account's tokens, so reactivating it does not bring a leaked token back."""
    revoked = _revoke_where(session, ApiToken.user_id == user.id)
    if revoked:
        record_audit(
            session, actor, "token.revoke", object_type="user", object_key=user.username, after={"tokens": revoked}
        )


def create_token(
    session: Session, actor: Actor, *, username: str, name: str = "", days: int = 90
) -> tuple[ApiToken, str]:
    """A new bearer token for ``username``; the plain token is returned once and never stored."""
    principal = require_admin(actor)
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(f"a token lives 1 to {MAX_TOKEN_DAYS} days", field="days")
    # Locked: a deactivation running now revokes the account's tokens; without the lock it could miss this one,
    # committed just after its revocation, which a reactivation would then wake up.
    user = get_user(session, username, lock="edit")
    if not user.active:  # it would be shown once and refused at every use, until a reactivation woke it up
        raise Conflict(
            f"account {user.username} is deactivated: reactivate it before giving it a token", field="username"
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=check_text(name, "name", max_length=text_limit(ApiToken.name)),  # as a display name is kept
        token_hash=hash_token(plain),
        prefix=plain[:12],
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=days),
        created_by=principal.username,
    )
    session.add(token)
    session.flush()
    record_audit(session, actor, "token.create", object_type="token", object_key=token.id, after=snapshot(token))
    return token, plain


def list_tokens(session: Session, actor: Actor, username: str) -> list[ApiToken]:
    require_admin(actor)
    user = get_user(session, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    require_admin(actor)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}", field="token_id")
    before = snapshot(token)
    # Conditional: of two revocations at once only the first sets the time and is audited; the other, like
    # one coming later, answers with the token as revoked.
    revoked = _revoke_where(session, ApiToken.id == token.id)
    session.refresh(token)
    if revoked:
        record_audit(
            session,
            actor,
            "token.revoke",
            object_type="token",
            object_key=token.id,
            before=before,
            after=snapshot(token),
        )
    return token


@dataclass(frozen=True)
class Grant:
    """What a live token or web session grants until it expires, as the account tables said when read."""

    principal: Principal  # without the caller's address
    expires_at: dt.datetime


# Tokens and web sessions seen by this worker, keyed by their SHA-256; any change to the account tables
# (a token revoked, a user deactivated or re-scoped, a session ended or started) forgets them all, on
# every worker (database triggers count the changes: migration e4b7c2d9a1f6).
ACCOUNT_TABLES = ("user_account", "api_token", "manager_warehouse", "web_session")
_grants = VersionedMemo(ACCOUNT_TABLES)


def _token_grant(digest: str) -> Callable[[Session], Grant | None]:
    def load(session: Session) -> Grant | None:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if token is None or token.revoked_at is not None or not token.user.active:
            return None
        return Grant(principal_for(token.user), token.expires_at)

    return load


def _live(grant: Grant | None, address: str) -> Principal | None:
    if grant is None or grant.expires_at <= dt.datetime.now(dt.UTC):
        return None
    return dataclasses.replace(grant.principal, address=address)


def authenticate_token(session: Session, plain: str, address: str = "") -> Principal:
    """The principal behind a bearer token; expired, revoked or unknown tokens are all 401."""
    digest = hash_token(plain)
    principal = _live(_grants.lookup(session, ("token", digest), _token_grant(digest)), address)
    if principal is None:
        raise Unauthenticated("the token is unknown, expired or revoked")
    return principal


def start_web_session(session: Session, principal: Principal, *, lifetime: dt.timedelta) -> str:
    """A new web session for a logged-in principal; the returned key goes in the cookie, never stored."""
    plain = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    session.add(
        WebSession(
            id=hash_token(plain),
            user_id=principal.user_id,
            address=principal.address[:45],
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return plain


def authenticate_web_session(session: Session, plain: str, address: str = "", *, touch: bool = False) -> Principal:
    """The principal of a live web session; ended, expired or unknown sessions are all 401.

    ``touch`` (on writes, which commit) refreshes ``last_seen_at`` when it is more than a few minutes old;
    reads are answered from this worker's grants while the account tables are unchanged.
    """
    digest = hash_token(plain)
    if not touch:
        principal = _live(_grants.lookup(session, ("session", digest), _web_session_grant(digest)), address)
        if principal is None:
            raise Unauthenticated("the session has ended; log in again")
        return principal
    web = session.get(WebSession, digest)
    now = dt.datetime.now(dt.UTC)
    if web is None or web.ended_at is not None or web.expires_at <= now or not web.user.active:
        raise Unauthenticated("the session has ended; log in again")
    if now - web.last_seen_at > SESSION_TOUCH_INTERVAL:
        web.last_seen_at = now
    return principal_for(web.user, address)


def _web_session_grant(digest: str) -> Callable[[Session], Grant | None]:
    def load(session: Session) -> Grant | None:
        web = session.get(WebSession, digest)
        if web is None or web.ended_at is not None or not web.user.active:
            return None
        return Grant(principal_for(web.user), web.expires_at)

    return load


def end_web_session(session: Session, actor: Actor, plain: str) -> None:
    """Logout: end this one session at once (the user's other sessions go on)."""
    now = dt.datetime.now(dt.UTC)
    ended = session.execute(
        update(WebSession)
        .where(WebSession.id == hash_token(plain), WebSession.ended_at.is_(None))
        .values(ended_at=now, end_reason="logout")
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount:
        principal = as_principal(actor)
        record_audit(session, principal, "user.logout", object_type="user", object_key=principal.username)


def end_user_sessions(session: Session, actor: Actor, user: User, reason: str) -> int:
    """End every live web session of ``user`` at once, saying why in the audit log; how many ended."""
    now = dt.datetime.now(dt.UTC)
    ended = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None), WebSession.expires_at > now)
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended:
        record_audit(
            session,
            actor,
            "user.sessions_end",
            object_type="user",
            object_key=user.username,
            after={"reason": reason, "sessions": ended},
        )
    return ended


@dataclass(frozen=True)
class LoginAttempt:
    """A counted login attempt, granted by the throttle, whose password is yet to be checked."""

    username: str
    address: str
    known_source: bool


def begin_login(session: Session, username: str, address: str) -> LoginAttempt:
    """Count a login attempt, or raise TooManyAttempts (see inventory.throttle).

    The caller commits before ``finish_login``, so the attempt counts even if the password is wrong
    and parallel guesses cannot check more passwords than the limit.
    """
    username = (username or "").strip().lower()[:64]
    address = address[:45]
    return LoginAttempt(username, address, throttle.reserve_attempt(session, username, address))


@functools.cache
def _dummy_hash() -> str:
    """A real scrypt hash of nothing anyone knows: unknown and inactive accounts cost the same check."""
    return hash_password(secrets.token_urlsafe(32))


def finish_login(session: Session, attempt: LoginAttempt, password: str) -> Principal | None:
    """Check the password of a granted attempt; None if wrong, unknown or inactive (all alike, same time)."""
    user = session.scalar(select(User).where(User.username == attempt.username))
    usable = user is not None and user.active and user.password_hash is not None
    matches = verify_password(password, user.password_hash if usable else _dummy_hash())
    if not (usable and matches):
        return None
    # Read again under a share lock held to the commit, with the session the caller starts: a password change
    # or deactivation committed while the password was checked refuses the login, and one still to come waits,
    # then ends the new session with the others (unlocked, it would miss it: the session's foreign key takes
    # only KEY SHARE, which does not wait for the change, and a reactivation would wake it up).
    still = session.execute(
        select(User.password_hash, User.active).where(User.id == user.id).with_for_update(read=True)
    ).one_or_none()
    if still is None or tuple(still) != (user.password_hash, True):
        return None
    throttle.record_success(session, attempt.username, attempt.address, known=attempt.known_source)
    principal = principal_for(user, attempt.address)
    record_audit(session, principal, "user.login", object_type="user", object_key=user.username)
    return principal
