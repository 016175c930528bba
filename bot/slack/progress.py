"""Showing a change made in Slack at once: the campaign's progress message and the Home tabs,
and, made by someone other than its creator, a word in its thread to the creator.

The worker keeps the message up to date while it sends; a change made in Slack (a cancel, a
confirm) would otherwise show only at the worker's next update, or never for a campaign that is
not sending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.changes import change_notice, change_of
from bot.blocks.home_refresh import refresh_homes
from bot.blocks.people import slack_user
from bot.blocks.progress import progress_message
from bot.runtime import Runtime
from campaigns.models import Campaign
from campaigns.service import campaign_report

log = logging.getLogger(__name__)


async def refresh_progress(runtime: Runtime, client: AsyncWebClient, campaign_id: str) -> None:
    """The progress message, showing what just changed (best effort)."""
    report = await campaign_report(runtime.ctx, campaign_id)
    campaign = report.campaign
    if not (campaign.channel_id and campaign.progress_message_ts):
        return
    try:
        await client.chat_update(channel=campaign.channel_id, ts=campaign.progress_message_ts,
                                 **progress_message(report, rate=None, eta=None))  # fmt: skip
    except SlackApiError as error:
        log.warning("could not update a progress message: %s", error.response.get("error"))


async def announce(
    runtime: Runtime,
    client: AsyncWebClient,
    campaign: Campaign,
    by: str,
    *,
    changed: Iterable[str] = (),
    unsent: int | None = None,
) -> None:
    """A change made by someone other than the campaign's creator (`unsent`: a cancel), told
    in its thread, mentioning the creator; in the creator's direct messages without a thread."""
    text = change_notice(campaign, change_of(by, changed=changed, unsent=unsent))
    if text is None:
        return
    if campaign.channel_id and campaign.progress_message_ts:
        channel, thread = campaign.channel_id, campaign.progress_message_ts
    else:
        channel, thread = slack_user(campaign.created_by), None
    if channel is None:
        return
    try:
        await client.chat_postMessage(channel=channel, thread_ts=thread, text=text)
    except SlackApiError as error:
        log.warning("could not tell campaign %s's creator of a change: %s", campaign.id,
                    error.response.get("error"))  # fmt: skip


async def show_change(runtime: Runtime, client: AsyncWebClient, campaign_id: str) -> None:
    """After a change of state made here: the progress message, then the Home tabs of those
    who opened Home recently."""
    await refresh_progress(runtime, client, campaign_id)
    try:
        await refresh_homes(runtime.ctx, client, runtime.redis, runtime.settings.REDIS_NAMESPACE)
    except Exception as error:  # the change is made whatever Slack says
        log.warning("could not refresh the Home tabs: %r", error)
