"""cases.idempotency_hash: the SHA-256 of the validated case submitted under an
Idempotency-Key, so a second submission with the same key and a different body is refused
instead of silently answered with the first case; API keys stored as "api:" and a hash, so
they never meet the form's "form:" keys.

Keys stored before this revision were the client's own text: they are rewritten to their
"api:" form, so a client retrying across the upgrade still gets its first case back (with no
hash to compare, such a replay is answered as before). A downgrade keeps the rewritten keys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def api_key(key: str) -> str:
    """As shared.cases.api_idempotency_key, frozen here: a migration never imports the app."""
    return "api:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("idempotency_key"))
    rows = conn.execute(
        sa.select(cases.c.id, cases.c.idempotency_key).where(
            cases.c.idempotency_key.is_not(None),
            ~cases.c.idempotency_key.startswith("form:"),
        )
    ).all()
    for case_id, key in rows:
        conn.execute(
            cases.update().where(cases.c.id == case_id).values(idempotency_key=api_key(key))
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("idempotency_hash")
