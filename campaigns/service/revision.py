"""Editing a scheduled campaign the safe way: on a copy, until the person confirms.

`draft_of` copies a scheduled campaign (and its recipients) into a draft; the person changes the
draft and previews it as a new campaign; `apply_draft` then makes the scheduled campaign what the
draft says, in one transaction, bumps its version (its old start job becomes a no-op) and drops
the draft. Until then the scheduled campaign is untouched and still goes out as it was if nobody
confirms. If it changed meanwhile (someone else edited it, it started, it was cancelled), the
edit is refused and says why.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, literal, select, update

from campaigns import audit
from campaigns.errors import StateError
from campaigns.ids import new_campaign_id
from campaigns.models import Campaign, Recipient
from campaigns.schedule import check_send_time
from campaigns.service.approval import decide_again, note_change
from campaigns.service.change import (
    CONFIRMED_EDITABLE,
    restart_after_edit,
    waits_before_first_text,
)
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.status import CampaignStatus, RecipientStatus, status_said

COPIED = ("name", "source", "message_template", "sender_mode", "from_numbers", "media_urls",
          "scheduled_at", "send_hours", "region", "channel_id", "agent_id", "import_report",
          "message_stats")  # fmt: skip
RECIPIENT_COLUMNS = ("row", "phone", "variables", "segments")


async def draft_of(ctx: Context, campaign_id: str, actor: str) -> tuple[CampaignView, int]:
    """A draft copy of a scheduled campaign, and the version the edit is based on."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id)
        waiting = await waits_before_first_text(ctx, session, campaign)
        if campaign.status not in CONFIRMED_EDITABLE and not waiting:
            raise StateError(_not_editable(campaign))
        now = ctx.now()
        draft = Campaign(
            id=new_campaign_id(), status=CampaignStatus.DRAFT, version=1, created_by=actor,
            changed_by=[actor], created_at=now, updated_at=now, **{name: getattr(campaign, name) for name in COPIED},
        )  # fmt: skip
        if waiting:
            draft.scheduled_at = None  # it sends as soon as its recipients' hours open
        session.add(draft)
        await session.flush()
        columns = [getattr(Recipient, c) for c in RECIPIENT_COLUMNS]
        await session.execute(
            insert(Recipient).from_select(
                ["campaign_id", *RECIPIENT_COLUMNS, "status", "attempts"],
                select(literal(draft.id), *columns, literal(RecipientStatus.PENDING), literal(0))
                .where(Recipient.campaign_id == campaign.id)
                .order_by(Recipient.id),
            )
        )
        counts = (await counts_for(session, [draft.id]))[draft.id]
        return CampaignView(draft, counts), campaign.version


async def apply_draft(
    ctx: Context, campaign_id: str, draft_id: str, actor: str, *, based_on: int
) -> CampaignView:
    """Make the scheduled campaign what the draft says; the draft is gone afterwards."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        draft = await load_campaign(session, draft_id, for_update=True)
        waiting = await waits_before_first_text(ctx, session, campaign)
        if campaign.status not in CONFIRMED_EDITABLE and not waiting:
            raise StateError(_not_editable(campaign) + " Your changes were not applied.")
        if campaign.version != based_on:
            raise StateError(
                f"Campaign {campaign.name!r} was changed by someone else while you edited it: "
                "your changes were not applied. Open it again and make them on the new version."
            )
        if draft.status != CampaignStatus.DRAFT:
            raise StateError("These changes were applied already.")
        if draft.created_by != actor:  # a button's metadata names the draft: it may be forged
            raise StateError("These changes are someone else's: only they can apply them.")
        now = ctx.now()
        # The window is checked again: the preview may have sat open for a while.
        send_at = check_send_time(draft.scheduled_at, now)
        changed = [n for n in COPIED if getattr(campaign, n) != getattr(draft, n)]
        makers = [*(draft.changed_by or [draft.created_by]), actor]  # wrote it, applied it
        for name in COPIED:
            setattr(campaign, name, getattr(draft, name))
        campaign.scheduled_at = send_at
        campaign.version += 1
        campaign.updated_at = now
        await session.execute(delete(Recipient).where(Recipient.campaign_id == campaign.id))
        await session.execute(
            update(Recipient).where(Recipient.campaign_id == draft.id).values(
                campaign_id=campaign.id)
        )  # fmt: skip
        await session.delete(draft)
        await session.flush()
        if waiting:
            await restart_after_edit(session, campaign, hours_changed=True)
        for who in makers:
            note_change(campaign, who)
        await decide_again(ctx, session, campaign)
        audit.record(session, actor, "campaign.edit", campaign.id, fields=changed,
                     version=campaign.version, draft=draft_id)  # fmt: skip
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    return CampaignView(campaign, counts)


def _not_editable(campaign: Campaign) -> str:
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        why = "it has started sending; you can still cancel what is not sent yet"
    elif campaign.status == CampaignStatus.DRAFT:
        why = "it is a draft: open it with /sms new"
    else:
        why = f"it is {status_said(campaign.status)}"
    return f"Campaign {campaign.name!r} can no longer be edited: {why}."
