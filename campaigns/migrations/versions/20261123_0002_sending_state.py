"""Sending state: when a worker claimed each recipient, and the summary message in Slack.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:47:05.432655
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_message_ts", sa.String(length=32), nullable=True))

    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("summary_message_ts")
