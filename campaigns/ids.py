"""Public identifiers: random, unguessable, and safe in URLs and Slack block ids."""

from __future__ import annotations

import base64
import secrets


def random_token(nbytes: int) -> str:
    """Lowercase base32 without padding: letters and digits only, no look-alike case pairs."""
    return base64.b32encode(secrets.token_bytes(nbytes)).decode("ascii").rstrip("=").lower()


def new_campaign_id() -> str:
    return "smsc_" + random_token(12)  # 96 random bits, 20 characters
