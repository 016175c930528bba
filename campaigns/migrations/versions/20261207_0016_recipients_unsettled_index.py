"""Recipients claimed without a SID (held, or waiting for a lookup) get an index of their own.

The worker asks every second, per campaign, which claims ran out of lease, which lookups are due
and when the next one is. Those rows are `queued` with no SID; so are, for a while, none of the
others, but a message Twilio took stays `queued` (with its SID) until its callbacks come in. The
only index, on (campaign_id, status, id), made each question read every queued row of the
campaign, tens of thousands while a large campaign sends: 2.5 to 11 ms each at 20,000, until
the table's statistics were fresh. This partial index holds only the rows the questions are
about, a loop's worth of claims, whatever the statistics. Its key serves the lookups' order.

Building it reads the recipients table once, holding writes to it meanwhile; it stays small.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSETTLED = "status = 'queued' AND twilio_sid IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_recipients_unsettled",
        "recipients",
        ["campaign_id", "check_at", "id"],
        postgresql_where=sa.text(UNSETTLED),
        sqlite_where=sa.text(UNSETTLED),
    )


def downgrade() -> None:
    op.drop_index("ix_recipients_unsettled", table_name="recipients")
