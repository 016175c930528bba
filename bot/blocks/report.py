"""The View report modal: counts by status, failures by reason, and the recipients page by page,
the failed first, each with their name (from their variables) beside their masked number.
A pure function of the service's report and one page of recipients."""

from __future__ import annotations

from typing import Any

from bot.blocks.compose import Metadata, plain
from bot.blocks.progress import receipts_final, shown_counts
from bot.blocks.summary import sent_size
from bot.blocks.text import context, escape, header, money, plural, section
from campaigns.models import Recipient
from campaigns.names import display_name
from campaigns.privacy import mask
from campaigns.service import CampaignReport, StatusPage
from campaigns.service.claims import OPTED_OUT
from campaigns.service.report import failure_reason

REPORT = "sms_report"  # callback_id
REPORT_PAGE = "report_page"
PAGE = 40  # recipients a page: each is one line of a section, kept under 3,000 characters
LINE = 72  # characters a recipient's line is cut at: 40 of them stay under a section's 3,000
NAME = 28
FAILURES_SHOWN = 10
GROUP_TITLES = {
    "failed": "Failed",
    "no_receipt": "Sent, no delivery receipt yet",
    "pending": "Not sent yet",
    "cancelled": "Cancelled",
    "delivered": "Delivered",
}


def report_view(report: CampaignReport, shown: StatusPage, *, page: int) -> dict[str, Any]:
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
            f"{plural(counts.total, 'recipient')} · {sent_size(report)} · "
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
    on_page = sum(len(rows) for _, rows in shown.groups)
    blocks.append(context(f"Recipients {first:,} to {first + on_page - 1:,}, the failed first")
                  if on_page else context("No recipients on this page."))  # fmt: skip
    for group, rows in shown.groups:
        title = GROUP_TITLES.get(group, group)
        blocks.append(section(f"*{title}*\n" + "\n".join(_line(r) for r in rows)))
    buttons = []
    if page > 1:
        buttons.append({"type": "button", "action_id": f"{REPORT_PAGE}_first",
                        "text": plain("First page"), "value": "first"})  # fmt: skip
    if shown.next_cursor:
        buttons.append({"type": "button", "action_id": REPORT_PAGE, "text": plain("Next page"),
                        "value": shown.next_cursor})  # fmt: skip
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
    """'Sarah Jones · +44*******001 · undelivered: …', cut to one line (before it is escaped, so
    the cut never splits an `&amp;`)."""
    name = display_name(recipient.variables)
    who = f"{name[:NAME]} · " if name else ""
    line = f"{who}{mask(recipient.phone)} · {_state(recipient)}{_why(recipient)}"
    return escape(line if len(line) <= LINE else line[: LINE - 1].rstrip() + "…")


STATES = {  # a recipient's status in words; the export keeps the stored names
    "pending": "not sent yet",
    "sent": "sent, no receipt yet",
    "undelivered": "not delivered",
}


def _state(recipient: Recipient) -> str:
    if recipient.status == "queued":  # with Twilio once it has a SID; being handed over before
        return "sent, no receipt yet" if recipient.twilio_sid else "being sent"
    return STATES.get(recipient.status, recipient.status)


def _why(recipient: Recipient) -> str:
    if recipient.error_reason == OPTED_OUT:
        return ": opted out (STOP)"
    if recipient.error_reason or recipient.error_code:
        return ": " + failure_reason(recipient.error_code, recipient.error_reason)
    return ""
