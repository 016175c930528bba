"""Confirm on the preview: post the progress message, launch the draft, hand it to the worker.

The progress message is posted first, while the campaign is still a draft: if Textcast cannot
post in the channel (a private channel it was not invited to), nothing is launched and the
preview says how to fix it. A double click, or Slack sending the click again, finds the lock
taken (or the campaign no longer a draft) and changes nothing: one campaign, one message.

When every message the preview shows has a placeholder left empty, only "Send anyway" (its own
action id) goes through: a plain Confirm (a view shown before, or a forged click) gets the
preview back saying so, and nothing is sent.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.changes import fields_changed
from bot.blocks.compose import Metadata, notice_view
from bot.blocks.preview import CONFIRM, CONFIRM_ANYWAY, preview_view
from bot.blocks.progress import progress_message, zone_city
from bot.blocks.text import local_time, plural
from bot.jobs import enqueue_confirmed
from bot.runtime import Runtime
from bot.slack.compose import BASED_ON, EDITING, SAMPLES
from bot.slack.permissions import require_permission
from bot.slack.progress import announce, show_change
from campaigns.errors import TextcastError
from campaigns.service import (
    campaign_report,
    gaps_in_every_sample,
    get_campaign,
    launch_campaign,
    preview_campaign,
)
from campaigns.service.preview import HoursWait, WaitGroup, waiting_now
from campaigns.service.revision import apply_draft
from campaigns.service.sending import set_progress_message
from campaigns.status import CampaignStatus, status_said

log = logging.getLogger(__name__)
LOCK_SECONDS = 60
# What chat.postMessage answers when the bot may not post in a channel.
CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.action(CONFIRM)(_confirmed(runtime, anyway=False))
    app.action(CONFIRM_ANYWAY)(_confirmed(runtime, anyway=True))


def _confirmed(runtime: Runtime, *, anyway: bool):  # type: ignore[no-untyped-def]
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        metadata = Metadata.load(view.get("private_metadata"))
        user_id = body["user"]["id"]
        if not metadata.draft:
            return
        lock = f"{runtime.settings.REDIS_NAMESPACE}:slack:confirm:{metadata.draft}"
        if not await runtime.redis.set(lock, user_id, nx=True, ex=LOCK_SECONDS):
            log.info("confirm of %s pressed again while in hand: ignored", metadata.draft)
            return
        try:
            shown = await _confirm(runtime, client, user_id, metadata, anyway=anyway)
        except TextcastError as error:
            shown = await _preview_with(runtime, metadata, error.message)
        finally:
            await runtime.redis.delete(lock)
        try:
            await client.views_update(view_id=view["id"], view=shown)
        except SlackApiError as error:
            log.info("the confirmation was not shown: %s", error.response.get("error"))

    return listener


async def _confirm(
    runtime: Runtime, client: AsyncWebClient, user_id: str, metadata: Metadata, *, anyway: bool
) -> dict[str, Any]:
    await require_permission(runtime, client, user_id)
    if metadata.extra.get(EDITING):
        await _refuse_gaps(runtime, metadata, anyway=anyway)
        return await _apply_edit(runtime, client, user_id, metadata)
    draft_id = metadata.draft or ""
    report = await campaign_report(runtime.ctx, draft_id)
    campaign = report.campaign
    if campaign.created_by != f"slack:{user_id}":  # before anything is posted in the channel
        raise TextcastError("This draft is someone else's: only they can confirm it.")
    if campaign.status != CampaignStatus.DRAFT:
        return _launched_view(campaign.status, campaign.name, campaign.channel_id,
                              campaign.scheduled_at, again=True)  # fmt: skip
    await _refuse_gaps(runtime, metadata, anyway=anyway)
    channel = metadata.channel or campaign.channel_id  # picked in the form, or where typed
    if not channel:
        raise TextcastError(
            "There is no channel to report in: run /sms new in a channel, or ask whoever runs "
            "Textcast to choose one for campaigns started elsewhere."
        )
    ts = campaign.progress_message_ts
    if not ts:
        ts = await _post_progress(client, channel, progress_message(report, rate=None, eta=None))
        await set_progress_message(runtime.ctx, draft_id, channel_id=channel, ts=ts)
    launched = await launch_campaign(
        runtime.ctx, draft_id, f"slack:{user_id}", consent_confirmed=True
    )
    started = launched.campaign
    await enqueue_confirmed(runtime.redis, runtime.settings.REDIS_NAMESPACE, started)
    await show_change(runtime, client, started.id)
    return _launched_view(started.status, started.name, channel, started.scheduled_at,
                          wait=await _hours_wait(runtime, started.id, started.status))  # fmt: skip


async def _hours_wait(runtime: Runtime, campaign_id: str, status: str) -> HoursWait | None:
    """Who waits for their sending hours, for a campaign that starts now."""
    if status != CampaignStatus.RUNNING:
        return None
    return await waiting_now(runtime.ctx, campaign_id)


async def _refuse_gaps(runtime: Runtime, metadata: Metadata, *, anyway: bool) -> None:
    """A plain Confirm of a draft whose every sample has a gap is refused: only the preview's
    "anyway" button sends it."""
    if anyway:
        return
    if await gaps_in_every_sample(runtime.ctx, metadata.draft or "", samples=SAMPLES):
        raise TextcastError("Every message shown has a gap: nothing was sent. Check the "
                            "message, or use its “anyway” button if that is meant.")  # fmt: skip


async def _apply_edit(
    runtime: Runtime, client: AsyncWebClient, user_id: str, metadata: Metadata
) -> dict[str, Any]:
    """The scheduled campaign becomes what the draft says; its new version gets a start job."""
    campaign_id = metadata.extra[EDITING]
    before = (await get_campaign(runtime.ctx, campaign_id, recipients_limit=1)).view.campaign
    applied = await apply_draft(runtime.ctx, campaign_id, metadata.draft or "", f"slack:{user_id}",
                                based_on=int(metadata.extra.get(BASED_ON, "0")))  # fmt: skip
    campaign = applied.campaign
    await enqueue_confirmed(runtime.redis, runtime.settings.REDIS_NAMESPACE, campaign)
    await show_change(runtime, client, campaign.id)
    await announce(runtime, client, campaign, f"slack:{user_id}",
                   changed=fields_changed(before, campaign))  # fmt: skip
    view = _launched_view(campaign.status, campaign.name, campaign.channel_id,
                          campaign.scheduled_at,
                          wait=await _hours_wait(runtime, campaign.id, campaign.status))  # fmt: skip
    view["title"]["text"] = "Changes saved"
    return view


async def _post_progress(client: AsyncWebClient, channel: str, content: dict[str, Any]) -> str:
    try:
        posted = await client.chat_postMessage(channel=channel, **content)
    except SlackApiError as error:
        code = error.response.get("error")
        if code in CANNOT_POST:
            raise TextcastError(
                f"Textcast cannot post in <#{channel}>: invite it there first (type "
                "`/invite @Textcast` in the channel), then press Confirm again. Nothing was sent."
            ) from None
        raise TextcastError(
            f"Slack refused the progress message ({code}): nothing was sent. Try again in a moment."
        ) from None
    return str(posted["ts"])


def _launched_view(
    status: str,
    name: str,
    channel: str | None,
    send_at: Any,
    *,
    again: bool = False,
    wait: HoursWait | None = None,
) -> dict[str, Any]:
    where = f" Its progress message is in <#{channel}>." if channel else ""
    first = wait.groups[0] if wait and wait.groups else None
    if status == CampaignStatus.SCHEDULED and send_at is not None:
        title, text = "Scheduled", f"*{name}* is scheduled for {local_time(send_at)}."
    elif status == CampaignStatus.RUNNING and wait and first and wait.everyone:
        title = "Waiting for hours"
        text = (
            f"*{name}* is waiting for sending hours: first texts {_release(first)}. "
            "Nothing is sent before then, and you can still edit it until the first text leaves."
        )
    elif status == CampaignStatus.RUNNING and wait and first:
        title = "Sending"
        text = (
            f"*{name}* is sending now. {plural(wait.waiting, 'recipient')} "
            f"{'waits' if wait.waiting == 1 else 'wait'} for their sending hours: the first "
            f"{_release(first)}."
        )
    elif status == CampaignStatus.RUNNING:
        title, text = "Sending", f"*{name}* is sending now."
    elif status == CampaignStatus.AWAITING_APPROVAL:
        title, text = (
            "Waiting for approval",
            (
                f"*{name}* needs a second person's approval before anything is sent: someone who "
                "may send campaigns, other than you, is asked to approve it."
            ),
        )
    else:
        title, text = "Confirmed", f"*{name}* is {status_said(status)}."
    if again:
        text = "This campaign was already confirmed. " + text
    return notice_view(title, text + where)


def _release(group: WaitGroup) -> str:
    """'today at 16:00 (08:00 in Los Angeles)': the reader's time, then the recipients'."""
    city = zone_city(group.zone.split(" ")[0])  # "Europe/London and 2 other zones"
    return f"{local_time(group.release)} ({group.local} in {city})"


async def _preview_with(runtime: Runtime, metadata: Metadata, problem: str) -> dict[str, Any]:
    """The preview again, with what went wrong on top, so Confirm can be pressed again."""
    try:
        preview = await preview_campaign(runtime.ctx, metadata.draft or "", samples=SAMPLES)
    except TextcastError:
        return notice_view("Not sent", problem, metadata)
    return preview_view(preview, metadata, problem=problem)
