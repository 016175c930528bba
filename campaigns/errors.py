"""Errors a person can act on.

Each carries a message that says what to fix, and, for bad input, the field it is about, so the
Slack modal, the HTTP API and the command line can all show it in the right place.
"""

from __future__ import annotations


class TextcastError(Exception):
    """Base class: the message is written for the person who made the request."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InputError(TextcastError):
    """The request itself is wrong: a value to correct."""


class RecipientFileError(InputError):
    """A recipient file or paste that cannot be read at all (binary, malformed, undecodable)."""


class LimitError(InputError):
    """The request is over one of Textcast's limits (size, count, schedule window)."""


class SpendCapError(LimitError):
    """Confirming the campaign would go over a spend cap; the message gives the figures."""


class IdempotencyKeyReused(InputError):
    """An Idempotency-Key sent again with a different request: not a replay, a mistake."""


class NotFound(TextcastError):
    """No such campaign (or other object)."""


class StateError(TextcastError):
    """The object exists but is in a state that does not allow the change asked for."""


class StaleVersion(StateError):
    """The change was made against a version of the object that is no longer the current one."""


class Busy(TextcastError):
    """Textcast has too much work of this kind in hand right now: try again shortly."""
