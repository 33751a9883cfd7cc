"""Site calibration (issue 13): calibration_models (versioned coefficients as JSON, training
window, data hash, metrics, scikit-learn version, at most one active); results record the
model that scored them; cases record the admitted level of care and a later follow-up, the
outcome the models learn from.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(values: tuple[str, ...], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "calibration_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("trained_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trained_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("sklearn_version", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_models")),
        sa.UniqueConstraint("version", name=op.f("uq_calibration_models_version")),
    )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calibration_version", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_results_calibration_version"), ["calibration_version"]
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "level_of_care", _enum(("ward", "hdu", "icu"), "level_of_care", 8), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "followup",
                _enum(("died_within_30_days", "alive_at_30_days"), "followup", 32),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("followup_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cases_followup"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_level_of_care"), type_="check")
        batch_op.drop_column("followup_at")
        batch_op.drop_column("followup")
        batch_op.drop_column("level_of_care")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_calibration_version"))
        batch_op.drop_column("calibration_version")
    op.drop_table("calibration_models")
