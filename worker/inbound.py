"""The Slack side of a text a recipient sent: posted in the thread of the campaign it answers.

Run by the `handle_inbound` job the web process (or the inbound poller) enqueues, and by the
sweep for any the queue lost. A text already handled is left alone, so a job run twice posts once
(but for a crash between the post and the record of it, when the sweep posts it again: a repeated
notice is better than a lost STOP or reply).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.blocks.inbound import InboundContext, inbound_message
from bot.blocks.people import slack_user
from bot.jobs import enqueue_inbound
from campaigns.keywords import Meaning
from campaigns.models import Campaign, InboundMessage, Recipient
from campaigns.privacy import mask
from campaigns.service.inbound import get_inbound, mark_handled, pending_inbound, waiting_for
from campaigns.service.status_news import status_news_key
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)
UNHANDLED_AFTER = timedelta(seconds=30)  # a text not handled by then lost its job


async def handle_inbound(rt: WorkerRuntime, inbound_id: int) -> str:
    inbound = await get_inbound(rt.ctx, inbound_id)
    if inbound.handled_at is not None:
        return "handled already"
    slack = getattr(rt.reporter, "slack", None)
    campaign, variables = await _context_of(rt, inbound)
    channel = campaign.channel_id if campaign and campaign.channel_id else None
    thread = campaign.progress_message_ts if campaign and channel else None
    channel = channel or rt.settings.SLACK_NOTIFY_CHANNEL
    if slack is None or channel is None:
        await mark_handled(rt.ctx, inbound_id, None, None)
        return "nowhere to post"
    waiting = await waiting_for(rt.ctx, inbound.phone) if inbound.meaning == Meaning.OPT_OUT else 0
    creator = slack_user(campaign.created_by) if campaign else None
    about = InboundContext(campaign.name if campaign else None, waiting, variables, creator)
    content = inbound_message(inbound, about)
    try:
        posted = await slack.chat_postMessage(
            channel=channel, thread_ts=thread, unfurl_links=False, **content
        )
    except SlackApiError as error:
        # Kept unhandled: the sweep tries again (a channel archived for good stays in the log).
        log.warning("the text from %s could not be posted in Slack: %s",
                    mask(inbound.phone), error.response.get("error"))  # fmt: skip
        return "not posted"
    await mark_handled(rt.ctx, inbound_id, str(posted["channel"]), str(posted["ts"]))
    if campaign is not None:  # its summary counts replies and opt-outs: refreshed with receipts
        await rt.redis.sadd(status_news_key(rt.settings), campaign.id)
    return "posted"


async def _context_of(
    rt: WorkerRuntime, inbound: InboundMessage
) -> tuple[Campaign | None, dict[str, str]]:
    if inbound.campaign_id is None:
        return None, {}
    async with rt.ctx.db.read() as session:
        campaign = await session.get(Campaign, inbound.campaign_id)
        recipient = (
            await session.get(Recipient, inbound.recipient_id) if inbound.recipient_id else None
        )
    variables = (
        dict(recipient.variables) if recipient and isinstance(recipient.variables, dict) else {}
    )
    return campaign, {str(k): str(v) for k, v in variables.items()}


async def requeue_unhandled(rt: WorkerRuntime) -> int:
    """Texts whose job was lost (Redis flushed, a web process gone before enqueueing)."""
    ids = await pending_inbound(rt.ctx, older_than=UNHANDLED_AFTER)
    for inbound_id in ids:
        await enqueue_inbound(rt.redis, rt.namespace, inbound_id)
    return len(ids)
