"""App Home: the tab shown on `app_home_opened`, its New campaign and Cancel buttons."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import HOME_CANCEL, HOME_NEW
from bot.blocks.home_refresh import publish_home, refresh_homes
from bot.runtime import Runtime
from bot.slack.compose import open_compose
from bot.slack.permissions import require_permission
from bot.slack.progress import announce, show_change
from campaigns.errors import TextcastError
from campaigns.service import cancel_campaign

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    namespace = runtime.settings.REDIS_NAMESPACE

    async def opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await publish_home(runtime.ctx, client, runtime.redis, namespace, event["user"])

    async def new_campaign(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_compose(runtime, client, body["trigger_id"], None, body["user"]["id"])

    async def cancel(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        campaign_id = body["actions"][0]["value"]
        try:
            await require_permission(runtime, client, user_id)
            view, unsent = await cancel_campaign(runtime.ctx, campaign_id,
                                                 actor=f"slack:{user_id}")  # fmt: skip
        except TextcastError as error:
            await _tell(client, user_id, error.message)
            await refresh_homes(runtime.ctx, client, runtime.redis, namespace)  # as it is now
        else:
            await show_change(runtime, client, campaign_id)
            await announce(runtime, client, view.campaign, f"slack:{user_id}", unsent=unsent)

    app.event("app_home_opened")(opened)
    app.action(HOME_NEW)(new_campaign)
    app.action(HOME_CANCEL)(cancel)


async def _tell(client: AsyncWebClient, user_id: str, text: str) -> None:
    """A message in the app's DM with the person: Home has no channel to answer in."""
    try:
        await client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as error:
        log.warning("could not tell %s why: %s", user_id, error.response.get("error"))
