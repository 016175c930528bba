"""What the team sees of the texts recipients send: one digest message per campaign, edited as
texts come (counts, the latest few, a button to see them all), and one per day for texts that
answer no campaign. Pure functions of `campaigns.service.texts_digest.Digest`.

While replies wait for an answer, the campaign's creator is mentioned in the headline (Slack
notifies a mention when the message is posted, not when it is edited). Each text is an entry
(`text_entry`): who wrote, by the name in their row of the list beside the
masked number, when, what, and what it asks of the team: a Reply button, who answered already,
an offer to cancel what still waits for a number that opted out, a one-click opt-out for a
reply that asks in words not to be texted. Adding to an entry is adding a block there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.blocks.actions import CANCEL_WAITING, OPT_OUT_NUMBER, REPLY_TO_TEXT, SEE_ALL_TEXTS
from bot.blocks.compose import plain
from bot.blocks.people import creator
from bot.blocks.text import actor, clip, context, escape, message, plural, quoted, section
from campaigns.keywords import Meaning, asks_to_stop
from campaigns.names import display_name
from campaigns.privacy import mask
from campaigns.service.texts_digest import Answer, Digest, DigestText

QUOTED_CHARS = 600  # of a text, in the digest; the whole of it is in the Reply modal


def digest_message(digest: Digest) -> dict[str, Any]:
    counts = _counts(digest.counts)
    if digest.campaign is not None:
        title = f":incoming_envelope: *Texts back* · {counts}"
        fallback = f"Texts back to {digest.campaign.name}: {counts}"
        asks = creator(digest.campaign)  # replies may need an answer: their campaign's creator
        if asks and digest.unanswered:
            waits = "waits" if digest.unanswered == 1 else "wait"
            title = f"{asks} {title} · *{digest.unanswered:,} {waits} for an answer*"
            fallback = f"{asks} {fallback}, {digest.unanswered:,} {waits} for an answer"
    else:
        day = f"{digest.day:%a %d %b}" if digest.day else "today"
        title = f":incoming_envelope: *Texts that answer no campaign, {day}* · {counts}"
        fallback = f"Texts that answer no campaign, {day}: {counts}"
    blocks: list[dict[str, Any]] = [section(title)]
    if digest.total > len(digest.latest):
        blocks.append(
            context(f"The latest {len(digest.latest)} of {digest.total:,}, newest first.")
        )
    blocks.append({"type": "divider"})
    for text in digest.latest:
        blocks += text_entry(text)
    if digest.total > len(digest.latest):
        blocks.append(_see_all(digest))
    return message(fallback, blocks)


def replies_waiting(digest: Digest, channel: str) -> dict[str, Any]:
    """For the creator's direct messages: replies to their campaign wait for an answer. The
    digest is edited in place, and Slack notifies a mention only in a message as it is posted."""
    campaign = digest.campaign
    name = escape(campaign.name) if campaign is not None else "your campaign"
    count = digest.unanswered
    text = (f":speech_balloon: {plural(count, 'reply', 'replies')} to *{name}* "
            f"{'waits' if count == 1 else 'wait'} for an answer: see *Texts back* in its thread "
            f"in <#{channel}>.")  # fmt: skip
    return message(text.replace("*", ""), [section(text)])


def digest_modal(digest: Digest) -> dict[str, Any]:
    """Every text of the digest (the latest ALL_SHOWN), read-only: answering is from the thread."""
    blocks: list[dict[str, Any]] = [section(_counts(digest.counts))]
    for text in digest.latest:
        blocks += [section(_headline(text)), *_state(text)]
    if digest.total > len(digest.latest):
        blocks.append(context(f"The latest {len(digest.latest)} of {digest.total:,} are shown. "
                              "Every text is in the campaign's export."))  # fmt: skip
    blocks.append(context("Reply from the message in the thread."))
    return {"type": "modal", "title": plain("Texts back", 24), "close": plain("Close", 24),
            "blocks": blocks}  # fmt: skip


def text_entry(text: DigestText) -> list[dict[str, Any]]:
    """One text as the digest shows it: its line, then what it needs from the team."""
    headline = section(_headline(text))
    button = _entry_button(text)
    if button is not None:
        headline["accessory"] = button
    blocks = [headline, *_state(text)]
    if _asks_to_stop(text):
        blocks.append(context(":warning: This sounds like they want no more texts."))
        blocks.append(_opt_out_button(text.message.id))
    return blocks


def _headline(text: DigestText) -> str:
    inbound = text.message
    who = f"{who_wrote(inbound.phone, text.variables)} · {when(inbound.received_at)}"
    meaning = inbound.meaning
    if meaning == Meaning.OPT_OUT:
        return f":no_entry: {who}\nOpted out ({escape(inbound.keyword or 'STOP')}): Textcast will not text this number again."
    if meaning == Meaning.OPT_IN:
        return f":white_check_mark: {who}\nOpted back in ({escape(inbound.keyword or 'START')})."
    if meaning == Meaning.HELP:
        return (f":information_source: {who}\nAsked for help ({escape(inbound.keyword or 'HELP')}) "
                "and was sent the help text.")  # fmt: skip
    lines = [f":speech_balloon: {who}"]
    body = inbound.body.strip()
    if body:
        lines.append(quoted(clip(body, QUOTED_CHARS)))
    if inbound.media_types:
        kinds = Counter(inbound.media_types)
        shown = ", ".join(f"{n} {escape(kind)}" for kind, n in kinds.most_common())
        lines.append(f"_With {plural(len(inbound.media_types), 'file')}: {shown}_")
    return "\n".join(lines)


def _state(text: DigestText) -> list[dict[str, Any]]:
    """What became of the text: answered by whom, or why it cannot be."""
    meaning = text.message.meaning
    if meaning == Meaning.OPT_OUT and text.waiting:
        waits = "still waits" if text.waiting == 1 else "still wait"
        return [context(f"{plural(text.waiting, 'message')} to this number {waits} in scheduled "
                        "or paused campaigns; left as they are, they are not sent.")]  # fmt: skip
    if meaning != Meaning.REPLY:
        return []
    if text.answers:
        return [context(answered_line(text.answers))]
    if text.opted_out and text.opted_out_by:
        return [context(f":no_entry: {actor(text.opted_out_by)} opted this number out: it "
                        "cannot be texted.")]  # fmt: skip
    if text.opted_out:
        return [context("Not answered: the number has opted out since.")]
    return []


def answered_line(answers: list[Answer]) -> str:
    """'Answered by @Bob, 14:05' (and how many more answers followed)."""
    first = answers[0]
    more = f" · {plural(len(answers) - 1, 'more answer')}" if len(answers) > 1 else ""
    return f":white_check_mark: Answered by {actor(first.actor)}, {when(first.at)}{more}"


def _entry_button(text: DigestText) -> dict[str, Any] | None:
    inbound = text.message
    if inbound.meaning == Meaning.OPT_OUT:
        return _cancel_button(inbound.id, text.waiting) if text.waiting else None
    if text.opted_out:
        return None  # a number that opted out cannot be answered
    return {
        "type": "button",
        "action_id": REPLY_TO_TEXT,
        "value": str(inbound.id),
        "text": {"type": "plain_text", "text": "Reply again" if text.answers else "Reply"},
    }


def _asks_to_stop(text: DigestText) -> bool:
    return (
        text.message.meaning == Meaning.REPLY
        and not text.opted_out
        and asks_to_stop(text.message.body)
    )


def _opt_out_button(inbound_id: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"optout_{inbound_id}",
        "elements": [
            {
                "type": "button",
                "action_id": OPT_OUT_NUMBER,
                "value": str(inbound_id),
                "style": "danger",
                "text": {"type": "plain_text", "text": "Opt out this number"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Opt out this number?"},
                    "text": {
                        "type": "plain_text",
                        "text": "Textcast will not text this number again, from any campaign, "
                        "as if they had texted STOP. Your name is kept with the opt-out.",
                    },
                    "confirm": {"type": "plain_text", "text": "Opt out"},
                    "deny": {"type": "plain_text", "text": "Keep texting"},
                },
            }
        ],
    }


def _cancel_button(inbound_id: int, count: int) -> dict[str, Any]:
    messages = plural(count, "message")
    return {
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


def _see_all(digest: Digest) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "texts_all",
        "elements": [
            {
                "type": "button",
                "action_id": SEE_ALL_TEXTS,
                "value": digest.key,
                "text": {"type": "plain_text", "text": f"See all {digest.total:,} texts"},
            }
        ],
    }


def _counts(counts: Mapping[str, int]) -> str:
    parts = []
    if counts.get(Meaning.REPLY):
        parts.append(plural(counts[Meaning.REPLY], "reply", "replies"))
    if counts.get(Meaning.OPT_OUT):
        parts.append(f"{counts[Meaning.OPT_OUT]:,} opted out")
    if counts.get(Meaning.OPT_IN):
        parts.append(f"{counts[Meaning.OPT_IN]:,} opted back in")
    if counts.get(Meaning.HELP):
        parts.append(f"{counts[Meaning.HELP]:,} asked for help")
    return " · ".join(parts) or "no texts yet"


def who_wrote(phone: str, variables: Mapping[str, str]) -> str:
    """'*Sarah Jones* +44*******001': the name from their row, beside the masked number."""
    name = name_of(variables)
    return f"*{escape(name)}* {mask(phone)}" if name else f"*{mask(phone)}*"


def name_of(variables: Mapping[str, str]) -> str | None:
    name = display_name(variables)
    return clip(name, 60) if name else None


def when(at: datetime) -> str:
    """A time each reader sees in their own zone; UTC where Slack cannot format it."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return f"<!date^{int(at.timestamp())}^{{time}}|{at.astimezone(UTC):%H:%M} UTC>"


def cancelled_waiting_by(user_id: str, cancelled: int) -> str:
    """What the person who pressed "Cancel those messages" is told."""
    return (
        f":no_entry_sign: <@{user_id}> cancelled {plural(cancelled, 'waiting message')} to this "
        "number; nothing else was touched"
    )
