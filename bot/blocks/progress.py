"""The one progress message a campaign keeps in its channel, updated in place while it sends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.blocks.actions import EDIT_CAMPAIGN, EXPORT_CSV, PROGRESS_CANCEL, VIEW_REPORT
from bot.blocks.text import (
    actor,
    context,
    duration,
    escape,
    header,
    local_time,
    message,
    origin,
    plural,
    section,
    senders,
)
from campaigns.service.report import CampaignReport
from campaigns.status import CANCELLABLE, CampaignStatus

BAR_CELLS = 10
FULL, EMPTY = "▓", "░"

STATUS_LABELS = {
    CampaignStatus.DRAFT: "Draft",
    CampaignStatus.AWAITING_APPROVAL: "Waiting for approval",
    CampaignStatus.SCHEDULED: "Scheduled",
    CampaignStatus.RUNNING: "Sending",
    CampaignStatus.PAUSED: "Paused",
    CampaignStatus.DONE: "Done",
    CampaignStatus.CANCELLED: "Cancelled",
    CampaignStatus.FAILED: "Failed",
}


def percent(done: int, total: int) -> int:
    """Rounded down, so 100% means every recipient is handled, not 99.6% of them."""
    return done * 100 // total if total else 0


def progress_bar(done: int, total: int) -> str:
    filled = done * BAR_CELLS // total if total else 0
    return f"{FULL * filled}{EMPTY * (BAR_CELLS - filled)} {percent(done, total)}%"


def send_rate(per_second: float) -> str:
    if per_second >= 1:
        return f"{per_second:,.1f}".removesuffix(".0") + " messages a second"
    per_minute = per_second * 60
    shown = f"{per_minute:.1f}".removesuffix(".0") if per_minute < 10 else f"{per_minute:,.0f}"
    return f"{shown} messages a minute"


def time_left(eta: timedelta) -> str:
    if eta < timedelta(minutes=1):
        return "less than a minute left"
    return f"about {duration(eta)} left"


def status_line(report: CampaignReport) -> str:
    campaign = report.campaign
    label = f"*{STATUS_LABELS.get(CampaignStatus(campaign.status), campaign.status)}*"
    if campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at:
        return f"{label} for {local_time(campaign.scheduled_at)}"
    if campaign.status == CampaignStatus.CANCELLED:
        return f"{label} by {actor(campaign.cancelled_by)}"
    if campaign.status == CampaignStatus.FAILED:
        return f"{label}: every message was refused (the summary in the thread says why)"
    return label


def counts_line(report: CampaignReport) -> str:
    counts = report.counts
    return (
        f"{counts.delivered:,} delivered · {counts.failed:,} failed · "
        f"{counts.pending:,} pending · {counts.cancelled:,} cancelled, of {counts.total:,}"
    )


def went_out(report: CampaignReport) -> int:
    """What the bar counts: recipients Textcast is done with, less those cancelled. A campaign
    cancelled (or rejected) before it sent everyone never shows a full bar; the cancelled are
    in the counts line."""
    if report.campaign.status == CampaignStatus.CANCELLED:
        return report.handled - report.counts.cancelled
    return report.handled


def progress_message(
    report: CampaignReport, *, rate: float | None, eta: timedelta | None
) -> dict[str, Any]:
    """`rate` is messages handed to Twilio per second, `eta` the time left to send the rest;
    both are shown only while the campaign sends."""
    campaign = report.campaign
    counts = report.counts
    done = went_out(report)
    lines = [
        status_line(report),
        f"{done:,} of {counts.total:,} handled ({percent(done, counts.total)}%)",
        counts_line(report),
    ]
    if campaign.status == CampaignStatus.RUNNING:
        pace = [send_rate(rate)] if rate is not None else []
        if eta is not None and report.unsent:
            pace.append(time_left(eta))
        if pace:
            joined = " · ".join(pace)
            lines.append(joined[:1].upper() + joined[1:])
    if counts.waiting and counts.next_release and campaign.status == CampaignStatus.RUNNING:
        lines.append(
            f":clock8: {plural(counts.waiting, 'waits', 'wait')} for their sending hours in "
            f"their own time zones; the first go {local_time(counts.next_release)}"
        )
    if report.uncertain:
        lines.append(
            f"{report.uncertain:,} being checked with Twilio: its answer was lost, so Textcast "
            "asks whether they went out before it sends any again"
        )
    if campaign.status == CampaignStatus.PAUSED and campaign.pause_reason:
        lines.append(f"Paused: {escape(campaign.pause_reason)}")
    if report.duration is not None and campaign.status not in (
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
    ):
        lines.append(f"Took {duration(report.duration)}")
    about = f"{origin(campaign)} · {senders(campaign)} · {campaign.id}"
    label = STATUS_LABELS.get(CampaignStatus(campaign.status), campaign.status)
    fallback = (
        f"{escape(campaign.name)}: {label.lower()}, {percent(done, counts.total)}% "
        f"({counts.delivered:,} delivered, {counts.failed:,} failed, "
        f"{counts.pending:,} pending of {counts.total:,})"
    )
    # The words first and the bar after them, in a context of its own: a screen reader reads
    # "60 of 100 handled" before it spells out ten squares.
    blocks = [header(campaign.name), section("\n".join(lines)),
              context(progress_bar(done, counts.total)), context(about)]  # fmt: skip
    if campaign.status != CampaignStatus.DRAFT:
        blocks.append(progress_buttons(campaign.id, cancellable=campaign.status in CANCELLABLE,
                                       unsent=report.unsent,
                                       editable=campaign.status == CampaignStatus.SCHEDULED))  # fmt: skip
    return message(fallback, blocks)


def progress_buttons(
    campaign_id: str, *, cancellable: bool, unsent: int, editable: bool = False
) -> dict[str, Any]:
    """View report and Export CSV always; Edit until it starts; Cancel while something can
    still be stopped."""
    elements: list[dict[str, Any]] = [
        _button(VIEW_REPORT, "View report", campaign_id),
        _button(EXPORT_CSV, "Export CSV", campaign_id),
    ]
    if editable:
        elements.append(_button(EDIT_CAMPAIGN, "Edit", campaign_id))
    if cancellable:
        cancel = _button(PROGRESS_CANCEL, "Cancel", campaign_id)
        cancel["style"] = "danger"
        cancel["confirm"] = {
            "title": {"type": "plain_text", "text": "Cancel this campaign?"},
            "text": {"type": "plain_text", "text": f"{unsent:,} messages not sent yet will not go "
                                               "out. Messages already sent stay sent."},
            "confirm": {"type": "plain_text", "text": "Cancel it"},
            "deny": {"type": "plain_text", "text": "Keep sending"},
        }  # fmt: skip
        elements.append(cancel)
    return {"type": "actions", "block_id": "progress_actions", "elements": elements}


def _button(action_id: str, text: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "value": value,
            "text": {"type": "plain_text", "text": text}}  # fmt: skip
