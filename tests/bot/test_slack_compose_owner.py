"""The compose form writes only the person's own draft. What its private_metadata names is the
sender's say-so: a correctly signed view_submission can name any campaign (the review turned an
approved 6-recipient campaign into 180 and started it that way). Through the real request path,
each such submission is refused and nothing changes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.blocks.compose import COMPOSE, ZONE, Metadata
from bot.blocks.preview import CONFIRM
from bot.jobs import queue_name
from bot.slack.background import drain
from campaigns.models import AuditEntry
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign
from campaigns.service.approval import approve_campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus
from sandbox.slack import ALICE, BOB, CAMPAIGNS, CAROL, SIGNING_SECRET, SlackSandbox, requests
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_approvals import clock, numbers, post, showing, submit, top_view, until
from tests.conftest import Clock
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401

__all__ = ["clock"]  # the real-time clock: an approval is judged on the database's clock
SENDER = "+14155550100"


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, APPROVAL_ABOVE_RECIPIENTS="5")


async def alices(web: Api, clock: Clock, kind: str) -> str:
    """Alice's 6-recipient campaign: a draft, scheduled (awaiting approval), or approved."""
    ctx = web.runtime.ctx
    new = NewCampaign(
        name="Six", message_template="Open day on Saturday. Reply STOP to opt out",
        recipients=check_recipient_list([{"phone": p} for p in numbers(6)], "GB"),
        from_numbers=[SENDER], send_at=clock.now + timedelta(hours=2), source="slack",
        consent_confirmed=kind != "draft", channel_id=CAMPAIGNS,
    )  # fmt: skip
    view = await create_campaign(ctx, new, f"slack:{ALICE}", launch=kind != "draft")
    campaign = view.campaign
    if kind == "approved":
        await approve_campaign(ctx, campaign.id, campaign.version, f"slack:{CAROL}")
    return campaign.id


async def as_stored(web: Api, campaign_id: str) -> tuple[Any, ...]:
    view = (await get_campaign(web.runtime.ctx, campaign_id, recipients_limit=1)).view
    campaign = view.campaign
    async with web.runtime.db.read() as session:
        edits = (
            await session.execute(
                select(AuditEntry.id).where(
                    AuditEntry.campaign_id == campaign_id, AuditEntry.action == "campaign.edit"
                )
            )
        ).all()
    return (campaign.status, campaign.version, campaign.name, campaign.message_template,
            campaign.scheduled_at, view.counts.total, len(edits))  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "status", "refusal"),
    [
        ("draft", CampaignStatus.DRAFT, "This draft is someone else's: nothing was changed."),
        ("awaiting", CampaignStatus.AWAITING_APPROVAL, "not a draft: this form cannot change it"),
        ("approved", CampaignStatus.SCHEDULED, "not a draft: this form cannot change it"),
    ],
)
async def test_a_forged_submission_naming_a_campaign_not_the_persons_draft_changes_nothing(
    web: Api, slack: SlackSandbox, clock: Clock, kind: str, status: str, refusal: str
) -> None:
    campaign_id = await alices(web, clock, kind)
    before = await as_stored(web, campaign_id)
    assert before[0] == status

    # Bob opens his own form, and sends it back naming Alice's campaign: correctly signed.
    await post(web, requests.slash_command(SIGNING_SECRET, "new", user_id=BOB,
                                           sandbox_url=slack.url))  # fmt: skip
    form = await until(showing(slack, BOB, COMPOSE))
    forged = Metadata(channel=CAMPAIGNS, draft=campaign_id, extra={ZONE: "UTC"}).dump()
    values = {"name": "Now 180", "sender": SENDER, "paste": "\n".join(numbers(180)),
              "message": "Everything must go \N{GRINNING FACE}", "when": "now",
              "consent": ["yes"]}  # fmt: skip
    await submit(web, slack, {**form, "private_metadata": forged}, values, BOB)
    await drain()
    await until(lambda: refusal in str(top_view(slack, BOB)))

    assert await as_stored(web, campaign_id) == before
    queue = queue_name(web.runtime.settings.REDIS_NAMESPACE)
    assert await web.runtime.redis.zcard(queue) == 0  # nothing started either
    assert top_view(slack, ALICE) is None  # Alice's own screen untouched


async def test_a_forged_confirm_naming_someone_elses_draft_launches_nothing(
    web: Api, slack: SlackSandbox, clock: Clock
) -> None:
    campaign_id = await alices(web, clock, "draft")
    before = await as_stored(web, campaign_id)
    await post(web, requests.slash_command(SIGNING_SECRET, "new", user_id=BOB,
                                           sandbox_url=slack.url))  # fmt: skip
    form = await until(showing(slack, BOB, COMPOSE))
    # Bob's own modal, sent back as a click on Confirm in a preview naming Alice's draft.
    forged = Metadata(channel=CAMPAIGNS, draft=campaign_id).dump()
    preview = {**form, "private_metadata": forged, "blocks": [{
        "type": "actions", "block_id": "confirm", "elements": [{
            "type": "button", "action_id": CONFIRM, "value": campaign_id,
            "text": {"type": "plain_text", "text": "Confirm"}}]}]}  # fmt: skip
    await post(web, requests.block_actions(SIGNING_SECRET, CONFIRM, view=preview, user_id=BOB,
                                           sandbox_url=slack.url))  # fmt: skip
    await until(lambda: "someone else's" in str(top_view(slack, BOB)))
    assert await as_stored(web, campaign_id) == before
    assert slack.messages(CAMPAIGNS) == []  # no progress message posted for it either
