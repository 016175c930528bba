"""Answering a text from Slack: the modal, and the thread message that follows the answer from
"sending" to "delivered". Pure functions of what they show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.compose import Metadata, plain
from bot.blocks.inbound import when
from bot.blocks.text import actor, clip, context, escape, message, quoted, section
from campaigns.limits import MAX_BODY_CHARS
from campaigns.models import InboundMessage
from campaigns.service import CampaignReport
from campaigns.service.texts_digest import Answer

REPLY_VIEW = "sms_reply"  # callback_id
REPLY_INPUT = "reply"  # block and action id


def reply_modal(
    inbound: InboundMessage,
    metadata: Metadata,
    conversation: Sequence[InboundMessage | Answer] = (),
    answered: Sequence[Answer] = (),
) -> dict[str, Any]:
    """The text quoted, the conversation before it, and a warning first when someone answered
    it already (a second answer is then a deliberate "Send anyway")."""
    shown = quoted("\n".join((inbound.body or " ").splitlines()[:10]))
    warning = []
    if answered:
        first = answered[0]
        warning = [section(
            f":warning: *{actor(first.actor)} answered this text already*, {when(first.at)}:\n"
            f"{quoted(clip(first.text, 300))}\nSend another answer only if it adds something."
        )]  # fmt: skip
    earlier = [
        e for e in conversation if not (isinstance(e, InboundMessage) and e.id == inbound.id)
    ]
    return {
        "type": "modal",
        "callback_id": REPLY_VIEW,
        "title": plain("Reply", 24),
        "submit": plain("Send anyway" if answered else "Send", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            *warning,
            section(f"*{escape(inbound.phone)}* wrote, {when(inbound.received_at)}:\n{shown}"),
            *_conversation(earlier),
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


def _conversation(entries: Sequence[InboundMessage | Answer]) -> list[dict[str, Any]]:
    """The conversation so far: what they wrote and what the team answered, oldest first."""
    if not entries:
        return []
    lines = []
    for entry in entries:
        if isinstance(entry, InboundMessage):
            lines.append(f"{when(entry.received_at)} *They wrote:* {escape(clip(entry.body, 200))}")
        else:
            lines.append(f"{when(entry.at)} *{actor(entry.actor)} answered:* "
                         f"{escape(clip(entry.text, 200))}")  # fmt: skip
    return [context("*The conversation so far*\n" + "\n".join(lines))]


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
