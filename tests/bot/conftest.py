"""A running web process (real HTTP on a local port) on the test database and real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_web_app
from bot.jobs import queue_name
from bot.runtime import Runtime
from campaigns.db import Database
from campaigns.service import create_api_key
from campaigns.settings import Settings
from sandbox.slack import BOT_TOKEN, CAMPAIGNS, SIGNING_SECRET
from tests.conftest import Clock, make_settings


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    token: str
    key_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def slack_settings(slack_url: str, request: pytest.FixtureRequest, **more: object) -> Settings:
    """The web process configured for Slack, pointed at the stand-in at `slack_url`; `more`,
    then the test's own param (`indirect=True`), on top."""
    return make_settings(
        SLACK_NOTIFY_CHANNEL=CAMPAIGNS,
        REDIS_NAMESPACE=f"test-{uuid.uuid4().hex[:12]}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
        **{**more, **getattr(request, "param", {})},
    )


@pytest.fixture
def api_settings() -> Settings:
    return make_settings(
        SLACK_NOTIFY_CHANNEL="C0CAMPAIGNS", REDIS_NAMESPACE=f"test-{uuid.uuid4().hex[:12]}"
    )


@pytest.fixture
async def api(db: Database, api_settings: Settings, clock: Clock) -> AsyncIterator[Api]:
    runtime = await Runtime.start(api_settings, db=db, clock=clock)
    new_key = await create_api_key(runtime.ctx, "tests", "test")
    client = TestClient(TestServer(create_web_app(runtime)))
    await client.start_server()
    try:
        yield Api(client, runtime, new_key.token, new_key.key.id)
    finally:
        await client.close()
        await runtime.redis.aclose()


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Api]:
    """The running web app; what the test left in its Redis namespace is removed after."""
    try:
        yield api
    finally:
        redis = api.runtime.redis
        namespace = api.runtime.settings.REDIS_NAMESPACE
        jobs = [job.decode() for job in await redis.zrange(queue_name(namespace), 0, -1)]
        keys = [k async for k in redis.scan_iter(match=f"{namespace}:*")]
        keys += [f"arq:job:{job}" for job in jobs]
        if keys:
            await redis.delete(*keys)
