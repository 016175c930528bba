"""The approval request a second person answers, and what it becomes once answered."""

from __future__ import annotations

from typing import Any

from bot.blocks.actions import SEND_NOW
from bot.blocks.notices import cancel_button
from bot.blocks.people import approvers, creator
from bot.blocks.text import (
    actor,
    escape,
    header,
    local_time,
    message,
    money,
    plural,
    quoted,
    section,
)
from bot.blocks.text import senders as senders_of
from campaigns.messages import MessageStats
from campaigns.models import Campaign
from campaigns.settings import Settings
from campaigns.status import CampaignStatus

APPROVE, REJECT = "campaign_approve", "campaign_reject"
REJECT_VIEW, REJECT_REASON = "campaign_reject_reason", "reject_reason"
MAX_REJECT_REASON = 500


def approval_value(campaign: Campaign) -> str:
    """What the buttons carry: the campaign and the version asked about (an edit outdates it)."""
    return f"{campaign.id}:{campaign.version}"


def _facts(campaign: Campaign, total: int, settings: Settings) -> str:
    stats = MessageStats.from_json(campaign.message_stats)
    cost = money(stats.cost(settings.PRICE_PER_SEGMENT, settings.PRICE_PER_MMS),
                 settings.PRICE_CURRENCY)  # fmt: skip
    when = f"at {local_time(campaign.scheduled_at)}" if campaign.scheduled_at else "now"
    return (
        f"*{plural(total, 'recipient')}* {senders_of(campaign)} · sends {when} · estimated "
        f"*{cost}* ({plural(stats.total_segments, 'segment')})\n"
        f"{_who_made_it(campaign)} Needs approval: "
        f"{escape(campaign.approval_reason or 'over a threshold')}.\n"
        f"> {escape(campaign.message_template[:500])}"
    )


def _who_made_it(campaign: Campaign) -> str:
    """Its creator, and who changed it: since it was approved, when it was (that approval was
    for what it said before). The approver must be none of them, so they are named."""
    made = f"Created by {actor(campaign.created_by)}."
    if campaign.approved_by:
        changers = list(campaign.changed_by or [])
        since = f" since {actor(campaign.approved_by)} approved it"
    else:
        first = {campaign.created_by, campaign.consent_confirmed_by}
        changers = [who for who in campaign.changed_by or [] if who not in first]
        since = ""
    if not changers:
        return made
    return f"{made} *Changed by {_names(changers)}{since}.*"


def _names(actors: list[str]) -> str:
    names = [actor(who) for who in actors]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def approval_request(campaign: Campaign, total: int, settings: Settings) -> dict[str, Any]:
    name = escape(campaign.name)
    value = approval_value(campaign)
    buttons = {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Approve"},
             "confirm": {
                 "title": {"type": "plain_text", "text": "Approve this campaign?"},
                 "text": {"type": "plain_text",
                          "text": f"{plural(total, 'recipient')} will be texted."},
                 "confirm": {"type": "plain_text", "text": "Approve"},
                 "deny": {"type": "plain_text", "text": "Not yet"},
             }},
            {"type": "button", "action_id": REJECT, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": "Reject"}},
        ],
    }  # fmt: skip
    asked = approvers(settings, campaign.changed_by or [])
    return message(
        f"{asked} Approval needed: {name}, {plural(total, 'recipient')}",
        [
            header(f"Approve: {campaign.name}"),
            section(_facts(campaign, total, settings)),
            section(f"{asked}: please approve or reject it. Only someone who may send campaigns "
                    "and did not create or change it since its last approval can. Nothing is "
                    "sent until then."),
            buttons,
        ],
    )  # fmt: skip


def approval_answered(
    campaign: Campaign, total: int, settings: Settings, decision: str
) -> dict[str, Any]:
    """The request once answered: the facts, the decision and who made it; for an approval
    after the campaign's time, Send now and Cancel."""
    blocks = [
        header(f"Approve: {campaign.name}"),
        section(_facts(campaign, total, settings)),
        section(decision),
    ]
    if campaign.status == CampaignStatus.PAUSED:
        blocks.append({"type": "actions", "block_id": "approval_late", "elements": [
            {"type": "button", "action_id": SEND_NOW, "style": "primary", "value": campaign.id,
             "text": {"type": "plain_text", "text": "Send now"}},
            cancel_button(campaign),
        ]})  # fmt: skip
    return message(f"{escape(campaign.name)}: {decision}", blocks)


def request_outdated(campaign: Campaign, total: int, settings: Settings) -> dict[str, Any]:
    """A request answered after the campaign changed: nothing was decided. What it says now,
    and where it is asked again (a new request, posted for the new version)."""
    if campaign.status == CampaignStatus.AWAITING_APPROVAL:
        note = (":warning: This request is out of date: the campaign was changed after it was "
                "posted, so nothing was approved. What it says now is above; approve or reject "
                "it on the new request.")  # fmt: skip
    else:
        note = (f":warning: This request is out of date: the campaign was changed after it was "
                f"posted and is now {campaign.status}. Nothing was approved.")  # fmt: skip
    blocks = [
        header(f"Approve: {campaign.name}"),
        section(_facts(campaign, total, settings)),
        section(note),
    ]
    return message(f"{escape(campaign.name)}: this approval request is out of date", blocks)


def approved_by(user_id: str, *, late: bool) -> str:
    if late:
        return (f":white_check_mark: Approved by <@{user_id}>, after its time: send it now, "
                "or cancel it?")  # fmt: skip
    return f":white_check_mark: Approved by <@{user_id}>"


def rejected_by(user_id: str, reason: str) -> str:
    return f":x: Rejected by <@{user_id}>: cancelled, nothing was sent. Why:\n{quoted(reason)}"


def reject_modal(campaign: Campaign, metadata: str) -> dict[str, Any]:
    """Reject asks first, and asks why: the person who made the campaign is told both."""
    made_by = creator(campaign)
    told = (f"{made_by} is told who rejected it and why." if made_by
            else "Its thread is told who rejected it and why.")  # fmt: skip
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Reject campaign"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Keep it"},
        "blocks": [
            section(f"Rejecting *{escape(campaign.name)}* cancels it: nothing is sent. {told}"),
            {"type": "input", "block_id": REJECT_REASON,
             "label": {"type": "plain_text", "text": "Why are you rejecting it?"},
             "hint": {"type": "plain_text",
                      "text": "Say what would have to change, so it can be sent another time."},
             "element": {"type": "plain_text_input", "action_id": REJECT_REASON,
                         "multiline": True, "max_length": MAX_REJECT_REASON}},
        ],
    }  # fmt: skip


def waiting_note(channel_id: str, reason: str | None) -> str:
    why = escape(reason or "over a threshold")
    return f":hourglass: Waiting for a second person's approval ({why}): asked in <#{channel_id}>"
