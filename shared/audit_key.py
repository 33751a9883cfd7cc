"""The audit chain's HMAC key. It is never in the database, so whoever can only write rows
cannot re-seal a chain they edited: the setting, or a file made once in the instance folder."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from shared.config import Settings

KEY_FILE = "audit_key"


class AuditKeyError(RuntimeError):
    """The chain was sealed with another key than this process has."""


def audit_key(settings: Settings) -> bytes:
    """`MEDTRIAGE_AUDIT_KEY`, or the key generated once (0600) into the instance folder."""
    if settings.audit_key:
        return settings.audit_key.encode()
    path = settings.instance_path / KEY_FILE
    settings.instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: when web and worker start at once, exactly one of them writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def key_id(key: bytes) -> str:
    """A name for the key that reveals nothing of it: shown to say which key sealed a chain."""
    return hmac.new(key, b"medtriage audit key id", hashlib.sha256).hexdigest()[:16]
