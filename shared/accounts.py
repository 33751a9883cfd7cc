"""Users and API tokens: argon2id password hashes (a bounded number at once), tokens stored as
SHA-256 digests with a scope and an expiry."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared import audit
from shared.db.models import ApiToken, Role, TokenScope, User, utcnow
from shared.sessions import SessionRegistry

_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "mt_"  # noqa: S105 - a label, not a secret
MAX_TOKEN_DAYS = 365
NO_PASSWORD = "!"  # noqa: S105 - not a hash: no password can match it (a system account)


class AccountError(ValueError):
    """A user or token request that cannot be honoured, with a message for people."""


class HashingBusy(RuntimeError):
    """Every password-hashing slot stayed taken: try again in a moment."""

    retry_after_s = 1


class HashSlots:
    """At most `slots` argon2 hashes at once in this process; a caller waits up to `wait_s`
    for a slot, then gets HashingBusy. A login flood then holds at most `slots` threads in
    hashing and the others only briefly, so requests that hash nothing (intake) find threads
    and CPU free."""

    def __init__(self, slots: int, wait_s: float) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        if not self._semaphore.acquire(timeout=self.wait_s):
            raise HashingBusy("password checks are busy")
        try:
            yield
        finally:
            self._semaphore.release()


def _slot(slots: HashSlots | None) -> contextlib.AbstractContextManager[None]:
    return slots.hold() if slots is not None else contextlib.nullcontext()


def hash_password(password: str, slots: HashSlots | None = None) -> str:
    with _slot(slots):
        return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    actor: str = "system",
    must_change_password: bool = False,
    slots: HashSlots | None = None,
) -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("username: 2-64 characters, lower-case letters, digits, . _ -")
    _check_password(password)
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(f"role: one of {', '.join(r.value for r in Role)}") from exc
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password, slots),
        role=role,
        must_change_password=must_change_password,
    )
    return _added(session, user, actor)


def _added(session: Session, user: User, actor: str, **detail: object) -> User:
    """Insert a new account and record its user.created event in the same transaction."""
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.created",
        detail={"username": user.username, "role": Role(user.role).value, **detail},
    )
    return user


def system_account(sessions: sessionmaker[Session], name: str, role: Role) -> Principal:
    """A system's own account (an HL7 sender's), made on first use in its own transaction:
    disabled, with no password, and named with a ':' that no login accepts (nor count_users
    counts), so nobody can sign in as it. When two connections make it at once, the one whose
    insert loses reads the other's row."""
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            try:
                system = User(username=name, password_hash=NO_PASSWORD, role=role, active=False)
                user = _added(session, system, actor=name, system=True)
                session.commit()
            except IntegrityError:  # another connection of the same system made it
                session.rollback()
                user = session.scalars(select(User).where(User.username == name)).one()
        return Principal(user.id, user.username, role)


@dataclass(frozen=True)
class LoginCheck:
    """The user when the password is right; otherwise why not, for the audit trail."""

    user: User | None
    failure: str | None = None


def check_login(
    session: Session, username: str, password: str, slots: HashSlots | None = None
) -> LoginCheck:
    """Verify a login. Raises HashingBusy when no hashing slot came free in time."""
    username = username.strip().lower()
    # A name no account can have is refused before the query (PostgreSQL answers a NUL in a
    # parameter with an error); its format is no secret, so answering at once reveals nothing.
    if not USERNAME_RE.match(username):
        return LoginCheck(None, "malformed username")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        refused = "unknown user" if user is None else "disabled user"
        # The same work as a real check, so timing reveals neither name nor state.
        with _slot(slots), contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)
        return LoginCheck(None, refused)
    with _slot(slots):
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return LoginCheck(None, "wrong password")
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
    return LoginCheck(user)


def authenticate(
    session: Session, username: str, password: str, slots: HashSlots | None = None
) -> User | None:
    return check_login(session, username, password, slots).user


def change_password(
    session: Session,
    user_id: int,
    current: str,
    new: str,
    slots: HashSlots | None = None,
    sessions: SessionRegistry | None = None,
) -> User:
    """A user changes their own password: the current one must be right; every other session
    of theirs ends (the caller starts a new one for this terminal). The caller commits."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise AccountError("no such user")
    with _slot(slots):
        try:
            _hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError) as exc:
            raise AccountError("The current password is wrong.") from exc
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    if new.strip().lower() == user.username:
        raise AccountError("The new password must not be your username.")
    _check_password(new)
    user.password_hash = hash_password(new, slots)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    audit.record(session, actor=user.username, action="user.password_changed")
    session.flush()
    if sessions is not None:
        sessions.end_user(user.id)
    return user


def reset_password(
    session: Session,
    user_id: int,
    actor: str,
    sessions: SessionRegistry | None = None,
    slots: HashSlots | None = None,
) -> tuple[User, str]:
    """An admin resets a password: a generated one, shown once, that the user must change at
    their next login. Every session of the user ends. The caller commits."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("no such user")
    temporary = secrets.token_urlsafe(12)
    user.password_hash = hash_password(temporary, slots)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    audit.record(
        session, actor=actor, action="user.password_reset", detail={"username": user.username}
    )
    session.flush()
    if sessions is not None:
        sessions.end_user(user.id)
    return user, temporary


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
    """People's accounts. A system account (an HL7 sender's, `hl7:<app>`) has a ':' in its
    name, which no person's name may hold: a message that arrives before the first admin is
    created must not stop that admin being created."""
    return session.scalar(select(func.count(User.id)).where(~User.username.contains(":"))) or 0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    user: User,
    name: str,
    actor: str = "system",
    scope: TokenScope | str = TokenScope.SUBMIT,
    days: int = 90,
) -> str:
    """Return the token once; only its digest is stored."""
    try:
        scope = TokenScope(scope)
    except ValueError as exc:
        raise AccountError(f"scope: one of {', '.join(s.value for s in TokenScope)}") from exc
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"expiry: 1 to {MAX_TOKEN_DAYS} days")
    if scope is TokenScope.ADMIN and user.role is not Role.ADMIN:
        raise AccountError("scope admin: only for an admin's token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(days=days)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name[:64] or "token",
            token_hash=_digest(token),
            prefix=token[:10],
            scope=scope,
            expires_at=expires_at,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.created",
        detail={
            "username": user.username,
            "name": name[:64],
            "prefix": token[:10],
            "scope": scope.value,
            "expires_at": expires_at.isoformat(timespec="seconds"),
        },
    )
    return token


@dataclass(frozen=True)
class Principal:
    """Who is acting: what every permission check and audit event needs, nothing more.
    `scope` is set when an API token acts (None for a login session)."""

    id: int
    username: str
    role: Role
    must_change_password: bool = False
    scope: TokenScope | None = None

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.id, user.username, user.role, user.must_change_password)


@dataclass(frozen=True)
class TokenCheck:
    """A token that is known, not revoked and of an active user; it may have expired."""

    principal: Principal
    expires_at: dt.datetime

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or utcnow()) >= self.expires_at


def check_token(session: Session, token: str) -> TokenCheck | None:
    """The token's user, scope and expiry; None when unknown, revoked or the user disabled."""
    row = session.execute(
        select(
            User.id,
            User.username,
            User.role,
            User.must_change_password,
            ApiToken.scope,
            ApiToken.expires_at,
        )
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == _digest(token),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    uid, username, role, must_change, scope, expires_at = row
    return TokenCheck(Principal(uid, username, role, must_change, scope), expires_at)


def user_for_token(session: Session, token: str) -> Principal | None:
    """The active user behind a token that is neither revoked nor expired; one query."""
    found = check_token(session, token)
    return None if found is None or found.expired() else found.principal


class TokenCache:
    """Token digest -> TokenCheck for a few seconds, so an integration's steady stream of
    requests does not pay a database look-up each. A revocation applies at once in the
    process that revoked it and within `ttl_s` in the others; expiry is checked on every use."""

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 1024) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, TokenCheck]] = {}
        self._lock = threading.Lock()

    def lookup(self, session: Session, token: str) -> TokenCheck | None:
        key = _digest(token)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = check_token(session, token)
        if found is not None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (now + self.ttl_s, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def revoke_token(session: Session, token_id: int, actor: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token.revoked", detail={"prefix": row.prefix})
