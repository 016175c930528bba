"""Delivery receipts (callbacks or polling), schedules, late starts and failure spikes, end to end."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.jobs import enqueue_start
from campaigns.db import Database
from campaigns.models import Campaign
from campaigns.service import get_campaign
from campaigns.service.sending import (
    StartDecision,
    resume_campaign,
    set_progress_message,
    start_campaign,
)
from tests.worker.stack import Stack, people, recorded_departures, running_stack
from worker.slack_client import create_slack_client


async def until_counts(stack: Stack, cid: str, done: callable, timeout: float = 30) -> None:  # type: ignore[valid-type]
    async with asyncio.timeout(timeout):
        while not done((await get_campaign(stack.ctx, cid, recipients_limit=1)).view.counts):
            await asyncio.sleep(0.1)


async def test_receipts_arrive_by_signed_callback(db: Database) -> None:
    async with running_stack(db, callbacks=True) as stack:
        stack.twilio.sandbox.fail_recipient("+447400000003", code=30003)
        stack.twilio.sandbox.set_carrier(callback_duplicate_rate=0.3, callback_reorder_rate=0.3)
        await stack.start_worker()
        cid = await stack.create(
            name="Receipts", message_template="Hi {{n}}", recipients=people(30), from_number="all"
        )
        await until_counts(stack, cid, lambda c: c.delivered == 29 and c.failed == 1)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=100)
        failed = next(r for r in detail.recipients if r.phone == "+447400000003")
        assert (failed.status, failed.error_code) == ("undelivered", 30003)
        assert "switched off" in (failed.error_reason or "")
        assert all(r.sender for r in detail.recipients)  # recorded even when a callback came first


async def test_lost_receipts_are_fetched_and_the_summary_is_final_only_then(db: Database) -> None:
    """Twilio posts some status callbacks never (and never again): RECEIPT_BACKSTOP_SECONDS after
    sending, the worker asks Twilio, and the summary says "Final" only once every status is in."""
    async with running_stack(db, callbacks=True, slack=True, RECEIPT_BACKSTOP_SECONDS=2) as stack:
        assert stack.slack is not None
        twilio = stack.twilio.sandbox
        twilio.fail_recipient("+447400000004", code=30003)
        twilio.set_carrier(callback_drop_rate=0.4)
        await stack.start_worker()
        cid = await stack.create(
            name="Lost receipts", message_template="Hi {{n}}", recipients=people(30),
            from_number="all",
        )  # fmt: skip
        await stack.until_finished(cid)
        await twilio.settled()
        assert twilio.summary()["callbacks_dropped"] > 0, twilio.summary()
        truth = {m.to: m.status for m in twilio.messages()}
        assert sorted(truth.values()).count("delivered") == 29

        async def ours() -> dict[str, str]:
            detail = await get_campaign(stack.ctx, cid, recipients_limit=100)
            return {r.phone: r.status for r in detail.recipients}

        try:
            async with asyncio.timeout(20):  # the backstop, then the next 5-second poll
                while await ours() != truth:
                    await asyncio.sleep(0.2)
        except TimeoutError:
            wrong = {p: s for p, s in (await ours()).items() if s != truth[p]}
            raise AssertionError(f"{len(wrong)} of 30 never got Twilio's status: {wrong}") from None
        failed = next(r for r in (await get_campaign(stack.ctx, cid, recipients_limit=100)
                                  ).recipients if r.phone == "+447400000004")  # fmt: skip
        assert (failed.status, failed.error_code) == ("undelivered", 30003)

        channel = stack.settings.SLACK_NOTIFY_CHANNEL
        async with asyncio.timeout(15):  # the summary refresh runs every 10 s
            while "Final" not in stack.slack.transcript(channel):
                await asyncio.sleep(0.2)
        # Every version of the summary that said "Final" showed what Twilio delivered.
        finals = [
            call.args.get("text", "")
            for call in stack.slack.calls()
            if call.method in ("chat.postMessage", "chat.update") and call.ok
            and "Final: every delivery receipt" in json.dumps(call.args)
        ]  # fmt: skip
        assert finals and all("29 delivered, 1 failed" in text for text in finals), finals


async def test_receipts_are_polled_without_a_public_url(db: Database) -> None:
    async with running_stack(db) as stack:
        await stack.start_worker()
        cid = await stack.create(
            name="Polled", message_template="Hi", recipients=people(10), from_number="all"
        )
        await until_counts(stack, cid, lambda c: c.delivered == 10, timeout=40)


async def test_a_scheduled_start_fires_on_time_and_an_old_version_does_nothing(
    db: Database,
) -> None:
    async with running_stack(db) as stack, recorded_departures() as left:
        await stack.start_worker()
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        cid = await stack.create(
            name="Soon", message_template="Hi", recipients=people(3), from_number="+14155550100",
            schedule_type="schedule", scheduled_at=later,
        )  # fmt: skip
        # An edit moves the time (here: closer than the API allows, to keep the test short).
        at = datetime.now(UTC) + timedelta(seconds=2)
        async with stack.ctx.db.transaction() as session:
            await session.execute(
                update(Campaign).where(Campaign.id == cid).values(scheduled_at=at, version=2)
            )
        await enqueue_start(stack.bot.redis, stack.settings.REDIS_NAMESPACE, cid, 2, at)
        assert (await start_campaign(stack.ctx, cid, 1)).decision is StartDecision.STALE
        await stack.until_finished(cid)
        # Fired on time: the start job moved it to running within a second of its time (arq
        # polls every 0.1 s), on this process's clock, as the worker runs here. The first text
        # follows its claim and booking, which a busy database may slow: it is only never early.
        started = (await get_campaign(stack.ctx, cid)).view.campaign.started_at
        assert started is not None and timedelta(0) <= started - at < timedelta(seconds=1), (
            started - at
        )
        assert datetime.fromtimestamp(min(d.wall for d in left), UTC) >= at


async def test_a_campaign_found_long_after_its_time_waits_for_a_person(db: Database) -> None:
    async with running_stack(db) as stack:
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        cid = await stack.create(
            name="Missed", message_template="Hi", recipients=people(3), from_number="+14155550100",
            schedule_type="schedule", scheduled_at=later,
        )  # fmt: skip
        # It was due two hours ago while no worker ran, and Redis lost its job (a new version
        # has none): only the sweep, reading the database, can find it.
        async with stack.ctx.db.transaction() as session:
            await session.execute(
                update(Campaign)
                .where(Campaign.id == cid)
                .values(scheduled_at=datetime.now(UTC) - timedelta(hours=2), version=2)
            )
        await stack.start_worker()  # its first sweep finds the campaign
        async with asyncio.timeout(10):
            while (await get_campaign(stack.ctx, cid)).view.campaign.status != "paused":
                await asyncio.sleep(0.1)
        campaign = (await get_campaign(stack.ctx, cid)).view.campaign
        assert "Send it now, or cancel it?" in (campaign.pause_reason or "")
        assert stack.twilio.sandbox.messages() == []
        resumed = await resume_campaign(stack.ctx, cid, "slack:U0ALICE")
        await enqueue_start(stack.bot.redis, stack.settings.REDIS_NAMESPACE, cid, resumed.version)
        await stack.until_finished(cid)
        assert len(stack.twilio.sandbox.messages()) == 3


async def test_a_failure_spike_pauses_the_campaign(db: Database) -> None:
    async with running_stack(db, senders={"+14155550100": 20.0}, AUTO_PAUSE_WINDOW=10) as stack:
        for i in range(5, 40):  # most of the list said STOP to this number: Twilio refuses 21610
            await stack.twilio.sandbox.reply(f"+447400{i:06d}", "+14155550100", "STOP")
        await stack.start_worker()
        started = time.monotonic()
        cid = await stack.create(
            name="Spike", message_template="Hi", recipients=people(60), from_number="+14155550100"
        )
        async with asyncio.timeout(20):
            while (await get_campaign(stack.ctx, cid)).view.campaign.status != "paused":
                await asyncio.sleep(0.1)
        campaign = (await get_campaign(stack.ctx, cid)).view.campaign
        assert "% of the last 10 messages failed" in (campaign.pause_reason or "")
        await asyncio.sleep(1)
        sent = len(stack.twilio.sandbox.messages())
        assert sent < 30, (
            f"it kept sending after the spike ({sent} in {time.monotonic() - started:.1f} s)"
        )
        detail = await get_campaign(stack.ctx, cid, recipients_limit=100)
        assert sum(r.status == "pending" for r in detail.recipients) > 20  # the rest wait


async def test_the_channel_sees_progress_then_a_summary_that_follows_late_receipts(
    db: Database,
) -> None:
    async with running_stack(db, callbacks=True, slack=True) as stack:
        assert stack.slack is not None
        stack.twilio.sandbox.fail_recipient("+447400000004", code=30003)
        await stack.start_worker()
        cid = await stack.create(
            name="Spring reminders",
            message_template="Hi {{n}}",
            recipients=people(12),
            from_number="all",
        )
        await until_counts(stack, cid, lambda c: c.delivered == 11 and c.failed == 1)
        channel = stack.settings.SLACK_NOTIFY_CHANNEL
        async with asyncio.timeout(25):  # the summary refresh runs every 10 s
            while (
                "11 delivered · 1 failed" not in (transcript := stack.slack.transcript(channel))
                or "Final" not in transcript
            ):
                await asyncio.sleep(0.2)
        print(transcript)
        top_level = [m for m in stack.slack.messages(channel) if not m.is_reply]
        assert len(top_level) == 1, "one progress message, updated in place"
        [summary] = [m for m in stack.slack.messages(channel) if m.is_reply]
        assert summary.reply_broadcast  # the summary in its thread, also sent to the channel
        assert "Spring reminders" in transcript and "Done" in transcript
        assert "30003" in transcript and "switched off" in transcript
        assert "12 messages sent ·" in transcript
        updates = [c for c in stack.slack.calls("chat.update") if c.ok]
        assert updates, "the progress message is edited, never reposted"


async def test_an_api_edit_is_what_the_worker_sends(db: Database) -> None:
    """PATCH a scheduled campaign to new recipients, a new message and "now": a real worker
    sends the new message to the new list only, once each, and the old version's job is a no-op."""
    async with running_stack(db) as stack:
        await stack.start_worker()
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        cid = await stack.create(
            name="Soon", message_template="Old text {{n}}", recipients=people(3),
            from_number="+14155550100", schedule_type="schedule", scheduled_at=later,
        )  # fmt: skip
        fetched = await stack.web.get(f"/v1/sms/campaigns/{cid}", headers=stack.auth)
        body = {"message_template": "New text {{n}}", "recipients": people(2, start=10),
                "schedule_type": "now"}  # fmt: skip
        edited = await stack.web.patch(
            f"/v1/sms/campaigns/{cid}",
            json=body,
            headers={**stack.auth, "If-Match": fetched.headers["ETag"]},
        )
        assert edited.status == 200, await edited.text()
        await stack.until_finished(cid)
        assert (await start_campaign(stack.ctx, cid, 1)).decision is StartDecision.STALE
        sent = sorted((m.to, m.body) for m in stack.twilio.sandbox.messages())
        assert sent == [("+447400000010", "New text 0"), ("+447400000011", "New text 1")]


async def test_an_api_edit_or_cancel_shows_in_the_progress_message(db: Database) -> None:
    """A campaign confirmed in Slack has its progress message from the start: an edit or a
    cancel made over the API shows there (and not only at the worker's next send)."""
    async with running_stack(db, slack=True) as stack:
        assert stack.slack is not None
        await stack.start_worker()
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        cid = await stack.create(
            name="Flu clinic", message_template="Hi {{n}}", recipients=people(2),
            from_number="+14155550100", schedule_type="schedule", scheduled_at=later,
        )  # fmt: skip
        slack = create_slack_client(stack.settings)
        assert slack is not None
        channel = stack.settings.SLACK_NOTIFY_CHANNEL or ""
        posted = await slack.chat_postMessage(channel=channel, text="Flu clinic: scheduled")
        await set_progress_message(stack.ctx, cid, channel_id=channel, ts=posted["ts"])
        url = f"/v1/sms/campaigns/{cid}"
        answer = await stack.web.patch(url, json={"name": "Flu clinic (Saturday)"},
                                       headers=stack.auth)  # fmt: skip
        assert answer.status == 200
        await until_shown(stack, channel, "Flu clinic (Saturday)")
        assert (await stack.web.delete(url, headers=stack.auth)).status == 200
        await until_shown(stack, channel, "Cancelled")
        assert len(stack.slack.messages(channel)) == 1, "updated in place, never reposted"


async def until_shown(stack: Stack, channel: str, words: str) -> None:
    assert stack.slack is not None
    async with asyncio.timeout(10):
        while words not in stack.slack.transcript(channel):
            await asyncio.sleep(0.05)
