"""A campaign paused because Textcast was not running says how many messages wait, in agreement
with the count (issue 22, point 15): "with 1 message not sent yet", never "1 messages"."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from campaigns.models import Campaign
from campaigns.recipients import check_recipient_list
from campaigns.service import create_campaign
from campaigns.service.context import Context
from campaigns.service.sending import StartDecision, start_campaign
from tests.campaigns.test_service_create import ACTOR, new_campaign, people


async def test_a_campaign_stalled_with_one_message_left_says_one_message(ctx: Context) -> None:
    made = await create_campaign(
        ctx, new_campaign(recipients=check_recipient_list(people(1), "GB")), ACTOR
    )
    assert (await start_campaign(ctx, made.campaign.id)).decision is StartDecision.SEND
    long_ago = ctx.now() - timedelta(seconds=ctx.settings.LATE_START_SECONDS + 3600)
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == made.campaign.id).values(heartbeat_at=long_ago)
        )
    stalled = await start_campaign(ctx, made.campaign.id)
    assert stalled.decision is StartDecision.LATE and stalled.campaign is not None
    assert "with 1 message not sent yet. Send it now, or cancel?" in (
        stalled.campaign.pause_reason or ""
    )
