"""The Slack side of the texts recipients send: one digest message per campaign, in its thread,
and one per day in SLACK_NOTIFY_CHANNEL for texts that answer no campaign, edited as texts come.

`handle_inbound` (the job the web process, or the inbound poller, enqueues for each text, and the
sweep for any the queue lost) only asks for its digest to be refreshed. The refresh is a job per
digest and time slot (`enqueue_digest`), so a burst of 50 replies makes one edit per slot, not 50
(Slack's chat.update is about 50 a minute for the whole workspace). The refresh reads every text
of the digest from the database, posts the message or edits it, and records the texts it showed
as handled: a text whose refresh failed stays unhandled and the sweep asks again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.blocks.inbound import digest_message, replies_waiting
from bot.blocks.people import slack_user
from bot.jobs import digest_every, enqueue_digest, enqueue_inbound
from campaigns.keywords import Meaning
from campaigns.privacy import mask
from campaigns.service.inbound import get_inbound, mark_handled, pending_inbound
from campaigns.service.status_news import status_news_key
from campaigns.service.texts_digest import Digest, digest_key, mark_shown, read_digest
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)
UNHANDLED_AFTER = timedelta(seconds=30)  # a text not handled by then lost its job
LOCK_SECONDS = 30  # longer than a post with its retries takes
GONE = frozenset({"message_not_found", "cant_update_message"})
# The creator is told in their direct messages of new replies waiting for an answer at most once
# in this long per campaign (the digest's first post mentions them, and counts for it).
NUDGE_SECONDS = 600


async def handle_inbound(rt: WorkerRuntime, inbound_id: int) -> str:
    inbound = await get_inbound(rt.ctx, inbound_id)
    if inbound.handled_at is not None:
        return "handled already"
    if getattr(rt.reporter, "slack", None) is None:
        await mark_handled(rt.ctx, inbound_id, None, None)
        return "nowhere to post"
    await enqueue_digest(
        rt.redis, rt.namespace, digest_key(inbound), every=digest_every(rt.settings)
    )
    return "digest asked"


async def refresh_digest(rt: WorkerRuntime, key: str) -> str:
    """Post or edit the digest `key` with every text it has now."""
    slack = getattr(rt.reporter, "slack", None)
    lock = f"{rt.namespace}:digest-lock:{key}"
    if not await rt.redis.set(lock, "1", nx=True, ex=LOCK_SECONDS):
        # Another process is posting it: try again in the next slot, for what it did not see.
        await enqueue_digest(
            rt.redis, rt.namespace, key, every=digest_every(rt.settings), later=True
        )
        return "busy elsewhere"
    try:
        digest = await read_digest(rt.ctx, key)
        campaign = digest.campaign
        channel = campaign.channel_id if campaign and campaign.channel_id else None
        thread = campaign.progress_message_ts if campaign and channel else None
        channel = channel or rt.settings.SLACK_NOTIFY_CHANNEL
        if slack is None or channel is None:
            await mark_shown(rt.ctx, digest.unhandled, None, None)
            return "nowhere to post"
        content = digest_message(digest)
        try:
            where = digest.where
            if where is not None and not await _edited(slack, where, content):
                where = None  # the message is gone (deleted by someone): a new one replaces it
            if where is None:
                posted = await slack.chat_postMessage(
                    channel=channel, thread_ts=thread, unfurl_links=False, **content
                )
                where = (str(posted["channel"]), str(posted["ts"]))
        except SlackApiError as error:
            # Kept unhandled: the sweep tries again (a channel archived for good stays in the log).
            log.warning("the texts of %s could not be shown in Slack: %s (latest from %s)", key,
                        error.response.get("error"),
                        mask(digest.latest[0].message.phone) if digest.latest else "-")  # fmt: skip
            return "not posted"
        await mark_shown(rt.ctx, digest.unhandled, *where)
        if campaign is not None:
            await _tell_creator(rt, slack, digest, channel, posted=where != digest.where)
        if campaign is not None:  # its summary counts replies and opt-outs
            await rt.redis.sadd(status_news_key(rt.settings), campaign.id)
        return "posted" if digest.where is None else "updated"
    finally:
        try:
            await rt.redis.delete(lock)
        except RedisError:  # it expires by itself
            pass


async def _tell_creator(
    rt: WorkerRuntime, slack: Any, digest: Digest, channel: str, *, posted: bool
) -> None:
    """New replies that wait for an answer are told to the campaign's creator: a posted digest
    mentions them (Slack notifies them of it); an edited one notifies nobody, so they are told
    in their direct messages, at most once every NUDGE_SECONDS a campaign."""
    campaign = digest.campaign
    user = slack_user(campaign.created_by) if campaign is not None else None
    if campaign is None or user is None or not digest.unanswered or not _new_question(digest):
        return
    try:
        first = await rt.redis.set(f"{rt.namespace}:reply-nudge:{campaign.id}", "1", nx=True,
                                   ex=NUDGE_SECONDS)  # fmt: skip
    except RedisError:
        return  # not told twice for want of Redis: the digest shows what waits
    if not first or posted:
        return
    try:
        await slack.chat_postMessage(channel=user, **replies_waiting(digest, channel))
    except SlackApiError as error:
        log.warning("could not tell the creator of %s of replies: %s", campaign.id,
                    error.response.get("error"))  # fmt: skip


def _new_question(digest: Digest) -> bool:
    """Among the texts this refresh showed for the first time, a reply nobody answered yet from
    a number that may still be texted."""
    new = set(digest.unhandled)
    return any(
        text.message.id in new and text.message.meaning == Meaning.REPLY
        and not text.answers and not text.opted_out
        for text in digest.latest
    )  # fmt: skip


async def _edited(slack: Any, where: tuple[str, str], content: dict[str, Any]) -> bool:
    """Edit the digest message in place; False if Slack no longer has it to edit."""
    try:
        await slack.chat_update(channel=where[0], ts=where[1], **content)
    except SlackApiError as error:
        if error.response.get("error") in GONE:
            return False
        raise
    return True


async def requeue_unhandled(rt: WorkerRuntime) -> int:
    """Texts whose job was lost (Redis flushed, a web process gone before enqueueing)."""
    ids = await pending_inbound(rt.ctx, older_than=UNHANDLED_AFTER)
    for inbound_id in ids:
        await enqueue_inbound(rt.redis, rt.namespace, inbound_id)
    return len(ids)
