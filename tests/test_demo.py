"""`textcast demo`'s parts: its verdict, its sample list, its own Redis. The whole demo runs as its
own step of `.ci/run` (non-interactive, with the embedded Redis), which fails on a wrong count."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from campaigns.recipients import parse_recipients
from tests.conftest import make_settings
from textcast.demo.feed import changes
from textcast.demo.redis_server import answers, demo_redis
from textcast.demo.scenario import (
    ASKED_BY_PHONE,
    ASKS,
    EXPECTED,
    SAYS_STOP,
    SWITCHED_OFF,
    differences,
    sample_csv,
)


def test_the_verdict_names_every_count_that_is_not_as_expected() -> None:
    assert differences(EXPECTED) == []
    wrong = dataclasses.replace(EXPECTED, delivered=43, failures={"opted_out": 2})
    assert differences(wrong) == [
        "delivered: expected 44, got 43",
        "failures: expected {'opted_out': 1, '30003': 1}, got {'opted_out': 2}",
    ]
    assert differences(dataclasses.replace(EXPECTED, answer_reached=False)) == [
        "answer_reached: expected True, got False"
    ]


def test_the_sample_list_holds_what_the_demo_promises() -> None:
    report = parse_recipients(sample_csv(), "US")
    assert len(report.recipients) == EXPECTED.total == 46
    assert [row.row for row in report.invalid] == [32, 40, 46]
    assert report.duplicates == 1
    phones = {recipient.phone for recipient in report.recipients}
    assert {ASKED_BY_PHONE, SWITCHED_OFF, SAYS_STOP, ASKS} <= phones
    assert len({ASKED_BY_PHONE, SWITCHED_OFF, SAYS_STOP, ASKS}) == 4


async def test_without_a_redis_the_demo_runs_one_of_its_own_and_stops_it(tmp_path: Path) -> None:
    nothing_there = "redis://127.0.0.1:1/0"
    assert not await answers(nothing_there)
    redis = await demo_redis(nothing_there, tmp_path)
    assert redis.started is not None and redis.url != nothing_there
    assert await answers(redis.url)
    await redis.stop()
    assert not await answers(redis.url)


async def test_a_redis_that_answers_is_used_and_left_alone(tmp_path: Path) -> None:
    redis_url = make_settings().REDIS_URL  # the suite's own, which answers
    redis = await demo_redis(redis_url, tmp_path)
    assert (redis.url, redis.started) == (redis_url, None)
    await redis.stop()
    assert await answers(redis_url)


BEFORE = """#campaigns
Textcast [APP]:
  # Check-up reminders
  *Sending*
  ↳ Textcast [APP]: Sending started
Alice Smith: thanks
"""


def test_the_feed_prints_a_new_message_whole_and_an_edit_with_its_first_lines() -> None:
    after = (
        BEFORE.replace("*Sending*", "*Done*").replace(
            "Textcast [APP]:\n", "Textcast [APP] (edited):\n"
        )
        + "Textcast [APP] (only visible to Alice Smith):\n  No campaigns yet\n  Try /sms new\n"
    )
    assert changes(BEFORE, after) == [
        "Textcast [APP] (edited):",
        "  # Check-up reminders",
        "  *Done*",
        "Textcast [APP] (only visible to Alice Smith):",
        "  No campaigns yet",
        "  Try /sms new",
    ]
    assert changes(after, after) == []


def test_a_blank_line_in_a_message_does_not_cut_it_in_two() -> None:
    before = BEFORE.replace("  *Sending*\n", "  *Sending*\n\n  2 messages sent\n")
    after = before.replace("2 messages sent", "3 messages sent")
    assert changes(before, after) == [
        "Textcast [APP]:",
        "  # Check-up reminders",
        "  3 messages sent",
    ]


def test_the_feed_prints_a_thread_reply_under_its_message() -> None:
    after = BEFORE.replace(
        "Sending started\n", "Sending started\n  ↳ +15105550190 texted: Can I come later?\n"
    )
    assert changes(BEFORE, after) == [
        "Textcast [APP]:",
        "  # Check-up reminders",
        "  ↳ +15105550190 texted: Can I come later?",
    ]
