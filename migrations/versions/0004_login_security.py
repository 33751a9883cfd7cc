"""login security: users who must change a generated or reset password, the time of the last
change; API tokens with a scope (read, submit, admin) and an expiry

Existing tokens keep working as they did (intake and reads) with the scope `submit` and
expire 90 days after this upgrade; existing users need not change their password.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPES = ("read", "submit", "admin")
EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scope",
                sa.Enum(
                    *SCOPES, name="token_scope", native_enum=False, create_constraint=True, length=8
                ),
                server_default="submit",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    tokens = sa.table("api_tokens", sa.column("expires_at", sa.DateTime(timezone=True)))
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=EXISTING_TOKEN_DAYS)
    if op.get_bind().dialect.name == "sqlite":
        expires = expires.replace(tzinfo=None)  # SQLite keeps naive UTC text
    op.execute(tokens.update().values(expires_at=expires))

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_tokens_token_scope"), type_="check")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
