"""A large campaign's thread, played end to end: its texts back go into one digest message,
edited in place at most once a slot, whatever the burst. Handsets text the Twilio stand-in, which
posts the signed webhook to the web app; a real arq worker sends and posts to the Slack stand-in;
buttons are signed Slack requests.

The size is a parameter: the suite plays it with a few hundred recipients
(tests/worker/test_texts_digest.py), bench/texts_digest.py with 5,000, and prints the figures.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bot.blocks.actions import OPT_OUT_NUMBER, SEE_ALL_TEXTS
from campaigns.db import Database
from campaigns.models import OptOutEvent
from campaigns.service import opted_out_among
from sandbox.slack import ALICE, CAMPAIGNS, SIGNING_SECRET, requests
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
# The texts back come from recipients 3, 100-147, 150 and 200-206.
FEWEST_RECIPIENTS = 207
QUESTIONS = ["What time does it open?", "Is it free for over-65s?", "Can I bring my son?",
             "Do I need to book?", "Thanks!"]  # fmt: skip


@dataclass(frozen=True)
class Thread:
    recipients: int
    sending_seconds: float  # from the campaign's creation until it is done
    summary_seconds: float  # ...until the final summary and its chart are posted
    digest_messages: int  # messages of texts back posted (one)
    digest_edits: int  # edits of it during the burst of 57 texts
    transcript: str  # the channel, as the stand-in shows it


def phone(n: int) -> str:
    return f"+4474{n:08d}"


async def digest_edits(stack: Stack, ts: str) -> int:
    assert stack.slack is not None
    return len([c for c in stack.slack.calls("chat.update") if c.args.get("ts") == ts])


async def play_large_thread(db: Database, recipients: int) -> Thread:
    """A campaign to `recipients`, then 50 replies and 7 STOPs within a few seconds; one is
    opted out from Slack and all are seen in a modal. Asserts each step as it goes."""
    assert recipients >= FEWEST_RECIPIENTS
    # A large campaign's receipts are fetched from Twilio (their callbacks dropped): thousands of
    # status callbacks into the web process, in this one test process, would take longer than
    # the sending. A small one's come by callback: fetched, they would come at the status poll's
    # pace (a check 5 s after sending, then 15 s), which is most of the time such a test takes.
    # Texts come by webhook, in the order they are sent.
    callbacks_dropped = recipients > 1_000
    async with running_stack(
        db, senders={ONE: 2000.0}, callbacks=True, slack=True, PROGRESS_INTERVAL_SECONDS=1.5,
        RECEIPT_BACKSTOP_SECONDS=2,
    ) as stack:  # fmt: skip
        assert stack.slack is not None
        sandbox = stack.twilio.sandbox
        if callbacks_dropped:
            sandbox.set_carrier(callback_drop_rate=1.0)
        sandbox.set_inbound_url(f"{stack.settings.PUBLIC_BASE_URL}/twilio/inbound")
        await stack.start_worker()
        people = [person(phone(n), f"Person {n}") for n in range(recipients)]
        people[3] = {"phone": phone(3), "variables": {"first_name": "Sarah", "last_name": "Jones"}}
        cid = await stack.create(name="Flu jabs", message_template="Hi {{first_name}}, flu jabs "
                                 "are open this week", recipients=people, from_number=ONE)  # fmt: skip
        started = time.monotonic()
        await stack.until_finished(cid, timeout=90)
        sending = time.monotonic() - started
        ts = await progress_ts(stack, cid)
        # The final summary and its chart first, so the thread's order is known.
        await until(lambda: _async("[file:" in stack.slack.transcript(CAMPAIGNS)), timeout=60)
        summary = time.monotonic() - started

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
        edits = await digest_edits(stack, digest.ts)
        assert len(posted) == 1  # one message for 57 texts
        assert edits <= 5  # one edit a slot, not one a text
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
        transcript = stack.slack.transcript(CAMPAIGNS)
        return Thread(recipients, sending, summary, len(posted), edits, transcript)


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
