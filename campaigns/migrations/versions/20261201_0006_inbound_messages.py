"""Inbound messages (replies, STOP, START, HELP), the sender an opt-out came to, and an index
to find the campaigns that texted a number.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("message_sid", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("messaging_service_sid", sa.String(length=40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media_types", sa.JSON(), nullable=False),
        sa.Column("meaning", sa.String(length=16), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=True),
        sa.Column("campaign_id", sa.String(length=32), nullable=True),
        sa.Column("recipient_id", BIG_ID, nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_channel", sa.String(length=32), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_inbound_messages_message_sid")),
    )
    op.create_index("ix_inbound_messages_handled_at_id", "inbound_messages", ["handled_at", "id"])
    op.create_index(op.f("ix_inbound_messages_phone"), "inbound_messages", ["phone"])
    op.create_index("ix_recipients_phone", "recipients", ["phone"])
    with op.batch_alter_table("opt_out_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opt_out_events", schema=None) as batch_op:
        batch_op.drop_column("sender")
    op.drop_index("ix_recipients_phone", table_name="recipients")
    op.drop_index(op.f("ix_inbound_messages_phone"), table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_handled_at_id", table_name="inbound_messages")
    op.drop_table("inbound_messages")
