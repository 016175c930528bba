"""Small pieces of message text the blocks share: escaping, numbers, durations, people, limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from campaigns.models import Campaign

# Slack's limits on the text objects used here.
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_CONTEXT = 3000


def escape(text: str) -> str:
    """Text from people (names, reasons) made safe for mrkdwn: no accidental links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def duration(delta: timedelta) -> str:
    """'40 s', '3 min 20 s', '2 h 5 min', '3 days 4 h': the two largest units that matter."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{plural(days, 'day')} {hours} h" if hours else plural(days, "day")
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def money(amount: Decimal, currency: str) -> str:
    """Cents for sums worth rounding, the per-segment precision for small ones: 0.0158 USD."""
    if amount >= 1:
        return f"{amount:,.2f} {currency}"
    shown = amount.quantize(Decimal("0.0001")).normalize()
    return f"{shown:f} {currency}"


def local_time(at: datetime) -> str:
    """A time each reader sees in their own time zone; UTC where Slack cannot format it."""
    fallback = f"{at:%a %d %b %Y, %H:%M} UTC"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def actor(who: str | None) -> str:
    """Who did something, as stored ('slack:U123', 'api:key_ab', 'worker'), for a message."""
    if not who:
        return "someone"
    kind, _, name = who.partition(":")
    if kind == "slack" and name:
        return f"<@{name}>"
    if kind == "api" and name:
        return f"API key {escape(name)}"
    if who == "worker":
        return "Textcast"
    return escape(who)


def origin(campaign: Campaign) -> str:
    """Where the campaign came from and who asked for it."""
    if campaign.source == "api":
        agent = f" for agent {escape(campaign.agent_id)}" if campaign.agent_id else ""
        return f"Created over the API by {actor(campaign.created_by)}{agent}"
    return f"Created in Slack by {actor(campaign.created_by)}"


def senders(campaign: Campaign) -> str:
    if campaign.sender_mode == "service":
        return "through the Messaging Service"
    numbers = campaign.from_numbers or []
    if len(numbers) == 1:
        return f"from {numbers[0]}"
    return f"from {len(numbers)} numbers"


def quoted(text: str) -> str:
    """`text` as a mrkdwn block quote, escaped, line by line."""
    return "\n".join("> " + escape(line) for line in (text or " ").splitlines() or [" "])


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_CONTEXT)}]}


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER), "emoji": True},
    }


def message(fallback: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    # The fallback is what notifications and screen readers show; Slack caps it at 40,000.
    return {"text": clip(fallback, 3000), "blocks": blocks}
