"""Approval by a second person, end to end: a campaign over the threshold sends nothing until an
allowed person other than its creator presses Approve in Slack (signed requests into the web app,
a real arq worker, the Twilio and Slack stand-ins)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.blocks.approval import APPROVE, REJECT, REJECT_REASON, REJECT_VIEW
from campaigns.db import Database
from campaigns.models import AuditEntry
from campaigns.service import get_campaign
from sandbox.slack import BOB, CAMPAIGNS, SIGNING_SECRET, TEAM_ID, Message, requests
from tests.worker.stack import Stack, running_stack

ONE = "+14155550100"
PEOPLE = [{"phone": f"+44740000000{i}", "variables": {}} for i in range(1, 4)]


async def until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := check()):
            await asyncio.sleep(0.05)
    return found


def request_in(stack: Stack) -> Message | None:
    assert stack.slack is not None
    found = [m for m in stack.slack.messages(CAMPAIGNS) if "Approve:" in str(m.blocks)]
    return found[-1] if found else None


async def click(
    stack: Stack, message: Message | dict[str, Any], action_id: str, user: str = BOB
) -> None:
    assert stack.slack is not None
    request = requests.block_actions(SIGNING_SECRET, action_id, message=message, user_id=user,
                                     channel_id=CAMPAIGNS, sandbox_url=stack.slack.url)  # fmt: skip
    answer = await stack.web.post("/slack/events", data=request.body, headers=request.headers)
    assert answer.status == 200, await answer.text()


async def submit(stack: Stack, view: dict[str, Any], reason: str) -> Any:
    """Bob submits the Reject modal with `reason`; Slack's answer (None: the modal closes)."""
    assert stack.slack is not None
    request = requests.view_submission(SIGNING_SECRET, view, {REJECT_REASON: reason},
                                       user_id=BOB, sandbox_url=stack.slack.url)  # fmt: skip
    answer = await stack.web.post("/slack/events", data=request.body, headers=request.headers)
    assert answer.status == 200, await answer.text()
    text = await answer.text()
    return json.loads(text) if text else None


async def actions(stack: Stack, campaign_id: str) -> list[tuple[str, str]]:
    async with stack.ctx.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.campaign_id == campaign_id)
            .order_by(AuditEntry.id)
        )
        return [(action, actor) for action, actor in rows]


async def test_nothing_is_sent_until_a_second_person_approves(db: Database) -> None:
    async with running_stack(db, senders={ONE: 20.0}, slack=True, APPROVAL_ABOVE_RECIPIENTS=2,
                             SWEEP_SECONDS=1) as stack:  # fmt: skip
        await stack.start_worker()
        cid = await stack.create(name="Open day", message_template="Open day on Saturday. STOP to end",
                                 recipients=PEOPLE, from_number=ONE)  # fmt: skip
        asked = await until(lambda: request_in(stack))
        assert "3 recipients, more than 2 (APPROVAL_ABOVE_RECIPIENTS)" in str(asked.blocks)
        # Nobody is named who may send: anyone in the channel may approve, and is asked.
        assert asked.text.startswith("<!here> Approval needed: Open day")
        await asyncio.sleep(2)  # two sweeps: still nothing sent
        assert stack.twilio.sandbox.messages() == []
        detail = await get_campaign(stack.ctx, cid, recipients_limit=1)
        assert detail.view.campaign.status == "awaiting_approval"

        await click(stack, asked, APPROVE)
        await stack.until_finished(cid, timeout=20)
        assert sorted(m.to for m in stack.twilio.sandbox.messages()) == [p["phone"] for p in PEOPLE]
        assert ("campaign.approve", f"slack:{BOB}") in await actions(stack, cid)
        assert "Approved by" in str(request_in(stack).blocks)  # type: ignore[union-attr]
        assert stack.slack is not None
        progress = (await get_campaign(stack.ctx, cid)).view.campaign.progress_message_ts
        thread = [m.text for m in stack.slack.thread(CAMPAIGNS, progress or "")]
        assert any("Waiting for a second person's approval" in t for t in thread)
        assert any("Approved by" in t for t in thread)


async def test_a_rejected_campaign_is_cancelled_and_sends_nothing(db: Database) -> None:
    async with running_stack(db, senders={ONE: 20.0}, slack=True,
                             APPROVAL_ABOVE_RECIPIENTS=2) as stack:  # fmt: skip
        await stack.start_worker()
        cid = await stack.create(name="Open day", message_template="Open day. STOP to end",
                                 recipients=PEOPLE, from_number=ONE)  # fmt: skip
        asked = await until(lambda: request_in(stack))
        as_seen = copy.deepcopy(asked.to_dict(TEAM_ID))  # what a second person still has open
        await click(stack, asked, REJECT)  # asks why first: nothing is decided yet
        modal = await until(lambda: stack.slack and stack.slack.modal_stack(BOB))
        assert modal[-1]["callback_id"] == REJECT_VIEW
        assert (await get_campaign(stack.ctx, cid)).view.campaign.status == "awaiting_approval"
        answer = await submit(stack, modal[-1], "  ")
        assert answer["errors"] == {
            REJECT_REASON: "Say why, so whoever made it knows what to change."
        }
        assert (await get_campaign(stack.ctx, cid)).view.campaign.status == "awaiting_approval"
        assert await submit(stack, modal[-1], "Not before the price list is out.") is None
        await stack.until_finished(cid, timeout=10)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        assert detail.view.campaign.status == "cancelled"
        assert {r.status for r in detail.recipients} == {"cancelled"}
        assert ("campaign.reject", f"slack:{BOB}") in await actions(stack, cid)
        decided = await until(lambda: "Rejected by" in str(request_in(stack).blocks)  # type: ignore[union-attr]
                              and request_in(stack))  # fmt: skip
        assert "Not before the price list is out." in str(decided.blocks)
        assert "campaign_reject" not in str(decided.blocks)  # no buttons left
        await asyncio.sleep(1)
        assert stack.twilio.sandbox.messages() == []
        # Its buttons are spent: a click from a stale copy is told so, and changes nothing.
        await click(stack, as_seen, APPROVE)
        assert (await get_campaign(stack.ctx, cid)).view.campaign.status == "cancelled"
