"""A change someone other than a campaign's creator makes over the API (an edit, a new time, a
cancel) is told in the campaign's thread, mentioning its creator: a real arq worker runs the job
the API enqueues and posts to the Slack stand-in (issue 22, point 3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from campaigns.db import Database
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign
from campaigns.service.sending import set_progress_message
from sandbox.slack import ALICE, CAMPAIGNS
from tests.worker.stack import Stack, running_stack
from worker.slack_client import create_slack_client

ONE = "+14155550100"
PEOPLE = [{"phone": f"+44740000000{i}", "variables": {}} for i in range(1, 4)]


async def until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := check()):
            await asyncio.sleep(0.05)
    return found


async def alices_scheduled_campaign(stack: Stack) -> tuple[str, str]:
    """Scheduled in Slack by Alice: confirmed, with its progress message in #campaigns (as
    Confirm posts it). Its id and the message's ts."""
    made = await create_campaign(stack.ctx, NewCampaign(
        name="Open day", message_template="Open day on Saturday. STOP to end",
        recipients=check_recipient_list(PEOPLE, "GB"), from_numbers=[ONE],
        send_at=datetime.now(UTC) + timedelta(hours=2), source="slack", consent_confirmed=True,
        channel_id=CAMPAIGNS), f"slack:{ALICE}")  # fmt: skip
    slack = create_slack_client(stack.settings)
    posted = await slack.chat_postMessage(channel=CAMPAIGNS, text="Open day: scheduled")
    await set_progress_message(stack.ctx, made.campaign.id, channel_id=CAMPAIGNS,
                               ts=str(posted["ts"]))  # fmt: skip
    return made.campaign.id, str(posted["ts"])


def told(stack: Stack, ts: str) -> list[str]:
    assert stack.slack is not None
    return [m.text for m in stack.slack.thread(CAMPAIGNS, ts)]


async def test_an_api_edit_and_cancel_are_told_to_the_creator_in_the_thread(
    db: Database,
) -> None:
    async with running_stack(db, senders={ONE: 20.0}, slack=True) as stack:
        await stack.start_worker()
        campaign_id, ts = await alices_scheduled_campaign(stack)
        later = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
        patched = await stack.web.patch(
            f"/v1/sms/campaigns/{campaign_id}", headers=stack.auth,
            json={"schedule_type": "schedule", "scheduled_at": later.isoformat(),
                  "message_template": "Open day on Sunday. STOP to end"},
        )  # fmt: skip
        assert patched.status == 200, await patched.text()
        [edited] = await until(lambda: told(stack, ts))
        assert edited.startswith(f"<@{ALICE}> :pencil2: API key ")
        assert "changed *Open day*: the message and when it sends. It sends " in edited
        assert f"<!date^{int(later.timestamp())}^" in edited

        cancelled = await stack.web.delete(f"/v1/sms/campaigns/{campaign_id}", headers=stack.auth)
        assert cancelled.status == 200, await cancelled.text()
        notices = await until(lambda: told(stack, ts)[1:] and told(stack, ts))
        assert notices[1].startswith(f"<@{ALICE}> :no_entry_sign: API key ")
        assert notices[1].endswith("cancelled *Open day*: 3 messages will not be sent.")
