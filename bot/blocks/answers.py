"""What `/sms` answers a person (ephemeral): the campaign list, help, and short replies."""

from __future__ import annotations

from typing import Any

from bot.blocks.progress import STATUS_LABELS, waiting_line, waits_for_hours
from bot.blocks.text import context, escape, local_time, message, section
from campaigns.service import CampaignView
from campaigns.status import CampaignStatus

LISTED = 10

HELP = [
    ("/sms new", "create a campaign: who, what, from which number and when, then a preview"),
    ("/sms list", "the newest campaigns, with their status and counts"),
    ("/sms status ID", "one campaign's progress"),
    ("/sms edit ID", "change a scheduled campaign: the same form, a new preview, then confirm"),
    ("/sms cancel ID", "cancel a scheduled, running or paused campaign (sent messages stay sent)"),
    ("/sms templates", "saved messages: list, save, delete; the form's picker fills them in"),
    ("/sms contacts", "contact groups: import a CSV with where they agreed, list, delete"),
    ("/sms optout add|remove NUMBER", "opt a number out of every campaign, or back in"),
    ("/sms optout list [NUMBER]", "who is opted out, or one number's history"),
    ("/sms help", "this list"),
]


def help_message(problem: str | None = None) -> dict[str, Any]:
    lines = "\n".join(f"`{command}`: {what}" for command, what in HELP)
    blocks = [section(f":warning: {escape(problem)}")] if problem else []
    blocks += [section(f"*Textcast: SMS campaigns from Slack*\n{lines}")]
    fallback = (problem + " " if problem else "") + "Try /sms new, /sms list or /sms help."
    return message(fallback, blocks)


def reply(text: str) -> dict[str, Any]:
    return message(text, [section(text)])


def campaign_line(item: CampaignView, *, with_id: bool = True) -> str:
    """`with_id`: for typing `/sms status ID` (the list); App Home's buttons need none."""
    campaign, counts = item.campaign, item.counts
    label = STATUS_LABELS.get(CampaignStatus(campaign.status), campaign.status)
    when = ""
    if campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at:
        when = f" for {local_time(campaign.scheduled_at)}"
    shown = counts.while_sending()  # what awaits a receipt is neither failed nor pending
    if waiting_for_hours(item):
        label, when = waiting_line(counts, first=counts.submitted == 0).replace("*", ""), ""
    awaiting = f"{shown.awaiting_receipt:,} awaiting receipt, " if shown.awaiting_receipt else ""
    return (
        f"*{escape(campaign.name)}* · {label}{when} · {shown.delivered:,} delivered, "
        f"{awaiting}{shown.failed:,} failed, {shown.pending:,} pending of {shown.total:,}"
        + (f" · `{campaign.id}`" if with_id else "")
    )


def waiting_for_hours(item: CampaignView) -> bool:
    """Running, with nothing to send until some recipient's sending hours open."""
    unsent = item.counts.while_sending().pending
    return waits_for_hours(item.campaign, item.counts, unsent)


def campaign_list(items: list[CampaignView], more: bool) -> dict[str, Any]:
    if not items:
        return reply("No campaigns yet: `/sms new` creates one.")
    blocks = [section("*Newest campaigns*")]
    blocks += [section(campaign_line(item)) for item in items[:LISTED]]
    if more:
        blocks.append(context("Older ones: the HTTP API lists them all (GET /v1/sms/campaigns)."))
    blocks.append(context("`/sms status ID` shows one; `/sms cancel ID` cancels one."))
    return message(f"{len(items)} newest campaigns", blocks)
