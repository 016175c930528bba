"""The whole product on one machine: the web app, a real arq worker, the Twilio stand-in.

Everything talks over real HTTP and real Redis, with its own Redis namespace per test.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from arq.worker import Worker
from redis.asyncio import Redis

from bot.app import create_web_app
from bot.runtime import Runtime
from campaigns.db import Database
from campaigns.service import Context, create_api_key, get_campaign
from campaigns.settings import Settings
from campaigns.status import FINISHED
from sandbox import slack as slack_stand_in
from sandbox import twilio as twilio_sandbox
from tests.conftest import make_settings
from worker.main import create_worker

SENDERS = {"+14155550100": 50.0, "+14155550101": 50.0, "+14155550102": 50.0}


@dataclass
class Stack:
    env: dict[str, str]  # the settings, as a worker process would get them
    settings: Settings
    twilio: twilio_sandbox.RunningTwilioSandbox
    web: TestClient
    bot: Runtime
    token: str
    slack: slack_stand_in.SlackSandbox | None = None
    workers: list[tuple[Worker, asyncio.Task[Any]]] = field(default_factory=list)

    @property
    def ctx(self) -> Context:
        return self.bot.ctx

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def create(self, **body: Any) -> str:
        response = await self.web.post("/v1/sms/campaigns", json=body, headers=self.auth)
        assert response.status == 201, await response.text()
        return (await response.json())["campaign_id"]

    async def start_worker(self, **overrides: Any) -> Worker:
        worker = create_worker(self.settings, handle_signals=False, **overrides)
        task = asyncio.create_task(worker.async_run())
        self.workers.append((worker, task))
        return worker

    async def start_worker_process(self, log_path: Path) -> asyncio.subprocess.Process:
        """`python -m worker` in its own process, as in production."""
        log = log_path.open("ab")
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", env={**os.environ, **self.env}, stdout=log, stderr=log
        )

    async def stop_workers(self) -> None:
        for worker, task in self.workers:
            await worker.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.workers.clear()

    async def until_finished(self, campaign_id: str, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                detail = await get_campaign(self.ctx, campaign_id, recipients_limit=1)
                if detail.view.campaign.status in FINISHED:
                    return
                await asyncio.sleep(0.1)


@asynccontextmanager
async def running_stack(
    db: Database,
    senders: dict[str, float] | None = None,
    *,
    callbacks: bool = False,
    slack: bool = False,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """`senders`: number -> MPS, for both Textcast's settings and the stand-in's carrier.

    `callbacks`: Twilio posts delivery receipts to the web app (PUBLIC_BASE_URL is set);
    otherwise the worker polls for them. `slack`: the worker reports to the Slack stand-in.
    """
    senders = senders or SENDERS
    port = _free_port()
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    twilio = await twilio_sandbox.start(
        config=twilio_sandbox.SandboxConfig(numbers=dict(senders), seed=1)
    )
    values: dict[str, Any] = {
        "DATABASE_URL": db.url,
        "REDIS_NAMESPACE": namespace,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url,
        "SENDER_NUMBERS": ",".join(f"{n}:{int(m)}" for n, m in senders.items()),
        "TWILIO_TIMEOUT_SECONDS": 2.0,
        "RECLAIM_AFTER_SECONDS": 3.0,
        "SWEEP_SECONDS": 1,
    }
    if callbacks:
        values["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    slack_sandbox = await slack_stand_in.start() if slack else None
    if slack_sandbox is not None:
        values.update(
            SLACK_API_URL=slack_sandbox.url,
            SLACK_BOT_TOKEN=slack_stand_in.BOT_TOKEN,
            SLACK_SIGNING_SECRET=slack_stand_in.SIGNING_SECRET,
            SLACK_NOTIFY_CHANNEL=slack_stand_in.CAMPAIGNS,
            PROGRESS_INTERVAL_SECONDS=0.5,
        )
    values.update(overrides)
    settings = make_settings(**values)
    env = {name: str(value) for name, value in values.items()}
    env.update(DEFAULT_REGION="GB", PRICE_PER_SEGMENT="0.0079")
    bot = await Runtime.start(settings, db=db)
    key = await create_api_key(bot.ctx, "tests", "test")
    web = TestClient(TestServer(create_web_app(bot), port=port))
    await web.start_server()
    stack = Stack(env, settings, twilio, web, bot, key.token, slack=slack_sandbox)
    try:
        yield stack
    finally:
        await stack.stop_workers()
        await web.close()
        await _forget_namespace(bot.redis, namespace)
        await bot.redis.aclose()
        await twilio.stop()
        if slack_sandbox is not None:
            await slack_sandbox.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _forget_namespace(redis: Redis, namespace: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await redis.delete(*keys)


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Valid UK mobile numbers (+447400000000 on), enough for any test; they reach only the stand-in."""
    return [{"phone": f"+447400{start + i:06d}", "variables": {"n": str(i)}} for i in range(count)]
