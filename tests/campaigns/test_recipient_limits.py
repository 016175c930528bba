"""The size and count limits, checked before any work that would be wasted."""

from __future__ import annotations

import time

import pytest

from campaigns.errors import LimitError
from campaigns.limits import MAX_INPUT_BYTES, MAX_RECIPIENTS
from campaigns.recipients import check_recipient_list, parse_recipients


def csv_of(count: int) -> bytes:
    # +44 7700 0xxxxx and 7700 1xxxxx are valid mobile ranges in phonenumbers' data.
    rows = [f"+4477{i:08d},P{i}" for i in range(count)]
    return ("phone,name\n" + "\n".join(rows) + "\n").encode()


def test_one_recipient_over_the_limit_is_refused_with_the_count() -> None:
    with pytest.raises(LimitError) as caught:
        parse_recipients(csv_of(MAX_RECIPIENTS + 1), None)
    assert "100,001" in caught.value.message
    assert "100,000" in caught.value.message
    assert caught.value.field == "recipients"


def test_duplicates_do_not_count_towards_the_limit() -> None:
    data = csv_of(1000) + b"".join(b"+447700000001,again\n" for _ in range(2000))
    report = parse_recipients(data, None)
    assert len(report.recipients) == 1000
    assert report.duplicates == 2000


def test_an_input_over_10_mb_is_refused_before_it_is_read() -> None:
    data = b"phone\n" + b"x" * MAX_INPUT_BYTES
    started = time.perf_counter()
    with pytest.raises(LimitError, match="10 MB"):
        parse_recipients(data, None)
    assert time.perf_counter() - started < 0.5
    with pytest.raises(LimitError, match="10 MB"):
        parse_recipients("phone\n" + "é" * (MAX_INPUT_BYTES // 2), None)
    assert parse_recipients(b"phone\n" + b" " * (MAX_INPUT_BYTES - 6), None).warnings


def test_the_api_list_has_the_same_limit() -> None:
    items = [{"phone": f"+4477{i:08d}"} for i in range(MAX_RECIPIENTS + 1)]
    with pytest.raises(LimitError, match="100,001"):
        check_recipient_list(items, None)
