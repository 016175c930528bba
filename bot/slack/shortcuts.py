"""The global shortcut "New SMS campaign": the same modal as `/sms new`, reporting to
SLACK_NOTIFY_CHANNEL (a shortcut is not run in a channel)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack.compose import open_compose

NEW_CAMPAIGN = "new_sms_campaign"  # callback_id, as in manifest.yml


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def new_campaign(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_compose(runtime, client, body["trigger_id"], None, body["user"]["id"])

    app.shortcut(NEW_CAMPAIGN)(new_campaign)
