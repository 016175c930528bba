"""Send a test to me, from the preview. The test goes only to the phone number in the person's
own Slack profile (users.info, read again when they press Send), so a test is never a way to
text someone else; it is recorded (the hourly limit, the month's spend) before the worker sends
it (worker/test_send.py) and says what happened."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.compose import Metadata
from bot.blocks.preview import SEND_TEST
from bot.blocks.test_send import TEST, cannot_test_view, test_view
from bot.jobs import enqueue_test
from bot.runtime import Runtime
from bot.slack.permissions import NotAllowed, require_permission
from campaigns.errors import TextcastError
from campaigns.recipients import normalise_phone
from campaigns.service.test_sends import reserve_test_send, settle_test_send
from campaigns.status import TestSendStatus

log = logging.getLogger(__name__)

NO_PHONE = (
    "There is no phone number in your Slack profile, and a test goes only there. Add your "
    "mobile number to your profile (your picture, Profile, Edit, Phone), then press Send a "
    "test to me again."
)


async def profile_phone(runtime: Runtime, client: AsyncWebClient, user_id: str) -> str:
    """The person's own number (E.164), from their Slack profile; TextcastError saying what to
    do when there is none Textcast can text."""
    try:
        found = await client.users_info(user=user_id)
    except SlackApiError as error:
        log.info("no profile for %s (%s)", user_id, error.response.get("error"))
        raise TextcastError("Slack did not say what your phone number is: try again.") from None
    typed = str(((found.get("user") or {}).get("profile") or {}).get("phone") or "").strip()
    if not typed:
        raise TextcastError(NO_PHONE)
    result = normalise_phone(typed, runtime.settings.DEFAULT_REGION)
    if result.e164 is None:
        raise TextcastError(
            f"The phone in your Slack profile ({typed}) is not a number Textcast can text: "
            f"{result.reason}. Correct it in your profile, with its country code (+44...), "
            "then press Send a test to me again."
        )
    return result.e164


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def open_test(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        metadata = Metadata.load(body["view"].get("private_metadata"))
        try:
            view = test_view(metadata, await profile_phone(runtime, client, body["user"]["id"]))
        except TextcastError as error:
            view = cannot_test_view(metadata, error.message)
        await client.views_push(trigger_id=body["trigger_id"], view=view)

    async def submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = body["user"]["id"]
        metadata = Metadata.load(body["view"].get("private_metadata"))
        try:
            await require_permission(runtime, client, user_id)
        except NotAllowed as refused:
            await ack(response_action="update", view=cannot_test_view(metadata, refused.message))
            return
        try:
            # Read again: the view's text is only what was shown.
            phone = await profile_phone(runtime, client, user_id)
            reserved = await reserve_test_send(runtime.ctx, metadata.draft or "",
                                               f"slack:{user_id}", phone)  # fmt: skip
        except TextcastError as error:
            await ack(response_action="update", view=cannot_test_view(metadata, error.message))
            return
        try:
            await enqueue_test(runtime.redis, runtime.settings.REDIS_NAMESPACE,
                               reserved.campaign_id, phone, user_id, reserved.id)  # fmt: skip
        except (RedisError, OSError) as error:
            log.warning("a test could not be queued (%r)", error)
            await settle_test_send(runtime.ctx, reserved.id, TestSendStatus.NOT_SENT)
            await ack(response_action="update", view=cannot_test_view(
                metadata, "No test was sent: Textcast could not hand it to its worker. Try "
                "again in a minute."))  # fmt: skip
            return
        await ack()  # back to the preview

    app.action(SEND_TEST)(open_test)
    app.view(TEST)(submitted)
