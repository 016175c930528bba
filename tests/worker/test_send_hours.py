"""Sending hours, enforced by the engine: a real arq worker, the twilio SDK against the stand-in.

The window is set from the real clock a few seconds ahead in London, so the tests hold at any
hour and on any date: a Londoner waits for it, someone whose record says Paris (an hour ahead,
so inside it already) is texted at once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaigns.db import Database
from campaigns.models import Campaign
from campaigns.send_hours import parse_send_hours
from campaigns.service import get_campaign
from tests.worker.stack import Stack, running_stack

ONE = "+14155550100"
LONDONER, PARISIAN = "+447400000001", "+447400000002"


def window_opening_in(seconds: float) -> tuple[str, float]:
    """SEND_HOURS that open `seconds` from now in London and last two hours; and when (epoch)."""
    opens = datetime.now(UTC) + timedelta(seconds=seconds)
    local = opens.astimezone(ZoneInfo("Europe/London"))
    start = local.replace(microsecond=0) + timedelta(seconds=1)
    end = start + timedelta(hours=2)
    return f"{start:%H:%M:%S}-{end:%H:%M:%S}", start.timestamp()


def recipients() -> list[dict[str, Any]]:
    return [
        {"phone": LONDONER, "variables": {"first_name": "Sarah"}},
        {"phone": PARISIAN, "variables": {"first_name": "Amélie", "time_zone": "Europe/Paris"}},
    ]


async def api_campaign(stack: Stack, campaign_id: str) -> dict[str, Any]:
    answer = await stack.web.get(f"/v1/sms/campaigns/{campaign_id}", headers=stack.auth)
    assert answer.status == 200
    return dict(await answer.json())


async def wake_at(db: Database, campaign_id: str) -> datetime | None:
    async with db.read() as session:
        return await session.scalar(select(Campaign.wake_at).where(Campaign.id == campaign_id))


async def test_a_message_outside_its_hours_waits_for_them_and_goes_when_they_open(
    db: Database,
) -> None:
    hours, opens = window_opening_in(3)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours) as stack:
        await stack.start_worker()
        cid = await stack.create(name="Reminder", message_template="Hi {{first_name}}",
                                 recipients=recipients(), from_number=ONE)  # fmt: skip
        sandbox = stack.twilio.sandbox
        async with asyncio.timeout(10):
            while not sandbox.messages(to=PARISIAN):
                await asyncio.sleep(0.05)
        assert not sandbox.messages(to=LONDONER), "sent before her window opened"
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        waiting = {r.phone: r.status for r in detail.recipients}
        assert waiting[LONDONER] == "pending"
        # The API says who waits and until when (the loop marks her once it has looked).
        async with asyncio.timeout(5):
            while not (shown := await api_campaign(stack, cid))["waiting_count"]:
                await asyncio.sleep(0.05)
        assert (shown["waiting_count"], shown["send_hours"]) == (1, str(parse_send_hours(hours)))
        released = datetime.fromisoformat(shown["next_release_at"]).timestamp()
        assert abs(released - opens) <= 1
        await stack.until_finished(cid, timeout=20)
        [sent] = sandbox.messages(to=LONDONER)
        assert sent.created_wall >= opens - 0.5, (sent.created_wall, opens)
        assert sent.created_wall < opens + 5  # released when it opened, not much later


async def test_a_long_wait_ends_the_send_loop_and_the_sweep_wakes_the_campaign(
    db: Database,
) -> None:
    # Asleep when the wait is 4 sweeps or more: with a sweep a second, 6 s is long.
    hours, opens = window_opening_in(6)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours, SWEEP_SECONDS=1) as stack:
        await stack.start_worker()
        cid = await stack.create(name="Reminder", message_template="Hi {{first_name}}",
                                 recipients=recipients(), from_number=ONE)  # fmt: skip
        async with asyncio.timeout(10):
            while (asleep := await wake_at(db, cid)) is None:
                await asyncio.sleep(0.05)
        assert abs(asleep.timestamp() - opens) < 1.5
        assert [m.to for m in stack.twilio.sandbox.messages()] == [PARISIAN]
        await stack.until_finished(cid, timeout=25)
        [sent] = stack.twilio.sandbox.messages(to=LONDONER)
        assert opens - 0.5 <= sent.created_wall < opens + 5
        assert await wake_at(db, cid) is None
        assert time.time() >= opens
