"""The delivery chart in the campaign's Slack thread: once, when the summary becomes final, never
a second time, and never at the cost of the summary. The real
slack_sdk client's files_upload_v2 against the Slack stand-in, the real database and Redis."""

from __future__ import annotations

import asyncio
import io
import logging

import aiohttp
from PIL import Image
from redis.asyncio import Redis

from campaigns.db import Database
from campaigns.service import Context, get_campaign
from campaigns.service.sending import finish_if_complete
from campaigns.status import RecipientStatus
from charts.payload import UNKNOWN_ZONE
from charts.renderer import ChartRenderer
from sandbox.slack import ALICE, BOT_TOKEN, CAMPAIGNS, SlackSandbox
from tests.charts.test_renderer import png_size
from tests.conftest import Clock
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401
from tests.worker.stack import people, running_stack
from tests.worker.test_reporting import new_campaign, receipts, sent_and_finished, submit
from tests.worker.test_reporting import redis as redis_fixture
from tests.worker.test_reporting import settings as settings_fixture
from worker.reporting import Reporter
from worker.slack_client import create_slack_client

settings = settings_fixture  # the Slack stand-in's settings, as test_reporting has them
redis = redis_fixture


def charting(ctx: Context, redis: Redis, charts: ChartRenderer | None = None) -> Reporter:
    """A worker process's Reporter, drawing charts as the worker's does."""
    return Reporter(ctx, create_slack_client(ctx.settings), redis, interval=60.0,
                    charts=charts or ChartRenderer())  # fmt: skip


def uploads(slack: SlackSandbox) -> list[str]:
    """The ids of the files posted, in order."""
    return [
        file["id"]
        for call in slack.calls("files.completeUploadExternal")
        if call.ok
        for file in call.response["files"]  # type: ignore[index]
    ]


async def thread_files(ctx: Context, slack: SlackSandbox, campaign_id: str) -> list[str]:
    campaign = (await get_campaign(ctx, campaign_id, recipients_limit=1)).view.campaign
    thread = slack.thread(CAMPAIGNS, campaign.progress_message_ts or "")
    return [file_id for message in thread for file_id in message.files]


async def chart_ids(ctx: Context, campaign_id: str) -> tuple[str | None, str | None]:
    campaign = (await get_campaign(ctx, campaign_id, recipients_limit=1)).view.campaign
    return campaign.chart_file_id, campaign.final_chart_file_id


def assert_a_real_chart(png: bytes) -> None:
    assert png_size(png) == (600, 300)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.size == (600, 300)


async def test_one_chart_when_the_summary_is_final_and_none_before(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    report = charting(ctx, redis)
    await report.started(campaign_id)
    assert await report.finished(campaign_id) is False
    assert uploads(slack) == []  # receipts still arriving: the picture would change
    assert await report.refresh_summary(campaign_id) is False
    assert uploads(slack) == []

    await receipts(ctx, waiting, RecipientStatus.DELIVERED)
    assert await report.refresh_summary(campaign_id) is True
    assert await report.refresh_summary(campaign_id) is True  # final already: nothing more
    assert await report.refresh_summary(campaign_id, final=True) is True
    [final] = uploads(slack)
    assert await chart_ids(ctx, campaign_id) == (None, final)
    assert await thread_files(ctx, slack, campaign_id) == [final]  # under the summary
    assert_a_real_chart(slack.files[final].content)
    assert slack.files[final].mimetype == "image/png"
    transcript = slack.transcript(CAMPAIGNS)
    assert "when sending ended" not in transcript
    assert "Delivery over time (final)." in transcript
    assert f"[file: {campaign_id}-delivery-final.png]" in transcript


async def test_a_summary_final_at_once_gets_one_chart(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx, count=3)
    sids = await submit(ctx, campaign_id, 3)
    await receipts(ctx, sids, RecipientStatus.DELIVERED)
    assert await finish_if_complete(ctx, campaign_id) is not None
    report = charting(ctx, redis)
    assert await report.finished(campaign_id) is True
    assert await report.refresh_summary(campaign_id) is True
    [final] = uploads(slack)
    assert await chart_ids(ctx, campaign_id) == (None, final)


async def test_two_workers_and_a_restart_post_each_chart_once(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    await charting(ctx, redis).started(campaign_id)
    await asyncio.gather(*(charting(ctx, redis).finished(campaign_id) for _ in range(3)))
    assert uploads(slack) == []
    await receipts(ctx, waiting, RecipientStatus.DELIVERED)
    # Two processes refresh at once, then a restarted one (a new Reporter, nothing in memory).
    await asyncio.gather(*(charting(ctx, redis).refresh_summary(campaign_id) for _ in range(2)))
    await charting(ctx, redis).refresh_summary(campaign_id)
    await charting(ctx, redis).finished(campaign_id)
    assert len(uploads(slack)) == 1


async def test_a_chart_that_fails_never_stops_the_summary(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox, caplog
) -> None:
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    broken = charting(ctx, redis, ChartRenderer(python="/nonexistent/python3"))
    with caplog.at_level(logging.WARNING, logger="worker.reporting"):
        assert await broken.finished(campaign_id) is False
        await receipts(ctx, waiting, RecipientStatus.DELIVERED)
        assert await broken.refresh_summary(campaign_id) is True
    assert uploads(slack) == []
    transcript = slack.transcript(CAMPAIGNS)
    assert "*Summary of March promotion*" in transcript
    assert "Final: every delivery receipt Textcast will wait for is in." in transcript
    failures = [r.getMessage() for r in caplog.records if "delivery chart" in r.getMessage()]
    assert len(failures) == 1, failures  # once, and not tried again
    assert "could not start '/nonexistent/python3'" in failures[0]
    # Tried once, then left: a working renderer later posts nothing either.
    await charting(ctx, redis).refresh_summary(campaign_id)
    assert uploads(slack) == []
    assert await chart_ids(ctx, campaign_id) == (None, "")


class Recording(ChartRenderer):
    """The real renderer, keeping what it was asked to draw."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[dict] = []

    async def render(self, payload: dict) -> bytes:
        self.payloads.append(payload)
        return await super().render(payload)


async def test_the_chart_shows_the_creators_clock_or_says_it_is_utc(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    slack.workspace.users[ALICE].tz = "America/Los_Angeles"  # she created it (slack:U0ALICE)
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    await receipts(ctx, waiting, RecipientStatus.DELIVERED)  # the one chart comes when final
    drawn = Recording()
    await charting(ctx, redis, drawn).finished(campaign_id)
    [payload] = drawn.payloads
    assert payload["zone"] == "America/Los_Angeles"
    assert payload["zone_label"] == "time in America/Los_Angeles"
    assert "America/Los_Angeles" in payload["subtitle"]
    assert [c.args["user"] for c in slack.calls("users.info")] == [ALICE]

    # A creator Slack no longer knows (users.info fails): UTC, and the chart says so.
    del slack.workspace.users[ALICE]
    other, waiting = await sent_and_finished(ctx, clock)
    await receipts(ctx, waiting, RecipientStatus.DELIVERED)
    await charting(ctx, redis, drawn).refresh_summary(other, final=True)
    final = drawn.payloads[-1]
    assert final["zone"] == "UTC" and final["zone_label"] == UNKNOWN_ZONE


async def test_a_real_worker_posts_the_chart_in_the_progress_thread(db: Database) -> None:
    async with running_stack(db, callbacks=True, slack=True) as stack:
        assert stack.slack is not None
        # Receipts come a few seconds after sending ends: one chart, once they are in.
        stack.twilio.sandbox.set_carrier(step_delay=1.5)
        stack.twilio.sandbox.fail_recipient("+447400000004", code=30003)
        await stack.start_worker()
        cid = await stack.create(
            name="Spring reminders", message_template="Hi {{n}}", recipients=people(12),
            from_number="all",
        )  # fmt: skip
        async with asyncio.timeout(30):  # the summary refresh runs every 10 s
            while not (await chart_ids(stack.ctx, cid))[1]:
                await asyncio.sleep(0.2)
        first, final = await chart_ids(stack.ctx, cid)
        assert first is None and final
        campaign = (await get_campaign(stack.ctx, cid, recipients_limit=1)).view.campaign
        channel = stack.settings.SLACK_NOTIFY_CHANNEL
        thread = stack.slack.thread(channel, campaign.progress_message_ts or "")
        assert [f for message in thread for f in message.files] == [final]
        assert "Final" in stack.slack.transcript(channel)
        async with aiohttp.ClientSession() as http:
            for file_id in (final,):
                url = stack.slack.file_object(file_id)["url_private_download"]
                headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
                async with http.get(url, headers=headers) as response:
                    assert response.content_type == "image/png"
                    assert_a_real_chart(await response.read())
