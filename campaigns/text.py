"""Text Textcast can store and send: valid Unicode, without NUL characters.

A Python string can hold things no message, database or HTTP request can: a lone surrogate (half
of a UTF-16 pair, which JSON's `"\\udc00"` escape produces) cannot be encoded as UTF-8, and
PostgreSQL refuses NUL in text. Both are refused where the text comes in, so they never reach a
stored campaign or a request to Twilio.
"""

from __future__ import annotations

from collections.abc import Iterable

from campaigns.errors import InputError


def text_problem(text: str) -> str | None:
    """What makes `text` unusable, as a phrase ("has a NUL character"), or None when it is fine."""
    if text.isascii():  # the common case, and the fast one
        return "has a NUL character" if "\x00" in text else None
    if "\x00" in text:
        return "has a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "has a broken character (half of a UTF-16 surrogate pair)"
    return None


def check_text(text: str, field: str, what: str | None = None) -> str:
    """`text`, or an InputError that names the field and what to remove."""
    problem = text_problem(text)
    if problem:
        raise InputError(f"{what or field} {problem}: remove it and try again.", field=field)
    return text


def check_texts(texts: Iterable[tuple[str, str]], what: str) -> None:
    """Check (field, text) pairs; the first bad one raises, named with `what` and the field."""
    for field, text in texts:
        problem = text_problem(text)
        if problem:
            raise InputError(f"{what} {problem}: remove it and try again.", field=field)
