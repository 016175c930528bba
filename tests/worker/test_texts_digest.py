"""A large campaign's thread stays readable: its texts back go into one digest message, edited in
place at most once a slot, whatever the burst; texts that answer no campaign share one message a
day. End to end: handsets text the Twilio stand-in, which posts the signed webhook to the web
app; a real arq worker sends and posts to the Slack stand-in; buttons are signed Slack requests.

The thread of a 5,000-recipient campaign with 50 replies and 7 STOPs is kept as a transcript in
tests/worker/snapshots/ (write it again with UPDATE_SNAPSHOTS=1 and read the diff)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.actions import OPT_OUT_NUMBER, SEE_ALL_TEXTS
from campaigns.db import Database
from campaigns.models import OptOutEvent
from campaigns.service import opted_out_among
from sandbox.slack import ALICE, BOT_TOKEN, CAMPAIGNS, SIGNING_SECRET, requests
from tests.worker.stack import Stack, running_stack
from tests.worker.test_replies import (
    _async,
    digests,
    inbound_rows,
    person,
    progress_ts,
    slack_post,
    until,
)

ONE = "+14155550100"
SNAPSHOTS = Path(__file__).parent / "snapshots"
RECIPIENTS = 5_000
QUESTIONS = ["What time does it open?", "Is it free for over-65s?", "Can I bring my son?",
             "Do I need to book?", "Thanks!"]  # fmt: skip


def phone(n: int) -> str:
    return f"+4474{n:08d}"


def matches_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, f"{name} changed: see {__file__}"


def steady(transcript: str) -> str:
    """The transcript without what changes from run to run: times, ids, durations, rates."""
    for pattern, fixed in (
        (r"\d\d:\d\d UTC", "HH:MM UTC"),
        (r"smsc_\w+", "smsc_…"),
        (r"key_\w+", "key_…"),
        (r"Took [^\n]*", "Took …"),
        (r"[A-Z][a-z]{2} \d\d [A-Z][a-z]{2} \d{4}, HH:MM UTC", "DATE, HH:MM UTC"),
    ):
        transcript = re.sub(pattern, fixed, transcript)
    return transcript


async def digest_edits(stack: Stack, ts: str) -> int:
    assert stack.slack is not None
    return len([c for c in stack.slack.calls("chat.update") if c.args.get("ts") == ts])


async def test_a_large_campaigns_thread_has_one_digest_of_its_texts(db: Database) -> None:
    # Receipts are fetched from Twilio (their callbacks dropped): 5,000 status callbacks into the
    # web process, in this one test process, would take longer than the sending. Texts come by
    # webhook, in the order they are sent.
    async with running_stack(
        db, senders={ONE: 2000.0}, callbacks=True, slack=True, PROGRESS_INTERVAL_SECONDS=1.5,
        RECEIPT_BACKSTOP_SECONDS=2,
    ) as stack:  # fmt: skip
        assert stack.slack is not None
        sandbox = stack.twilio.sandbox
        sandbox.set_carrier(callback_drop_rate=1.0)
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        people = [person(phone(n), f"Person {n}") for n in range(RECIPIENTS)]
        people[3] = {"phone": phone(3), "variables": {"first_name": "Sarah", "last_name": "Jones"}}
        cid = await stack.create(name="Flu jabs", message_template="Hi {{first_name}}, flu jabs "
                                 "are open this week", recipients=people, from_number=ONE)  # fmt: skip
        await stack.until_finished(cid, timeout=90)
        ts = await progress_ts(stack, cid)
        # The final summary and its chart first, so the thread's order is known.
        await until(lambda: _async("[file:" in stack.slack.transcript(CAMPAIGNS)), timeout=60)

        # 50 replies and 7 STOPs within a few seconds, one asking in words to stop. The last
        # five one by one, so the digest's latest five are known.
        texts = [(phone(100 + n), QUESTIONS[n % len(QUESTIONS)]) for n in range(48)]
        texts += [(phone(200 + n), "STOP") for n in range(7)]
        texts += [(phone(150), "Is there parking?"), (phone(3), "please stop texting me")]
        burst, last = texts[:-5], texts[-5:]
        await asyncio.gather(*(sandbox.reply(who, ONE, body) for who, body in burst))
        await until(lambda: _recorded(stack, len(burst)), timeout=20)
        for who, body in last:
            await sandbox.reply(who, ONE, body)
        [digest] = await until(lambda: _async(digests(stack, ts, "50 replies · 7 opted out")),
                               timeout=30)  # fmt: skip
        posted = [c for c in stack.slack.calls("chat.postMessage") if "Texts back" in
                  str(c.args.get("text"))]  # fmt: skip
        assert len(posted) == 1  # one message for 57 texts
        assert await digest_edits(stack, digest.ts) <= 5  # one edit a slot, not one a text
        assert "*Sarah Jones* +44*******003" in str(digest.blocks)
        assert "See all 57 texts" in str(digest.blocks)

        # Opt out this number, from the flagged reply, through Slack's confirmed button.
        await slack_post(stack, requests.block_actions(
            SIGNING_SECRET, OPT_OUT_NUMBER, message=digest, sandbox_url=stack.slack.url))  # fmt: skip
        await until(lambda: opted_out_among(stack.ctx, [phone(3)]))
        async with stack.ctx.db.read() as session:
            event = await session.get(OptOutEvent, await _latest_event(session))
        assert event is not None and (event.actor, event.source) == (f"slack:{ALICE}", "slack")
        [digest] = await until(lambda: _async(digests(stack, ts, "opted this number out")))
        assert "Opt out this number" not in str(digest.blocks)

        # See all: the texts in a modal.
        await slack_post(stack, requests.block_actions(
            SIGNING_SECRET, SEE_ALL_TEXTS, message=digest, sandbox_url=stack.slack.url))  # fmt: skip
        [modal] = await until(lambda: _async(stack.slack.modal_stack(ALICE)))
        assert str(modal["blocks"]).count("+44*******") == 30

        # The summary counts the texts too (refreshed with late receipts, every 10 s).
        await until(lambda: _async(_summary_counts_all(stack)), timeout=60)
        matches_snapshot("large_campaign_thread", steady(stack.slack.transcript(CAMPAIGNS)))


def _summary_counts_all(stack: Stack) -> bool:
    assert stack.slack is not None
    transcript = stack.slack.transcript(CAMPAIGNS)
    summary = transcript.split("Texts back")[0]
    return "Final:" in summary and "50 replies" in summary


async def _recorded(stack: Stack, count: int) -> bool:
    return await inbound_rows(stack) >= count


async def _latest_event(session: Any) -> int:
    from sqlalchemy import func, select

    return (await session.execute(select(func.max(OptOutEvent.id)))).scalar_one()


async def test_texts_that_answer_no_campaign_share_one_message_a_day(db: Database) -> None:
    async with running_stack(db, senders={ONE: 50.0}, callbacks=True, slack=True) as stack:
        assert stack.slack is not None
        sandbox = stack.twilio.sandbox
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        await sandbox.reply("+447400000077", ONE, "Is the shop open on Sunday?")
        [first] = await until(lambda: _async(
            [m for m in stack.slack.messages(CAMPAIGNS) if "Sunday" in str(m.blocks)]))  # fmt: skip
        assert "Texts that answer no campaign" in first.text
        await sandbox.reply("+447400000078", ONE, "Wrong number I think")
        await sandbox.reply("+447400000079", ONE, "STOP")
        [day] = await until(lambda: _async(
            [m for m in stack.slack.messages(CAMPAIGNS)
             if "1 opted out" in str(m.blocks) and "2 replies" in str(m.blocks)]))  # fmt: skip
        assert day.ts == first.ts  # the same message, edited
        assert len(stack.slack.messages(CAMPAIGNS)) == 1

        # Someone deleted it: the next text brings a new one with the whole day.
        client = AsyncWebClient(token=BOT_TOKEN, base_url=stack.slack.url)
        await client.chat_delete(channel=CAMPAIGNS, ts=day.ts)
        await sandbox.reply("+447400000080", ONE, "Are you open late?")
        [again] = await until(lambda: _async(
            [m for m in stack.slack.messages(CAMPAIGNS) if "3 replies" in str(m.blocks)]))  # fmt: skip
        assert again.ts != day.ts and "1 opted out" in str(again.blocks)
