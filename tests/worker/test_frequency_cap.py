"""The frequency cap, enforced by the engine: a real arq worker, the twilio SDK against the
stand-in. A number other campaigns texted as often as FREQUENCY_CAP allows gets nothing more,
even when two campaigns text it at the same moment."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select, text

from campaigns.db import Database
from campaigns.frequency import FREQUENCY_CAP, parse_frequency_cap
from campaigns.models import Campaign
from campaigns.service import get_campaign, preview_campaign
from sandbox.twilio import SandboxConfig, start
from tests.conftest import ON_POSTGRES
from tests.worker.stack import new_running_campaign, running_stack, worker_runtime
from worker.engine import Driver

ONE, TWO = "+14155550100", "+14155550101"
SARAH, JAMES, AMIR = "+447400000001", "+447400000002", "+447400000003"


def people(*phones: str) -> list[dict[str, Any]]:
    return [{"phone": phone, "variables": {}} for phone in phones]


def test_caps_are_read_and_described() -> None:
    cap = parse_frequency_cap(" 2 / 7d ")
    assert cap is not None and (str(cap), cap.describe()) == ("2/7d", "2 messages in 7 days")
    assert parse_frequency_cap("1/24h").describe() == "1 message in 24 hours"  # type: ignore[union-attr]
    assert parse_frequency_cap("1/1h").describe() == "1 message in 1 hour"  # type: ignore[union-attr]
    assert parse_frequency_cap("1/1m").describe() == "1 message in 1 minute"  # type: ignore[union-attr]
    assert parse_frequency_cap("") is None


async def test_a_number_at_its_cap_gets_no_second_campaign_message(db: Database) -> None:
    async with running_stack(db, senders={ONE: 20.0}, FREQUENCY_CAP="1/24h") as stack:
        await stack.start_worker()
        first = await stack.create(name="Flu jabs", message_template="Flu jabs are open",
                                   recipients=people(SARAH, JAMES), from_number=ONE)  # fmt: skip
        await stack.until_finished(first)
        second = await stack.create(name="Open day", message_template="Open day on Saturday",
                                    recipients=people(SARAH, AMIR), from_number=ONE)  # fmt: skip
        await stack.until_finished(second)
        detail = await get_campaign(stack.ctx, second, recipients_limit=10)
        outcome = {r.phone: (r.status, r.error_reason) for r in detail.recipients}
        assert outcome[SARAH] == ("failed", FREQUENCY_CAP)
        assert outcome[AMIR][0] != "failed"
        assert [m.body for m in stack.twilio.sandbox.messages(to=SARAH)] == ["Flu jabs are open"]


async def test_two_campaigns_at_once_send_each_number_one_message(db: Database) -> None:
    phones = [f"+4474000001{i:02d}" for i in range(20)]
    async with running_stack(db, senders={ONE: 50.0, TWO: 50.0}, FREQUENCY_CAP="1/24h") as stack:
        await stack.start_worker()
        await stack.start_worker()  # two workers: the campaigns' loops run side by side
        made = await asyncio.gather(*(
            stack.create(name=f"Campaign {n}", message_template=f"Message {n}",
                         recipients=people(*phones), from_number=sender)
            for n, sender in ((1, ONE), (2, TWO))
        ))  # fmt: skip
        for campaign_id in made:
            await stack.until_finished(campaign_id, timeout=30)
        sent = Counter(m.to for m in stack.twilio.sandbox.messages())
        assert sorted(sent) == sorted(phones) and set(sent.values()) == {1}
        capped = 0
        for campaign_id in made:
            detail = await get_campaign(stack.ctx, campaign_id, recipients_limit=100)
            capped += sum(r.error_reason == FREQUENCY_CAP for r in detail.recipients)
        assert capped == len(phones)  # each number: one campaign sent, the other was capped


async def test_the_preview_counts_who_would_be_capped(db: Database) -> None:
    async with running_stack(db, senders={ONE: 20.0}, FREQUENCY_CAP="1/24h") as stack:
        await stack.start_worker()
        first = await stack.create(name="Flu jabs", message_template="Flu jabs are open",
                                   recipients=people(SARAH, JAMES), from_number=ONE)  # fmt: skip
        await stack.until_finished(first)
        draft = await stack.create(name="Later", message_template="Hello", from_number=ONE,
                                   recipients=people(SARAH, AMIR))  # fmt: skip
        preview = await preview_campaign(stack.ctx, draft)
        assert (preview.frequency_capped, preview.frequency_cap) == (1, "1 message in 24 hours")


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="SQLite serialises write transactions (BEGIN IMMEDIATE): a claim cannot commit after "
    "one that began later, so there is no late claim to race; the test above covers SQLite",
)
async def test_a_claim_that_commits_late_is_still_ordered_by_its_check(db: Database) -> None:
    """Campaign A's claim reads the database's clock, then waits for A's row (held here, as a
    lease renewal or a pause holds it) while B claims, checks and sends to the same numbers: A's
    claim is stamped earlier but commits later. The cap's order is that of the checks: A's
    numbers were texted by B, so A sends nothing."""
    phones = people(*(f"+4474000002{i:02d}" for i in range(20)))
    twilio = await start(config=SandboxConfig(numbers={ONE: 50.0, TWO: 50.0}, seed=3))
    try:
        # A long lease: A's claim outlives the wait, so only the cap decides what it sends.
        async with worker_runtime(db, twilio, {ONE: 50.0, TWO: 50.0}, FREQUENCY_CAP="1/24h",
                                  RECLAIM_AFTER_SECONDS=10.0) as rt:  # fmt: skip
            a = await new_running_campaign(rt.ctx, phones, [ONE], template="From A")
            b = await new_running_campaign(rt.ctx, phones, [TWO], template="From B")
            async with db.engine.connect() as side:
                await side.begin()
                await side.execute(select(Campaign.id).where(Campaign.id == a.id).with_for_update())
                loop_a = asyncio.create_task(Driver(rt, a).run())
                await until_waiting_for_a_lock(db)  # A's claim, stamped, waits for the row
                async with asyncio.timeout(15):
                    assert await Driver(rt, b).run() is False  # B sent to every number
                await side.rollback()  # A's claim commits now, after B's checks
            async with asyncio.timeout(15):
                assert await loop_a is False
        sent = Counter(m.to for m in twilio.sandbox.messages())
        twice = sum(n > 1 for n in sent.values())
        assert twice == 0, f"{twice} of {len(phones)} numbers texted twice"
        assert sorted(sent) == sorted(p["phone"] for p in phones)
        detail = await get_campaign(rt.ctx, a.id, recipients_limit=100)
        assert {r.error_reason for r in detail.recipients} == {FREQUENCY_CAP}
    finally:
        await twilio.stop()


async def until_waiting_for_a_lock(db: Database) -> None:
    """Until a session of this database waits for a lock (the row the test holds). Asked in a
    fresh transaction each time: PostgreSQL keeps one snapshot of the activity per transaction."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(10):
        while True:
            async with db.read() as session:
                if (await session.execute(waiting)).scalar_one():
                    return
            await asyncio.sleep(0.02)
