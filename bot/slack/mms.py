"""Pictures in the compose modal: whether the fields are offered, their hints, and the checks
made inline within Slack's 3 seconds.

The links field shows only when some configured sender can send pictures. The upload field
shows only then and when Twilio can fetch an upload from Textcast, at PUBLIC_BASE_URL; without
it the links field's hint says so, instead of a field whose pictures would fail every message.
The modal cannot hide senders as the person types a link, so a sender that cannot send
pictures is named inline instead. What needs the files' bytes (their real type) is checked
once they are downloaded (bot/slack/compose.py).
"""

from __future__ import annotations

from typing import Any

from bot.blocks.compose import MAX_PICTURES, MEDIA, PICTURES, SENDER
from bot.blocks.text import money
from campaigns.errors import InputError
from campaigns.media import check_media_urls, check_mms_senders, mms_possible, mms_senders
from campaigns.media_files import MAX_MEDIA_BYTES, megabytes
from campaigns.media_tokens import signing_key
from campaigns.senders import choose_senders
from campaigns.settings import Settings


def mms_hint(settings: Settings) -> str | None:
    """The media field's hint, or None when no sender can send pictures (no field then)."""
    if not mms_possible(settings):
        return None
    able = mms_senders(settings.sender_phones)
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        able += ("the Messaging Service",)
    shown = ", ".join(able[:3]) + (f" and {len(able) - 3} more" if len(able) > 3 else "")
    price = money(settings.PRICE_PER_MMS, settings.PRICE_CURRENCY)
    hint = (
        "Optional. Public links to JPEG, PNG or GIF files (up to 10, 5 MB in all). Sent from "
        f"{shown} only, at {price} a message whatever its length."
    )
    if uploads_possible(settings):
        return hint + " A line upload:med_… is a picture you uploaded: delete it to leave it out."
    return hint + (
        " Uploading pictures needs a public address where Twilio can fetch them from Textcast: "
        "ask whoever runs Textcast to set one up."
    )


def uploads_possible(settings: Settings) -> bool:
    """Pictures can be sent, and Twilio can fetch an uploaded one from this server."""
    has_key = signing_key(settings) is not None
    return mms_possible(settings) and bool(settings.PUBLIC_BASE_URL) and has_key


def upload_hint(settings: Settings) -> str | None:
    """The upload field's hint, or None when uploads are not offered."""
    if not uploads_possible(settings):
        return None
    return (
        f"JPEG, PNG or GIF, up to {MAX_PICTURES} with the links, 5 MB in all. Textcast keeps "
        "them and Twilio fetches them from it."
    )


def media_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def media_errors(
    settings: Settings,
    sender: str | None,
    media: str,
    pictures: list[dict[str, Any]] | None = None,
) -> dict[str, str]:
    """Inline errors for the media fields and the sender, by block id."""
    try:
        urls = check_media_urls(media_lines(media))
    except InputError as error:
        return {MEDIA: error.message}
    if pictures:
        problem = _pictures_problem(settings, urls, pictures)
        if problem:
            return {PICTURES: problem}
    if not (urls or pictures) or not sender:
        return {}
    try:
        check_mms_senders(choose_senders(settings, [sender]))
    except InputError as error:
        return {SENDER: error.message}
    return {}


def _pictures_problem(
    settings: Settings, urls: tuple[str, ...], pictures: list[dict[str, Any]]
) -> str | None:
    if not uploads_possible(settings):  # a form opened before the setting changed
        return (
            "Textcast cannot take uploaded pictures now (it is not set up for Twilio to fetch "
            "them): use links instead."
        )
    count = len(urls) + len(pictures)
    if count > MAX_PICTURES:
        return (
            f"A message carries at most {MAX_PICTURES} pictures, links and uploads together; "
            f"this is {count}: remove {count - MAX_PICTURES}."
        )
    # As far as known before downloading: Slack says each upload's size. (A link's size is
    # known only to whoever serves it.)
    size = sum(int(p.get("size") or 0) for p in pictures)
    if size > MAX_MEDIA_BYTES:
        return (
            f"These pictures come to {megabytes(size)}; Twilio takes 5 MB in all for one "
            "message: upload fewer or smaller ones."
        )
    return None
