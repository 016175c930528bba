"""Editing a scheduled campaign on a draft copy, applied only when confirmed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.errors import NotFound, StateError
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    CampaignChanges,
    Context,
    NewCampaign,
    audit_entries,
    cancel_campaign,
    create_campaign,
    edit_campaign,
    get_campaign,
)
from campaigns.service.revision import apply_draft, draft_of
from campaigns.status import CampaignStatus
from tests.conftest import Clock

PEOPLE = [{"phone": f"+44770090000{i}", "variables": {"n": str(i)}} for i in range(3)]


async def scheduled(ctx: Context, clock: Clock) -> str:
    view = await create_campaign(
        ctx,
        NewCampaign(name="Spring", message_template="Hi {{n}}",
                    recipients=check_recipient_list(PEOPLE, "GB"), from_numbers=["+14155550100"],
                    send_at=clock.now + timedelta(days=1), source="slack", consent_confirmed=True,
                    channel_id="C0CAMPAIGNS"),
        "slack:U0BOB",
    )  # fmt: skip
    return view.campaign.id


async def test_the_campaign_changes_only_when_the_draft_is_applied(
    ctx: Context, clock: Clock
) -> None:
    campaign_id = await scheduled(ctx, clock)
    draft, version = await draft_of(ctx, campaign_id, "slack:U0ALICE")
    assert draft.campaign.status == CampaignStatus.DRAFT and draft.counts.total == 3
    later = clock.now + timedelta(days=2)
    new_list = check_recipient_list([{"phone": "+447700900009", "variables": {"n": "9"}}], "GB")
    await edit_campaign(ctx, draft.campaign.id, CampaignChanges(
        message_template="Hello {{n}}", recipients=new_list, send_at=later), "slack:U0ALICE")  # fmt: skip
    before = await get_campaign(ctx, campaign_id)
    assert before.view.campaign.message_template == "Hi {{n}}" and before.view.counts.total == 3

    applied = await apply_draft(ctx, campaign_id, draft.campaign.id, "slack:U0ALICE",
                                based_on=version)  # fmt: skip
    assert applied.campaign.version == version + 1
    after = await get_campaign(ctx, campaign_id)
    assert after.view.campaign.message_template == "Hello {{n}}"
    assert after.view.campaign.scheduled_at == later
    assert [r.phone for r in after.recipients] == ["+447700900009"]
    assert after.view.campaign.name == "Spring" and after.view.campaign.created_by == "slack:U0BOB"
    with pytest.raises(NotFound):  # the draft is gone
        await get_campaign(ctx, draft.campaign.id)
    [entry] = [e for e in await audit_entries(ctx, campaign_id=campaign_id)
               if e.action == "campaign.edit"]  # fmt: skip
    assert entry.actor == "slack:U0ALICE" and "message_template" in entry.details["fields"]


async def test_a_draft_keeps_the_recipients_when_only_the_text_changes(
    ctx: Context, clock: Clock
) -> None:
    campaign_id = await scheduled(ctx, clock)
    draft, version = await draft_of(ctx, campaign_id, "slack:U0ALICE")
    await edit_campaign(ctx, draft.campaign.id, CampaignChanges(message_template="Bye {{n}}"),
                        "slack:U0ALICE")  # fmt: skip
    await apply_draft(ctx, campaign_id, draft.campaign.id, "slack:U0ALICE", based_on=version)
    after = await get_campaign(ctx, campaign_id)
    assert [(r.phone, r.variables) for r in after.recipients] == [
        (p["phone"], p["variables"]) for p in PEOPLE
    ]


async def test_an_edit_made_meanwhile_or_a_cancel_refuses_the_draft(
    ctx: Context, clock: Clock
) -> None:
    campaign_id = await scheduled(ctx, clock)
    draft, version = await draft_of(ctx, campaign_id, "slack:U0ALICE")
    await edit_campaign(ctx, campaign_id, CampaignChanges(name="Spring!"), "api:key_x")
    with pytest.raises(StateError, match="changed by someone else"):
        await apply_draft(ctx, campaign_id, draft.campaign.id, "slack:U0ALICE", based_on=version)
    draft, version = await draft_of(ctx, campaign_id, "slack:U0ALICE")
    await cancel_campaign(ctx, campaign_id, "slack:U0BOB")
    with pytest.raises(StateError, match="can no longer be edited"):
        await apply_draft(ctx, campaign_id, draft.campaign.id, "slack:U0ALICE", based_on=version)
    with pytest.raises(StateError, match="can no longer be edited"):
        await draft_of(ctx, campaign_id, "slack:U0ALICE")
    assert (await get_campaign(ctx, campaign_id)).view.campaign.status == "cancelled"
