"""Answering a text from Slack: the modal, and the thread message that follows the answer from
"sending" to "delivered". Pure functions of what they show."""

from __future__ import annotations

from typing import Any

from bot.blocks.compose import Metadata, plain
from bot.blocks.text import actor, context, escape, message, quoted, section
from campaigns.limits import MAX_BODY_CHARS
from campaigns.models import InboundMessage
from campaigns.service import CampaignReport

REPLY_VIEW = "sms_reply"  # callback_id
REPLY_INPUT = "reply"  # block and action id


def reply_modal(inbound: InboundMessage, metadata: Metadata) -> dict[str, Any]:
    shown = quoted("\n".join((inbound.body or " ").splitlines()[:10]))
    return {
        "type": "modal",
        "callback_id": REPLY_VIEW,
        "title": plain("Reply", 24),
        "submit": plain("Send", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(f"*{escape(inbound.phone)}* wrote:\n{shown}"),
            {
                "type": "input",
                "block_id": REPLY_INPUT,
                "label": plain("Your reply"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REPLY_INPUT,
                    "multiline": True,
                    "max_length": MAX_BODY_CHARS,
                },
                "hint": plain(
                    f"Sent by text from {inbound.sender}, the number they wrote to.", 150
                ),
            },
        ],
    }


def reply_status_message(report: CampaignReport) -> dict[str, Any]:
    """The answer in the thread, and what became of it."""
    campaign, counts = report.campaign, report.counts
    who = actor(campaign.created_by)
    if counts.delivered:
        state = ":white_check_mark: Delivered"
    elif report.awaiting_receipt:
        state = ":outbox_tray: Sent, waiting for the delivery receipt"
    elif report.opted_out:
        state = ":no_entry: Not sent: the number opted out (STOP)"
    elif report.failures:
        state = f":x: Not delivered: {escape(report.failures[0].reason)}"
    elif counts.cancelled:
        state = ":no_entry_sign: Not sent: cancelled"
    else:
        state = ":hourglass_flowing_sand: Sending…"
    return message(
        f"{who} replied: {escape(campaign.message_template[:200])}",
        [section(f"*{who} replied*\n{quoted(campaign.message_template)}"), context(state)],
    )


def reply_pending_message(user_id: str, text: str) -> dict[str, Any]:
    """What the thread shows from the moment the answer is submitted until the worker takes it."""
    return message(
        f"<@{user_id}> replied: {escape(text[:200])}",
        [
            section(f"*<@{user_id}> replied*\n{quoted(text)}"),
            context(":hourglass_flowing_sand: Sending…"),
        ],
    )
