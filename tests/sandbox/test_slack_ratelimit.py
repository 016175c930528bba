"""Rate limits as Slack answers them (HTTP 429, Retry-After), met by slack_sdk's retry handler."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import (
    BOT_TOKEN,
    CAMPAIGNS,
    GENERAL,
    SLACK_RATE_LIMITS,
    RateLimit,
    SlackConfig,
    SlackSandbox,
)
from tests.sandbox.slack_fixtures import (  # noqa: F401
    client_fixture,
    slack_config_fixture,
    slack_fixture,
)


async def test_a_429_surfaces_as_slack_api_error(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    slack.refuse_next("chat.update", retry_after=7)
    posted = await client.chat_postMessage(channel=CAMPAIGNS, text="50 of 100 sent")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel=CAMPAIGNS, ts=posted["ts"], text="60 of 100 sent")
    response = raised.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"
    assert slack.message(CAMPAIGNS, posted["ts"]).text == "50 of 100 sent"
    [refused] = slack.calls("chat.update")
    assert (refused.status, refused.error) == (429, "ratelimited")


async def test_the_retry_handler_waits_and_succeeds(slack: SlackSandbox) -> None:
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=slack.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.refuse_next("chat.postMessage", retry_after=0)
    started = time.monotonic()
    posted = await client.chat_postMessage(channel=CAMPAIGNS, text="after a pause")
    assert posted["ok"]
    assert time.monotonic() - started < 2
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in slack.messages(CAMPAIGNS)] == ["after a pause"]


async def test_a_window_limit_counts_calls_and_can_change_at_run_time(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    slack.set_rate_limit("chat.postMessage", 2, per_seconds=60)
    await client.chat_postMessage(channel=CAMPAIGNS, text="one")
    await client.chat_postMessage(channel=CAMPAIGNS, text="two")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CAMPAIGNS, text="three")
    assert raised.value.response.status_code == 429
    assert 59 <= int(raised.value.response.headers["Retry-After"]) <= 60
    slack.clear_rate_limit("chat.postMessage")
    assert (await client.chat_postMessage(channel=CAMPAIGNS, text="three"))["ok"]


async def test_a_per_channel_limit(slack: SlackSandbox, client: AsyncWebClient) -> None:
    slack.set_rate_limit("chat.postMessage", 1, per_seconds=1, per_channel=True)
    await client.chat_postMessage(channel=CAMPAIGNS, text="one")
    await client.chat_postMessage(channel=GENERAL, text="elsewhere")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CAMPAIGNS, text="too soon")
    assert raised.value.response.headers["Retry-After"] == "1"


class TestLimitsFromConfig:
    @pytest.fixture(name="slack_config")
    def limited(self) -> SlackConfig:
        return SlackConfig(rate_limits={"users.info": RateLimit(calls=1, per_seconds=30)})

    async def test_the_configured_limit_applies(self, client: AsyncWebClient) -> None:
        await client.users_info(user="U0ALICE")
        with pytest.raises(SlackApiError) as raised:
            await client.users_info(user="U0ALICE")
        assert raised.value.response.status_code == 429


class TestSlacksOwnLimits:
    @pytest.fixture(name="slack_config")
    def like_slack(self) -> SlackConfig:
        return SlackConfig(rate_limits=dict(SLACK_RATE_LIMITS))

    async def test_one_message_per_second_per_channel(self, client: AsyncWebClient) -> None:
        await client.chat_postMessage(channel=CAMPAIGNS, text="one")
        await client.chat_postMessage(channel=GENERAL, text="one elsewhere")
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel=CAMPAIGNS, text="two")
        assert raised.value.response.status_code == 429
