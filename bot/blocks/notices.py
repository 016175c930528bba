"""Notices that need a person: a campaign the engine paused, one found long after its start time.

Each carries buttons (action ids in `bot.blocks.actions`, value = the campaign id). When someone
clicks, `resolved` turns the notice into a record of who decided what, without the buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.blocks.actions import CANCEL_CAMPAIGN, RESUME_CAMPAIGN, SEND_NOW
from bot.blocks.people import for_creator
from bot.blocks.text import context, escape, message, plural, section
from campaigns.models import Campaign


def _button(label: str, action_id: str, value: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
        **more,
    }


def cancel_button(campaign: Campaign) -> dict[str, Any]:
    """Cancel, behind Slack's confirmation: it cannot be undone."""
    confirm = {
        "title": {"type": "plain_text", "text": "Cancel this campaign?"},
        "text": {
            "type": "plain_text",
            "text": (
                "Messages not sent yet will not be sent. Messages already sent cannot be "
                "recalled. This cannot be undone."
            ),
        },
        "confirm": {"type": "plain_text", "text": "Cancel campaign"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    return _button("Cancel", CANCEL_CAMPAIGN, campaign.id, style="danger", confirm=confirm)


def _actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def paused_message(campaign: Campaign) -> dict[str, Any]:
    """The engine stopped sending (a failure spike, say): resume or cancel."""
    reason = escape(campaign.pause_reason or "No reason was recorded.")
    name = escape(campaign.name)
    text = for_creator(campaign, (
        f":double_vertical_bar: *{name}* is paused. {reason}\n"
        "Nothing more is sent until someone resumes or cancels it."
    ))  # fmt: skip
    return message(
        for_creator(campaign, f"{name} is paused: {reason}"),
        [
            section(text),
            _actions(
                _button("Resume", RESUME_CAMPAIGN, campaign.id, style="primary"),
                cancel_button(campaign),
            ),
        ],
    )


def late_start_message(campaign: Campaign) -> dict[str, Any]:
    """The campaign was found long after its start time (Textcast was down): send or cancel."""
    reason = escape(campaign.pause_reason or "It was found long after its start time.")
    name = escape(campaign.name)
    # A campaign can also stop partway, when every worker was down for a long while.
    what = "stopped sending partway" if campaign.started_at else "has not started"
    return message(
        for_creator(
            campaign,
            f"{name} {what}: send {'the rest ' if campaign.started_at else 'it '}"
            "now, or cancel it?",
        ),
        [
            section(for_creator(campaign, f":alarm_clock: *{name}* {what}. {reason}")),
            _actions(
                _button("Send now", SEND_NOW, campaign.id, style="primary"),
                cancel_button(campaign),
            ),
        ],
    )


def resumed_by(user_id: str) -> str:
    return f":arrow_forward: Resumed by <@{user_id}>"


def sent_now_by(user_id: str) -> str:
    return f":arrow_forward: Sending now, as <@{user_id}> decided"


def cancelled_by(user_id: str, unsent: int) -> str:
    return (
        f":no_entry_sign: Cancelled by <@{user_id}>: {plural(unsent, 'message')} will not be sent"
    )


def resolved(notice: Mapping[str, Any], outcome: str) -> dict[str, Any]:
    """The notice as it was (from the click's payload), its buttons replaced by `outcome`."""
    kept = [block for block in notice.get("blocks") or [] if block.get("type") != "actions"]
    fallback = f"{notice.get('text') or ''} {outcome}".strip()
    return message(fallback, [*kept, context(outcome)])
