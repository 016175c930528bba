"""Signed, expiring links to uploaded pictures: PUBLIC_BASE_URL/media/<token>.

Twilio fetches a message's media anonymously, so the link itself is the permission: a token
names the file and the instant it stops working, signed with HMAC-SHA256. Without a valid,
unexpired token the web process answers 404 and no file.

The key is derived from TWILIO_AUTH_TOKEN (HMAC of a fixed label), not a setting of its own:
the worker that mints links and the web process that checks them both hold that secret
already (the web process checks Twilio's webhook signatures with it whenever PUBLIC_BASE_URL is
set, which uploads need too), so there is nothing new to configure or to keep in step, and the
auth token itself never signs anything. Rotating the auth token ends the links minted before,
which only matters for messages Twilio still holds unsent at that moment.

The worker mints a link when it sends (worker/media_links.py), valid for as long as Twilio may
keep the message queued (MESSAGE_VALIDITY_SECONDS) plus a margin, so a campaign scheduled days
ahead or held by its sending hours never carries a link that ran out before it was sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from campaigns.settings import Settings

LABEL = b"textcast media links v1"
SIGNATURE_CHARS = 32  # of base64url: 192 bits of the HMAC
TOKEN = re.compile(r"(med_[a-z2-7]{20})\.([0-9]{1,12})\.([A-Za-z0-9_-]{32})")
MARGIN_SECONDS = 3600  # beyond MESSAGE_VALIDITY_SECONDS: Twilio's own fetch and retries


def signing_key(settings: Settings) -> bytes | None:
    """The key for media links, or None when TWILIO_AUTH_TOKEN is not set (no links then)."""
    if not settings.TWILIO_AUTH_TOKEN:
        return None
    return hmac.new(settings.TWILIO_AUTH_TOKEN.encode(), LABEL, hashlib.sha256).digest()


def link_lifetime(settings: Settings) -> int:
    """Seconds a link minted at send time stays valid."""
    return settings.MESSAGE_VALIDITY_SECONDS + MARGIN_SECONDS


def _signature(key: bytes, file_id: str, expires: int) -> str:
    digest = hmac.new(key, f"{file_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:SIGNATURE_CHARS]


def mint_token(key: bytes, file_id: str, expires: int) -> str:
    """A token for `file_id` valid until `expires` (Unix seconds)."""
    return f"{file_id}.{expires}.{_signature(key, file_id, expires)}"


def verified_file_id(key: bytes | None, token: str, now: float) -> str | None:
    """The file id a genuine, unexpired token names; None for anything else."""
    found = TOKEN.fullmatch(token)
    if key is None or found is None:
        return None
    file_id, expires_text, signature = found.groups()
    expires = int(expires_text)
    if not hmac.compare_digest(signature, _signature(key, file_id, expires)):
        return None
    return file_id if now < expires else None


def token_expiry(token: str) -> int:
    """When a token (already verified) stops working, in Unix seconds."""
    return int(token.split(".")[1])


def media_url(base_url: str, key: bytes, file_id: str, expires: int) -> str:
    return f"{base_url}/media/{mint_token(key, file_id, expires)}"
