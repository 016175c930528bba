"""campaigns.smart_encoding: what a Messaging Service with Smart Encoding makes of a body."""

from __future__ import annotations

import pytest

from campaigns.segments import count_segments
from campaigns.smart_encoding import SMART_ENCODING, same_text, smart_encoded, transliterated


def test_look_alikes_become_plain_gsm7() -> None:
    asked = "\u201cHi\u201d \u2014 it\u2019s \u00bd off\u2026 \uff21\u1d00"
    assert smart_encoded(asked) == '"Hi" - it\'s 1/2 off... AA'
    assert count_segments(smart_encoded(asked)).encoding == "GSM-7"


def test_a_body_that_stays_ucs2_is_left_as_it_is() -> None:
    asked = "it\u2019s \U0001f600"
    assert smart_encoded(asked) == asked
    assert transliterated(asked) == "it's \U0001f600"


def test_every_replacement_is_plain_gsm7_and_final() -> None:
    for char, plain in SMART_ENCODING.items():
        assert count_segments(plain).encoding == "GSM-7", hex(ord(char))
        assert transliterated(plain) == plain, hex(ord(char))  # applying it twice changes nothing


@pytest.mark.parametrize(
    ("ours", "listed", "same"),
    [
        ("It\u2019s on \u2014 20% off", "It's on - 20% off", True),  # replaced by the service
        ("It\u2019s on \U0001f600", "It\u2019s on \U0001f600", True),  # left alone
        ("It\u2019s on \U0001f600", "It's on \U0001f600", True),  # replaced despite the emoji
        ("a\u00a0b", "a  b", True),  # a wide space may become one or two
        ("Hi 1", "Hi 2", False),
        ("Hi Sam", "Hi Sa", False),
    ],
)
def test_same_text_compares_as_twilio_may_have_changed_either(
    ours: str, listed: str, same: bool
) -> None:
    assert same_text(ours, listed) is same
