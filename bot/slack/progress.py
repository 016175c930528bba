"""Showing a change made in Slack at once: the campaign's progress message and the Home tabs.

The worker keeps the message up to date while it sends; a change made in Slack (a cancel, a
confirm) would otherwise show only at the worker's next update, or never for a campaign that is
not sending.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home_refresh import refresh_homes
from bot.blocks.progress import progress_message
from bot.runtime import Runtime
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


async def show_change(runtime: Runtime, client: AsyncWebClient, campaign_id: str) -> None:
    """After a change of state made here: the progress message, then the Home tabs of those
    who opened Home recently."""
    await refresh_progress(runtime, client, campaign_id)
    try:
        await refresh_homes(runtime.ctx, client, runtime.redis, runtime.settings.REDIS_NAMESPACE)
    except Exception as error:  # the change is made whatever Slack says
        log.warning("could not refresh the Home tabs: %r", error)
