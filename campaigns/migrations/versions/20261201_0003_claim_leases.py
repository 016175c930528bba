"""Claims with an owner and a lease, quarantine for unknown outcomes, and a campaign heartbeat.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("unknown_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("check_at", sa.DateTime(timezone=True), nullable=True))
    # A claim made before this version has no owner to renew it: give it a lease that has run
    # out, so the first send loop after the upgrade checks it with Twilio, as it would a claim
    # whose worker died.
    op.execute(
        "UPDATE recipients SET lease_until = claimed_at, claim_token = 'before-0003' "
        "WHERE status = 'queued' AND twilio_sid IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("check_at")
        batch_op.drop_column("unknown_since")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claim_token")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
