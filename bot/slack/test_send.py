"""Send a test to me, from the preview: the number is checked here, remembered for next time,
and the worker sends the message (worker/test_send.py) and says what happened."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.compose import Metadata
from bot.blocks.preview import SEND_TEST
from bot.blocks.test_send import TEST, TEST_PHONE, test_view
from bot.jobs import enqueue_test
from bot.runtime import Runtime
from bot.slack.permissions import NOT_ALLOWED, NotAllowed, require_permission
from campaigns.recipients import normalise_phone

REMEMBER_SECONDS = 365 * 86_400


def _remembered_key(runtime: Runtime, user_id: str) -> str:
    return f"{runtime.settings.REDIS_NAMESPACE}:slack:test-number:{user_id}"


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def open_test(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        metadata = Metadata.load(body["view"].get("private_metadata"))
        raw = await runtime.redis.get(_remembered_key(runtime, body["user"]["id"]))
        remembered = raw.decode() if isinstance(raw, bytes) else raw
        await client.views_push(trigger_id=body["trigger_id"], view=test_view(metadata, remembered))

    async def submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = body["user"]["id"]
        typed = str(body["view"]["state"]["values"][TEST_PHONE][TEST_PHONE].get("value") or "")
        result = normalise_phone(typed.strip(), runtime.settings.DEFAULT_REGION)
        if result.e164 is None:
            await ack(response_action="errors",
                      errors={TEST_PHONE: f"Not a phone number: {result.reason}."})  # fmt: skip
            return
        try:
            await require_permission(runtime, client, user_id)
        except NotAllowed:
            await ack(response_action="errors", errors={TEST_PHONE: NOT_ALLOWED})
            return
        await ack()  # back to the preview
        metadata = Metadata.load(body["view"].get("private_metadata"))
        await runtime.redis.set(_remembered_key(runtime, user_id), result.e164,
                                ex=REMEMBER_SECONDS)  # fmt: skip
        await enqueue_test(runtime.redis, runtime.settings.REDIS_NAMESPACE, metadata.draft or "",
                           result.e164, user_id)  # fmt: skip

    app.action(SEND_TEST)(open_test)
    app.view(TEST)(submitted)
