"""Two processes' worth of writers on one database: nobody gets "database is locked"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from campaigns import audit
from campaigns.db import Database
from campaigns.models import AuditEntry, Campaign


async def test_two_engines_write_at_the_same_time_without_locking_errors(db: Database) -> None:
    other = Database(db.url)  # as a worker process would have, beside the web process

    async def read_then_write(database: Database, n: int) -> None:
        async with database.transaction() as session:
            # A read before the write is what trips SQLite's deferred transactions.
            await session.execute(select(func.count()).select_from(AuditEntry))
            await asyncio.sleep(0)
            audit.record(session, "test", "write", None, n=n)

    try:
        await asyncio.gather(*(read_then_write(db if n % 2 else other, n) for n in range(60)))
    finally:
        await other.dispose()
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(AuditEntry))).scalar() == 60


async def test_times_come_back_in_utc(db: Database) -> None:
    async with db.transaction() as session:
        session.add(
            Campaign(
                id="smsc_t", name="t", source="api", message_template="hi", sender_mode="number",
                created_by="test", created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            )
        )  # fmt: skip
    async with db.read() as session:
        campaign = await session.get(Campaign, "smsc_t")
    assert campaign is not None
    assert campaign.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert campaign.created_at.tzinfo is not None


async def test_a_failed_transaction_writes_nothing(db: Database) -> None:
    try:
        async with db.transaction() as session:
            audit.record(session, "test", "write")
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(AuditEntry))).scalar() == 0
