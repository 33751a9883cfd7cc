"""Append-only audit trail in a hash chain.

`record` only inserts, inside the caller's transaction, so intake never waits on a lock.
`seal` then links pending events in commit order: each gets the next sequence number and a
hash over its content and its predecessor's hash. The worker's reconciler seals every few
seconds and the audit page seals before it verifies, so an event is unsealed only briefly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.db.models import AuditEvent, AuditHead, utcnow

GENESIS_HASH = "0" * 64
SEAL_BATCH = 1000


def _digest(prev_hash: str, seq: int, event: AuditEvent) -> str:
    stamp = event.at.astimezone(dt.UTC).isoformat()  # PostgreSQL may answer in another zone
    body = json.dumps(
        [prev_hash, seq, event.id, stamp, event.actor, event.action, event.case_id, event.detail],
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
    """Add an event to the caller's transaction; it commits (or not) with the change it records."""
    event = AuditEvent(
        at=utcnow(), actor=actor, action=action, case_id=case_id, detail=detail or {}
    )
    session.add(event)
    return event


def seal(session: Session, limit: int = SEAL_BATCH) -> int:
    """Chain up to `limit` pending events; commits. Returns how many were sealed.

    Updating the single head row first takes its row lock (PostgreSQL) or the write lock
    (SQLite), so two sealers queue up instead of forking the chain.
    """
    seq, prev = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one()
    pending = session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(limit)
    ).all()
    for event in pending:
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.hash = prev = _digest(prev, seq, event)
    if pending:
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    session.commit()
    return len(pending)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    unsealed: int = 0


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every sealed hash in order and compare the tip with the head row."""
    prev, count = GENESIS_HASH, 0
    for event in session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    ):
        if (
            event.seq != count + 1
            or event.prev_hash != prev
            or event.hash != _digest(prev, count + 1, event)
        ):
            return ChainCheck(False, count, count + 1)
        prev, count = event.hash, count + 1
    head = session.get(AuditHead, 1)
    unsealed = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seq.is_(None)))
    if head is None or head.seq != count or head.hash != prev:
        # Events deleted from the end of the chain: the head remembers more than is left.
        return ChainCheck(False, count, count + 1, unsealed or 0)
    return ChainCheck(True, count, None, unsealed or 0)
