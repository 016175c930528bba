"""Fixtures for the Slack stand-in's tests: the stand-in on a free port and the real slack_sdk
AsyncWebClient pointed at it. Import them into a test module to use them:

    from tests.sandbox.slack_fixtures import client_fixture, slack_config_fixture, slack_fixture

(each is registered under the name without `_fixture`, so test parameters shadow no import).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import BOT_TOKEN, SlackConfig, SlackSandbox, start


@pytest.fixture(name="slack_config")
def slack_config_fixture() -> SlackConfig:
    """Override in a module to start the stand-in differently."""
    return SlackConfig()


@pytest.fixture(name="slack")
async def slack_fixture(slack_config: SlackConfig) -> AsyncIterator[SlackSandbox]:
    sandbox = await start(config=slack_config)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@pytest.fixture(name="client")
def client_fixture(slack: SlackSandbox) -> AsyncWebClient:
    """The bot's client, exactly as Textcast builds it, pointed at the stand-in."""
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
