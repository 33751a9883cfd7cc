"""action_keys.request_hash: the SHA-256 of the validated request an Idempotency-Key was first
used with on a case action, so the same key with a different body (an override retried with
another level) is refused instead of silently answered with the first outcome. Keys stored
before this revision have no hash and replay as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_keys", schema=None) as batch_op:
        batch_op.drop_column("request_hash")
