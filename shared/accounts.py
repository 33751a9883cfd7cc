"""Users and API tokens: argon2id password hashes, tokens stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.db.models import ApiToken, Role, User, utcnow
from shared.sessions import SessionRegistry

_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "mt_"  # noqa: S105 - a label, not a secret


class AccountError(ValueError):
    """A user or token request that cannot be honoured, with a message for people."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session, username: str, password: str, role: Role | str, actor: str = "system"
) -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("username: 2-64 characters, lower-case letters, digits, . _ -")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(f"role: one of {', '.join(r.value for r in Role)}") from exc
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.created",
        detail={"username": username, "role": role.value},
    )
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    username = username.strip().lower()
    # A name no account can have is refused before the query (PostgreSQL answers a NUL in a
    # parameter with an error); its format is no secret, so answering at once reveals nothing.
    if not USERNAME_RE.match(username):
        return None
    user = session.scalar(select(User).where(User.username == username))
    try:
        if user is None or not user.active:
            _hasher.verify(_DUMMY_HASH, password + "x")
            return None
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_active(
    session: Session,
    user_id: int,
    active: bool,
    actor: str,
    sessions: SessionRegistry | None = None,
) -> User:
    """Disable or enable a user. Disabling ends all of the user's login sessions at once
    (every terminal); their requests are refused from then on because `active` is checked on
    each one, and their session records are deleted so that enabling the user again does not
    bring an old session back. The caller commits."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("no such user")
    if user.active != active:
        user.active = active
        audit.record(
            session,
            actor=actor,
            action="user.enabled" if active else "user.disabled",
            detail={"username": user.username},
        )
        session.flush()
    if not active and sessions is not None:
        sessions.end_user(user.id)
    return user


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str, actor: str = "system") -> str:
    """Return the token once; only its digest is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id, name=name[:64] or "token", token_hash=_digest(token), prefix=token[:10]
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.created",
        detail={"username": user.username, "name": name[:64], "prefix": token[:10]},
    )
    return token


@dataclass(frozen=True)
class Principal:
    """Who is acting: what every permission check and audit event needs, nothing more."""

    id: int
    username: str
    role: Role

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.id, user.username, user.role)


def user_for_token(session: Session, token: str) -> Principal | None:
    """The active user behind a token that is not revoked; one query."""
    row = session.execute(
        select(User.id, User.username, User.role)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == _digest(token),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    ).one_or_none()
    return None if row is None else Principal(*row)


class TokenCache:
    """Token digest -> Principal for a few seconds, so an integration's steady stream of
    requests does not pay a database look-up each. A revocation applies at once in the
    process that revoked it and within `ttl_s` in the others."""

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 1024) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def lookup(self, session: Session, token: str) -> Principal | None:
        key = _digest(token)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = user_for_token(session, token)
        if principal is not None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (now + self.ttl_s, principal)
        return principal

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def revoke_token(session: Session, token_id: int, actor: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token.revoked", detail={"prefix": row.prefix})
