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
from campaigns.models import Campaign, Recipient
from campaigns.send_hours import parse_send_hours
from campaigns.service import get_campaign
from tests.worker.stack import Stack, people, running_stack

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


def window_closing_in(seconds: float) -> tuple[str, float, datetime]:
    """SEND_HOURS open for the last hour in London and closing `seconds` from now (at a whole
    second); when they close (epoch), and when they next open (UTC)."""
    closes = (datetime.now(UTC) + timedelta(seconds=seconds + 1)).replace(microsecond=0)
    local_end = closes.astimezone(ZoneInfo("Europe/London"))
    local_start = local_end - timedelta(hours=1)
    opening = datetime.combine(local_end.date(), local_start.time(), tzinfo=local_end.tzinfo)
    if opening <= local_end:
        opening += timedelta(days=1)
    hours = f"{local_start:%H:%M:%S}-{local_end:%H:%M:%S}"
    return hours, closes.timestamp(), opening.astimezone(UTC)


# A create that passed its check before the close still travels to Twilio: over the loopback,
# to a stand-in in this process, that takes milliseconds; 0.1 s also covers this machine being
# busy with other tests. Anything later left after the close.
ON_THE_WIRE = 0.1


async def test_a_message_whose_hours_close_while_twilio_says_429_waits_for_the_next_opening(
    db: Database,
) -> None:
    hours, closes, opening = window_closing_in(2)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours) as stack:
        sandbox = stack.twilio.sandbox
        sandbox.set_faults(rate_429=0.5)  # half the creates: "Too Many Requests", retried
        await stack.start_worker()
        cid = await stack.create(name="Closing", message_template="Hi {{n}}",
                                 recipients=people(40), from_number=ONE)  # fmt: skip
        await asyncio.sleep(max(0.0, closes - time.time()) + 2.0)
        late = [r.wall - closes for r in sandbox.create_requests if r.wall > closes + ON_THE_WIRE]
        assert sandbox.create_requests, "nothing was tried before the close"
        assert late == [], f"{len(late)} creates after the close, the latest {max(late):.2f} s"
        # Every recipient not sent waits for the next opening, as one held at the claim.
        async with asyncio.timeout(5):
            while True:
                async with db.read() as session:
                    rows = (
                        await session.execute(
                            select(Recipient.status, Recipient.not_before, Recipient.twilio_sid)
                            .where(Recipient.campaign_id == cid)
                        )
                    ).all()  # fmt: skip
                if not any(r.status == "queued" and r.twilio_sid is None for r in rows):
                    break
                await asyncio.sleep(0.1)
        unsent = [r for r in rows if r.twilio_sid is None]
        assert unsent, "everyone was sent before the close: the test proves nothing"
        assert {(r.status, r.not_before) for r in unsent} == {("pending", opening)}
        assert len(sandbox.messages()) + len(unsent) == 40
