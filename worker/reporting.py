"""What the sending engine tells Slack: one progress message per campaign, updated in place, and
the summary and the notices that need a person, in its thread.

Every worker process has a Reporter, and any of them may be driving a campaign, so what must happen
once is decided in Redis: who posts the progress message (a short lock, then the stored ts), when
it may next be updated (a key that lives `interval` seconds), and the previous sample the send rate
is measured from. Reporting never stops sending: Slack's, Redis's and the database's errors are
logged here and never reach the engine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.approval import approval_request, waiting_note
from bot.blocks.changes import change_notice
from bot.blocks.conversation import reply_status_message
from bot.blocks.home_refresh import refresh_homes
from bot.blocks.notices import late_start_message, paused_message
from bot.blocks.people import slack_user
from bot.blocks.progress import progress_message
from bot.blocks.summary import summary_message
from campaigns.models import Campaign
from campaigns.service import CampaignReport, Context, campaign_report
from campaigns.service.approval import set_approval_message
from campaigns.service.chart_uploads import chart_posted, take_chart
from campaigns.service.conversation import REPLY
from campaigns.service.sending import set_progress_message
from campaigns.service.timeline import TimelinePoint, delivery_timeline
from campaigns.status import CampaignStatus
from charts.payload import chart_payload
from charts.renderer import ChartError, ChartRenderer

log = logging.getLogger(__name__)

POST_LOCK_SECONDS = 30  # longer than a chat.postMessage with its retries takes
WAIT_FOR_OTHER_POSTER = 5.0  # how long a notice waits for another process's progress message
NOTICE_SECONDS = 86_400  # one notice per pause (each pause bumps the campaign's version)
SHOWN_SECONDS = 86_400  # how long what a message shows is remembered, to skip identical edits
# A rate sample older than this says nothing about the current pace (a pause came between).
MIN_SAMPLE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Where:
    channel: str
    ts: str
    posted_now: bool = False


class Reporter:
    def __init__(
        self,
        ctx: Context,
        slack: AsyncWebClient | None,
        redis: Redis,
        *,
        interval: float,
        charts: ChartRenderer | None = None,
    ) -> None:
        self.ctx = ctx
        self.slack = slack
        self.redis = redis
        self.interval = interval
        self.charts = charts  # None: no delivery chart in the thread
        self._namespace = ctx.settings.REDIS_NAMESPACE
        self._told_no_channel: set[str] = set()

    # -- what the engine calls

    async def started(self, campaign_id: str) -> None:
        """Post the progress message, unless the campaign has one already."""
        if self.slack is None:
            return
        async with self._reporting("post the progress message of", campaign_id):
            await self._progress_message(await campaign_report(self.ctx, campaign_id))
        await self.homes()

    async def tick(self, campaign_id: str, *, force: bool = False) -> None:
        """Update the progress message, at most once per `interval` across every process."""
        if self.slack is None:
            return
        async with self._reporting("update the progress message of", campaign_id):
            if force:
                await self._hold_updates(campaign_id)
            elif not await self._may_update(campaign_id):
                return
            await self._update_progress(await campaign_report(self.ctx, campaign_id))

    async def finished(self, campaign_id: str) -> bool:
        """The final progress update and the summary in its thread; True once receipts settled.

        Without Slack there is nothing to refresh, so that is True too.
        """
        settled = await self._wrap_up(campaign_id, final=False)
        await self.homes()
        return settled

    async def homes(self) -> None:
        """The App Home tab, again for those who opened it recently (coalesced: see
        bot.blocks.home_refresh): a campaign changed state."""
        if self.slack is None:
            return
        try:
            await refresh_homes(self.ctx, self.slack, self.redis, self._namespace)
        except Exception as error:  # Slack or the database away: the next change tries again
            log.warning("could not refresh the Home tabs: %r", error)

    async def changed(self, campaign_id: str, change: dict[str, Any] | None = None) -> None:
        """A change made over the API (an edit, a cancel): the progress message shows it, if
        the campaign has one (one made over the API gets its first when it starts), and so do
        the Home tabs. Made by someone other than its creator (`change` says who, and what),
        it is told in the campaign's thread, mentioning the creator (in their direct messages
        when there is no thread yet)."""
        if self.slack is None:
            return
        async with self._reporting("update the progress message of", campaign_id):
            report = await campaign_report(self.ctx, campaign_id)
            campaign = report.campaign
            if campaign.channel_id and campaign.progress_message_ts:
                await self._hold_updates(campaign_id)
                await self._edit(campaign.channel_id, campaign.progress_message_ts,
                                 _progress(report, None, None))  # fmt: skip
        if change:
            async with self._reporting("tell the thread of a change to", campaign_id):
                await self._tell_change(campaign_id, change)
        await self.homes()

    async def _tell_change(self, campaign_id: str, change: dict[str, Any]) -> None:
        assert self.slack is not None
        campaign = (await campaign_report(self.ctx, campaign_id)).campaign
        text = change_notice(campaign, change)
        if text is None:
            return
        if campaign.channel_id and campaign.progress_message_ts:
            await self.slack.chat_postMessage(channel=campaign.channel_id,
                                              thread_ts=campaign.progress_message_ts, text=text)  # fmt: skip
        elif (creator := slack_user(campaign.created_by)) is not None:
            await self.slack.chat_postMessage(channel=creator, text=text)

    async def refresh_summary(self, campaign_id: str, *, final: bool = False) -> bool:
        """Update the summary (and the progress counts) in place as receipts arrive; post it if
        `finished` could not. True when nothing awaits a receipt.

        `final`: stop waiting; what has no receipt by now is shown as never confirmed.
        """
        return await self._wrap_up(campaign_id, final=final)

    async def paused(self, campaign_id: str) -> None:
        """The engine paused the campaign: say why, with Resume and Cancel, in the thread."""
        await self._notice(campaign_id, paused_message)
        await self.homes()

    async def ask_approval(self, campaign_id: str, version: int) -> str:
        """Post the Approve / Reject request (APPROVALS_CHANNEL, or the campaign's channel),
        and a note in the campaign's thread saying where it was asked."""
        if self.slack is None:
            return "no Slack"
        async with self._reporting("ask approval for", campaign_id):
            report = await campaign_report(self.ctx, campaign_id)
            campaign = report.campaign
            if campaign.status != CampaignStatus.AWAITING_APPROVAL or campaign.version != version:
                return "not awaiting approval"
            if campaign.approval_ts:
                return "asked already"
            where = await self._progress_message(report)
            channel = self.ctx.settings.APPROVALS_CHANNEL or campaign.channel_id
            if channel is None:
                self._no_channel(campaign)
                return "no channel"
            content = approval_request(campaign, report.counts.total, self.ctx.settings)
            landed, ts = await self._post(channel, content)
            await set_approval_message(self.ctx, campaign_id, landed, ts)
            if where is not None:
                note = waiting_note(landed, campaign.approval_reason)
                await self.slack.chat_postMessage(channel=where.channel, thread_ts=where.ts,
                                                  text=note)  # fmt: skip
            await self.homes()
            return "asked"
        return "failed"

    async def late(self, campaign_id: str) -> None:
        """The campaign was found long after its time: offer Send now and Cancel, in the thread."""
        await self._notice(campaign_id, late_start_message)

    # -- the messages

    async def _wrap_up(self, campaign_id: str, *, final: bool) -> bool:
        if self.slack is None:
            return True
        report = None
        async with self._reporting("read the report of", campaign_id):
            await self._hold_updates(campaign_id)
            report = await campaign_report(self.ctx, campaign_id)
        if report is None:
            return False
        # Separately: a progress message Slack will not update must not hold the summary back.
        async with self._reporting("update the progress message of", campaign_id):
            # Its counts say what the summary says: final once the wait for receipts is over.
            await self._update_progress(report, final=report.settled or final)
        async with self._reporting("post or update the summary of", campaign_id):
            await self._summary(report, settled=report.settled or final)
        # After the summary, and apart from it: a chart that fails never holds the summary back.
        async with self._reporting("post the delivery chart of", campaign_id):
            await self._chart(report, final=report.settled or final)
        return report.settled

    async def _progress_message(self, report: CampaignReport) -> Where | None:
        """Where the progress message is, posting it first if nobody has."""
        campaign = report.campaign
        if not campaign.channel_id:
            self._no_channel(campaign)
            return None
        if campaign.progress_message_ts:
            return Where(campaign.channel_id, campaign.progress_message_ts)
        lock = self._key("progress-post", campaign.id)
        if not await self.redis.set(lock, "1", nx=True, ex=POST_LOCK_SECONDS):
            return await self._posted_elsewhere(campaign.id)
        try:
            # Read again under the lock: another process may have posted since the report.
            report = await campaign_report(self.ctx, campaign.id)
            campaign = report.campaign
            if campaign.progress_message_ts:
                return Where(campaign.channel_id or "", campaign.progress_message_ts)
            assert campaign.channel_id
            channel, ts = await self._post(campaign.channel_id, _progress(report, None, None))
            await set_progress_message(self.ctx, campaign.id, channel_id=channel, ts=ts)
            await self._hold_updates(campaign.id)  # it shows the latest counts already
            return Where(channel, ts, posted_now=True)
        finally:
            await self.redis.delete(lock)

    async def _posted_elsewhere(self, campaign_id: str) -> Where | None:
        """Another process is posting the progress message: wait a little for its ts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_OTHER_POSTER
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            campaign = (await campaign_report(self.ctx, campaign_id)).campaign
            if campaign.progress_message_ts and campaign.channel_id:
                return Where(campaign.channel_id, campaign.progress_message_ts)
            if not await self.redis.exists(self._key("progress-post", campaign_id)):
                return None  # it gave up: its error is in its log
        return None

    async def _update_progress(self, report: CampaignReport, *, final: bool | None = None) -> None:
        where = await self._progress_message(report)
        if where is None or where.posted_now:
            return
        rate, eta = await self._pace(report)
        await self._edit(where.channel, where.ts, _progress(report, rate, eta, final=final))

    async def _summary(self, report: CampaignReport, *, settled: bool) -> None:
        campaign = report.campaign
        if campaign.source == REPLY:
            return  # its one message in the thread says what became of it
        content = summary_message(report, settled=settled)
        if campaign.summary_message_ts and campaign.channel_id:
            await self._edit(campaign.channel_id, campaign.summary_message_ts, content)
            return
        where = await self._progress_message(report)
        if where is None:
            return
        # Also shown in the channel: the outcome is what most people there want to know.
        _, summary_ts = await self._post(
            where.channel, content, thread_ts=where.ts, reply_broadcast=True
        )
        await set_progress_message(
            self.ctx, campaign.id, channel_id=where.channel, summary_ts=summary_ts
        )

    async def _chart(self, report: CampaignReport, *, final: bool) -> None:
        """The delivery chart in the thread, once: when the summary becomes final, so it is never
        posted again as receipts arrive (a chart at the end of sending, then another, made two
        files of nearly the same picture in a thread people read); never again after a restart."""
        campaign = report.campaign
        if self.charts is None or self.slack is None or campaign.source == REPLY or not final:
            return
        if campaign.final_chart_file_id is not None or (
            not final and campaign.chart_file_id is not None
        ):
            return  # posted (or tried) already: no write needed to know it
        where = await self._progress_message(report)
        if where is None:
            return
        timeline = await delivery_timeline(self.ctx, campaign.id)
        if timeline.empty:
            return  # nothing was sent or settled: no curve to draw
        if not await take_chart(self.ctx, campaign.id, final=final):
            return  # another process posts it, or has
        try:
            zone = await self._zone_of(campaign.created_by)
            png = await self.charts.render(chart_payload(timeline, final=final, zone=zone))
        except ChartError as error:
            log.warning("could not draw the delivery chart of campaign %s: %s", campaign.id, error)
            return
        when = "final" if final else "when sending ended; receipts are still arriving"
        uploaded = await self.slack.files_upload_v2(
            channel=where.channel,
            thread_ts=where.ts,
            filename=f"{campaign.id}-delivery{'-final' if final else ''}.png",
            content=png,
            title=f"{campaign.name}: delivery over time",
            alt_txt=_chart_text(timeline.points[-1], final=final),
            initial_comment=f"Delivery over time ({when}).",
        )
        await chart_posted(self.ctx, campaign.id, str(uploaded["file"]["id"]), final=final)

    async def _zone_of(self, who: str | None) -> str | None:
        """The time zone in the Slack profile of who created a campaign ('slack:U123'); None for
        one created over the API, or when Slack does not say (the chart then says UTC)."""
        kind, _, user = (who or "").partition(":")
        if kind != "slack" or not user or self.slack is None:
            return None
        try:
            found = await self.slack.users_info(user=user)
        except SlackApiError as error:
            log.info("no time zone for the chart (%s): UTC", error.response.get("error"))
            return None
        return str((found.get("user") or {}).get("tz") or "") or None

    async def _notice(self, campaign_id: str, render: Callable[[Campaign], dict[str, Any]]) -> None:
        if self.slack is None:
            return
        async with self._reporting("post a notice about", campaign_id):
            report = await campaign_report(self.ctx, campaign_id)
            campaign = report.campaign
            once = self._key("notice", f"{campaign_id}:v{campaign.version}")
            if not await self.redis.set(once, "1", nx=True, ex=NOTICE_SECONDS):
                return  # another driver of this campaign told Slack about this pause already
            where = await self._progress_message(report)
            if where is None:
                if campaign.channel_id:  # the progress message could not be posted: still tell
                    await self.slack.chat_postMessage(
                        channel=campaign.channel_id, **render(campaign)
                    )
                return
            if not where.posted_now:
                await self._hold_updates(campaign_id)
                await self._edit(where.channel, where.ts, _progress(report, None, None))
            # Also shown in the channel: someone has to decide, and threads are easy to miss.
            await self.slack.chat_postMessage(
                channel=where.channel, thread_ts=where.ts, reply_broadcast=True, **render(campaign)
            )

    async def _post(self, channel: str, content: dict[str, Any], **thread: Any) -> tuple[str, str]:
        """chat.postMessage; where the message landed (channel id, ts)."""
        assert self.slack is not None
        posted = await self.slack.chat_postMessage(channel=channel, **thread, **content)
        landed = str(posted["channel"]), str(posted["ts"])
        await self._shows(*landed, content)
        return landed

    async def _edit(self, channel: str, ts: str, content: dict[str, Any]) -> None:
        """chat.update, skipped when the message already shows exactly this (a summary waiting
        hours for receipts would otherwise spend Slack's rate limit on identical edits)."""
        if await self._shows(channel, ts, content):
            return
        assert self.slack is not None
        try:
            await self.slack.chat_update(channel=channel, ts=ts, **content)
        except BaseException:
            await self.redis.delete(self._key("shown", f"{channel}:{ts}"))  # the next edit goes
            raise

    async def _shows(self, channel: str, ts: str, content: dict[str, Any]) -> bool:
        """Remember what the message shows; True if it showed exactly that already."""
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        key = self._key("shown", f"{channel}:{ts}")
        before = await self.redis.set(key, digest, ex=SHOWN_SECONDS, get=True)
        return before in (digest, digest.encode())

    # -- pace and throttling, shared by every process through Redis

    def _key(self, kind: str, campaign_id: str) -> str:
        return f"{self._namespace}:{kind}:{campaign_id}"

    async def _may_update(self, campaign_id: str) -> bool:
        """True for the first caller in each `interval`, in whichever process it runs."""
        key = self._key("progress", campaign_id)
        return bool(await self.redis.set(key, "1", nx=True, px=self._interval_ms))

    async def _hold_updates(self, campaign_id: str) -> None:
        """A forced update starts a new interval, so a tick right after it waits."""
        await self.redis.set(self._key("progress", campaign_id), "1", px=self._interval_ms)

    @property
    def _interval_ms(self) -> int:
        return max(int(self.interval * 1000), 1)

    async def _pace(self, report: CampaignReport) -> tuple[float | None, timedelta | None]:
        """Messages handed to Twilio per second since the previous sample, and the time left."""
        if report.campaign.status != CampaignStatus.RUNNING:
            return None, None
        seconds, micros = await self.redis.time()  # one clock for every process
        now = seconds + micros / 1_000_000
        ttl = max(MIN_SAMPLE_SECONDS, int(self.interval * 10))
        previous = await self.redis.set(
            self._key("progress-rate", report.campaign.id),
            f"{report.submitted}:{now:.6f}",
            ex=ttl,
            get=True,
        )
        if previous is None:
            return None, None
        text = previous.decode() if isinstance(previous, bytes) else str(previous)
        count_text, _, at_text = text.partition(":")
        elapsed = now - float(at_text)
        if elapsed <= 0:
            return None, None
        rate = max(report.submitted - int(count_text), 0) / elapsed
        if rate <= 0:
            return rate, None
        # The time left to send what may go now: those waiting for their sending hours go
        # when those open (the message says when), not at this rate.
        sendable = max(report.unsent - report.counts.waiting, 0)
        return rate, timedelta(seconds=sendable / rate)

    # -- failures

    def _no_channel(self, campaign: Campaign) -> None:
        if campaign.id not in self._told_no_channel:
            self._told_no_channel.add(campaign.id)
            log.info(
                "campaign %s has no Slack channel (an API campaign without "
                "SLACK_NOTIFY_CHANNEL): its progress is not posted",
                campaign.id,
            )

    @asynccontextmanager
    async def _reporting(self, what: str, campaign_id: str) -> AsyncIterator[None]:
        try:
            yield
        except SlackApiError as error:
            log.warning(
                "Slack refused to %s campaign %s: %s",
                what,
                campaign_id,
                error.response.get("error") or error.response.status_code,
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError, RedisError) as error:
            log.warning("could not %s campaign %s: %r", what, campaign_id, error)
        except Exception:
            log.exception("could not %s campaign %s", what, campaign_id)


def _progress(
    report: CampaignReport, rate: float | None, eta: timedelta | None, *, final: bool | None = None
) -> dict[str, Any]:
    """The campaign's progress message; an answer typed in Slack shows as the answer instead."""
    if report.campaign.source == REPLY:
        return reply_status_message(report)
    return progress_message(report, rate=rate, eta=eta, final=final)


def _chart_text(last: TimelinePoint, *, final: bool) -> str:
    """The chart in words, for screen readers."""
    text = f"{last.sent:,} sent, {last.delivered:,} delivered, {last.failed:,} failed"
    return text + ("" if final else " so far")
