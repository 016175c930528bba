"""A large campaign's thread stays readable: its texts back go into one digest message, edited in
place at most once a slot, whatever the burst; texts that answer no campaign share one message a
day. End to end: handsets text the Twilio stand-in, which posts the signed webhook to the web
app; a real arq worker sends and posts to the Slack stand-in; buttons are signed Slack requests.

The thread of a 250-recipient campaign with 50 replies and 7 STOPs is kept as a transcript in
tests/worker/snapshots/ (write it again with UPDATE_SNAPSHOTS=1 and read the diff). The same
thread with 5,000 recipients is played by bench/texts_digest.py (minutes, not seconds)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from campaigns.db import Database
from sandbox.slack import BOT_TOKEN, CAMPAIGNS
from tests.worker.large_thread import ONE, play_large_thread
from tests.worker.stack import running_stack
from tests.worker.test_replies import _async, until

SNAPSHOTS = Path(__file__).parent / "snapshots"
RECIPIENTS = 250


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


async def test_a_large_campaigns_thread_has_one_digest_of_its_texts(db: Database) -> None:
    thread = await play_large_thread(db, RECIPIENTS)
    assert thread.digest_messages == 1 and thread.digest_edits <= 5
    matches_snapshot("large_campaign_thread", steady(thread.transcript))


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
