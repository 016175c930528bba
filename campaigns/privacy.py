"""Phone numbers are personal data: logs show only enough of one to tell numbers apart."""

from __future__ import annotations


def mask(phone: str) -> str:
    """'+447700900123' -> '+44*******123': the country code and the last three digits."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]
