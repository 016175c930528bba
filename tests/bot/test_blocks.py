"""Progress, summary and notice messages: what a reader sees, and that Slack would take them.

Every message is checked twice: by slack_sdk's models (each block parsed, validated and turned
back into the same JSON, so nothing was dropped) and by the Slack stand-in's checker, which words
problems as Slack does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.actions import CANCEL_CAMPAIGN, RESUME_CAMPAIGN, SEND_NOW
from bot.blocks.notices import (
    cancelled_by,
    late_start_message,
    paused_message,
    resolved,
    resumed_by,
)
from bot.blocks.progress import progress_bar, progress_message, send_rate
from bot.blocks.summary import summary_message
from bot.blocks.text import duration, money
from campaigns.models import Campaign
from campaigns.service import CampaignReport, FailureGroup
from campaigns.status import CampaignStatus, Counts
from sandbox.slack import blocks as block_kit

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_campaign(**overrides: Any) -> Campaign:
    values: dict[str, Any] = {
        "id": "smsc_0123456789abcdef",
        "name": "March promotion",
        "status": CampaignStatus.RUNNING,
        "source": "slack",
        "message_template": "Hi {{first_name}}",
        "sender_mode": "number",
        "from_numbers": ["+14155550100"],
        "version": 1,
        "created_by": "slack:U0ALICE",
        "channel_id": "C0CAMPAIGNS",
        "started_at": START,
    }
    values.update(overrides)
    return Campaign(**values)


def make_report(campaign: Campaign | None = None, **overrides: Any) -> CampaignReport:
    values: dict[str, Any] = {
        "campaign": campaign or make_campaign(),
        "counts": Counts(total=100, delivered=40, failed=2, pending=48, cancelled=10),
        "submitted": 50,
        "unsent": 40,
        "segments_sent": 100,
        "cost_sent": Decimal("0.7900"),
        "currency": "USD",
        "failures": (),
        "opted_out": 0,
        "awaiting_receipt": 8,
        "no_receipt": 0,
        "started_at": START,
        "finished_at": None,
        "duration": timedelta(minutes=2, seconds=5),
    }
    values.update(overrides)
    return CampaignReport(**values)


def valid(message: dict[str, Any]) -> list[str]:
    """The message's lines as a reader sees them, after checking Slack would accept it."""
    assert set(message) == {"text", "blocks"}
    assert message["text"].strip(), "a fallback text for notifications"
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict() == block  # validates every limit slack_sdk knows, and drops nothing
    assert block_kit.problems(blocks, surface="message") == []
    return block_kit.render(blocks)


# -- progress


def test_progress_while_sending_shows_the_bar_counts_rate_and_time_left() -> None:
    lines = valid(progress_message(make_report(), rate=2.0, eta=timedelta(seconds=20)))
    assert lines == [
        "# March promotion",
        "*Sending*",
        "60 of 100 handled (60%)",
        "40 delivered · 2 failed · 48 pending · 10 cancelled, of 100",
        "2 messages a second · less than a minute left",
        "▓▓▓▓▓▓░░░░ 60%",
        "Created in Slack by @U0ALICE · from +14155550100 · smsc_0123456789abcdef",
        "[View report] [Export CSV] [Cancel]",
    ]


def test_a_screen_reader_reads_the_words_before_the_bar() -> None:
    """The counts are the section's text, read first; the bar is a context element after it."""
    blocks = progress_message(make_report(), rate=None, eta=None)["blocks"]
    words, bar = blocks[1], blocks[2]
    assert words["type"] == "section" and words["text"]["text"].startswith("*Sending*\n60 of 100")
    assert "▓" not in words["text"]["text"] and "░" not in words["text"]["text"]
    assert bar == {"type": "context",
                   "elements": [{"type": "mrkdwn", "text": "▓▓▓▓▓▓░░░░ 60%"}]}  # fmt: skip


def test_progress_says_how_many_wait_for_a_check_with_twilio() -> None:
    lines = valid(progress_message(make_report(uncertain=3), rate=None, eta=None))
    assert (
        "3 being checked with Twilio: its answer was lost, so Textcast asks whether they went "
        "out before it sends any again"
    ) in lines


def test_progress_fallback_text_says_the_same_in_a_line() -> None:
    message = progress_message(make_report(), rate=None, eta=None)
    assert message["text"] == (
        "March promotion: sending, 60% (40 delivered, 2 failed, 48 pending of 100)"
    )


@pytest.mark.parametrize(
    ("status", "extra", "first_line"),
    [
        (
            CampaignStatus.SCHEDULED,
            {"scheduled_at": START + timedelta(hours=2)},
            "*Scheduled* for Mon 23 Nov 2026, 11:00 UTC",
        ),
        (CampaignStatus.RUNNING, {}, "*Sending*"),
        (CampaignStatus.PAUSED, {"pause_reason": "Half the last 50 failed."}, "*Paused*"),
        (CampaignStatus.DONE, {"finished_at": START + timedelta(minutes=3)}, "*Done*"),
        (CampaignStatus.CANCELLED, {"cancelled_by": "slack:U0BOB"}, "*Cancelled* by @U0BOB"),
        (CampaignStatus.FAILED, {}, "*Failed*: every message was refused"),
    ],
)
def test_progress_names_the_status(status: CampaignStatus, extra: dict, first_line: str) -> None:
    report = make_report(make_campaign(status=status, **extra))
    lines = valid(progress_message(report, rate=1.5, eta=timedelta(minutes=5)))
    assert lines[1].startswith(first_line)
    shows_pace = any("messages a" in line for line in lines)
    assert shows_pace == (status == CampaignStatus.RUNNING)


def test_a_paused_campaign_says_why() -> None:
    report = make_report(
        make_campaign(status=CampaignStatus.PAUSED, pause_reason="30 of the last 50 failed.")
    )
    lines = valid(progress_message(report, rate=None, eta=None))
    assert "Paused: 30 of the last 50 failed." in lines


def test_a_campaign_cancelled_part_way_never_shows_a_full_bar() -> None:
    """Cancelled with 60 of 100 sent: the 40 cancelled are done with, but were never texted."""
    cancelled = make_campaign(status=CampaignStatus.CANCELLED, cancelled_by="slack:U0BOB")
    report = make_report(cancelled, counts=Counts(total=100, delivered=55, failed=5, pending=0,
                                                  cancelled=40), unsent=0)  # fmt: skip
    message = progress_message(report, rate=None, eta=None)
    lines = valid(message)
    assert lines[2] == "60 of 100 handled (60%)", lines[2]
    assert "0 pending · 40 cancelled, of 100" in lines[3]
    assert "60%" in message["text"] and "100%" not in message["text"]


def test_a_finished_campaign_says_how_long_it_took() -> None:
    report = make_report(make_campaign(status=CampaignStatus.DONE), duration=timedelta(hours=1))
    assert "Took 1 h" in valid(progress_message(report, rate=None, eta=None))


def test_an_api_campaign_says_it_came_from_the_api() -> None:
    campaign = make_campaign(
        source="api", created_by="api:key_ab12", agent_id="agent_7", sender_mode="pool",
        from_numbers=["+14155550100", "+14155550101"],
    )  # fmt: skip
    lines = valid(progress_message(make_report(campaign), rate=None, eta=None))
    assert lines[-2] == (
        "Created over the API by API key key_ab12 for agent agent_7 · from 2 numbers · "
        "smsc_0123456789abcdef"
    )


@pytest.mark.parametrize(
    ("done", "total", "bar"),
    [
        (0, 100, "░░░░░░░░░░ 0%"),
        (52, 100, "▓▓▓▓▓░░░░░ 52%"),
        (999, 1000, "▓▓▓▓▓▓▓▓▓░ 99%"),  # not rounded up to a finished look
        (3, 3, "▓▓▓▓▓▓▓▓▓▓ 100%"),
        (0, 0, "░░░░░░░░░░ 0%"),
    ],
)
def test_progress_bar(done: int, total: int, bar: str) -> None:
    assert progress_bar(done, total) == bar


@pytest.mark.parametrize(
    ("per_second", "shown"),
    [
        (25.0, "25 messages a second"),
        (1.25, "1.2 messages a second"),
        (1.0, "1 message a second"),
        (1 / 60, "1 message a minute"),
        (0.5, "30 messages a minute"),
        (0.05, "3 messages a minute"),
        (0.01, "0.6 messages a minute"),
    ],
)
def test_send_rate(per_second: float, shown: str) -> None:
    assert send_rate(per_second) == shown


def test_names_people_typed_are_escaped_and_the_header_is_clipped() -> None:
    name = "<!channel> & friends " + "x" * 180
    lines = valid(progress_message(make_report(make_campaign(name=name)), rate=None, eta=None))
    header = lines[0].removeprefix("# ")
    assert len(header) == 150 and header.endswith("…")
    summary = summary_message(make_report(make_campaign(name=name)), settled=True)
    section = summary["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &amp; friends" in section and "<!channel>" not in section
    notice = paused_message(make_campaign(name=name, pause_reason="<@U0BOB> did it"))
    for message in (summary, notice, progress_message(make_report(), rate=None, eta=None)):
        typed = message["text"].removeprefix("<@U0ALICE> ")  # its creator is told, no one else
        assert "<!" not in typed and "<@" not in typed  # no notification


# -- summary


def test_summary_groups_failures_and_waits_for_receipts() -> None:
    report = make_report(
        make_campaign(status=CampaignStatus.DONE, finished_at=START + timedelta(minutes=3)),
        # 2 `sent` without a receipt (in failed) and 2 `queued` at Twilio (in pending)
        counts=Counts(
            total=100,
            delivered=90,
            failed=6,
            pending=2,
            cancelled=2,
            awaiting_receipt=4,
            sent_no_receipt=2,
        ),
        failures=(
            FailureGroup(30003, "Unreachable destination handset", 3),
            FailureGroup(21211, "Invalid 'To' phone number", 1),
        ),
        opted_out=1,
        no_receipt=2,
        awaiting_receipt=4,
        submitted=95,
        segments_sent=190,
        cost_sent=Decimal("1.5010"),
        duration=timedelta(minutes=3, seconds=20),
    )
    lines = valid(summary_message(report, settled=False))
    # Before it is final, what awaits a receipt is neither failed nor listed as a failure.
    assert lines == [
        "@U0ALICE *Summary of March promotion*",
        "90 delivered · 4 awaiting receipt · 4 failed · 0 pending · 2 cancelled, of 100",
        "",
        "*Why messages failed*",
        "• 30003: Unreachable destination handset (3 messages)",
        "• 21211: Invalid 'To' phone number (1 message)",
        "",
        "1 recipient had opted out (STOP) and was not sent to.",
        "",
        "95 messages sent as 190 texts · estimated cost 1.50 USD",
        "Took 3 min 20 s",
        "Still waiting for 4 delivery receipts: this summary updates as they arrive.",
    ]
    settled = valid(summary_message(report, settled=True))
    assert settled[1] == "90 delivered · 6 failed · 2 pending · 2 cancelled, of 100"
    assert "• No delivery receipt from the phone network (2 messages)" in settled
    assert settled[-1] == "Final: every delivery receipt Textcast will wait for is in."


def test_a_clean_summary_has_no_failure_section() -> None:
    report = make_report(
        counts=Counts(total=2, delivered=2),
        awaiting_receipt=0,
        submitted=2,
        segments_sent=2,
        cost_sent=Decimal("0.0158"),
    )
    lines = valid(summary_message(report, settled=True))
    assert "*Why messages failed*" not in lines
    assert "2 messages sent · estimated cost 0.0158 USD" in lines


def test_fifty_error_codes_with_long_reasons_are_cut_to_ten_and_counted() -> None:
    failures = tuple(FailureGroup(30000 + i, "r" * 200, 50 - i) for i in range(50))
    report = make_report(
        counts=Counts(total=5000, delivered=3725, failed=1275),
        failures=failures,
        awaiting_receipt=0,
    )
    message = summary_message(report, settled=True)
    lines = valid(message)
    listed = [line for line in lines if line.startswith("• 300")]
    assert listed[0] == f"• 30000: {'r' * 150} (50 messages)"
    assert len(listed) == 10
    assert lines[lines.index(listed[-1]) + 1] == (
        "• and 40 more error codes (820 messages): the API lists every recipient with its error"
    )
    assert len(message["blocks"][0]["text"]["text"]) <= 3000


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("0.0158"), "0.0158 USD"),
        (Decimal("0.00790"), "0.0079 USD"),
        (Decimal("0"), "0 USD"),
        (Decimal("1.5010"), "1.50 USD"),
        (Decimal("790.0000"), "790.00 USD"),
        (Decimal("12345.678"), "12,345.68 USD"),
    ],
)
def test_money(amount: Decimal, shown: str) -> None:
    assert money(amount, "USD") == shown


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=3), "3 min"),
        (timedelta(minutes=3, seconds=20), "3 min 20 s"),
        (timedelta(hours=2, minutes=5, seconds=9), "2 h 5 min"),
        (timedelta(days=1, hours=4), "1 day 4 h"),
    ],
)
def test_duration(delta: timedelta, shown: str) -> None:
    assert duration(delta) == shown


# -- notices


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_paused_notice_says_why_and_offers_resume_and_a_confirmed_cancel() -> None:
    campaign = make_campaign(
        status=CampaignStatus.PAUSED, pause_reason="30 of the last 50 messages failed."
    )
    message = paused_message(campaign)
    assert message["text"].startswith("<@U0ALICE> March promotion is paused")  # told first
    assert valid(message) == [
        "@U0ALICE :double_vertical_bar: *March promotion* is paused. 30 of the last 50 messages "
        "failed.",
        "Nothing more is sent until someone resumes or cancels it.",
        "[Resume] [Cancel]",
    ]
    resume, cancel = buttons(message)
    assert (resume["action_id"], resume["value"], resume["style"]) == (
        RESUME_CAMPAIGN, campaign.id, "primary",
    )  # fmt: skip
    assert (cancel["action_id"], cancel["value"], cancel["style"]) == (
        CANCEL_CAMPAIGN, campaign.id, "danger",
    )  # fmt: skip
    assert cancel["confirm"]["confirm"]["text"] == "Cancel campaign"
    assert "cannot be recalled" in cancel["confirm"]["text"]["text"]
    assert "confirm" not in resume


def test_late_start_notice_offers_send_now_and_cancel() -> None:
    campaign = make_campaign(
        status=CampaignStatus.PAUSED,
        started_at=None,
        pause_reason=(
            "It was due at 2026-11-23 07:00 UTC but Textcast was not running then (2 h 0 min "
            "late). Send it now, or cancel it?"
        ),
    )
    message = late_start_message(campaign)
    lines = valid(message)
    assert lines[0].startswith(
        "@U0ALICE :alarm_clock: *March promotion* has not started. It was due at"
    )
    assert [(b["action_id"], b["text"]["text"]) for b in buttons(message)] == [
        (SEND_NOW, "Send now"),
        (CANCEL_CAMPAIGN, "Cancel"),
    ]
    assert all(b["value"] == campaign.id for b in buttons(message))
    assert "confirm" in buttons(message)[1]


def test_a_campaign_that_stalled_partway_says_so() -> None:
    campaign = make_campaign(
        status=CampaignStatus.PAUSED,
        pause_reason=(
            "It stopped sending at 2026-11-23 07:00 UTC because Textcast was not running (2 h "
            "0 min ago), with 340 messages not sent yet. Send them now, or cancel?"
        ),
    )
    message = late_start_message(campaign)
    assert valid(message)[0].startswith(
        "@U0ALICE :alarm_clock: *March promotion* stopped sending partway. It stopped sending at"
    )
    assert [b["action_id"] for b in buttons(message)] == [SEND_NOW, CANCEL_CAMPAIGN]


def test_a_resolved_notice_keeps_the_reason_and_loses_its_buttons() -> None:
    campaign = make_campaign(status=CampaignStatus.PAUSED, pause_reason="Too many failures.")
    # As Slack hands it back in the click's payload: with block ids.
    notice = paused_message(campaign)
    notice["blocks"] = [{**b, "block_id": f"b{i}"} for i, b in enumerate(notice["blocks"])]
    lines = valid(resolved(notice, resumed_by("U0ALICE")))
    assert lines == [
        "@U0ALICE :double_vertical_bar: *March promotion* is paused. Too many failures.",
        "Nothing more is sent until someone resumes or cancels it.",
        ":arrow_forward: Resumed by @U0ALICE",
    ]
    cancelled = resolved(notice, cancelled_by("U0BOB", 48))
    assert buttons(cancelled) == []
    assert (
        valid(cancelled)[-1] == ":no_entry_sign: Cancelled by @U0BOB: 48 messages will not be sent"
    )


def test_a_long_pause_reason_still_fits() -> None:
    campaign = make_campaign(status=CampaignStatus.PAUSED, pause_reason="why " * 2000)
    valid(paused_message(campaign))
    valid(late_start_message(campaign))
    valid(progress_message(make_report(campaign), rate=None, eta=None))


def test_every_message_for_every_status_is_valid() -> None:
    for status in CampaignStatus:
        report = make_report(make_campaign(status=status, scheduled_at=START))
        valid(progress_message(report, rate=0.0, eta=None))
        valid(summary_message(replace(report, awaiting_receipt=0), settled=True))
