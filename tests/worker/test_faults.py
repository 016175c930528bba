"""Exactly once, whatever Twilio does: 429s, 500s, dropped connections, cancels, opt-outs."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from campaigns.db import Database
from campaigns.service import cancel_campaign, get_campaign, opted_out_among, record_opt_out
from campaigns.status import Counts
from tests.worker.stack import people, recorded_departures, running_stack


async def test_429s_500s_and_dropped_connections_never_send_twice(db: Database) -> None:
    async with running_stack(db) as stack:
        stack.twilio.sandbox.set_faults(rate_429=0.1, rate_500=0.1, drop_rate=0.02)
        await stack.start_worker()
        cid = await stack.create(
            name="Faults", message_template="Hello {{n}}", recipients=people(400), from_number="all"
        )
        await stack.until_finished(cid, timeout=60)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=1000)
        sandbox = stack.twilio.sandbox
        assert sandbox.duplicates() == []
        assert sorted(sandbox.per_recipient().values()) == [1] * 400  # nobody missed, nobody twice
        assert detail.view.campaign.status == "done"
        assert all(r.twilio_sid for r in detail.recipients)
        stored = {r.twilio_sid for r in detail.recipients}
        assert stored == {m.sid for m in sandbox.messages()}  # dropped ones were found, not resent


async def test_a_cancel_stops_sending_within_two_seconds(db: Database) -> None:
    async with (
        running_stack(db, senders={"+14155550100": 5}) as stack,
        recorded_departures() as left,
    ):
        await stack.start_worker()
        cid = await stack.create(
            name="Slow", message_template="Hi", recipients=people(60), from_number="+14155550100"
        )
        async with asyncio.timeout(10):
            while not stack.twilio.sandbox.messages():
                await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        await cancel_campaign(stack.ctx, cid, "test")
        cancelled_at = time.monotonic()
        await asyncio.sleep(2.5)
        # What was handed to Twilio has its SID written (on a loaded machine, a while after).
        async with asyncio.timeout(30):
            while True:
                detail = await get_campaign(stack.ctx, cid, recipients_limit=100)
                if all(r.twilio_sid for r in detail.recipients if r.status != "cancelled"):
                    break
                await asyncio.sleep(0.1)
        # Requests already in flight may land; nothing leaves 2 s after the cancel (judged as
        # they leave: the stand-in, in this loop, may note one late).
        late = [d.at - cancelled_at for d in left if d.at - cancelled_at >= 2.0]
        assert late == [], late
        statuses = [r.status for r in detail.recipients]
        sent = len(stack.twilio.sandbox.messages())
        # Every recipient is either cancelled or was handed to Twilio (and awaits its receipt).
        assert statuses.count("cancelled") == 60 - sent and statuses.count("cancelled") > 40
        assert all(r.twilio_sid for r in detail.recipients if r.status != "cancelled")


async def test_opted_out_numbers_fail_at_send_time_and_21610_records_an_opt_out(
    db: Database,
) -> None:
    async with running_stack(db) as stack:
        await record_opt_out(stack.ctx, "+447400000001", source="sms", keyword="STOP")
        # The stand-in's own list: the handset said STOP to this sender earlier.
        await stack.twilio.sandbox.reply("+447400000002", "+14155550100", "STOP")
        await stack.start_worker()
        cid = await stack.create(
            name="Opt-outs", message_template="Hi", recipients=people(4), from_number="+14155550100"
        )
        await stack.until_finished(cid)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        by_phone = {r.phone: r for r in detail.recipients}
        assert by_phone["+447400000001"].status == "failed"
        assert by_phone["+447400000001"].error_reason == "opted_out"
        assert by_phone["+447400000002"].error_code == 21610
        assert await opted_out_among(stack.ctx, ["+447400000002"]) == {"+447400000002"}
        assert stack.twilio.sandbox.count_for("+447400000001") == 0
        assert detail.view.counts == Counts(  # two await receipts
            total=4, failed=2, pending=2, awaiting_receipt=2, submitted=2
        )
        # The API keeps the seed's counts and says how many of them await a receipt.
        answer = await stack.web.get(f"/v1/sms/campaigns/{cid}", headers=stack.auth)
        shown = await answer.json()
        assert (shown["failed_count"], shown["pending_count"]) == (2, 2)
        assert shown["awaiting_receipt_count"] == 2


async def test_a_scheduled_campaign_starts_at_its_time(db: Database, clock) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(db) as stack:
        await stack.start_worker()
        from datetime import UTC, datetime

        at = datetime.now(UTC) + timedelta(minutes=15, seconds=2)
        # The API checks the window against the service clock; the worker's job fires on Redis time.
        cid = await stack.create(
            name="Later", message_template="Hi", recipients=people(2), from_number="+14155550100",
            schedule_type="schedule", scheduled_at=at.isoformat(),
        )  # fmt: skip
        detail = await get_campaign(stack.ctx, cid)
        assert detail.view.campaign.status == "scheduled"
        assert stack.twilio.sandbox.messages() == []


async def test_a_campaign_whose_every_message_is_refused_ends_failed(db: Database) -> None:
    async with running_stack(db) as stack:
        for i in range(4):
            await stack.twilio.sandbox.reply(f"+447400{i:06d}", "+14155550100", "STOP")
        await stack.start_worker()
        cid = await stack.create(
            name="Refused", message_template="Hi", recipients=people(4), from_number="+14155550100"
        )
        await stack.until_finished(cid)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        assert detail.view.campaign.status == "failed"
        assert {r.error_code for r in detail.recipients} == {21610}
        assert detail.view.counts == Counts(total=4, failed=4)
