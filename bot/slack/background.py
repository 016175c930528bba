"""Work a listener starts after acknowledging Slack, kept referenced until it ends.

Slack wants every request answered within 3 seconds; reading a list, creating a draft and
updating a view take longer, so listeners `ack()` first and hand the rest to `spawn`. asyncio
keeps only weak references to tasks: without the set, one could be collected half-way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[Any]] = set()


def spawn(work: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
    task = asyncio.create_task(work, name=what)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", task.get_name(), exc_info=task.exception())


DRAIN_SECONDS = 10.0


async def drain() -> None:
    """Wait (a while) for the work in hand: at shutdown, and in tests."""
    if _running:
        await asyncio.wait(list(_running), timeout=DRAIN_SECONDS)
