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
from sandbox.slack.ratelimit import RateLimiter
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


async def test_a_burst_above_the_pace_then_one_per_interval() -> None:
    now = [0.0]
    limiter = RateLimiter({"chat.postMessage": RateLimit(1, 1.0, per_channel=True, burst=3)},
                          clock=lambda: now[0])  # fmt: skip
    assert [limiter.check("chat.postMessage", CAMPAIGNS) for _ in range(3)] == [None] * 3
    assert limiter.check("chat.postMessage", CAMPAIGNS) == 1
    assert limiter.check("chat.postMessage", GENERAL) is None  # another channel's own bucket
    now[0] = 1.0
    assert limiter.check("chat.postMessage", CAMPAIGNS) is None  # one more a second
    assert limiter.check("chat.postMessage", CAMPAIGNS) == 1
    now[0] = 10.0
    assert [limiter.check("chat.postMessage", CAMPAIGNS) for _ in range(4)] == [None] * 3 + [1]


class TestSlacksOwnLimitsByDefault:
    async def test_the_default_config_has_slacks_limits(self) -> None:
        assert SlackConfig().rate_limits == SLACK_RATE_LIMITS
        assert SLACK_RATE_LIMITS["chat.update"] == RateLimit(50, 60.0)  # Tier 3
        assert SLACK_RATE_LIMITS["views.open"] == RateLimit(100, 60.0)  # Tier 4
        assert SLACK_RATE_LIMITS["usergroups.users.list"] == RateLimit(20, 60.0)  # Tier 2

    async def test_about_one_message_per_second_per_channel_after_a_short_burst(
        self, slack: SlackSandbox, client: AsyncWebClient
    ) -> None:
        for n in range(3):
            await client.chat_postMessage(channel=CAMPAIGNS, text=f"burst {n}")
        await client.chat_postMessage(channel=GENERAL, text="one elsewhere")
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel=CAMPAIGNS, text="too soon")
        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "1"

    async def test_the_retry_handler_gets_a_thread_through(self, slack: SlackSandbox) -> None:
        """Textcast's clients wait out each 429: six posts in a row all land, in order."""
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.url,
                                retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)])  # fmt: skip
        for n in range(6):
            await client.chat_postMessage(channel=CAMPAIGNS, text=f"{n}")
        assert [m.text for m in slack.messages(CAMPAIGNS)] == [str(n) for n in range(6)]
        assert 429 in [c.status for c in slack.calls("chat.postMessage")]

    async def test_none_when_turned_off(self) -> None:
        slack = await SlackSandbox(SlackConfig(rate_limits={})).start()
        try:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
            for n in range(5):
                await client.chat_postMessage(channel=CAMPAIGNS, text=f"{n}")
        finally:
            await slack.stop()
