"""Pictures in messages (MMS): the media URLs a campaign carries, and who can send them.

Twilio fetches each `MediaUrl` itself when it makes the message, so a URL must be one the public
internet can reach: a loopback or private address would fail every message at send time, so it
is refused here, where the person can still fix it. Twilio takes up to 10 URLs a message, and
sends pictures from US and Canadian numbers only (a Messaging Service decides for itself).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import phonenumbers

from campaigns.errors import InputError
from campaigns.media_files import upload_id
from campaigns.senders import SenderChoice, SenderMode
from campaigns.settings import Settings
from campaigns.text import check_text

MAX_MEDIA_URLS = 10  # Twilio's limit for one message
MAX_MEDIA_URL_CHARS = 2_000
MMS_REGIONS = frozenset({"US", "CA"})
FIELD = "media_urls"


def check_media_urls(urls: Iterable[str] | None) -> tuple[str, ...]:
    """The URLs, stripped and without blanks or repeats, or InputError saying what to fix.

    `upload:<id>` names a picture uploaded to Textcast (campaigns/media_files.py); the service
    checks that it exists."""
    cleaned = tuple(dict.fromkeys(u.strip() for u in urls or () if u and u.strip()))
    if len(cleaned) > MAX_MEDIA_URLS:
        raise InputError(
            f"A message carries at most {MAX_MEDIA_URLS} pictures or files; "
            f"{len(cleaned)} were given.",
            field=FIELD,
        )
    for url in cleaned:
        if upload_id(url):
            continue
        check_text(url, FIELD, "A media URL")
        problem = _url_problem(url)
        if problem:
            shown = url if len(url) <= 80 else url[:77] + "..."
            raise InputError(f"The media URL {shown!r} {problem}.", field=FIELD)
    return cleaned


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_MEDIA_URL_CHARS:
        return f"is longer than {MAX_MEDIA_URL_CHARS:,} characters"
    if any(c.isspace() for c in url):
        return "has spaces in it: encode them as %20"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be a full web address starting with https://"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "points to this machine or a private network, which Twilio cannot reach"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "points to this machine or a private network, which Twilio cannot reach"
    return None


def can_send_mms(phone: str) -> bool:
    """Whether Twilio sends pictures from this number: US and Canadian numbers only."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(number) in MMS_REGIONS


def mms_senders(phones: Sequence[str]) -> tuple[str, ...]:
    """The numbers among `phones` that can send pictures."""
    return tuple(p for p in phones if can_send_mms(p))


def mms_possible(settings: Settings) -> bool:
    """Whether any configured sender can send pictures (a Messaging Service is taken as able)."""
    return bool(settings.TWILIO_MESSAGING_SERVICE_SID or mms_senders(settings.sender_phones))


def check_mms_senders(choice: SenderChoice, *, field: str = "from_number") -> None:
    """InputError when a campaign with pictures would go from a number that cannot send them."""
    if choice.mode is SenderMode.SERVICE:
        return  # the Messaging Service picks a number that can, or converts the message
    unable = [p for p in choice.numbers if not can_send_mms(p)]
    if unable:
        raise InputError(
            f"Pictures (MMS) go from US and Canadian numbers only, and {', '.join(unable)} "
            "cannot send them: choose another number or remove the media.",
            field=field,
        )
