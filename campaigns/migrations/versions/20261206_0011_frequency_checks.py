"""The frequency cap's order: when a recipient passed the cap's check, on the database's clock.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("capped_checked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("capped_checked_at")
