"""The summary posted in the progress message's thread when sending ends, updated as late delivery
receipts arrive until they settle."""

from __future__ import annotations

from typing import Any

from bot.blocks.people import for_creator
from bot.blocks.progress import counts_line, shown_counts
from bot.blocks.text import context, duration, escape, message, money, plural, section
from campaigns.service.report import CampaignReport

# Enough to see what went wrong; the rest are counted (a section holds at most 3,000 characters).
MAX_FAILURE_LINES = 10
MAX_REASON = 150


def failure_lines(report: CampaignReport, *, settled: bool) -> list[str]:
    lines = []
    for group in report.failures[:MAX_FAILURE_LINES]:
        code = f"{group.code}: " if group.code is not None else ""
        reason = escape(group.reason[:MAX_REASON])
        lines.append(f"• {code}{reason} ({plural(group.count, 'message')})")
    rest = report.failures[MAX_FAILURE_LINES:]
    if rest:
        messages = sum(group.count for group in rest)
        lines.append(
            f"• and {len(rest):,} more error codes ({plural(messages, 'message')}): "
            "the API lists every recipient with its error"
        )
    # `sent` without a receipt counts as failed once final; until then its receipt may still
    # arrive, and it is counted as awaiting one (counts_line), not as a failure.
    no_receipt = report.no_receipt
    if no_receipt and settled:
        lines.append(
            f"• No delivery receipt from the phone network ({plural(no_receipt, 'message')})"
        )
    return lines


def summary_message(report: CampaignReport, *, settled: bool) -> dict[str, Any]:
    """`settled`: stop waiting for receipts (none is awaited, or the wait is over)."""
    campaign = report.campaign
    lines = [for_creator(campaign, f"*Summary of {escape(campaign.name)}*"),
             counts_line(report, final=settled)]  # fmt: skip
    failures = failure_lines(report, settled=settled)
    if failures:
        lines += ["", "*Why messages failed*", *failures]
    if report.opted_out:
        lines += [
            "",
            f"{plural(report.opted_out, 'recipient')} had opted out (STOP) and "
            f"{'was' if report.opted_out == 1 else 'were'} not sent to.",
        ]
    if report.replies or report.stopped_by_text:
        answered = [plural(report.replies, "reply", "replies")] if report.replies else []
        if report.stopped_by_text:
            answered.append(f"{plural(report.stopped_by_text, 'opt-out')} by text (STOP)")
        lines += ["", f":speech_balloon: {' · '.join(answered)}: see the thread"]
    lines += [
        "",
        f"{sent_size(report)} · estimated cost {money(report.cost_sent, report.currency)}",
    ]
    if report.duration is not None:
        lines.append(f"Took {duration(report.duration)}")
    if settled:
        note = "Final: every delivery receipt Textcast will wait for is in."
    else:
        note = (
            f"Still waiting for {plural(report.awaiting_receipt, 'delivery receipt')}: "
            "this summary updates as they arrive."
        )
    counts = shown_counts(report, final=settled)
    awaiting = f"{counts.awaiting_receipt:,} awaiting receipt, " if counts.awaiting_receipt else ""
    fallback = for_creator(campaign,
        f"Summary of {escape(campaign.name)}: {counts.delivered:,} delivered, {awaiting}"
        f"{counts.failed:,} failed, {counts.cancelled:,} cancelled of {counts.total:,}"
    )  # fmt: skip
    return message(fallback, [section("\n".join(lines)), context(note)])


def sent_size(report: CampaignReport) -> str:
    """What was sent, in what it is priced by: texts (a long message goes as several), or
    picture messages (MMS). '50 messages sent as 100 texts'."""
    if report.campaign.media_urls:
        return plural(report.submitted, "picture message") + " sent"
    sent = plural(report.submitted, "message") + " sent"
    if report.segments_sent > report.submitted:
        return f"{sent} as {plural(report.segments_sent, 'text')}"
    return sent
