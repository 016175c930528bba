"""Twilio error codes in plain words, and which failures are worth a retry."""

from __future__ import annotations

import pytest

from campaigns.delivery_errors import (
    REASONS,
    CreateFailure,
    classify_create_error,
    reason_for,
    reason_for_status,
)
from campaigns.models import Recipient

COVERED = [21211, 21408, 21610, 21612, 21614, 21617, 30001, 30002, 30003, 30004, 30005, 30006,
           30007, 30008, 30034, 30036, 30410, 20429, 20003, 21611, 21606]  # fmt: skip


@pytest.mark.parametrize("code", COVERED)
def test_every_common_code_has_a_short_plain_sentence(code: int) -> None:
    reason = reason_for(code)
    assert reason == REASONS[code]
    assert reason[0].isupper() and reason.endswith(".")
    assert len(reason) <= Recipient.error_reason.type.length  # type: ignore[attr-defined]
    assert str(code) not in reason  # said in words, not as a number


def test_reasons_say_what_happened() -> None:
    assert reason_for(30003) == "The phone is switched off or out of signal."
    assert "STOP" in reason_for(21610)
    assert "landline" in reason_for(21614) or "not a mobile" in reason_for(21614)
    assert len(set(REASONS.values())) == len(REASONS)  # no two codes read the same


def test_an_unknown_code_is_named_with_where_to_look_it_up() -> None:
    reason = reason_for(12345)
    assert "12345" in reason and "twilio.com/docs/api/errors/12345" in reason
    assert len(reason) <= 200


def test_no_code_still_gives_a_sentence() -> None:
    assert reason_for(None) == "The message was not delivered, and no reason was given."


@pytest.mark.parametrize("http_status", [None, 400, 401, 403, 404, 422, 429, 500, 502])
def test_a_refusal_without_a_code_is_told_by_its_status(http_status: int | None) -> None:
    reason = reason_for_status(http_status)
    assert reason[0].isupper() and reason.endswith(".") and len(reason) <= 200
    assert http_status is None or f"HTTP {http_status}" in reason


@pytest.mark.parametrize(
    ("http_status", "code", "meaning"),
    [
        (429, 20429, CreateFailure.RETRY),  # too many requests: nothing was made
        (429, None, CreateFailure.RETRY),
        (400, 21611, CreateFailure.RETRY),  # the sender's queue is full
        (500, None, CreateFailure.UNKNOWN),  # Twilio's own error: it may have made it
        (500, 20500, CreateFailure.UNKNOWN),
        (502, None, CreateFailure.UNKNOWN),
        (503, None, CreateFailure.UNKNOWN),
        (504, None, CreateFailure.UNKNOWN),
        (401, 20003, CreateFailure.ACCOUNT),  # the credentials stopped working
        (400, 21606, CreateFailure.ACCOUNT),  # the sending number cannot send
        (400, 21408, CreateFailure.ACCOUNT),  # the account may not text this country
        (400, 21211, CreateFailure.REFUSED),  # invalid number
        (400, 21614, CreateFailure.REFUSED),  # not a mobile
        (400, 21610, CreateFailure.REFUSED),  # opted out
        # Delivery-time codes a create never answers with: not retried as if they were.
        (400, 30001, CreateFailure.REFUSED),
        (400, 30008, CreateFailure.REFUSED),
        (404, 20404, CreateFailure.REFUSED),
        (None, None, CreateFailure.REFUSED),
        # No code (a page that is not JSON): the HTTP status alone.
        (400, None, CreateFailure.REFUSED),
        (404, None, CreateFailure.REFUSED),
        (422, None, CreateFailure.REFUSED),
        (401, None, CreateFailure.ACCOUNT),  # the credentials, or their rights, are refused
        (403, None, CreateFailure.ACCOUNT),
        (403, 20008, CreateFailure.ACCOUNT),  # whatever the code
    ],
)
def test_a_failed_create_is_retried_only_when_nothing_was_made(
    http_status: int | None, code: int | None, meaning: CreateFailure
) -> None:
    assert classify_create_error(http_status, code) is meaning
