"""hl7_messages: HL7 v2 messages received over MLLP (issue 11): sender, control id (unique per
sending application and facility, so a resent message is acknowledged again and never applied
twice), message type, content hash, the ACK code sent and its reason, the case it touched.
No message content and no patient data.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hl7_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sending_application", sa.String(length=227), nullable=False),
        sa.Column("sending_facility", sa.String(length=227), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("message_type", sa.String(length=32), nullable=False),
        sa.Column("message_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_hl7_messages_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_messages")),
        sa.UniqueConstraint(
            "sending_application",
            "sending_facility",
            "control_id",
            name=op.f("uq_hl7_messages_sending_application"),
        ),
    )
    op.create_index(op.f("ix_hl7_messages_received_at"), "hl7_messages", ["received_at"])
    op.create_index(op.f("ix_hl7_messages_case_id"), "hl7_messages", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hl7_messages_case_id"), table_name="hl7_messages")
    op.drop_index(op.f("ix_hl7_messages_received_at"), table_name="hl7_messages")
    op.drop_table("hl7_messages")
