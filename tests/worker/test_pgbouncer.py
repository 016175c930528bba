"""PostgreSQL behind PgBouncer in transaction mode, as teams run many workers on one database.

Such a pooler hands each transaction to whichever server connection is free, so nothing may
outlive its transaction. asyncpg's prepared statements did: named and cached per client
connection, they were looked for (or made again) on another server connection. The fault is
made to happen first, then a campaign is sent through the pooler by two real worker processes
and the web app, with the migrations run through it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from campaigns import migrate
from campaigns.db import Database
from tests.conftest import ON_POSTGRES
from tests.pgbouncer import PGBOUNCER, start_pgbouncer
from tests.worker.stack import people, running_stack
from tests.worker.test_recovery import assert_everyone_once, started, stop_all

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="PgBouncer pools PostgreSQL connections only"),
    pytest.mark.skipif(
        PGBOUNCER is None, reason="pgbouncer is not installed (.ci/run installs it)"
    ),
]


@pytest.fixture
async def pgbouncer(database_url: str, db: Database) -> AsyncIterator[str]:
    """A PgBouncer in transaction mode in front of the test database (emptied by `db`), with
    two server connections: its URL."""
    pooler = await start_pgbouncer(database_url, 2)
    try:
        yield pooler.url
    finally:
        await pooler.stop()


async def test_without_the_setting_a_prepared_statement_is_looked_for_on_another_connection(
    pgbouncer: str,
) -> None:
    """The fault the setting is for. asyncpg prepares a statement once per client connection
    and keeps it; the pooler gives that client's next transaction whichever server connection
    is free, where the statement was never prepared."""
    select = text("SELECT count(*) FROM campaigns WHERE status = :status")
    for pool_mode in ("session", "transaction"):
        database = Database(pgbouncer, pool_mode=pool_mode)
        try:
            async with database.engine.connect() as one, database.engine.connect() as two:
                await one.execute(select, {"status": "draft"})  # on the one server connection
                await one.commit()
                await two.execute(text("SELECT 1"))  # the pooler hands it that one, and it stays
                if pool_mode == "session":
                    with pytest.raises(DBAPIError, match=r"prepared statement .* does not exist"):
                        await one.execute(select, {"status": "running"})  # on the other
                else:  # as DATABASE_POOL_MODE=transaction says
                    assert (await one.execute(select, {"status": "running"})).scalar() == 0
        finally:
            await database.dispose()


async def test_two_workers_send_a_campaign_through_pgbouncer_in_transaction_mode(
    pgbouncer: str, tmp_path: Path
) -> None:
    db = Database(pgbouncer, pool_mode="transaction")
    try:
        # The migrations too: the newest one undone and made again through the pooler.
        head = migrate.head_revision()
        await migrate.downgrade(db, "-1")
        assert await migrate.current_revision(db) != head
        assert (await migrate.upgrade(db))[1] == head
        async with running_stack(db, WORKER_DRIVERS_PER_CAMPAIGN=2,
                                 DATABASE_POOL_MODE="transaction") as stack:  # fmt: skip
            logs = [tmp_path / "a.log", tmp_path / "b.log"]
            workers = [await stack.start_worker_process(log) for log in logs]
            try:
                await started(logs)
                cid = await stack.create(name="Pooled", message_template="Hi {{n}}",
                                         recipients=people(120), from_number="all")  # fmt: skip
                await stack.until_finished(cid, timeout=90)
            finally:
                await stop_all(workers)
            assert_everyone_once(stack, 120)
            for log in logs:
                assert "prepared statement" not in log.read_text()
    finally:
        await db.dispose()
