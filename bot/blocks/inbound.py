"""What the team sees of a text a recipient sent: an opt-out notice, an opt-in, a HELP, a reply.

Pure functions of the stored message and its context. Numbers are masked in opt-out notices (a
compliance record, not a conversation); a reply shows the recipient's variables (first_name and
so on) so the team knows who wrote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.blocks.actions import CANCEL_WAITING, REPLY_TO_TEXT
from bot.blocks.text import escape, message, plural, quoted, section
from campaigns.keywords import Meaning
from campaigns.models import InboundMessage
from campaigns.privacy import mask

MAX_VARIABLES_SHOWN = 6


@dataclass(frozen=True, slots=True)
class InboundContext:
    """What the notice needs besides the message itself."""

    campaign_name: str | None = None  # the campaign it answers, if one matched
    waiting: int = 0  # messages to the number still waiting in scheduled or paused campaigns
    variables: Mapping[str, str] = field(default_factory=dict)  # the recipient's, if matched
    creator: str | None = None  # the campaign's creator's Slack user id: told of a reply


def inbound_message(inbound: InboundMessage, about: InboundContext) -> dict[str, Any]:
    if inbound.meaning == Meaning.OPT_OUT:
        return _opt_out(inbound, about)
    who = mask(inbound.phone)
    if inbound.meaning == Meaning.OPT_IN:
        text = f":white_check_mark: {who} opted back in ({escape(inbound.keyword or 'START')})."
        return message(f"{who} opted back in", [section(text + _answering(about))])
    if inbound.meaning == Meaning.HELP:
        text = (f":information_source: {who} asked for help "
                f"({escape(inbound.keyword or 'HELP')}) and was sent the help text.")  # fmt: skip
        return message(f"{who} asked for help", [section(text + _answering(about))])
    return _reply(inbound, about)


def _answering(about: InboundContext) -> str:
    return f" They were answering *{escape(about.campaign_name)}*." if about.campaign_name else ""


def _opt_out(inbound: InboundMessage, about: InboundContext) -> dict[str, Any]:
    who = mask(inbound.phone)
    keyword = escape(inbound.keyword or "STOP")
    text = f":no_entry: {who} opted out ({keyword}): Textcast will not text this number again."
    text += _answering(about)
    blocks = [section(text)]
    if about.waiting:
        messages = plural(about.waiting, "message")
        blocks.append(section(
            f"{messages} to this number still {'waits' if about.waiting == 1 else 'wait'} in "
            "scheduled or paused campaigns. Left as they are, they are not sent: each fails as "
            "opted out when its campaign sends."
        ))  # fmt: skip
        blocks.append(_cancel_button(inbound.id, about.waiting))
    return message(f"{who} opted out ({inbound.keyword or 'STOP'})", blocks)


def _cancel_button(inbound_id: int, count: int) -> dict[str, Any]:
    messages = plural(count, "message")
    return {
        "type": "actions",
        "block_id": "optout_actions",
        "elements": [
            {
                "type": "button",
                "action_id": CANCEL_WAITING,
                "value": str(inbound_id),
                "text": {"type": "plain_text", "text": f"Cancel those {messages}"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Cancel them?"},
                    "text": {
                        "type": "plain_text",
                        "text": f"The {messages} waiting for this number will not be sent. "
                        "Other recipients are not touched.",
                    },
                    "confirm": {"type": "plain_text", "text": "Cancel them"},
                    "deny": {"type": "plain_text", "text": "Keep them"},
                },
            }
        ],
    }


def cancelled_waiting_by(user_id: str, cancelled: int) -> str:
    """What replaces the notice's button once someone pressed it."""
    return (
        f":no_entry_sign: <@{user_id}> cancelled {plural(cancelled, 'waiting message')} to this "
        "number; nothing else was touched"
    )


def _reply(inbound: InboundMessage, about: InboundContext) -> dict[str, Any]:
    who = _who(inbound.phone, about.variables)
    asks = f"<@{about.creator}> " if about.creator else ""  # a reply may need an answer
    lines = [f"{asks}:speech_balloon: *Reply from {who}*{_answering(about)}"]
    body = inbound.body.strip()
    if body:
        lines.append(quoted(body))
    if inbound.media_types:
        kinds = Counter(inbound.media_types)
        shown = ", ".join(f"{n} {escape(kind)}" for kind, n in kinds.most_common())
        lines.append(f"_With {plural(len(inbound.media_types), 'file')}: {shown}_")
    fallback = f"{asks}Reply from {mask(inbound.phone)}: {escape(body[:200])}"
    button = {
        "type": "button",
        "action_id": REPLY_TO_TEXT,
        "value": str(inbound.id),
        "text": {"type": "plain_text", "text": "Reply"},
    }
    actions = {"type": "actions", "block_id": "reply_actions", "elements": [button]}
    return message(fallback, [section("\n".join(lines)), actions])


def _who(phone: str, variables: Mapping[str, str]) -> str:
    """The number, with the recipient's row for context: '+44*******001 (first_name: Sarah)'."""
    shown = [(k, v) for k, v in variables.items() if v][:MAX_VARIABLES_SHOWN]
    if not shown:
        return phone
    details = ", ".join(f"{escape(k)}: {escape(v)}" for k, v in shown)
    return f"{phone} ({details})"
