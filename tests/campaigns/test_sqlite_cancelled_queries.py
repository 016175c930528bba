"""A query cancelled midway, again and again, leaves nothing behind that would keep the process
from exiting (SQLAlchemy's "graceful" close of such a connection could wait forever on
aiosqlite: see campaigns/db.py)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

from sqlalchemy import text

from campaigns.db import create_engine

SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) "
    "SELECT count(*) FROM c"
)


async def test_cancelled_queries_leave_no_close_waiting_forever(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cancelled.db'}")

    async def slow() -> None:
        async with engine.connect() as connection:
            await connection.execute(text(SLOW))

    try:
        for i in range(6):
            task = asyncio.create_task(slow())
            await asyncio.sleep(0.05)
            for _ in range(30):  # cancelled again while it cleans up (a teardown, a timeout)
                task.cancel()
                await asyncio.sleep(0.001 * (i % 3))
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), 5)
        closing = []
        for _ in range(40):
            closing = [t for t in asyncio.all_tasks() if "_terminate" in repr(t.get_coro())]
            if not closing:
                break
            await asyncio.sleep(0.05)
        # Before, a task awaited forever a thread that had stopped, and the loop's shutdown hung.
        assert closing == []
    finally:
        await engine.dispose()
        # The threads finish the cancelled queries before they stop: not after the loop closed.
        for _ in range(100):
            if not any("_connection_worker" in t.name for t in threading.enumerate()):
                break
            await asyncio.sleep(0.05)
