"""Sending hours, enforced by the engine: a real arq worker, the twilio SDK against the stand-in.

The window is set from the real clock a few seconds ahead in London, so the tests hold at any
hour and on any date: a Londoner waits for it, someone whose record says Paris (an hour ahead,
so inside it already) is texted at once.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaigns.db import Database
from campaigns.models import Campaign, Recipient
from campaigns.send_hours import parse_send_hours
from campaigns.service import campaign_report, get_campaign
from sandbox.slack import CAMPAIGNS
from tests.worker.stack import Stack, people, recorded_departures, running_stack

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
    # Asleep when the wait is 4 sweeps or more: with a sweep a second, 10 s is long, even if a
    # busy machine takes 5 s to claim.
    hours, opens = window_opening_in(10)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours, SWEEP_SECONDS=1) as stack:
        await stack.start_worker()
        cid = await stack.create(name="Reminder", message_template="Hi {{first_name}}",
                                 recipients=recipients(), from_number=ONE)  # fmt: skip
        async with asyncio.timeout(20):
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


# A create that passed its check before the close is dated as it leaves the send loop (the stand-in
# in this loop may note it late): milliseconds after its check; 0.1 s also covers this machine
# being busy with other tests. Anything later left after the close.
ON_THE_WIRE = 0.1


async def test_a_message_whose_hours_close_while_twilio_says_429_waits_for_the_next_opening(
    db: Database,
) -> None:
    hours, closes, opening = window_closing_in(2)
    async with (
        running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours) as stack,
        recorded_departures() as left,
    ):
        sandbox = stack.twilio.sandbox
        sandbox.set_faults(rate_429=0.5)  # half the creates: "Too Many Requests", retried
        await stack.start_worker()
        cid = await stack.create(name="Closing", message_template="Hi {{n}}",
                                 recipients=people(40), from_number=ONE)  # fmt: skip
        await asyncio.sleep(max(0.0, closes - time.time()) + 2.0)
        late = [d.wall - closes for d in left if d.wall > closes + ON_THE_WIRE]
        assert left, "nothing was tried before the close"
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


# -- waiting is not sending (issue 22, point 8)

LONDONERS = [
    {"phone": "+447400000011", "variables": {"first_name": "Sarah"}},
    {"phone": "+447400000012", "variables": {"first_name": "James"}},
]


async def until_waiting(db: Database, campaign_id: str, count: int) -> None:
    """Until the send loop has found `count` recipients outside their hours, and marked them."""
    async with asyncio.timeout(10):
        while True:
            async with db.read() as session:
                marked = (
                    await session.execute(
                        select(Recipient.not_before).where(
                            Recipient.campaign_id == campaign_id,
                            Recipient.not_before.is_not(None),
                        )
                    )
                ).all()
            if len(marked) >= count:
                return
            await asyncio.sleep(0.05)


async def patch(stack: Stack, campaign_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    answer = await stack.web.patch(f"/v1/sms/campaigns/{campaign_id}", json=body,
                                   headers=stack.auth)  # fmt: skip
    return answer.status, await answer.json()


# What the channel shows while everyone waits, as the stand-in renders it (the times vary with
# the hour the test runs at: they are replaced, as are the ids).
ASLEEP_TRANSCRIPT = """\
#campaigns
Textcast [APP]:
  # Reminder
  *Waiting for sending hours*: first texts <date>, <time> UTC (<time> in London)
  0 of 2 handled (0%)
  0 delivered · 0 failed · 2 pending · 0 cancelled, of 2
  ░░░░░░░░░░ 0%
  Created over the API by API key key_… · from +14155550100 · smsc_…
  [View report] [Export CSV] [Edit] [Cancel]
"""


def without_times(transcript: str) -> str:
    text = re.sub(r"\b(smsc|key)_\w+", r"\1_…", transcript)
    text = re.sub(r"\w{3} \d{2} \w{3} \d{4}, \d{2}:\d{2} UTC", "<date>, <time> UTC", text)
    text = re.sub(r"\(\d{2}:\d{2} in ", "(<time> in ", text)
    return text.replace("Textcast [APP] (edited):", "Textcast [APP]:")


async def test_a_campaign_asleep_until_its_hours_says_it_waits_and_its_edit_is_what_goes(
    db: Database,
) -> None:
    """Everyone waits (a long wait: the loop ends, the sweep wakes it). The progress message says
    it is waiting, not sending, and when the first texts go in London; an edit is taken until
    the first text leaves, and what goes out is the edited message; the time it took counts
    from the first text, not the wait."""
    # A long wait (4 sweeps or more) even if a busy machine takes 5 s to claim.
    hours, opens = window_opening_in(10)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours, SWEEP_SECONDS=1,
                             slack=True) as stack:  # fmt: skip
        assert stack.slack is not None
        await stack.start_worker()
        cid = await stack.create(name="Reminder", message_template="Hi {{first_name}}",
                                 recipients=LONDONERS, from_number=ONE)  # fmt: skip
        async with asyncio.timeout(20):
            while await wake_at(db, cid) is None:
                await asyncio.sleep(0.05)
        async with asyncio.timeout(15):  # posted in the background: it may follow the wake time
            while not stack.slack.messages(CAMPAIGNS):
                await asyncio.sleep(0.05)
        [progress] = stack.slack.messages(CAMPAIGNS)
        async with asyncio.timeout(15):
            while "Waiting for sending hours" not in stack.slack.transcript(CAMPAIGNS):
                await asyncio.sleep(0.05)
        shown = stack.slack.transcript(CAMPAIGNS)
        local = datetime.fromtimestamp(opens, ZoneInfo("Europe/London"))
        assert "*Waiting for sending hours*: first texts " in shown
        assert f"({local:%H:%M} in London)" in shown
        assert "[Edit]" in shown
        assert without_times(shown) == ASLEEP_TRANSCRIPT
        status, edited = await patch(stack, cid, {"message_template": "Hello {{first_name}}!"})
        assert status == 200, edited
        assert edited["changed"] == ["message_template"] and edited["status"] == "running"
        await stack.until_finished(cid, timeout=25)
        sandbox = stack.twilio.sandbox
        assert sorted(m.body for m in sandbox.messages()) == ["Hello James!", "Hello Sarah!"]
        assert all(m.created_wall >= opens - 0.5 for m in sandbox.messages())
        report = await campaign_report(stack.ctx, cid)
        # Two texts at 10 a second, far from the 10 s wait (a busy machine's claims included).
        assert report.duration is not None and report.duration.total_seconds() < 5, report
        assert progress.ts == stack.slack.messages(CAMPAIGNS)[0].ts


async def test_an_edit_while_the_loop_naps_through_a_short_wait_never_sends_the_old_text(
    db: Database,
) -> None:
    """A short wait: the send loop stays, napping, with the old message compiled. The edit
    lands under the campaign's lock; that loop claims nothing for the old version and stops,
    and a loop of the new version sends."""
    # Opens in 4 to 5 s; a loop sleeps only for a wait of 4 sweeps (8 s) or more: it naps.
    hours, _ = window_opening_in(4)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours, SWEEP_SECONDS=2,
                             slack=True) as stack:  # fmt: skip
        assert stack.slack is not None
        await stack.start_worker()
        cid = await stack.create(name="Reminder", message_template="Old {{first_name}}",
                                 recipients=LONDONERS, from_number=ONE)  # fmt: skip
        await until_waiting(db, cid, 2)
        # Napping, not asleep; the progress message says it waits all the same.
        async with asyncio.timeout(2):
            while "Waiting for sending hours" not in stack.slack.transcript(CAMPAIGNS):
                await asyncio.sleep(0.05)
        assert await wake_at(db, cid) is None
        status, edited = await patch(stack, cid, {"message_template": "New {{first_name}}"})
        assert status == 200, edited
        await stack.until_finished(cid, timeout=25)
        bodies = sorted(m.body for m in stack.twilio.sandbox.messages())
        assert bodies == ["New James", "New Sarah"]


async def test_once_a_text_has_left_the_campaign_can_no_longer_be_edited(db: Database) -> None:
    hours, _ = window_opening_in(30)
    async with running_stack(db, senders={ONE: 10.0}, SEND_HOURS=hours) as stack:
        await stack.start_worker()
        cid = await stack.create(name="Reminder", message_template="Hi {{first_name}}",
                                 recipients=recipients(), from_number=ONE)  # fmt: skip
        async with asyncio.timeout(10):
            while not stack.twilio.sandbox.messages(to=PARISIAN):
                await asyncio.sleep(0.05)
        await until_waiting(db, cid, 1)
        status, answer = await patch(stack, cid, {"message_template": "Changed"})
        assert status == 409, answer
        assert "started sending" in answer["error"]["message"]
