"""A recipient's sender can be a Messaging Service SID (34 characters), not only a number.

Through a Messaging Service the send loop records the service's SID as the sender, as it does a
number; the column held 20 characters, so PostgreSQL refused every such write. A create that was
answered still kept its SID (written again alone), but one whose answer was lost could not be
put in quarantine for its lookup: the recipient ended failed, "could not be stored", never sent
(SQLite, which does not enforce the length, never showed it). 40, as the inbound messages'
sender column.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.alter_column(
            "sender", existing_type=sa.String(length=20), type_=sa.String(length=40)
        )


def downgrade() -> None:
    # A service SID does not fit the old column: forgotten, as before this revision it was.
    op.execute("UPDATE recipients SET sender = NULL WHERE length(sender) > 20")
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.alter_column(
            "sender", existing_type=sa.String(length=40), type_=sa.String(length=20)
        )
