"""Every Slack client Textcast builds waits out a 429 (the stand-in has Slack's rate limits by
default), and a form still opens within the trigger's 3 seconds after one."""

from __future__ import annotations

import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from bot.slack.app import build_slack_app
from campaigns.settings import Settings
from sandbox.slack import SlackSandbox
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import showing, sms, until
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401
from worker.slack_client import create_slack_client


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="GB")


async def test_a_429_on_opening_the_form_is_waited_out_within_the_trigger(
    web: Api, slack: SlackSandbox
) -> None:
    slack.refuse_next("views.open", retry_after=1)
    await sms(web, slack, "new")
    await until(showing(slack, "sms_compose"), timeout=10)
    assert [c.status for c in slack.calls("views.open")] == [429, 200]
    assert slack.calls("views.open")[1].ok  # the trigger (3 s) had not expired


async def test_the_app_the_socket_mode_handler_and_the_worker_all_retry_429s(web: Api) -> None:
    """The Bolt app's client (its listeners' clients are copies, and Socket Mode uses it too)
    and the worker's."""
    app = build_slack_app(web.runtime, signing_secret=None)
    worker_client = create_slack_client(web.runtime.settings)
    assert worker_client is not None
    for client in (app.client, worker_client):
        assert any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers)
