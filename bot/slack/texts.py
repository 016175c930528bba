"""The buttons on a digest of texts (bot/blocks/inbound.py): see them all, opt out a number whose
reply asks in words not to be texted, cancel what still waits for a number that opted out.

Each acknowledges first, checks the person may act, changes state through the service layer,
tells the person what it did (only them: the digest is the shared record), and asks the worker
to refresh the digest, which then shows the change to everyone.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.actions import CANCEL_WAITING, OPT_OUT_NUMBER, SEE_ALL_TEXTS
from bot.blocks.inbound import cancelled_waiting_by, digest_modal
from bot.jobs import digest_every, enqueue_digest
from bot.runtime import Runtime
from bot.slack.permissions import require_permission, require_permission_to_see
from campaigns.errors import InputError, TextcastError
from campaigns.privacy import mask
from campaigns.service.inbound import cancel_waiting_for, get_inbound
from campaigns.service.texts_digest import ALL_SHOWN, digest_key, opt_out_from_reply, read_digest

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.action(SEE_ALL_TEXTS)(_see_all(runtime))
    app.action(OPT_OUT_NUMBER)(_on_text(runtime, _opt_out))
    app.action(CANCEL_WAITING)(_on_text(runtime, _cancel_waiting))


def _see_all(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        key = str((body.get("actions") or [{}])[0].get("value") or "")
        try:
            await require_permission_to_see(runtime, client, user_id, "the texts people sent")
            digest = await read_digest(runtime.ctx, key[:80], latest=ALL_SHOWN)
        except TextcastError as error:
            await _tell(client, body, error.message)
            return
        except ValueError:
            await _tell(client, body, "This button is not one Textcast made.")
            return
        await client.views_open(trigger_id=body["trigger_id"], view=digest_modal(digest))

    return listener


async def _opt_out(runtime: Runtime, user_id: str, inbound_id: int) -> str:
    inbound = await get_inbound(runtime.ctx, inbound_id)
    changed = await opt_out_from_reply(runtime.ctx, inbound_id, actor=f"slack:{user_id}")
    if not changed:
        return f"{mask(inbound.phone)} was already opted out."
    return f":no_entry: {mask(inbound.phone)} is opted out: Textcast will not text it again."


async def _cancel_waiting(runtime: Runtime, user_id: str, inbound_id: int) -> str:
    cancelled = await cancel_waiting_for(runtime.ctx, inbound_id, actor=f"slack:{user_id}")
    return cancelled_waiting_by(user_id, cancelled)


def _on_text(runtime: Runtime, press):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = body["user"]["id"]
        value = str((body.get("actions") or [{}])[0].get("value") or "")
        try:
            if not value.isascii() or not value.isdigit() or len(value) > 18:
                raise InputError("This button is not one Textcast made.")
            await require_permission(runtime, client, user_id)
            outcome = await press(runtime, user_id, int(value))
            inbound = await get_inbound(runtime.ctx, int(value))
        except TextcastError as error:
            await _tell(client, body, error.message)
            return
        except Exception:
            log.exception("the %s button failed", press.__name__)
            await _tell(client, body, "Something went wrong on Textcast's side; nothing was "
                        "changed that the message does not show.")  # fmt: skip
            return
        await enqueue_digest(runtime.redis, runtime.settings.REDIS_NAMESPACE,
                             digest_key(inbound), every=digest_every(runtime.settings))  # fmt: skip
        await _tell(client, body, outcome)

    listener.__name__ = press.__name__
    return listener


async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    user_id = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or user_id
    clicked = body.get("message") or {}
    thread = clicked.get("thread_ts")
    await client.chat_postEphemeral(channel=channel, user=user_id, text=text, thread_ts=thread)
