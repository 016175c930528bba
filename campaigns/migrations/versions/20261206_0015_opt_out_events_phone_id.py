"""A number's opt-out events are indexed by (phone, id), not by phone alone.

The suppression list pages through the events that began each number's current opt-out, asking
of every row whether the number's event just before it was an opt-out (and whether one after it
was an opt-in). With an index on phone alone, PostgreSQL without fresh statistics (a large list
just imported, before autovacuum) found the event before by walking the primary key backwards:
8.5 s a page of 1,000 instead of 18 ms. With (phone, id) the answer is one index probe whatever
the statistics. The new index also serves every lookup by phone the old one did; SQLite's old
index already held the id (its rowid), so there it changes nothing but the name.

Building it reads the table once (about a second for a million events on PostgreSQL, holding
writes to opt-outs meanwhile).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_opt_out_events_phone_id", "opt_out_events", ["phone", "id"])
    op.drop_index("ix_opt_out_events_phone", table_name="opt_out_events")


def downgrade() -> None:
    op.create_index("ix_opt_out_events_phone", "opt_out_events", ["phone"])
    op.drop_index("ix_opt_out_events_phone_id", table_name="opt_out_events")
