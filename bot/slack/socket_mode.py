"""Socket Mode: Slack's commands, clicks and events over a WebSocket this process opens.

For installs Slack cannot reach (behind a firewall, no public URL): instead of POSTing to
/slack/events, Slack sends each request as an envelope over a WebSocket the app opened with its
app-level token (SLACK_APP_TOKEN, scope `connections:write`), and takes the answer as the
envelope's acknowledgement. The listeners are the same Bolt app as over HTTP (`build_slack_app`),
built without a signing secret: envelopes carry no signature, and the WebSocket was opened with
the app token. slack_bolt's AsyncSocketModeHandler is the edge adapter; its slack_sdk aiohttp
client opens the WebSocket with `apps.connections.open` at SLACK_API_URL and opens a new one
whenever Slack refreshes the connection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from yarl import URL

from bot.runtime import Runtime
from bot.slack.app import build_slack_app
from campaigns.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# The first connection must open within this; after that the client reconnects on its own.
CONNECT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class SocketMode:
    """A running Socket Mode connection; `close` ends it (Slack then delivers elsewhere)."""

    handler: AsyncSocketModeHandler

    async def close(self) -> None:
        await self.handler.close_async()
        # close_async cancels the client's receive and monitor tasks: let them finish.
        await asyncio.sleep(0)


def check_settings(settings: Settings) -> None:
    """Socket Mode needs both tokens; the signing secret is only for /slack/events."""
    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")


async def start_socket_mode(runtime: Runtime) -> SocketMode:
    """Connect to Slack over Socket Mode and dispatch its envelopes to the Bolt app.

    A missing SLACK_BOT_TOKEN or SLACK_APP_TOKEN, or an app token Slack refuses, stops here with
    one line (SettingsError); a Slack it cannot reach raises OSError (ConnectionError)."""
    settings = runtime.settings
    check_settings(settings)
    app = build_slack_app(runtime, signing_secret=None)
    # app.client is the bot's client at SLACK_API_URL; apps.connections.open passes the app
    # token in place of the bot token.
    handler = AsyncSocketModeHandler(app, app_token=settings.SLACK_APP_TOKEN, web_client=app.client)
    try:
        await _connect(handler)
    except BaseException:
        await handler.close_async()
        raise
    log.info("Slack Socket Mode is connected")
    return SocketMode(handler)


async def _connect(handler: AsyncSocketModeHandler) -> None:
    client = handler.client
    try:
        # Asked for here, not inside connect(): connect() would retry a refused token forever.
        client.wss_uri = await client.issue_new_wss_url()
    except SlackApiError as error:
        code = error.response.get("error")
        raise SettingsError(
            f"SLACK_APP_TOKEN was refused by Slack ({code}): use an app-level token (xapp-...) "
            "with the connections:write scope",
            field="SLACK_APP_TOKEN",
        ) from None
    host = URL(client.wss_uri).host  # never the whole URL: its ticket opens a connection
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await handler.connect_async()
    except TimeoutError:
        raise ConnectionError(
            f"Slack's Socket Mode WebSocket at {host} did not open within {CONNECT_TIMEOUT:g} s"
        ) from None
