"""The View report modal: counts by status, failures by reason, and the recipients page by page.
A pure function of the service's report and one page of recipients."""

from __future__ import annotations

from typing import Any

from bot.blocks.compose import Metadata, plain
from bot.blocks.progress import receipts_final, shown_counts
from bot.blocks.summary import sent_size
from bot.blocks.text import context, escape, header, money, plural, section
from campaigns.models import Recipient
from campaigns.service import CampaignReport

REPORT = "sms_report"  # callback_id
REPORT_PAGE = "report_page"
PAGE = 40  # recipients a page: each is one line of a section, kept under 3,000 characters
FAILURES_SHOWN = 10


def report_view(
    report: CampaignReport, recipients: list[Recipient], next_cursor: str | None, *, page: int
) -> dict[str, Any]:
    campaign = report.campaign
    counts = shown_counts(report, final=receipts_final(report))  # awaiting a receipt: not failed
    fields = [
        ("Delivered", counts.delivered), ("Failed", counts.failed),
        ("Pending", counts.pending), ("Cancelled", counts.cancelled),
    ]  # fmt: skip
    if counts.awaiting_receipt:
        fields.insert(1, ("Awaiting receipt", counts.awaiting_receipt))
    blocks: list[dict[str, Any]] = [
        header(campaign.name),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{value:,}"} for label, value in fields
            ],
        },
        context(
            f"{plural(counts.total, 'recipient')} · {sent_size(report)} sent · "
            f"{money(report.cost_sent, report.currency)} · {campaign.id}"
        ),
    ]
    if report.failures or report.opted_out:
        lines = ["*Why messages failed*"]
        lines += [f"• {group.count:,} × {escape(group.reason)}"
                  + (f" (error {group.code})" if group.code else "")
                  for group in report.failures[:FAILURES_SHOWN]]  # fmt: skip
        if report.opted_out:
            lines.append(f"• {report.opted_out:,} × opted out (STOP): not sent")
        blocks.append(section("\n".join(lines)))
    first = (page - 1) * PAGE + 1
    shown = "\n".join(_line(r) for r in recipients) or "No recipients on this page."
    blocks.append(section(f"*Recipients {first:,} to {first + len(recipients) - 1:,}*\n{shown}"))
    buttons = []
    if page > 1:
        buttons.append({"type": "button", "action_id": f"{REPORT_PAGE}_first",
                        "text": plain("First page"), "value": "first"})  # fmt: skip
    if next_cursor:
        buttons.append({"type": "button", "action_id": REPORT_PAGE, "text": plain("Next page"),
                        "value": next_cursor})  # fmt: skip
    if buttons:
        blocks.append({"type": "actions", "block_id": "report_pages", "elements": buttons})
    return {
        "type": "modal",
        "callback_id": REPORT,
        "title": plain("Campaign report", 24),
        "close": plain("Close", 24),
        "private_metadata": Metadata(draft=campaign.id, extra={"p": str(page)}).dump(),
        "blocks": blocks,
    }


def _line(recipient: Recipient) -> str:
    why = f": {escape(recipient.error_reason)}" if recipient.error_reason else ""
    return f"{recipient.phone} · {recipient.status}{why}"[:70]
