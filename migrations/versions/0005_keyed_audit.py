"""keyed audit chain: events record where they came from (`via`: api or form) and the state
of the case they are about (`state`); the head records which key sealed the chain

Existing events were chained with plain SHA-256, which anyone can recompute. The upgrade
verifies that chain one last time, records the verdict and its tip in an `audit.rekeyed`
event, and unseals every event: the next seal (the worker's reconciler, or the audit page)
re-seals them all, in their original order, with the key (shared.audit_key). Downgrading
unseals them again for the unkeyed sealer of 0004.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("case_id", sa.Integer),
    sa.column("detail", sa.JSON),
    sa.column("seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
head = sa.table(
    "audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.Integer), sa.column("hash")
)


def _unkeyed(prev: str, seq: int, row: sa.Row) -> str:
    """The digest of migrations 0001-0004 (shared.audit before keys)."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    body = json.dumps(
        [prev, seq, row.id, at.astimezone(dt.UTC).isoformat(), row.actor, row.action,
         row.case_id, row.detail],
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )  # fmt: skip
    return hashlib.sha256(body.encode()).hexdigest()


def _legacy_verdict(conn: sa.Connection) -> dict[str, object]:
    prev, count, bad = GENESIS, 0, None
    for row in conn.execute(
        sa.select(events).where(events.c.seq.is_not(None)).order_by(events.c.seq)
    ):
        expected = _unkeyed(prev, count + 1, row)
        if (row.seq, row.prev_hash, row.hash) != (count + 1, prev, expected):
            bad = count + 1
            break
        prev, count = row.hash, count + 1
    tip = conn.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).one_or_none()
    if bad is None and (tip is None or (tip.seq, tip.hash) != (count, prev)):
        bad = count + 1
    return {
        "unkeyed_events": count,
        "unkeyed_tip": prev,
        "unkeyed_intact": bad is None,
        "unkeyed_first_bad_seq": bad,
    }


def _unseal(conn: sa.Connection) -> None:
    conn.execute(sa.update(events).values(seq=None, prev_hash=None, hash=None))
    conn.execute(sa.update(head).where(head.c.id == 1).values(seq=0, hash=GENESIS))


def upgrade() -> None:
    conn = op.get_bind()
    verdict = _legacy_verdict(conn)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("state", sa.JSON(), nullable=True))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    _unseal(conn)
    if verdict["unkeyed_events"] or not verdict["unkeyed_intact"]:
        conn.execute(
            sa.insert(events).values(
                at=dt.datetime.now(dt.UTC), actor="migration 0005", action="audit.rekeyed",
                case_id=None, detail=verdict,
            )
        )  # fmt: skip


def downgrade() -> None:
    conn = op.get_bind()
    _unseal(conn)
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("key_id")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("state")
        batch_op.drop_column("via")
