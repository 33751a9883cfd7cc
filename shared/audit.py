"""Append-only audit trail in a keyed hash chain, anchored outside the database.

`record` only inserts, inside the caller's transaction, so intake never waits on a lock.
`seal` then links pending events in commit order: each gets the next sequence number, the
state of the case it is about (shared.audit_state) and an HMAC over its content, that state
and its predecessor's hash, with a key that is not in the database (shared.audit_key). The
worker's reconciler seals every few seconds and appends the new head to an append-only file
(shared.audit_anchor); `verify` reports the first bad link, a truncation against that file
or a kept head, and cases or results changed behind the application's back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared import audit_anchor, audit_state
from shared.audit_anchor import Anchor
from shared.audit_key import AuditKeyError, audit_key, key_id
from shared.config import Settings
from shared.db.models import AuditEvent, AuditHead, utcnow

GENESIS_HASH = "0" * 64
SEAL_BATCH = 1000

__all__ = ["AuditKeyError", "ChainCheck", "Problem", "record", "seal", "verify", "verify_chain"]


def _content(prev_hash: str, seq: int, event: Any, keyed: bool = True) -> bytes:
    stamp = event.at.astimezone(dt.UTC).isoformat()  # PostgreSQL may answer in another zone
    fields = [prev_hash, seq, event.id, stamp, event.actor, event.action, event.case_id]
    fields.append(event.detail)
    if keyed:
        fields += [event.via, event.state]
    return audit_state.canonical(fields).encode()


def digest(key: bytes, prev_hash: str, seq: int, event: Any) -> str:
    return hmac.new(key, _content(prev_hash, seq, event), hashlib.sha256).hexdigest()


def unkeyed_digest(prev_hash: str, seq: int, event: Any) -> str:
    """The chain before keys (public SHA-256): only to name a recomputation for what it is."""
    return hashlib.sha256(_content(prev_hash, seq, event, keyed=False)).hexdigest()


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


def seal(session: Session, key: bytes, limit: int = SEAL_BATCH) -> int:
    """Chain up to `limit` pending events; commits. Returns how many were sealed.

    Updating the single head row first takes its row lock (PostgreSQL) or the write lock
    (SQLite), so two sealers queue up instead of forking the chain. A process with another
    key than the chain's refuses (AuditKeyError) instead of forking it.
    """
    seq, prev, sealed_with = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .returning(AuditHead.seq, AuditHead.hash, AuditHead.key_id)
    ).one()
    mine = key_id(key)
    if sealed_with is not None and sealed_with != mine:
        session.rollback()
        raise AuditKeyError(
            f"the audit chain is sealed with key {sealed_with}, this process has key {mine}: "
            "give web and worker the same MEDTRIAGE_AUDIT_KEY"
        )
    pending = session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(limit)
    ).all()
    states = audit_state.case_states(session, {e.case_id for e in pending if e.case_id})
    for event in pending:
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.state = states.get(event.case_id) if event.case_id is not None else None
        event.hash = prev = digest(key, prev, seq, event)
    if pending or sealed_with is None:
        session.execute(
            update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev, key_id=mine)
        )
    session.commit()
    return len(pending)


def seal_and_anchor(session: Session, settings: Settings, budget_s: float = 2.0) -> int:
    """The reconciler's pass: seal what is pending (a backlog for up to `budget_s`), then
    append the head to the anchor file when it moved."""
    key, started, total = audit_key(settings), time.monotonic(), 0
    while True:
        done = seal(session, key)
        total += done
        if done < SEAL_BATCH or time.monotonic() - started > budget_s:
            break
    head = session.get(AuditHead, 1)
    session.rollback()
    path = settings.anchor_file
    if head is not None and head.seq > audit_anchor.last_seq(path):
        audit_anchor.append(path, head.seq, head.hash, head.key_id or key_id(key))
    return total


def printable_head(session: Session) -> Anchor:
    """The head as a line an auditor can print and keep, and later check with `verify`."""
    head = session.get(AuditHead, 1)
    if head is None:
        return Anchor(0, GENESIS_HASH)
    at = session.scalar(select(AuditEvent.at).where(AuditEvent.seq == head.seq))
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""
    return Anchor(head.seq, head.hash, stamp, head.key_id or "")


@dataclass(frozen=True)
class Problem:
    """One finding: what kind, where (an event's number and/or a case), in words."""

    kind: str  # link | head | truncated | anchor | key | case
    message: str
    seq: int | None = None
    case: str | None = None


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    unsealed: int = 0
    problems: tuple[Problem, ...] = ()
    keyed: bool = False
    anchors_checked: int = 0
    cases_checked: int = 0
    notes: tuple[str, ...] = field(default=())


def verify(
    session: Session, settings: Settings, kept: Iterable[Anchor] = (), rows: bool = True
) -> ChainCheck:
    """The whole check, with this installation's key and anchor file, and any kept heads."""
    path = settings.anchor_file
    anchors, bad_lines = audit_anchor.read(path)
    notes = []
    if not path.exists():
        notes.append(f"no anchor file at {path}: truncation is checked against kept heads only")
    check = verify_chain(session, audit_key(settings), [*anchors, *kept], rows=rows)
    problems = list(check.problems)
    if bad_lines:
        problems.append(
            Problem("anchor", f"anchor file {path.name}: lines {bad_lines[:5]} are damaged")
        )
    return ChainCheck(
        not problems, check.events, check.first_bad_seq, check.unsealed, tuple(problems),
        check.keyed, check.anchors_checked, check.cases_checked, (*check.notes, *notes),
    )  # fmt: skip


_COLUMNS = (
    AuditEvent.id, AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.at,
    AuditEvent.actor, AuditEvent.action, AuditEvent.case_id, AuditEvent.detail, AuditEvent.via,
    AuditEvent.state,
)  # fmt: skip


def _link_problem(key: bytes, prev: str, count: int, event: Any) -> Problem | None:
    expected = count + 1
    if event.seq != expected:
        return Problem(
            "link",
            f"events {expected} to {event.seq - 1} are missing (deleted) before event {event.seq}",
            expected,
        )
    if event.prev_hash != prev:
        return Problem(
            "link", f"event {expected} does not link to event {count} (inserted or reordered)",
            expected,
        )  # fmt: skip
    if event.hash != digest(key, prev, expected, event):
        how = (
            "re-hashed without the key (plain SHA-256)"
            if event.hash == unkeyed_digest(prev, expected, event)
            else "changed after it was sealed"
        )
        return Problem("link", f"event {expected} was {how}", expected)
    return None


def verify_chain(
    session: Session,
    key: bytes | None = None,
    anchors: Iterable[Anchor] = (),
    rows: bool = True,
) -> ChainCheck:
    """Recompute every sealed link in order; compare the tip with the head row and with
    `anchors` (heads kept outside the database), and each case with its latest sealed state.

    Without a key only the links' order and the head are checked (`keyed` False): a quick
    look for tests and tools that have no key, never the auditor's verdict.
    """
    wanted: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        wanted.setdefault(anchor.seq, []).append(anchor)
    problems: list[Problem] = []
    prev, count, bad = GENESIS_HASH, 0, None
    hashes: dict[int, str] = {}
    latest: dict[int, tuple[int, dict[str, Any] | None]] = {}
    for event in session.execute(
        select(*_COLUMNS).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    ):
        if key is None:
            found = None
            if event.seq != count + 1 or event.prev_hash != prev:
                found = Problem("link", f"event {count + 1} is missing or out of order", count + 1)
        else:
            found = _link_problem(key, prev, count, event)
        if found is not None:
            problems.append(found)
            bad = found.seq
            break
        prev, count = event.hash, count + 1
        if count in wanted:
            hashes[count] = prev
        if event.case_id is not None:
            latest[event.case_id] = (count, event.state)
    head = session.get(AuditHead, 1)
    unsealed = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seq.is_(None)))
    if bad is None:
        if head is None or head.seq != count or head.hash != prev:
            problems.append(
                Problem(
                    "head",
                    f"the head row says event {head.seq if head else 0} but the chain ends at "
                    f"event {count}: events after {count} were deleted, or the head was edited",
                    count + 1,
                )
            )
            bad = count + 1
    if key is not None and head is not None and head.key_id and head.key_id != key_id(key):
        problems.insert(
            0, Problem("key", f"the chain was sealed with key {head.key_id}, not this one")
        )
    problems += _anchor_problems(wanted, hashes, count, bad)
    bad = min((p.seq for p in problems if p.seq is not None), default=None)
    notes: list[str] = []
    cases_checked = 0
    if rows and key is not None:
        row_problems, cases_checked = _row_problems(session, latest)
        problems += row_problems
        if bad is not None:
            notes.append(f"cases checked against the intact events 1 to {count} only")
    session.rollback()
    return ChainCheck(
        not problems, count, bad, unsealed or 0, tuple(problems), key is not None,
        len(wanted), cases_checked, tuple(notes),
    )  # fmt: skip


def _anchor_problems(
    wanted: dict[int, list[Anchor]], hashes: dict[int, str], count: int, bad: int | None
) -> list[Problem]:
    problems = []
    beyond = [a for seq, found in wanted.items() if seq > count for a in found]
    if beyond and bad is None:
        top = max(beyond, key=lambda a: a.seq)
        problems.append(
            Problem(
                "truncated",
                f"{top.source or 'a kept head'} records event {top.seq}"
                f"{' sealed at ' + top.at if top.at else ''}, but the chain ends at event "
                f"{count}: events {count + 1} to {top.seq} were deleted and the head rewound",
                count + 1,
            )
        )
    for seq in sorted(hashes):
        for anchor in wanted[seq]:
            if anchor.hash != hashes[seq]:
                problems.append(
                    Problem(
                        "anchor",
                        f"event {seq} differs from {anchor.source or 'the kept head'}: the "
                        f"chain up to event {seq} was rewritten",
                        seq,
                    )
                )
                return problems
    return problems


def _row_problems(
    session: Session, latest: dict[int, tuple[int, dict[str, Any] | None]]
) -> tuple[list[Problem], int]:
    """Each case against the state its latest sealed event vouched for."""
    pending = set(
        session.scalars(
            select(AuditEvent.case_id).where(
                AuditEvent.seq.is_(None), AuditEvent.case_id.is_not(None)
            )
        )
    )
    checked = {cid: s for cid, s in latest.items() if cid not in pending and s[1] is not None}
    now = audit_state.case_states(session, checked)
    problems = []
    for case_id, (seq, sealed) in sorted(checked.items(), key=lambda item: item[1][0]):
        assert sealed is not None
        changes = audit_state.differences(sealed, now.get(case_id))
        if changes and _still_latest(session, case_id, seq):
            ref = sealed.get("ref")
            problems.append(
                Problem(
                    "case",
                    f"case {ref} changed without an audit event since event {seq}: "
                    + "; ".join(changes),
                    seq,
                    ref,
                )
            )
    return problems, len(checked)


def _still_latest(session: Session, case_id: int, seq: int) -> bool:
    """False when an event about the case landed while we looked (a legitimate change)."""
    newest = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.case_id == case_id))
    at_seq = session.scalar(select(AuditEvent.id).where(AuditEvent.seq == seq))
    return newest == at_seq
