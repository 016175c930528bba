"""Sending hours: a campaign's own hours and when it wakes, and when a waiting recipient is due.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_hours", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("not_before")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("wake_at")
        batch_op.drop_column("send_hours")
