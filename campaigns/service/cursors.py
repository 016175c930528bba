"""Opaque cursors for keyset paging, and the page size every list accepts (1 to 1000).

A cursor is the key of the last row of the previous page, base64-encoded: the next page starts
after it, so rows added meanwhile are not skipped or shown twice, and a page costs the same
however deep it is. One this server did not give out is an InputError naming `cursor`.
"""

from __future__ import annotations

import base64

from campaigns.errors import InputError

MAX_PAGE = 1_000


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}.", field="limit")
    return limit


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode(cursor: str, parts: int) -> list[str]:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error, or non-ASCII text
        decoded = ""
    values = decoded.split("|")
    if len(values) != parts or not all(values):
        raise not_ours()
    return values


def not_ours() -> InputError:
    return InputError("The cursor is not one this server gave out.", field="cursor")


def decode_id_cursor(cursor: str) -> int:
    """The id of the last row (recipient, contact, opt-out) on the previous page."""
    (after,) = decode(cursor, 1)
    # isdigit alone admits "²"; and the id must fit the column (a 64-bit integer).
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise not_ours()
    return int(after)
