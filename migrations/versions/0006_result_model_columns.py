"""results: which language model wrote part of a result (model id, revision, backend,
quantization), as columns an auditor can query; NULL for results no model touched.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("model_revision", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("model_backend", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("model_quantization", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_results_model_id"), ["model_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_results_model_revision"), ["model_revision"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_model_revision"))
        batch_op.drop_index(batch_op.f("ix_results_model_id"))
        batch_op.drop_column("model_quantization")
        batch_op.drop_column("model_backend")
        batch_op.drop_column("model_revision")
        batch_op.drop_column("model_id")
