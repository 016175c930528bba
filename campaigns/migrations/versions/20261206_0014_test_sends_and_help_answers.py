"""Test sends are recorded (the month's spend and the hourly limit count them), and a HELP
records whether it was answered (at most one answer a day per number).

Before, "Send a test to me" left only an audit line: a test was billed by Twilio but counted in
no spend, and nothing bounded how many a person sent; HELP was answered every time it came.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "test_sends",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("to_masked", sa.String(length=20), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("mms", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("twilio_sid", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_sends")),
    )
    with op.batch_alter_table("test_sends", schema=None) as batch_op:
        batch_op.create_index("ix_test_sends_actor_created_at", ["actor", "created_at"])
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("help_answered", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("help_answered")
    with op.batch_alter_table("test_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_test_sends_actor_created_at")
    op.drop_table("test_sends")
