"""Append-only audit trail in a hash chain: each event hashes its predecessor."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.db.models import AuditEvent, AuditHead, utcnow

GENESIS_HASH = "0" * 64


def _digest(
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    case_id: int | None,
    detail: dict[str, Any],
) -> str:
    stamp = at.astimezone(dt.UTC).isoformat()  # PostgreSQL may answer in another zone
    body = json.dumps(
        [prev_hash, seq, stamp, actor, action, case_id, detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event inside the caller's transaction.

    Updating the single head row first takes a row lock (PostgreSQL) or the write lock
    (SQLite), so concurrent appends queue up instead of forking the chain.
    """
    detail = detail or {}
    seq, prev_hash = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one()
    at = utcnow()
    digest = _digest(prev_hash, seq, at, actor, action, case_id, detail)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        case_id=case_id,
        detail=detail,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest))
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_seq: int | None = None


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every hash in order; report the first event that does not match."""
    prev = GENESIS_HASH
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        expected = _digest(
            prev, event.seq, event.at, event.actor, event.action, event.case_id, event.detail
        )
        if event.prev_hash != prev or event.hash != expected or event.seq != count + 1:
            return ChainCheck(False, count, event.seq)
        prev = event.hash
        count += 1
    return ChainCheck(True, count)
