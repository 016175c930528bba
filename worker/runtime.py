"""What the worker process holds while it runs: database, Redis, Twilio, Slack, pacer, reporter.

Everything is created inside the worker's event loop (arq's on_startup) and closed at shutdown:
the twilio SDK's async client must be created in a running loop.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from arq.connections import ArqRedis

from bot.stops import RedisStops, StopWatch
from campaigns import migrate
from campaigns.db import Database
from campaigns.service import Context, sync_sender_numbers
from campaigns.settings import Settings, SettingsError
from charts.renderer import ChartRenderer
from worker.gateway import CredentialsRefused, Gateway
from worker.lag import Lag
from worker.pacing import Pacer
from worker.reporting import Reporter
from worker.slack_client import create_slack_client
from worker.twilio_client import close_twilio_client, create_twilio_client

log = logging.getLogger(__name__)


class Reporting(Protocol):
    """What the engine tells Slack (worker.reporting.Reporter, or nothing without Slack)."""

    async def started(self, campaign_id: str) -> None: ...
    async def tick(self, campaign_id: str, *, force: bool = False) -> None: ...
    async def finished(self, campaign_id: str) -> bool: ...
    async def refresh_summary(self, campaign_id: str) -> bool: ...
    async def paused(self, campaign_id: str) -> None: ...
    async def late(self, campaign_id: str) -> None: ...
    async def changed(self, campaign_id: str, change: dict[str, Any] | None = None) -> None: ...
    async def ask_approval(self, campaign_id: str, version: int) -> str: ...
    async def homes(self) -> None: ...


class NoReporting:
    """Slack is not configured: campaigns are sent all the same, with nothing posted."""

    async def started(self, campaign_id: str) -> None:
        return None

    async def tick(self, campaign_id: str, *, force: bool = False) -> None:
        return None

    async def finished(self, campaign_id: str) -> bool:
        return True

    async def refresh_summary(self, campaign_id: str) -> bool:
        return True

    async def paused(self, campaign_id: str) -> None:
        return None

    async def late(self, campaign_id: str) -> None:
        return None

    async def changed(self, campaign_id: str, change: dict[str, Any] | None = None) -> None:
        return None

    async def ask_approval(self, campaign_id: str, version: int) -> str:
        return "no Slack"

    async def homes(self) -> None:
        return None


@dataclass
class WorkerRuntime:
    settings: Settings
    ctx: Context
    redis: ArqRedis
    gateway: Gateway
    pacer: Pacer
    reporter: Reporting
    worker_id: str
    stops: StopWatch  # recent opt-outs, checked right before each request leaves
    lag: Lag = field(default_factory=Lag)  # how late this process writes requests lately

    @property
    def namespace(self) -> str:
        return self.settings.REDIS_NAMESPACE

    @classmethod
    async def start(
        cls, settings: Settings, redis: ArqRedis, *, db: Database | None = None
    ) -> WorkerRuntime:
        settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
        if not settings.SENDER_NUMBERS and not settings.TWILIO_MESSAGING_SERVICE_SID:
            settings.require("SENDER_NUMBERS")
        db = db or Database.configured(settings)
        await migrate.ensure_schema_current(db)
        ctx = Context(db=db, settings=settings, stops=RedisStops(redis, settings.REDIS_NAMESPACE))
        await sync_sender_numbers(ctx)
        client = create_twilio_client(
            settings.TWILIO_ACCOUNT_SID or "",
            settings.TWILIO_AUTH_TOKEN or "",
            settings.TWILIO_API_URL,
            timeout=settings.TWILIO_TIMEOUT_SECONDS,
            max_connections=settings.WORKER_MAX_IN_FLIGHT,
        )
        gateway = Gateway(client)
        try:
            await gateway.check()
        except CredentialsRefused as error:
            await close_twilio_client(client)
            raise SettingsError(
                f"Twilio refused the credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): {error}"
            ) from None
        stops = StopWatch(redis, settings.REDIS_NAMESPACE)
        await stops.refresh()
        stops.start()
        pacer = Pacer(redis, prefix=f"{settings.REDIS_NAMESPACE}:")
        await pacer.prepare()
        return cls(
            stops=stops,
            settings=settings,
            ctx=ctx,
            redis=redis,
            gateway=gateway,
            pacer=pacer,
            reporter=await _reporter(settings, ctx, redis),
            worker_id=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        )

    async def close(self) -> None:
        await self.stops.close()
        await close_twilio_client(self.gateway.client)
        await self.ctx.db.dispose()


async def _reporter(settings: Settings, ctx: Context, redis: ArqRedis) -> Reporting:
    slack = create_slack_client(settings)
    if slack is None:
        log.info(
            "SLACK_BOT_TOKEN is not set: campaigns will be sent without Slack progress messages"
        )
        return NoReporting()
    return Reporter(
        ctx, slack, redis, interval=settings.PROGRESS_INTERVAL_SECONDS, charts=ChartRenderer()
    )
