"""The audit chain's HMAC key. It is never in the database, so whoever can only write rows
cannot re-seal a chain they edited: the setting, or a file made once in the instance folder."""

from __future__ import annotations

import hashlib
import hmac

from shared.config import Settings

KEY_FILE = "audit_key"


class AuditKeyError(RuntimeError):
    """The chain was sealed with another key than this process has."""


def audit_key(settings: Settings) -> bytes:
    """`MEDTRIAGE_AUDIT_KEY`, or the key generated once (0600) into the instance folder."""
    return (settings.audit_key or settings.instance_secret(KEY_FILE)).encode()


def key_id(key: bytes) -> str:
    """A name for the key that reveals nothing of it: shown to say which key sealed a chain."""
    return hmac.new(key, b"medtriage audit key id", hashlib.sha256).hexdigest()[:16]
