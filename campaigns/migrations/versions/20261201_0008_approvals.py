"""Approval by a second person: a longer status (awaiting_approval), why it was needed, the
request in Slack, and who approved it when.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=24),
            existing_nullable=False,
        )  # fmt: skip
        batch_op.add_column(sa.Column("approval_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("approval_channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("approval_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
        batch_op.drop_column("approval_ts")
        batch_op.drop_column("approval_channel")
        batch_op.drop_column("approval_reason")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=24), type_=sa.String(length=16),
            existing_nullable=False,
        )  # fmt: skip
