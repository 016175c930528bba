"""Twilio error codes in plain words, and which failures are worth a retry."""

from __future__ import annotations

import pytest

from campaigns.delivery_errors import (
    REASONS,
    TRANSIENT_CODES,
    TRANSIENT_HTTP,
    is_transient,
    reason_for,
)
from campaigns.models import Recipient

COVERED = [21211, 21408, 21610, 21612, 21614, 21617, 30001, 30002, 30003, 30004, 30005, 30006,
           30007, 30008, 30034, 30036, 30410, 20429, 20003]  # fmt: skip


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


@pytest.mark.parametrize(
    ("http_status", "code", "transient"),
    [
        (429, 20429, True),  # too many requests
        (429, None, True),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (None, 30001, True),  # queue overflow
        (None, 30008, True),  # unknown carrier error
        (None, 20429, True),
        (400, 21211, False),  # invalid number
        (400, 21614, False),  # not a mobile
        (400, 21610, False),  # opted out
        (None, 30003, False),  # handset unreachable: the same again would fail again
        (None, 30007, False),  # filtered as spam
        (401, 20003, False),  # bad credentials
        (404, 20404, False),
        (None, None, False),
    ],
)
def test_only_what_twilio_says_is_temporary_is_retried(
    http_status: int | None, code: int | None, transient: bool
) -> None:
    assert is_transient(http_status, code) is transient


def test_the_transient_sets_are_the_ones_the_design_names() -> None:
    assert TRANSIENT_HTTP == {429, 500, 502, 503, 504}
    assert TRANSIENT_CODES == {20429, 30001, 30008}
