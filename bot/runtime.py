"""What the web process holds while it runs: settings, database, Redis and the service context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from arq.connections import ArqRedis

from bot.stops import RedisStops
from campaigns import migrate
from campaigns.db import Database
from campaigns.models import utcnow
from campaigns.service import Context, sync_sender_numbers
from campaigns.settings import Settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    db: Database
    redis: ArqRedis  # a redis.asyncio.Redis that can also enqueue arq jobs
    ctx: Context

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        db: Database | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Runtime:
        """Connect, refuse an out-of-date schema, and record the configured sender numbers."""
        db = db or Database.configured(settings)
        await migrate.ensure_schema_current(db)
        redis = ArqRedis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        # Opt-outs made here are announced to the send loops before they are acknowledged.
        stops = RedisStops(redis, settings.REDIS_NAMESPACE)
        ctx = Context(db=db, settings=settings, clock=clock, stops=stops)
        try:
            await sync_sender_numbers(ctx)
        except BaseException:
            await redis.aclose()
            raise
        return cls(settings=settings, db=db, redis=redis, ctx=ctx)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.db.dispose()
