"""Plain words in what people read in Slack: a checker for any message, modal or Home tab.

What a person reads must not name settings (ALLOWED_SLACK_USERS...), stored names (`opted_out`,
awaiting_approval) or carry SMS jargon (GSM-7, UCS-2, segments) in its main text: details (a
context block) may. Counts agree with their nouns ("1 message", never "1 messages").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from campaigns.settings import Settings

SETTING_NAMES = re.compile(
    r"\b("
    + "|".join(sorted((n for n in Settings.model_fields if n.isupper()), key=len, reverse=True))
    + r")\b"
)
JARGON = re.compile(r"GSM-7|UCS-2|\bsegments?\b", re.IGNORECASE)
# Names the code stores, shown raw: a recipient's failure reason in code format, a status enum.
STORED_NAMES = re.compile(
    r"`(?!smsc_)[a-z]+(?:_[a-z0-9]+)+`|\b(awaiting_approval|in_progress|opted_out|frequency_cap|"
    r"unknown_outcome|twilio_21610)\b"
)
# Twilio's id of a message: for its console, not for people.
TWILIO_SID = re.compile(r"\b(SM|MM)[0-9a-f]{32}\b")
# "1 messages": one, then a plural noun. Verbs that end in s are fine ("1 waits", "1 was").
ONE_MANY = re.compile(r"(?<![\d.,:/])\b1 ([a-z-]+s)\b")
VERBS = {"is", "was", "has", "does", "goes", "waits", "needs", "stays"}
HALF_PLURAL = re.compile(r"\w\(s\)")
# Keys whose strings are ids, links or what the person typed: not text Textcast wrote.
NOT_TEXT = {
    "action_id",
    "block_id",
    "callback_id",
    "value",
    "url",
    "image_url",
    "alt_text",
    "private_metadata",
    "initial_value",
    "external_id",
    "hash",
    "id",
    "team_id",
    "app_id",
    "bot_id",
    "state",
    "initial_date",
    "initial_time",
    "initial_channel",
    "initial_conversation",
    "filetypes",
    "dispatch_action_config",
}


def texts(payload: Any, *, detail: bool = False) -> Iterator[tuple[str, bool]]:
    """Every text in a message, view or answer, and whether it is a detail (in a context)."""
    if isinstance(payload, list):
        for item in payload:
            yield from texts(item, detail=detail)
        return
    if not isinstance(payload, dict):
        return
    detail = detail or payload.get("type") == "context"
    for key, value in payload.items():
        if key in NOT_TEXT:
            continue
        if isinstance(value, str):
            if key in ("text", "initial_comment", "title"):  # a file's comment and title too
                yield value, detail
        else:
            yield from texts(value, detail=detail)


def problems(payload: Any) -> list[str]:
    """What a person should not read in `payload`, each with the text it is in."""
    found = []
    for text, detail in texts(payload):
        shown = text[:160]
        if match := SETTING_NAMES.search(text):
            found.append(f"names the setting {match.group()}: {shown!r}")
        if not detail and (match := JARGON.search(text)):
            found.append(f"says {match.group()!r} outside the details: {shown!r}")
        if match := STORED_NAMES.search(text):
            found.append(f"shows the stored name {match.group()}: {shown!r}")
        if match := TWILIO_SID.search(text):
            found.append(f"shows Twilio's id {match.group()}: {shown!r}")
        for match in ONE_MANY.finditer(text):
            if match.group(1) not in VERBS:
                found.append(f"says {match.group()!r}: {shown!r}")
        if match := HALF_PLURAL.search(text):
            found.append(f"says {match.group()!r}: {shown!r}")
    return found
