"""Progress, summary and notices in Slack: the real slack_sdk client against the Slack stand-in,
the real database and real Redis. Two Reporters sharing Redis stand for two worker processes."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from bot.blocks.actions import CANCEL_CAMPAIGN, RESUME_CAMPAIGN, SEND_NOW
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    Context,
    NewCampaign,
    StatusUpdate,
    apply_status_updates,
    campaign_report,
    create_campaign,
    get_campaign,
)
from campaigns.service.claims import (
    OPTED_OUT,
    Outcome,
    SendResult,
    claim_batch,
    record_results,
)
from campaigns.service.sending import finish_if_complete, pause_campaign, start_campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus, Counts, RecipientStatus
from sandbox.slack import CAMPAIGNS, STAFF, SlackSandbox
from tests.bot.test_blocks import make_report
from tests.conftest import Clock, make_settings
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401
from worker.reporting import Reporter
from worker.slack_client import create_slack_client

SENDER = "+14155550100"


@pytest.fixture
def settings(slack: SlackSandbox) -> Settings:
    return make_settings(
        SLACK_BOT_TOKEN="xoxb-sandbox-bot-token",
        SLACK_API_URL=slack.url,
        PRICE_PER_SEGMENT="0.0079",
        PRICE_CURRENCY="USD",
    )


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


def reporter(ctx: Context, redis: Redis, interval: float = 60.0) -> Reporter:
    """A worker process's Reporter: its own Slack client, the shared Redis."""
    return Reporter(ctx, create_slack_client(ctx.settings), redis, interval=interval)


async def new_campaign(ctx: Context, count: int = 10, channel: str | None = CAMPAIGNS) -> str:
    people = [{"phone": f"+4477009{i:05d}", "variables": {"n": str(i)}} for i in range(count)]
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="March promotion",
            message_template="Hi {{n}}, 20% off cleanings this month. Reply STOP to opt out",
            recipients=check_recipient_list(people, "GB"),
            from_numbers=[SENDER],
            send_at=None,
            source="slack",
            consent_confirmed=True,
            channel_id=channel,
        ),
        "slack:U0ALICE",
    )
    await start_campaign(ctx, view.campaign.id)
    return view.campaign.id


TOKEN = "test-loop"


async def submit(ctx: Context, campaign_id: str, count: int) -> list[str]:
    """Hand `count` recipients to Twilio; their SIDs."""
    claimed = await claim_batch(ctx, campaign_id, count, token=TOKEN, lease=60)
    results = [
        SendResult(c.id, Outcome.SUBMITTED, sender=SENDER, twilio_sid=f"SM{uuid.uuid4().hex}")
        for c in claimed
    ]
    await record_results(ctx, results, token=TOKEN)
    return [r.twilio_sid for r in results if r.twilio_sid]


async def refuse(ctx: Context, campaign_id: str, count: int, code: int | None, reason: str) -> None:
    """`count` recipients refused at submission."""
    claimed = await claim_batch(ctx, campaign_id, count, token=TOKEN, lease=60)
    await record_results(
        ctx,
        [
            SendResult(c.id, Outcome.FAILED, sender=SENDER, error_code=code, error_reason=reason)
            for c in claimed
        ],
        token=TOKEN,
    )


async def receipts(
    ctx: Context, sids: list[str], status: RecipientStatus, code: int | None = None
) -> None:
    await apply_status_updates(
        ctx, [StatusUpdate(status, twilio_sid=sid, error_code=code) for sid in sids]
    )


async def sent_and_finished(ctx: Context, clock: Clock) -> tuple[str, list[str]]:
    """Ten recipients: 5 delivered, 1 undelivered (30003), 1 refused (21211), 1 opted out,
    2 still waiting for a receipt (their SIDs returned); the campaign is done after 3 min 20 s."""
    campaign_id = await new_campaign(ctx)
    sids = await submit(ctx, campaign_id, 6)
    await receipts(ctx, sids[:5], RecipientStatus.DELIVERED)
    await receipts(ctx, sids[5:], RecipientStatus.UNDELIVERED, 30003)
    await refuse(ctx, campaign_id, 1, 21211, "Invalid 'To' Phone Number")
    await refuse(ctx, campaign_id, 1, None, OPTED_OUT)
    waiting = await submit(ctx, campaign_id, 2)
    await receipts(ctx, waiting, RecipientStatus.SENT)
    clock.advance(minutes=3, seconds=20)
    assert await finish_if_complete(ctx, campaign_id) is not None
    return campaign_id, waiting


def without_ids(text: str) -> str:
    return re.sub(r"smsc_\w+", "smsc_…", text)


# -- the report


async def test_report_counts_cost_and_groups_failures(ctx: Context, clock: Clock) -> None:
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    report = await campaign_report(ctx, campaign_id)
    assert report.campaign.status == CampaignStatus.DONE
    assert (report.counts.total, report.counts.delivered, report.counts.failed) == (10, 5, 5)
    assert (report.submitted, report.segments_sent) == (8, 8)
    assert report.cost_sent == Decimal("0.0632") and report.currency == "USD"
    assert [(g.code, g.count) for g in report.failures] == [(21211, 1), (30003, 1)]
    assert report.failures[0].reason == "Invalid 'To' Phone Number"  # the stored reason
    assert report.failures[1].reason  # a plain reason even when none was stored
    assert report.opted_out == 1
    assert (report.awaiting_receipt, report.no_receipt, report.unsent) == (2, 2, 0)
    assert not report.settled
    assert report.duration is not None and report.duration.total_seconds() == 200
    await receipts(ctx, waiting, RecipientStatus.DELIVERED)
    assert (await campaign_report(ctx, campaign_id)).settled


async def test_report_of_a_campaign_still_sending(ctx: Context, clock: Clock) -> None:
    campaign_id = await new_campaign(ctx)
    await submit(ctx, campaign_id, 3)
    await claim_batch(ctx, campaign_id, 2, token=TOKEN, lease=60)  # no answer from Twilio yet
    clock.advance(seconds=30)
    report = await campaign_report(ctx, campaign_id)
    assert (report.submitted, report.unsent, report.awaiting_receipt) == (3, 7, 3)
    assert report.handled == 3  # the claimed two may not have reached Twilio yet
    assert report.finished_at is None and report.duration is not None
    assert report.duration.total_seconds() == 30


# -- the progress message


async def test_progress_is_posted_once_then_updated_in_place_at_most_once_an_interval(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx, count=300)
    interval = 0.3
    first, second = reporter(ctx, redis, interval), reporter(ctx, redis, interval)
    await asyncio.gather(first.started(campaign_id), second.started(campaign_id))
    await first.started(campaign_id)
    [posted] = slack.calls("chat.postMessage")
    ts = posted.response["ts"]  # type: ignore[index]
    campaign = (await get_campaign(ctx, campaign_id, recipients_limit=1)).view.campaign
    assert (campaign.channel_id, campaign.progress_message_ts) == (CAMPAIGNS, ts)

    began = time.monotonic()
    while time.monotonic() - began < 1.5:
        await submit(ctx, campaign_id, 1)
        await first.tick(campaign_id)
        await second.tick(campaign_id)
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - began

    updates = slack.calls("chat.update")
    assert 2 <= len(updates) <= int(elapsed / interval) + 1
    assert {u.args["ts"] for u in updates} == {ts}
    # The gate is taken before the campaign is read and the update sent, so an update can land
    # late (a slow read) and the next on time: two may arrive closer than an interval (0.16 s
    # was seen), never three within one, which a broken gate (every tick of both) would make.
    spans = [c.time - a.time for a, c in zip(updates, updates[2:], strict=False)]
    assert all(span >= interval * 0.8 for span in spans), spans
    assert len(slack.calls("chat.postMessage")) == 1
    [shown] = slack.messages(CAMPAIGNS)
    assert shown.ts == ts and shown.edited
    text = "\n".join(slack.transcript(CAMPAIGNS).splitlines())
    assert "*Sending*" in text and "messages a" in text and "left" in text


async def test_the_time_left_counts_only_what_may_go_now(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    """50 not sent yet, 40 of them waiting for their sending hours: the time left is the other
    10's at the measured rate, however long the 40 wait (before: all 50 at that rate)."""
    waiting = Counts(total=100, delivered=40, pending=60, waiting=40)
    before = make_report(counts=waiting, submitted=40, unsent=60)
    report = reporter(ctx, redis)
    assert await report._pace(before) == (None, None)  # the first sample
    await asyncio.sleep(0.5)
    rate, eta = await report._pace(replace(before, submitted=50, unsent=50))
    assert rate is not None and eta is not None
    assert abs(eta.total_seconds() - 10 / rate) < 0.01, (rate, eta)


async def test_a_forced_tick_updates_at_once_and_starts_a_new_interval(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx)
    report = reporter(ctx, redis, interval=60)
    await report.started(campaign_id)
    await report.tick(campaign_id)  # within the interval of the post: nothing
    assert slack.calls("chat.update") == []
    await submit(ctx, campaign_id, 4)
    await report.tick(campaign_id, force=True)
    await report.tick(campaign_id)
    [update] = slack.calls("chat.update")
    shown = str(update.args["blocks"])
    assert "4 of 10 handled (40%)" in shown  # handed to Twilio: Textcast is done with them
    # ...but not delivered: they await their receipts (the API counts them as pending)
    assert "0 delivered · 4 awaiting receipt · 0 failed · 6 pending" in shown


async def test_tick_posts_the_progress_message_if_started_was_missed(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx)
    await reporter(ctx, redis).tick(campaign_id)
    assert len(slack.calls("chat.postMessage")) == 1
    assert slack.calls("chat.update") == []


async def test_a_429_is_waited_out_and_the_update_lands(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx)
    report = reporter(ctx, redis)
    await report.started(campaign_id)
    await receipts(ctx, await submit(ctx, campaign_id, 10), RecipientStatus.DELIVERED)
    slack.refuse_next("chat.update", retry_after=0)
    await report.tick(campaign_id, force=True)
    refused, landed = slack.calls("chat.update")
    assert (refused.status, landed.status) == (429, 200)
    assert landed.ok and landed.args["ts"] == refused.args["ts"]
    [message] = slack.messages(CAMPAIGNS)
    assert message.edited


async def test_slack_errors_are_logged_never_raised(
    ctx: Context, redis: Redis, slack: SlackSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    campaign_id = await new_campaign(ctx, channel=STAFF)  # private, and the bot is not in it
    report = reporter(ctx, redis)
    with caplog.at_level(logging.WARNING, logger="worker.reporting"):
        await report.started(campaign_id)
        await report.tick(campaign_id, force=True)
        await report.paused(campaign_id)
        await report.finished(campaign_id)
        await report.refresh_summary(campaign_id)
    calls = [call for call in slack.calls() if call.status != 429]  # 429s are waited out
    assert calls and all(call.error == "not_in_channel" for call in calls)
    assert caplog.text.count("not_in_channel") == len(calls)  # each refusal logged, none raised


async def test_no_channel_no_call_and_one_log_line(
    ctx: Context, redis: Redis, slack: SlackSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    campaign_id = await new_campaign(ctx, channel=None)
    report = reporter(ctx, redis)
    with caplog.at_level(logging.INFO, logger="worker.reporting"):
        await report.started(campaign_id)
        await report.tick(campaign_id, force=True)
        await report.paused(campaign_id)
        await report.finished(campaign_id)
    assert slack.calls() == []
    assert len([r for r in caplog.records if "has no Slack channel" in r.message]) == 1


async def test_without_a_slack_client_nothing_is_posted(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx)
    report = Reporter(ctx, None, redis, interval=1)
    await report.started(campaign_id)
    await report.tick(campaign_id, force=True)
    assert await report.finished(campaign_id) is True
    assert await report.refresh_summary(campaign_id) is True
    await report.paused(campaign_id)
    assert slack.calls() == []


# -- the summary


WAITING_TRANSCRIPT = """\
#campaigns
Textcast [APP]:
  # March promotion
  *Done*
  10 of 10 handled (100%)
  5 delivered · 2 awaiting receipt · 3 failed · 0 pending · 0 cancelled, of 10
  Took 3 min 20 s
  ▓▓▓▓▓▓▓▓▓▓ 100%
  Created in Slack by @Alice Smith · from +14155550100 · smsc_…
  [View report] [Export CSV]
  ↳ Textcast [APP] (also sent to the channel):
      @Alice Smith *Summary of March promotion*
      5 delivered · 2 awaiting receipt · 3 failed · 0 pending · 0 cancelled, of 10

      *Why messages failed*
      • 21211: Invalid 'To' Phone Number (1 message)
      • 30003: The phone is switched off or out of signal. (1 message)

      1 recipient had opted out (STOP) and was not sent to.

      8 messages sent · estimated cost 0.0632 USD
      Took 3 min 20 s
      Still waiting for 2 delivery receipts: this summary updates as they arrive.
Textcast [APP] (replied to a thread):
  @Alice Smith *Summary of March promotion*
  5 delivered · 2 awaiting receipt · 3 failed · 0 pending · 0 cancelled, of 10

  *Why messages failed*
  • 21211: Invalid 'To' Phone Number (1 message)
  • 30003: The phone is switched off or out of signal. (1 message)

  1 recipient had opted out (STOP) and was not sent to.

  8 messages sent · estimated cost 0.0632 USD
  Took 3 min 20 s
  Still waiting for 2 delivery receipts: this summary updates as they arrive.
"""

SETTLED_TRANSCRIPT = """\
#campaigns
Textcast [APP] (edited):
  # March promotion
  *Done*
  10 of 10 handled (100%)
  7 delivered · 3 failed · 0 pending · 0 cancelled, of 10
  Took 3 min 20 s
  ▓▓▓▓▓▓▓▓▓▓ 100%
  Created in Slack by @Alice Smith · from +14155550100 · smsc_…
  [View report] [Export CSV]
  ↳ Textcast [APP] (edited) (also sent to the channel):
      @Alice Smith *Summary of March promotion*
      7 delivered · 3 failed · 0 pending · 0 cancelled, of 10

      *Why messages failed*
      • 21211: Invalid 'To' Phone Number (1 message)
      • 30003: The phone is switched off or out of signal. (1 message)

      1 recipient had opted out (STOP) and was not sent to.

      8 messages sent · estimated cost 0.0632 USD
      Took 3 min 20 s
      Final: every delivery receipt Textcast will wait for is in.
Textcast [APP] (edited) (replied to a thread):
  @Alice Smith *Summary of March promotion*
  7 delivered · 3 failed · 0 pending · 0 cancelled, of 10

  *Why messages failed*
  • 21211: Invalid 'To' Phone Number (1 message)
  • 30003: The phone is switched off or out of signal. (1 message)

  1 recipient had opted out (STOP) and was not sent to.

  8 messages sent · estimated cost 0.0632 USD
  Took 3 min 20 s
  Final: every delivery receipt Textcast will wait for is in.
"""


async def test_summary_in_the_thread_updated_until_receipts_settle(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    report = reporter(ctx, redis)
    await report.started(campaign_id)
    assert await report.finished(campaign_id) is False  # the progress message is up to date
    campaign = (await get_campaign(ctx, campaign_id, recipients_limit=1)).view.campaign
    [summary] = slack.thread(CAMPAIGNS, campaign.progress_message_ts or "")
    assert summary.ts == campaign.summary_message_ts
    assert summary.reply_broadcast  # the outcome is shown in the channel too
    assert without_ids(slack.transcript(CAMPAIGNS)) == WAITING_TRANSCRIPT

    await receipts(ctx, waiting[:1], RecipientStatus.DELIVERED)
    assert await report.refresh_summary(campaign_id) is False
    # Still awaited: counted as such, never listed under why messages failed
    assert "6 delivered · 1 awaiting receipt · 3 failed" in slack.transcript(CAMPAIGNS)
    assert "No delivery receipt" not in slack.transcript(CAMPAIGNS)
    await receipts(ctx, waiting[1:], RecipientStatus.DELIVERED)
    assert await report.refresh_summary(campaign_id) is True
    transcript = without_ids(slack.transcript(CAMPAIGNS))
    print(transcript)
    assert transcript == SETTLED_TRANSCRIPT
    assert len(slack.calls("chat.postMessage")) == 2  # the progress message and the summary
    assert {c.args["ts"] for c in slack.calls("chat.update")} == {
        campaign.progress_message_ts,
        campaign.summary_message_ts,
    }


async def test_refresh_summary_gives_up_waiting_when_told(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id, _ = await sent_and_finished(ctx, clock)
    report = reporter(ctx, redis)
    assert await report.finished(campaign_id) is False  # posts the progress message first
    assert await report.refresh_summary(campaign_id, final=True) is False
    transcript = slack.transcript(CAMPAIGNS)
    assert "• No delivery receipt from the phone network (2 messages)" in transcript
    assert "Final: every delivery receipt Textcast will wait for is in." in transcript


async def test_a_message_that_would_not_change_is_not_edited(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id, waiting = await sent_and_finished(ctx, clock)
    first, second = reporter(ctx, redis), reporter(ctx, redis)
    assert await first.finished(campaign_id) is False  # posts both messages
    for _ in range(3):
        assert await second.refresh_summary(campaign_id) is False
    assert slack.calls("chat.update") == []
    await receipts(ctx, waiting, RecipientStatus.DELIVERED)
    slack.refuse_next("chat.update", times=3, retry_after=0)  # the first try and both retries
    assert await second.refresh_summary(campaign_id) is True
    assert [c.ok for c in slack.calls("chat.update")] == [False, False, False, True]
    assert await first.refresh_summary(campaign_id) is True  # the edit that failed is retried
    progress = slack.messages(CAMPAIGNS)[0]
    [summary] = slack.thread(CAMPAIGNS, progress.ts)
    landed = [c.args["ts"] for c in slack.calls("chat.update") if c.ok]
    assert landed == [summary.ts, progress.ts]
    assert slack.message(CAMPAIGNS, progress.ts).edited and summary.edited
    assert await first.refresh_summary(campaign_id) is True
    assert len(slack.calls("chat.update")) == 5


# -- notices


async def test_paused_notice_in_the_thread_with_resume_and_cancel(
    ctx: Context, redis: Redis, slack: SlackSandbox
) -> None:
    campaign_id = await new_campaign(ctx)
    first, second = reporter(ctx, redis), reporter(ctx, redis)
    await first.started(campaign_id)
    await pause_campaign(ctx, campaign_id, "30 of the last 50 messages failed.")
    await asyncio.gather(first.paused(campaign_id), second.paused(campaign_id))
    [progress] = slack.messages(CAMPAIGNS)[:1]
    [notice] = slack.thread(CAMPAIGNS, progress.ts)
    assert notice.reply_broadcast  # someone has to decide: shown in the channel too
    buttons = [e for b in notice.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (RESUME_CAMPAIGN, campaign_id),
        (CANCEL_CAMPAIGN, campaign_id),
    ]
    transcript = without_ids(slack.transcript(CAMPAIGNS))
    assert "  *Paused*\n" in transcript
    assert "  Paused: 30 of the last 50 messages failed.\n" in transcript
    assert (
        "  ↳ Textcast [APP] (also sent to the channel):\n"
        "      @Alice Smith :double_vertical_bar: *March promotion* is paused. 30 of the last 50 "
        "messages "
        "failed.\n"
        "      Nothing more is sent until someone resumes or cancels it.\n"
        "      [Resume] [Cancel]\n"
    ) in transcript


async def test_late_notice_posts_the_progress_message_first(
    ctx: Context, clock: Clock, redis: Redis, slack: SlackSandbox
) -> None:
    at = clock.now.replace(hour=11)
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Late one",
            message_template="Hello",
            recipients=check_recipient_list([{"phone": "+447700900001"}], "GB"),
            from_numbers=[SENDER],
            send_at=at,
            source="api",
            consent_confirmed=True,
            channel_id=CAMPAIGNS,
        ),
        "api:key_ab12",
    )
    clock.advance(hours=5)
    started = await start_campaign(ctx, view.campaign.id, view.campaign.version)
    assert started.decision == "late"
    await reporter(ctx, redis).late(view.campaign.id)
    [progress] = slack.messages(CAMPAIGNS)[:1]
    [notice] = slack.thread(CAMPAIGNS, progress.ts)
    assert [
        e["action_id"] for b in notice.blocks if b["type"] == "actions" for e in b["elements"]
    ] == [SEND_NOW, CANCEL_CAMPAIGN]
    transcript = slack.transcript(CAMPAIGNS)
    assert "Created over the API by API key key_ab12" in transcript
    assert ":alarm_clock: *Late one* has not started. It was due at 2026-11-23 11:00 UTC" in (
        transcript
    )
