"""five acuity levels: cases.acuity, provisional_acuity, vitals_documented, vital_conflicts;
results.acuity; the board index on (status, acuity, vitals_documented, created_at)

Existing rows are backfilled from their three-level risk (high -> 2, medium -> 3, low -> 4):
the seed engine's High meant "emergent", not "resuscitation", and a backfilled Low stays
level 4, never 5 (CLINICAL.md v2: level 5 needs complete, normal vital signs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RISK_TO_ACUITY = {"high": 2, "medium": 3, "low": 4}


def acuity_of(risk: sa.ColumnClause[str]) -> sa.Case[int]:
    return sa.case(RISK_TO_ACUITY, value=risk, else_=4)


def upgrade() -> None:
    # Added nullable, backfilled, then made NOT NULL: SQLite cannot add a NOT NULL column
    # without a default (batch mode rebuilds the table for the second step).
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provisional_acuity", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("acuity", sa.SmallInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("vitals_documented", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("vital_conflicts", sa.JSON(), nullable=True))
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acuity", sa.SmallInteger(), nullable=True))

    cases = sa.table(
        "cases",
        sa.column("provisional_acuity", sa.SmallInteger()),
        sa.column("acuity", sa.SmallInteger()),
        sa.column("vital_conflicts", sa.JSON()),
        sa.column("provisional_risk", sa.String()),
        sa.column("risk_level", sa.String()),
    )
    op.execute(
        cases.update().values(
            provisional_acuity=acuity_of(cases.c.provisional_risk),
            acuity=acuity_of(cases.c.risk_level),
            vital_conflicts=sa.literal([], sa.JSON()),
        )
    )
    results = sa.table(
        "results", sa.column("acuity", sa.SmallInteger()), sa.column("risk_level", sa.String())
    )
    op.execute(results.update().values(acuity=acuity_of(results.c.risk_level)))

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("provisional_acuity", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.alter_column("acuity", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.alter_column("vital_conflicts", existing_type=sa.JSON(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_cases_acuity_range"), "acuity BETWEEN 1 AND 5")
        batch_op.create_check_constraint(
            op.f("ck_cases_provisional_acuity_range"), "provisional_acuity BETWEEN 1 AND 5"
        )
        batch_op.drop_index("ix_cases_board")
        batch_op.create_index(
            "ix_cases_board",
            ["status", "acuity", "vitals_documented", "created_at"],
            unique=False,
        )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.alter_column("acuity", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_results_acuity_range"), "acuity BETWEEN 1 AND 5")


def downgrade() -> None:
    # risk_level and risk_rank were kept up to date beside acuity: nothing to restore.
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_results_acuity_range"), type_="check")
        batch_op.drop_column("acuity")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_board")
        batch_op.create_index("ix_cases_board", ["status", "risk_rank", "created_at"], unique=False)
        batch_op.drop_constraint(op.f("ck_cases_provisional_acuity_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_acuity_range"), type_="check")
        batch_op.drop_column("vital_conflicts")
        batch_op.drop_column("vitals_documented")
        batch_op.drop_column("acuity")
        batch_op.drop_column("provisional_acuity")
