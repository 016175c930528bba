"""Who made a version of a campaign since its last approval (`changed_by`): none of them may
approve it. Before this, only its creator was kept from approving, so a second person could edit
a campaign over a cap and approve their own edit.

Campaigns that can still be approved or edited (drafts, scheduled, awaiting approval) are filled
in from what was known: their creator and whoever confirmed them, unless they were approved
since, and everyone the audit log shows editing them after their last approval.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("changed_by", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    _fill_in(op.get_bind())


def _fill_in(bind: sa.Connection) -> None:
    campaigns = bind.execute(
        sa.text(
            "SELECT id, created_by, consent_confirmed_by, approved_at FROM campaigns "
            "WHERE status IN ('draft', 'scheduled', 'awaiting_approval')"
        )
    ).all()
    for campaign_id, created_by, confirmed_by, approved_at in campaigns:
        who = [] if approved_at is not None else [created_by, confirmed_by]
        edits = bind.execute(
            sa.text(
                "SELECT actor, at FROM audit_log WHERE campaign_id = :id "
                "AND action = 'campaign.edit' ORDER BY id"
            ),
            {"id": campaign_id},
        ).all()
        who += [actor for actor, at in edits if _after(at, approved_at)]
        changed_by = list(dict.fromkeys(w for w in who if w))
        bind.execute(
            sa.text("UPDATE campaigns SET changed_by = :changed_by WHERE id = :id").bindparams(
                sa.bindparam("changed_by", type_=sa.JSON())
            ),
            {"changed_by": changed_by, "id": campaign_id},
        )


def _after(at: datetime | str | None, approved_at: datetime | str | None) -> bool:
    """Whether an edit came after the approval (SQLite hands back text, PostgreSQL datetimes)."""
    if approved_at is None or at is None:
        return True
    return _utc(at) >= _utc(approved_at)


def _utc(value: datetime | str) -> datetime:
    """A stored time as naive UTC: SQLite's text has no zone and is UTC already."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("changed_by")
