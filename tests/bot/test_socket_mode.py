"""Socket Mode through the real path: the web runtime's Bolt app on slack_bolt's Socket Mode
handler, connected over a real WebSocket to the Slack stand-in, which sends the envelopes and
checks the acknowledgements; then `textcast bot --socket` as a user runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.blocks.actions import CANCEL_CAMPAIGN
from bot.slack.socket_mode import SocketMode, start_socket_mode
from campaigns.db import Database
from campaigns.service import get_campaign
from campaigns.settings import Settings, SettingsError
from campaigns.status import CampaignStatus, RecipientStatus
from sandbox.slack import (
    ALICE,
    APP_TOKEN,
    BOT_TOKEN,
    CAMPAIGNS,
    SIGNING_SECRET,
    SlackSandbox,
    requests,
)
from tests.bot.conftest import Api
from tests.bot.test_slack_actions import campaign, notice, queued_jobs, until
from tests.conftest import Clock, make_settings
from tests.ports import free_port
from tests.redis_namespaces import new_namespace
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    """Slack over Socket Mode only: no signing secret, so no /slack/events either."""
    values = {
        "SLACK_NOTIFY_CHANNEL": CAMPAIGNS,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.url,
    }
    return make_settings(**{**values, **getattr(request, "param", {})})


@pytest.fixture
async def socket_mode(web: Api, slack: SlackSandbox) -> AsyncIterator[SocketMode]:
    connection = await start_socket_mode(web.runtime)
    try:
        yield connection
    finally:
        await connection.close()


async def cancel_click(web: Api, slack: SlackSandbox, clock: Clock) -> tuple[str, dict]:
    """A paused campaign's notice, and Alice's click on its Cancel button as Slack sends it."""
    campaign_id = await campaign(web, clock)
    posted = await notice(web, slack, campaign_id)
    click = requests.block_actions(
        SIGNING_SECRET, CANCEL_CAMPAIGN, message=posted, sandbox_url=slack.url
    )
    return campaign_id, click.payload


async def assert_cancelled(web: Api, slack: SlackSandbox, campaign_id: str) -> None:
    await until(lambda: bool(slack.calls("response_url")))  # the listener's last step
    detail = await get_campaign(web.runtime.ctx, campaign_id, recipients_limit=20)
    assert detail.view.campaign.status == CampaignStatus.CANCELLED
    assert detail.view.campaign.cancelled_by == f"slack:{ALICE}"
    assert {r.status for r in detail.recipients} == {RecipientStatus.CANCELLED}
    namespace = web.runtime.settings.REDIS_NAMESPACE
    assert await queued_jobs(web.runtime.redis, namespace) == []
    progress = slack.messages(CAMPAIGNS)[0]
    [update] = slack.calls("chat.update", CAMPAIGNS)
    assert update.ok and update.args["ts"] == progress.ts
    assert progress.blocks[1]["text"]["text"].startswith(f"*Cancelled* by <@{ALICE}>")
    assert ":no_entry_sign: Cancelled by @Alice Smith" in slack.transcript(CAMPAIGNS)


async def test_a_cancel_click_over_socket_mode_cancels_the_campaign(
    web: Api,
    slack: SlackSandbox,
    clock: Clock,
    socket_mode: SocketMode,
) -> None:
    [opened] = slack.calls("apps.connections.open")
    assert opened.ok and slack.socket_connections() == 1
    campaign_id, click = await cancel_click(web, slack, clock)

    assert await slack.socket_send("interactive", click) == {}  # acked at once, no answer body
    await assert_cancelled(web, slack, campaign_id)
    assert (await web.client.post("/slack/events")).status == 404  # no signing secret, no route


async def test_sms_new_over_socket_mode_opens_the_compose_modal(
    web: Api, slack: SlackSandbox, socket_mode: SocketMode
) -> None:
    command = requests.slash_command(SIGNING_SECRET, "new", sandbox_url=slack.url)
    assert await slack.socket_send("slash_commands", command.payload) == {}
    await until(lambda: bool(slack.calls("views.open")))
    [opened] = slack.calls("views.open")
    assert opened.ok, opened.error
    [modal] = slack.modal_stack(ALICE)
    assert modal["type"] == "modal"


async def test_socket_mode_survives_slacks_refresh(
    web: Api,
    slack: SlackSandbox,
    clock: Clock,
    socket_mode: SocketMode,
) -> None:
    await slack.socket_disconnect("refresh_requested")
    await until(lambda: len(slack.calls("apps.connections.open")) == 2)
    # The old one closed by the app, and a new one made (one open alone may be the old one).
    await until(slack.socket_moved_on)
    campaign_id, click = await cancel_click(web, slack, clock)

    assert await slack.socket_send("interactive", click) == {}
    await assert_cancelled(web, slack, campaign_id)


async def test_closing_leaves_slack_without_a_connection(
    web: Api,
    slack: SlackSandbox,
) -> None:
    connection = await start_socket_mode(web.runtime)
    await connection.close()
    await until(lambda: slack.socket_connections() == 0)
    await asyncio.sleep(0.1)  # nothing reconnects after a close
    assert len(slack.calls("apps.connections.open")) == 1
    assert slack.socket_connections() == 0


@pytest.mark.parametrize(
    ("api_settings", "message"),
    [
        ({"SLACK_APP_TOKEN": None}, "SLACK_APP_TOKEN is not set: set it to an app-level token"),
        (
            {"SLACK_APP_TOKEN": BOT_TOKEN},
            "SLACK_APP_TOKEN was refused by Slack (not_allowed_token_type)",
        ),
        (
            {"SLACK_APP_TOKEN": "xapp-1-wrong"},
            "SLACK_APP_TOKEN was refused by Slack (invalid_auth)",
        ),
    ],
    indirect=["api_settings"],
)
async def test_a_missing_or_refused_app_token_stops_start_up_with_one_line(
    web: Api,
    slack: SlackSandbox,
    message: str,
) -> None:
    with pytest.raises(SettingsError) as stopped:
        await start_socket_mode(web.runtime)
    assert stopped.value.message.startswith(message)
    assert "\n" not in stopped.value.message and "xoxb-" not in stopped.value.message
    assert slack.socket_connections() == 0


# -- the command


async def test_textcast_bot_socket_connects_serves_healthz_and_stops_on_sigterm(
    db: Database, slack: SlackSandbox
) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TWILIO_"))},
        "DATABASE_URL": db.url,
        "REDIS_NAMESPACE": new_namespace(),
        "PORT": str(port),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "textcast.cli", "bot", "--socket",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(20):
            while True:
                assert process.returncode is None, (await process.stdout.read()).decode()  # type: ignore[union-attr]
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200 and slack.socket_connections() == 1:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        [opened] = slack.calls("apps.connections.open")
        assert opened.ok
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(process.communicate(), 15))[0].decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    await until(lambda: slack.socket_connections() == 0)


async def test_textcast_bot_socket_without_an_app_token_stops_with_one_line(
    db: Database, slack: SlackSandbox
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TWILIO_"))},
        "DATABASE_URL": db.url,
        "PORT": str(free_port()),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "textcast.cli", "bot", "--socket",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert stderr.decode() == (
        "textcast: SLACK_APP_TOKEN is not set: set it to an app-level token (xapp-...) "
        "to use Socket Mode\n"
    )  # and nothing started: no "listening" line, no call to Slack
    assert stdout == b"" and slack.calls() == []
