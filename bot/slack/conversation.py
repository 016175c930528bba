"""The Reply button on a text shown in a thread: a modal, and the answer sent as a campaign of one.

Reply pressed -> modal with the text quoted -> Send pressed
  -> cheap checks inline (empty, too long, braces, opted out, who may send)
  -> the modal closes; in the background: the answer stored as a draft (keyed by the view, so
     a double submit makes one), "Sending…" posted in the thread, its ts kept as the
     campaign's progress message, the campaign launched and handed to the worker
  -> the worker sends it like any campaign message and edits that thread message to "Sent",
     then "Delivered" as the receipt comes
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.actions import REPLY_TO_TEXT
from bot.blocks.compose import Metadata
from bot.blocks.conversation import REPLY_INPUT, REPLY_VIEW, reply_modal, reply_pending_message
from bot.jobs import digest_every, enqueue_digest, enqueue_start
from bot.runtime import Runtime
from bot.slack.background import spawn
from bot.slack.permissions import NotAllowed, require_permission
from campaigns.errors import InputError, TextcastError
from campaigns.privacy import mask
from campaigns.service import launch_campaign
from campaigns.service.conversation import checked_reply, draft_reply
from campaigns.service.inbound import get_inbound
from campaigns.service.optouts import opted_out_among
from campaigns.service.sending import set_progress_message
from campaigns.service.texts_digest import conversation_with, digest_key
from campaigns.status import CampaignStatus

log = logging.getLogger(__name__)
INBOUND, CHANNEL, THREAD = "i", "ch", "t"  # private_metadata keys
ONCE_SECONDS = 24 * 3600


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.action(REPLY_TO_TEXT)(_open(runtime))
    app.view(REPLY_VIEW)(_submitted(runtime))


def _open(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        value = str((body.get("actions") or [{}])[0].get("value") or "")
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get(
            "channel_id"
        )
        clicked = body.get("message") or {}
        thread = clicked.get("thread_ts") or clicked.get("ts")
        try:
            await require_permission(runtime, client, user_id)
            if not value.isdigit() or not channel or not thread:
                raise InputError("This button is not one Textcast made.")
            inbound = await get_inbound(runtime.ctx, int(value))
        except (TextcastError, NotAllowed) as error:
            text = error.message
            await client.chat_postEphemeral(channel=channel or user_id, user=user_id, text=text)
            return
        metadata = Metadata(extra={INBOUND: value, CHANNEL: channel, THREAD: thread})
        talk = await conversation_with(runtime.ctx, inbound.phone)
        answered = [a for a in talk.answers if a.at >= inbound.received_at]
        view = reply_modal(inbound, metadata, talk.entries, answered)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    return listener


def _submitted(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view, user_id = body["view"], body["user"]["id"]
        metadata = Metadata.load(view.get("private_metadata"))
        text = str(view["state"]["values"].get(REPLY_INPUT, {}).get(REPLY_INPUT, {}).get("value")
                   or "")  # fmt: skip
        inbound_id = int(metadata.extra.get(INBOUND) or 0)
        problem = await _problem(runtime, client, user_id, inbound_id, text)
        if problem:
            await ack(response_action="errors", errors={REPLY_INPUT: problem})
            return
        await ack()
        # One submission of this modal sends: Slack's retries and double clicks are dropped here,
        # before anything is posted (the draft's key would refuse a second campaign anyway).
        once = f"{runtime.settings.REDIS_NAMESPACE}:slack:reply:{view['id']}"
        if not await runtime.redis.set(once, "1", nx=True, ex=ONCE_SECONDS):
            return
        spawn(_send(runtime, client, user_id, metadata, text, key=f"reply:{view['id']}"),
              f"reply from {user_id}")  # fmt: skip

    return listener


async def _problem(
    runtime: Runtime, client: AsyncWebClient, user_id: str, inbound_id: int, text: str
) -> str | None:
    try:
        checked_reply(text)
        await require_permission(runtime, client, user_id)
        inbound = await get_inbound(runtime.ctx, inbound_id)
    except TextcastError as error:
        return error.message
    if await opted_out_among(runtime.ctx, [inbound.phone]):
        return f"{mask(inbound.phone)} has opted out (STOP): it cannot be texted."
    return None


async def _send(
    runtime: Runtime, client: AsyncWebClient, user_id: str, metadata: Metadata, text: str,
    *, key: str,
) -> None:  # fmt: skip
    channel, thread = metadata.extra[CHANNEL], metadata.extra[THREAD]
    actor = f"slack:{user_id}"
    try:
        draft = await draft_reply(runtime.ctx, int(metadata.extra[INBOUND]), text, actor, key=key)
        campaign = draft.campaign
        if campaign.status != CampaignStatus.DRAFT:
            return  # the same submission again: sent already
        if not campaign.progress_message_ts:
            posted = await client.chat_postMessage(
                channel=channel, thread_ts=thread, **reply_pending_message(user_id, text.strip())
            )
            await set_progress_message(
                runtime.ctx, campaign.id, channel_id=str(posted["channel"]), ts=str(posted["ts"])
            )
        launched = await launch_campaign(runtime.ctx, campaign.id, actor, consent_confirmed=True)
        namespace = runtime.settings.REDIS_NAMESPACE
        await enqueue_start(runtime.redis, namespace, launched.campaign.id,
                            launched.campaign.version)  # fmt: skip
        # The digest the text is in shows who answered it.
        inbound = await get_inbound(runtime.ctx, int(metadata.extra[INBOUND]))
        await enqueue_digest(runtime.redis, namespace, digest_key(inbound),
                             every=digest_every(runtime.settings))  # fmt: skip
    except (TextcastError, SlackApiError) as error:
        why = (
            error.message if isinstance(error, TextcastError) else str(error.response.get("error"))
        )
        log.warning("a reply from %s was not sent: %s", user_id, why)
        await client.chat_postEphemeral(channel=channel, user=user_id,
                                        text=f"Your reply was not sent: {why}")  # fmt: skip
