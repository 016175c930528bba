"""A running web process (real HTTP on a local port) on the test database and real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_web_app
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
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
        **{**more, **getattr(request, "param", {})},
    )


@pytest.fixture
def api_settings() -> Settings:
    return make_settings(SLACK_NOTIFY_CHANNEL="C0CAMPAIGNS")


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
def web(api: Api) -> Api:
    """The running web app (its Redis namespace is removed after the test: tests/conftest.py)."""
    return api
