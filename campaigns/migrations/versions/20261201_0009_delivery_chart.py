"""The delivery chart: when each message was handed to Twilio, and the charts posted in Slack.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chart_file_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("final_chart_file_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("final_chart_file_id")
        batch_op.drop_column("chart_file_id")
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("sent_at")
