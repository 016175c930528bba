"""Two installs sharing one Redis, each with its own REDIS_NAMESPACE, database, Twilio account and
worker: each runs its own periodic jobs and starts its own campaigns, whatever the other does.

The second install is a restored copy of the first's database (a staging copy of production,
say), so the two hold campaigns with the same ids: a job id that is not namespaced (`start:ID:v1`)
makes one install's start a no-op while the other's job of the same id waits in Redis.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from bot.jobs import queue_name
from campaigns.db import Database
from campaigns.models import Campaign
from campaigns.service import get_campaign, opted_out_among
from campaigns.status import CampaignStatus
from tests.conftest import ON_POSTGRES, _asyncpg_dsn
from tests.worker.stack import Stack, running_stack

ONE = "+14155550100"
SARAH, JAMES, LENA = "+447400000001", "+447400000002", "+447400000009"


@asynccontextmanager
async def restored_copy(db: Database, folder: Path) -> AsyncIterator[Database]:
    """Another database holding what `db` holds now, as a backup restored elsewhere would."""
    if not ON_POSTGRES:
        copy = folder / "restored.db"
        source = sqlite3.connect(make_url(db.url).database or "")
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        restored = Database(f"sqlite+aiosqlite:///{copy}")
        try:
            yield restored
        finally:
            await restored.dispose()
        return
    source_name = make_url(db.url).database
    name = f"{source_name}_copy_{uuid.uuid4().hex[:6]}"
    await db.engine.dispose()  # a template database must have no open connections
    admin = await asyncpg.connect(_asyncpg_dsn(db.url, "postgres"))
    try:
        # ...nor any other's: a session an earlier test left (a connection never checked back
        # in stays open until it is garbage collected) made this a flake in whole-suite runs.
        # They are ended as DROP DATABASE ... WITH (FORCE) would; CREATE waits for them to go.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            source_name,
        )
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source_name}"')
        restored = Database(make_url(db.url).set(database=name).render_as_string(False))
        try:
            yield restored
        finally:
            await restored.dispose()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def only_own_job_ids(stack: Stack) -> list[str]:
    """The job ids in the install's queue that do not start with its namespace."""
    namespace = stack.settings.REDIS_NAMESPACE
    queued = await stack.bot.redis.zrange(queue_name(namespace), 0, -1)
    return [job.decode() for job in queued if not job.decode().startswith(f"{namespace}:")]


async def seconds_until_opted_out(stack: Stack, phone: str, timeout: float) -> float:
    began = time.monotonic()
    await stack.twilio.sandbox.reply(phone, ONE, "STOP")
    async with asyncio.timeout(timeout):
        while not await opted_out_among(stack.ctx, [phone]):
            await asyncio.sleep(0.05)
    return time.monotonic() - began


async def test_two_installs_on_one_redis_each_start_and_poll_their_own(
    db: Database, tmp_path: Path
) -> None:
    options = {"senders": {ONE: 50.0}, "INBOUND_POLL_SECONDS": 2}
    async with running_stack(db, **options) as first:
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        campaign = await first.create(name="Open day", message_template="Hi", scheduled_at=tomorrow,
                                      schedule_type="schedule",
                                      recipients=[{"phone": SARAH}], from_number=ONE)  # fmt: skip
        # The first install's start job now waits in Redis for tomorrow.
        async with restored_copy(db, tmp_path) as copy, running_stack(copy, **options) as second:
            # Restored after the campaign's time: the copy finds it due.
            async with copy.engine.begin() as connection:
                past = datetime.now(UTC) - timedelta(minutes=1)
                await connection.execute(update(Campaign).values(scheduled_at=past))
            await first.start_worker()
            await second.start_worker()
            await second.until_finished(campaign, timeout=15)
            assert len(second.twilio.sandbox.messages(to=SARAH)) == 1
            assert first.twilio.sandbox.messages(to=SARAH) == []  # its time has not come
            # Both workers run every periodic job of their own: each picks up its STOP at the
            # next inbound poll (every 2 s), not when the other leaves it a tick; twice each.
            for phone in (JAMES, LENA):
                for stack in (first, second):
                    assert await seconds_until_opted_out(stack, phone, timeout=10) < 8
                    assert await only_own_job_ids(stack) == []
            view = (await get_campaign(first.ctx, campaign)).view.campaign
            assert view.status == CampaignStatus.SCHEDULED


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite copies a file: no sessions to be in the way")
async def test_a_copy_is_made_while_a_session_left_by_an_earlier_test_is_open(
    db: Database, tmp_path: Path
) -> None:
    """A connection never checked back in is only dropped once garbage collected: until then
    PostgreSQL refuses to copy the database it is on (ObjectInUseError)."""
    left_over = await asyncpg.connect(_asyncpg_dsn(db.url))
    try:
        async with restored_copy(db, tmp_path) as copy, copy.read() as session:
            assert (await session.execute(select(Campaign))).all() == []
    finally:
        await left_over.close()
