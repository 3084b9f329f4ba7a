"""Accounts, passwords, API tokens and logins.

Passwords use scrypt (a memory-hard standard KDF, in the standard library); tokens are 256-bit
random strings of which only the SHA-256 is stored. Failed logins are counted in the database so
the limit holds across workers and hosts.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from inventory.access import Actor, Principal, require_admin
from inventory.audit import record_audit, snapshot
from inventory.errors import Conflict, NotFound, TooManyAttempts, Unauthenticated, ValidationFailed
from inventory.models import ApiToken, LoginFailure, Region, User, Warehouse
from inventory.reference import RegionLevel, Role

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOKEN_PREFIX = "emi_"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10
MAX_TOKEN_DAYS = 366
MAX_WAREHOUSES_PER_USER = 500
LOGIN_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
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


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
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
        user.display_name = (fields["display_name"] or "").strip()[:100]
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


def create_user(session: Session, actor: Actor, *, username: str, role: str, **fields: object) -> User:
    require_admin(actor)
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed("a username is 2-64 lowercase letters, digits, '.', '_' or '-'", field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", field="username")
    user = User(username=username, display_name="", warehouses=[])
    _apply_user_fields(session, user, {"role": role, **fields})
    session.add(user)
    session.flush()
    record_audit(session, actor, "user.create", object_type="user", object_key=username, after=snapshot(user))
    return user


def update_user(session: Session, actor: Actor, username: str, **fields: object) -> User:
    require_admin(actor)
    user = get_user(session, username)
    before = snapshot(user)
    _apply_user_fields(session, user, fields)
    session.flush()
    record_audit(
        session, actor, "user.update", object_type="user", object_key=username, before=before, after=snapshot(user)
    )
    return user


def create_token(
    session: Session, actor: Actor, *, username: str, name: str = "", days: int = 90
) -> tuple[ApiToken, str]:
    """A new bearer token for ``username``; the plain token is returned once and never stored."""
    principal = require_admin(actor)
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(f"a token lives 1 to {MAX_TOKEN_DAYS} days", field="days")
    user = get_user(session, username)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=(name or "").strip()[:100],
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
    if token.revoked_at is None:
        before = snapshot(token)
        token.revoked_at = dt.datetime.now(dt.UTC)
        session.flush()
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


def authenticate_token(session: Session, plain: str, address: str = "") -> Principal:
    """The principal behind a bearer token; expired, revoked or unknown tokens are all 401."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    now = dt.datetime.now(dt.UTC)
    if token is None or token.revoked_at is not None or token.expires_at <= now or not token.user.active:
        raise Unauthenticated("the token is unknown, expired or revoked")
    return principal_for(token.user, address)


def authenticate_user_id(session: Session, user_id: int, address: str = "") -> Principal:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthenticated("the session's account is no longer active")
    return principal_for(user, address)


def login(session: Session, username: str, password: str, address: str) -> Principal | None:
    """Check a password, counting failures per account and per address.

    Returns None on a wrong password after recording the failure; the caller must commit so the
    failure counts even though the login is refused.
    """
    since = dt.datetime.now(dt.UTC) - LOGIN_WINDOW
    username = (username or "").strip().lower()[:64]
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.occurred_at >= since)
    if session.scalar(recent.where(LoginFailure.username == username)) >= MAX_FAILURES_PER_ACCOUNT:
        raise TooManyAttempts("too many failed logins for this account; wait 15 minutes", int(LOGIN_WINDOW.seconds))
    if session.scalar(recent.where(LoginFailure.address == address)) >= MAX_FAILURES_PER_ADDRESS:
        raise TooManyAttempts("too many failed logins from this address; wait 15 minutes", int(LOGIN_WINDOW.seconds))
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(password, user.password_hash if user else None):
        session.add(LoginFailure(username=username, address=address[:45]))
        session.flush()
        return None
    record_audit(session, principal_for(user, address), "user.login", object_type="user", object_key=username)
    return principal_for(user, address)
