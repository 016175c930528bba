"""Pictures in the compose modal: whether the field is offered, its hint, and its inline checks.

The field shows only when some configured sender can send pictures. The modal cannot hide
senders as the person types a link, so a sender that cannot send them is named inline instead.
"""

from __future__ import annotations

from bot.blocks.compose import MEDIA, SENDER
from bot.blocks.text import money
from campaigns.errors import InputError
from campaigns.media import check_media_urls, check_mms_senders, mms_possible, mms_senders
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
    return (
        "Optional. Public links to JPEG, PNG or GIF files (up to 10, 5 MB in all). Sent from "
        f"{shown} only, at {price} a message whatever its length."
    )


def media_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def media_errors(settings: Settings, sender: str | None, media: str) -> dict[str, str]:
    """Inline errors for the media field and the sender, by block id."""
    try:
        urls = check_media_urls(media_lines(media))
    except InputError as error:
        return {MEDIA: error.message}
    if not urls or not sender:
        return {}
    try:
        check_mms_senders(choose_senders(settings, [sender]))
    except InputError as error:
        return {SENDER: error.message}
    return {}
