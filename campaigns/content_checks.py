"""What the preview warns about in a campaign's message, each with what to do.

The same warnings, with the same codes, go to Slack's preview and to the API (`warnings:
[{code, message}]`): no opt-out wording, public link shorteners (carriers filter them, Twilio
error 30007), characters that force UCS-2 but have plain equivalents (with the replacement),
placeholders that come out empty, and messages longer than six segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from campaigns.messages import MessageStats

LONG_MESSAGE_SEGMENTS = 6

# Characters a word processor puts in for plain ones: each forces the whole message into
# UCS-2 (70 characters a segment instead of 160), and each has a plain GSM-7 equivalent.
PLAIN_EQUIVALENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2010": "-", "\u2011": "-", "\u2212": "-",
    "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ", "\u2002": " ",
    "\u2003": " ", "\u2026": "...", "\u200b": "", "\ufeff": "",
}  # fmt: skip
_OPT_OUT = re.compile(r"\b(stop|stopall|unsubscribe|opt[\s-]?out)\b", re.IGNORECASE)
_SHORTENERS = re.compile(
    r"\b(bit\.ly|tinyurl\.com|goo\.gl|t\.co|ow\.ly|is\.gd|buff\.ly|rebrand\.ly|cutt\.ly|"
    r"shorturl\.at|tiny\.cc|bl\.ink|t\.ly|rb\.gy|s\.id|v\.gd|lnkd\.in|shorte\.st|adf\.ly)/",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ContentWarning:
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def plain_characters(text: str) -> str:
    """`text` with the look-alike characters replaced by their plain equivalents."""
    return "".join(PLAIN_EQUIVALENTS.get(char, char) for char in text)


def lookalikes(text: str) -> list[str]:
    """The look-alike characters in `text`, each once, in order."""
    return list(dict.fromkeys(char for char in text if char in PLAIN_EQUIVALENTS))


def _shown(char: str) -> str:
    return {"\u00a0": "non-breaking space", "\u200b": "zero-width space"}.get(char, char)


def content_warnings(template: str, stats: MessageStats) -> list[ContentWarning]:
    found: list[ContentWarning] = []
    if not _OPT_OUT.search(template):
        found.append(ContentWarning(
            "no_opt_out",
            "The message does not say how to stop: add \"Reply STOP to opt out\". Carriers "
            "expect it, and people who can stop are less likely to report the message as spam.",
        ))  # fmt: skip
    shorteners = sorted({m.group(1).lower() for m in _SHORTENERS.finditer(template)})
    if shorteners:
        found.append(ContentWarning(
            "link_shortener",
            f"{', '.join(shorteners)} is a public link shortener: carriers filter messages with "
            "them (Twilio error 30007). Use the full link on your own domain.",
        ))  # fmt: skip
    odd = lookalikes(template)
    if odd and stats.ucs2_messages:
        shown = ", ".join(_shown(c) for c in odd)
        found.append(ContentWarning(
            "unicode_lookalikes",
            f"{shown} look plain but make each text hold 70 characters instead of 160. "
            "Replace them with plain characters to send fewer texts.",
        ))  # fmt: skip
    for name, count in sorted(stats.missing.items()):
        if count and name not in stats.unknown_placeholders:  # that one is said below
            found.append(ContentWarning(
                "empty_placeholder",
                f"{{{{{name}}}}} is empty for {count:,} recipient{'s' if count != 1 else ''}: "
                "fill in the column, or reword the message so it reads well without it.",
            ))  # fmt: skip
    for name in stats.unknown_placeholders:
        found.append(ContentWarning(
            "unknown_placeholder",
            f"{{{{{name}}}}} is not a column of the list: it will be empty for everyone.",
        ))  # fmt: skip
    if not stats.mms and stats.max_segments > LONG_MESSAGE_SEGMENTS:
        found.append(ContentWarning(
            "long_message",
            f"Long messages go as up to {stats.max_segments} texts each: over "
            f"{LONG_MESSAGE_SEGMENTS} they often arrive late or out of order, and each text is "
            "paid for. Shorten it, or send a link.",
        ))  # fmt: skip
    return found
