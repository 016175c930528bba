"""A change made to a campaign by someone other than its creator (an edit, a new time, a cancel),
as told in its thread with its creator mentioned: whoever set a campaign up learns when someone
else changed or stopped it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.blocks.allowed import and_list
from bot.blocks.people import for_creator
from bot.blocks.text import actor, escape, local_time, plural
from campaigns.models import Campaign
from campaigns.status import CampaignStatus

# What an edit changed, in words, in the order told; the service's names for the fields (an
# API edit's list) and the campaign's columns (compared, for an edit made in Slack).
WORDS = {
    "name": "its name",
    "message": "the message",
    "message_template": "the message",
    "media": "the pictures",
    "media_urls": "the pictures",
    "recipients": "the recipients",
    "import_report": "the recipients",
    "senders": "the number it sends from",
    "from_numbers": "the number it sends from",
    "sender_mode": "the number it sends from",
    "schedule": "when it sends",
    "scheduled_at": "when it sends",
    "send_hours": "its sending hours",
    "channel_id": "the channel it reports in",
}
ORDER = list(dict.fromkeys(WORDS.values()))
COMPARED = ("name", "message_template", "media_urls", "import_report", "from_numbers",
            "sender_mode", "scheduled_at", "send_hours", "channel_id")  # fmt: skip


def by_someone_else(campaign: Campaign, by: str) -> bool:
    return by != campaign.created_by


def fields_changed(before: Campaign, after: Campaign) -> list[str]:
    """What an edit changed, from the campaign before and after it. A time is compared to the
    minute: the form shows and reads it so, and seconds lost there changed nothing."""
    return [
        name for name in COMPARED if _shown(getattr(before, name)) != _shown(getattr(after, name))
    ]


def _shown(value: Any) -> Any:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is not None:  # as stored: UTC, and naive where the database drops the zone
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(second=0, microsecond=0)


def edited_notice(campaign: Campaign, by: str, changed: Iterable[str]) -> str:
    """'@Alice :pencil2: @Bob changed *Spring sale*: the message and when it sends. It sends
    on …'."""
    told = {WORDS[name] for name in changed if name in WORDS}
    what = and_list([words for words in ORDER if words in told]) or "its details"
    text = f":pencil2: {actor(by)} changed *{escape(campaign.name)}*: {what}."
    if campaign.status == CampaignStatus.AWAITING_APPROVAL:
        text += " It waits for a second person's approval again."
    elif campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at is not None:
        text += f" It sends {local_time(campaign.scheduled_at)}."
    elif campaign.status == CampaignStatus.RUNNING:
        text += " It is sending now."
    return for_creator(campaign, text)


def cancelled_notice(campaign: Campaign, by: str, unsent: int) -> str:
    """'@Alice :no_entry_sign: @Bob cancelled *Spring sale*: 40 messages will not be sent.'"""
    text = (f":no_entry_sign: {actor(by)} cancelled *{escape(campaign.name)}*: "
            f"{plural(unsent, 'message')} will not be sent.")  # fmt: skip
    return for_creator(campaign, text)


def change_of(by: str, *, changed: Iterable[str] = (), unsent: int | None = None) -> dict[str, Any]:
    """Who changed a campaign and how (`unsent`: a cancel), as the worker is told of it."""
    return {"by": by, "changed": list(changed), "unsent": unsent}


def change_notice(campaign: Campaign, change: dict[str, Any]) -> str | None:
    """The notice for a change the worker was told of (`change_of`); None when the
    creator made it (the progress message shows it; nobody else needs telling)."""
    by = str(change.get("by") or "")
    if not by or not by_someone_else(campaign, by):
        return None
    if change.get("unsent") is not None:
        return cancelled_notice(campaign, by, int(change["unsent"]))
    return edited_notice(campaign, by, change.get("changed") or [])
