"""The App Home tab: a New campaign button, then running, scheduled and recent campaigns with
their counts and a Cancel button where one can still be cancelled. A pure function of the list
and of whether the person may act: someone who may not sees no buttons, and is told whom to ask."""

from __future__ import annotations

from typing import Any

from bot.blocks.answers import campaign_line, waiting_for_hours
from bot.blocks.compose import plain
from bot.blocks.text import context, header, plural, section
from campaigns.service import CampaignView
from campaigns.status import CANCELLABLE, FINISHED, CampaignStatus

HOME_NEW, HOME_CANCEL = "home_new", "home_cancel"
RECENT = 10
MAX_BLOCKS = 100  # Slack's limit for a Home tab


def home_view(campaigns: list[CampaignView], *, who_may: str | None = None) -> dict[str, Any]:
    """`who_may`: None when the person may create and cancel; else who may, to be asked."""
    # A campaign waiting for its recipients' sending hours is not sending: it is listed with
    # those that will, saying when its first texts go.
    waiting = [c for c in campaigns if waiting_for_hours(c)]
    active = [c for c in campaigns if c.campaign.status in (CampaignStatus.RUNNING,
              CampaignStatus.PAUSED) and c not in waiting]  # fmt: skip
    scheduled = [c for c in campaigns if c.campaign.status == CampaignStatus.SCHEDULED] + waiting
    recent = [c for c in campaigns if c.campaign.status in FINISHED][:RECENT]
    blocks: list[dict[str, Any]] = [header("Textcast: SMS campaigns")]
    if who_may is None:
        blocks.append({"type": "actions", "block_id": "home_actions", "elements": [
            {"type": "button", "action_id": HOME_NEW, "style": "primary",
             "text": plain("New campaign"), "value": "new"},
        ]})  # fmt: skip
    else:
        blocks.append(context(f"To send or cancel a campaign, ask {who_may}."))
    for title, items, empty in (
        ("Sending now", active, "Nothing is sending."),
        ("Scheduled", scheduled, "Nothing is scheduled."),
        ("Recent", recent, "No finished campaigns yet."),
    ):
        blocks.append(header(title))
        blocks += [_campaign(item, who_may is None) for item in items] or [context(empty)]
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], context("…and more: `/sms list` shows them.")]
    return {"type": "home", "blocks": blocks}


def _campaign(item: CampaignView, may_cancel: bool) -> dict[str, Any]:
    campaign = item.campaign
    block: dict[str, Any] = section(campaign_line(item, with_id=False))
    if may_cancel and campaign.status in CANCELLABLE:
        unsent = item.counts.pending
        block["accessory"] = {
            "type": "button",
            "action_id": HOME_CANCEL,
            "style": "danger",
            "text": plain("Cancel"),
            "value": campaign.id,
            "confirm": {
                "title": plain("Cancel this campaign?", 100),
                "text": {"type": "plain_text",
                         "text": f"{plural(unsent, 'message')} not sent yet will not go out. "
                                 "Messages already sent stay sent."},
                "confirm": plain("Cancel it", 30),
                "deny": plain("Keep it", 30),
            },
        }  # fmt: skip
    return block
