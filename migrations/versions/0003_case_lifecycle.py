"""case lifecycle: care status, assignment, area, re-assessment clock, the engine's level
beside a clinician's override, escalation, disposition; observations (re-triage), case notes,
idempotency keys of case actions

Existing cases are backfilled: the engine's level is their current acuity (nothing was ever
overridden), the re-assessment clock starts at arrival, a `closed` case is disposed (with no
disposition recorded: the seed had none) and every other case is waiting.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARE_STATUSES = ("waiting", "in_assessment", "disposed")
DISPOSITIONS = ("admit", "discharge", "transfer", "left_without_being_seen", "deceased")


def _enum(values: tuple[str, ...], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "care_status",
                _enum(CARE_STATUSES, "care_status", 16),
                server_default="waiting",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("area", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_assessed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("engine_acuity", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("override_acuity", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("override_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("override_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_from", sa.SmallInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("disposition", _enum(DISPOSITIONS, "disposition", 32), nullable=True)
        )
        batch_op.add_column(sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disposed_by_id", sa.Integer(), nullable=True))

    cases = sa.table(
        "cases",
        sa.column("status", sa.String()),
        sa.column("care_status", sa.String()),
        sa.column("acuity", sa.SmallInteger()),
        sa.column("engine_acuity", sa.SmallInteger()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("last_assessed_at", sa.DateTime(timezone=True)),
        sa.column("disposed_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        cases.update().values(engine_acuity=cases.c.acuity, last_assessed_at=cases.c.created_at)
    )
    op.execute(
        cases.update()
        .where(cases.c.status == "closed")
        .values(care_status="disposed", disposed_at=cases.c.updated_at)
    )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("engine_acuity", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.alter_column(
            "last_assessed_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_check_constraint(
            op.f("ck_cases_engine_acuity_range"), "engine_acuity BETWEEN 1 AND 5"
        )
        batch_op.create_check_constraint(
            op.f("ck_cases_override_acuity_range"), "override_acuity BETWEEN 1 AND 5"
        )
        batch_op.create_foreign_key(
            op.f("fk_cases_assigned_to_id_users"), "users", ["assigned_to_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_cases_override_by_id_users"), "users", ["override_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_cases_disposed_by_id_users"), "users", ["disposed_by_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_cases_assigned_to_id"), ["assigned_to_id"])
        batch_op.create_index("ix_cases_disposed", ["care_status", "disposed_at"])

    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vitals", sa.JSON(), nullable=False),
        sa.Column("note_line", sa.Text(), nullable=False),
        sa.Column("engine_acuity", sa.SmallInteger(), nullable=False),
        sa.Column("news2_total", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "engine_acuity BETWEEN 1 AND 5", name=op.f("ck_observations_engine_acuity_range")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_observations_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_observations_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["result_id"], ["results.id"], name=op.f("fk_observations_result_id_results"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index(op.f("ix_observations_case_id"), "observations", ["case_id"])

    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_notes_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    op.create_index(op.f("ix_case_notes_case_id"), "case_notes", ["case_id"])

    op.create_table(
        "action_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_action_keys_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_action_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_action_keys_user_id")),
    )
    op.create_index(op.f("ix_action_keys_case_id"), "action_keys", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_action_keys_case_id"), table_name="action_keys")
    op.drop_table("action_keys")
    op.drop_index(op.f("ix_case_notes_case_id"), table_name="case_notes")
    op.drop_table("case_notes")
    op.drop_index(op.f("ix_observations_case_id"), table_name="observations")
    op.drop_table("observations")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_disposed")
        batch_op.drop_index(batch_op.f("ix_cases_assigned_to_id"))
        batch_op.drop_constraint(op.f("fk_cases_disposed_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_cases_override_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_cases_assigned_to_id_users"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_cases_override_acuity_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_engine_acuity_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_disposition"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_care_status"), type_="check")
        for column in (
            "disposed_by_id", "disposed_at", "disposition", "escalated_from", "escalated_at",
            "override_at", "override_by_id", "override_reason", "override_acuity",
            "engine_acuity", "last_assessed_at", "acknowledged_at", "area", "assigned_to_id",
            "care_status",
        ):  # fmt: skip
            batch_op.drop_column(column)
