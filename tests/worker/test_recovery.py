"""A killed worker, a flushed Redis, two workers at once: nobody is lost, nobody gets two."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from campaigns.db import Database
from campaigns.service import get_campaign
from tests.worker.stack import Stack, people, running_stack

FAST = {"+14155550100": 1000.0, "+14155550101": 1000.0, "+14155550102": 1000.0}


async def until_sent(stack: Stack, count: int, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while len(stack.twilio.sandbox.messages()) < count:
            await asyncio.sleep(0.02)


def assert_everyone_once(stack: Stack, total: int) -> None:
    sandbox = stack.twilio.sandbox
    assert sandbox.duplicates() == []
    counts = sandbox.per_recipient()
    assert len(counts) == total and set(counts.values()) == {1}


async def test_a_worker_killed_mid_campaign_loses_and_repeats_nobody(
    db: Database, tmp_path: Path
) -> None:
    total = 10_000
    async with running_stack(db, senders=FAST) as stack:
        first = await stack.start_worker_process(tmp_path / "worker1.log")
        cid = await stack.create(
            name="Big", message_template="Hi {{n}}", recipients=people(total), from_number="all"
        )
        await until_sent(stack, 3_000)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = len(stack.twilio.sandbox.messages())
        assert killed_at < total, "the campaign finished before the kill: make it bigger"
        second = await stack.start_worker_process(tmp_path / "worker2.log")
        try:
            await stack.until_finished(cid, timeout=120)
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()
        assert_everyone_once(stack, total)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=1)
        assert detail.view.campaign.status == "done"
        assert detail.view.counts.total == total


async def test_a_redis_flush_mid_campaign_resumes_from_the_database(db: Database) -> None:
    # A database of its own on the shared server, so FLUSHDB touches nobody else.
    async with running_stack(
        db, senders={"+14155550100": 200.0}, REDIS_URL="redis://127.0.0.1:6379/9"
    ) as stack:
        await stack.start_worker()
        cid = await stack.create(
            name="Flush", message_template="Hi {{n}}", recipients=people(1_000), from_number="all"
        )
        await until_sent(stack, 300)
        await stack.bot.redis.flushdb()
        await stack.until_finished(cid, timeout=60)
        assert_everyone_once(stack, 1_000)


async def test_two_worker_processes_share_the_senders_without_going_over(
    db: Database, tmp_path: Path
) -> None:
    senders = {"+14155550100": 5.0, "+14155550101": 5.0, "+14155550102": 5.0}
    async with running_stack(db, senders=senders, WORKER_DRIVERS_PER_CAMPAIGN=2) as stack:
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        workers = [await stack.start_worker_process(log) for log in logs]
        try:
            async with asyncio.timeout(30):  # both are up and polling before the campaign arrives
                while not all(log.exists() and "started" in log.read_text() for log in logs):
                    await asyncio.sleep(0.1)
            cid = await stack.create(
                name="Two", message_template="Hi {{n}}", recipients=people(75), from_number="all"
            )
            await stack.until_finished(cid, timeout=60)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            await asyncio.gather(*(w.wait() for w in workers))
        sandbox = stack.twilio.sandbox
        assert_everyone_once(stack, 75)
        for sender in senders:
            assert sandbox.max_in_window(sender, 1.0, stage="api") <= 5, sender
        drivers = [log.read_text().count(f"drives campaign {cid}") for log in logs]
        assert all(drivers), f"both processes should have driven the campaign: {drivers}"
