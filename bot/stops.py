"""A STOP reaches every send loop within a fraction of a second, even mid-batch.

The database is the truth: a send loop screens every claim against it before booking. But a
claimed message may wait in its lane for a few seconds before its slot, and a STOP in that time
must still stop it. So whoever records an opt-out also announces it in Redis (a sorted set of
hashed numbers, scored by time; hashed because Redis is no place for personal data), and each
worker process keeps a local set that a watcher refreshes every `every` seconds. The engine asks
the local set right before each request leaves: no round trip per message, and only while the
set was read less than STATE_VALIDITY ago (campaigns/service/in_effect.py): an opt-out is
acknowledged only after it is announced here and that long has passed, so no create to the
number starts after the person is told.

If the announcement cannot be made (Redis away for the web process alone, after some tries),
the database screening still stops every message claimed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
KEEP_SECONDS = 3600  # far longer than a claimed message waits for its slot
ANNOUNCE_TRIES = 5


def stops_key(namespace: str) -> str:
    return f"{namespace}:stops"


def _member(phone: str) -> str:
    return hashlib.blake2b(phone.encode(), digest_size=16).hexdigest()


async def announce_stop(redis: Redis, namespace: str, phone: str) -> bool:
    """Tell every send loop that `phone` opted out; True once Redis has it. Tried a few times
    over about a second; then given up (see the module's docstring)."""
    key = stops_key(namespace)
    for attempt in range(ANNOUNCE_TRIES):
        now = time.time()
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {_member(phone): now})
                pipe.zremrangebyscore(key, "-inf", now - KEEP_SECONDS)
                await pipe.execute()
            return True
        except (RedisError, OSError) as error:
            if attempt == ANNOUNCE_TRIES - 1:
                log.error("the opt-out could not be announced to the senders (%r)", error)
                return False
            await asyncio.sleep(0.05 * 2**attempt)
    return False


class RedisStops:
    """How the service layer announces an opt-out (campaigns/service/in_effect.StopNews)."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis, self._namespace = redis, namespace

    async def opted_out(self, phone: str) -> bool:
        return await announce_stop(self._redis, self._namespace, phone)


async def withdraw_stop(redis: Redis, namespace: str, phone: str) -> None:
    """`phone` opted back in: the loops may send to it again (after their next refresh)."""
    with contextlib.suppress(RedisError, OSError):
        await redis.zrem(stops_key(namespace), _member(phone))


class StopWatch:
    """A worker process's view of the recent opt-outs, refreshed in the background."""

    def __init__(self, redis: Redis, namespace: str, every: float = 0.1) -> None:
        self._redis, self._key, self._every = redis, stops_key(namespace), every
        self._members: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        # Loop time when the last read that succeeded began: the set holds every opt-out
        # announced before then. Never read: nothing is known.
        self.read_at = -math.inf

    def stopped(self, phone: str) -> bool:
        return _member(phone) in self._members

    async def refresh(self) -> None:
        started = asyncio.get_running_loop().time()
        members = await self._redis.zrangebyscore(self._key, time.time() - KEEP_SECONDS, "+inf")
        self._members = frozenset(m.decode() if isinstance(m, bytes) else m for m in members)
        self.read_at = started

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stop-watch")

    async def _run(self) -> None:
        away = False
        while True:
            try:
                await self.refresh()
            except (RedisError, OSError) as error:
                # Once per outage: it asks five times a second.
                if not away:
                    log.warning("could not read the recent opt-outs (%r); asking again", error)
                away = True
            else:
                away = False
            await asyncio.sleep(self._every)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
