"""Pasted lists of numbers, and the HTTP API's list of objects."""

from __future__ import annotations

import pytest

from campaigns.errors import InputError
from campaigns.recipients import InvalidRow, Recipient, check_recipient_list, parse_recipients


def test_spaces_inside_numbers_and_between_numbers_are_told_apart() -> None:
    report = parse_recipients(
        "+44 7700 900123\n+447700900456 +447700900789\n07700 900111 07700 900222", "GB"
    )
    assert [(r.row, r.phone) for r in report.recipients] == [
        (1, "+447700900123"),
        (2, "+447700900456"),
        (2, "+447700900789"),
        (3, "+447700900111"),
        (3, "+447700900222"),
    ]
    assert report.phone_column is None
    assert report.variables == []


def test_a_pasted_list_takes_every_separator() -> None:
    report = parse_recipients(
        "+447700900123, +447700900456;+447700900789\t+447700900111\n\n+447700900222 | 07700 900333",
        "GB",
    )
    assert len(report.recipients) == 6
    assert report.recipients[-1] == Recipient(3, "+447700900333", {})
    assert report.invalid == []


def test_a_mistyped_number_in_a_pasted_list_is_reported_as_written() -> None:
    report = parse_recipients("07700 900123 07700 90012 +44 7700 900456\nhello", "GB")
    assert [r.phone for r in report.recipients] == ["+447700900123", "+447700900456"]
    assert report.invalid == [
        InvalidRow(1, "07700 90012", "not a valid number for GB"),
        InvalidRow(2, "hello", "not a phone number"),
    ]


def test_a_pasted_list_counts_duplicates() -> None:
    report = parse_recipients("07700 900123, +447700900123\n447700900123", "GB")
    assert [r.phone for r in report.recipients] == ["+447700900123"]
    assert report.duplicates == 2


def test_a_one_column_file_without_a_header_is_a_list() -> None:
    report = parse_recipients(b"+447700900123\r\n07700 900456\r\n\r\n0770090\r\n", "GB")
    assert [(r.row, r.phone) for r in report.recipients] == [
        (1, "+447700900123"),
        (2, "+447700900456"),
    ]
    assert report.invalid == [InvalidRow(4, "0770090", "not a valid number for GB")]


def test_the_api_list_is_normalised_deduplicated_and_checked_item_by_item() -> None:
    items: list[object] = [
        {"phone": "+44 7700 900123", "variables": {"first_name": "Amara", "visits": 3}},
        "+447700900456",
        {"variables": {"first_name": "Ben"}},
        {"phone": None},
        {"phone": ["+447700900456"]},
        {"phone": "+447700900456", "variables": ["Cara"]},
        {"phone": "07700 900123", "variables": {"first_name": "Again"}},
        {"phone": 447700900789, "variables": {"first_name": None, "vip": True}},
        {"phone": "12"},
    ]
    report = check_recipient_list(items, "GB")  # type: ignore[arg-type]
    assert report.recipients == [
        Recipient(1, "+447700900123", {"first_name": "Amara", "visits": "3"}),
        Recipient(8, "+447700900789", {"first_name": "", "vip": "True"}),
    ]
    assert report.duplicates == 1
    assert [(bad.row, bad.reason) for bad in report.invalid] == [
        (2, 'not an object like {"phone": "+447700900123"}'),
        (3, "no phone"),
        (4, "no phone"),
        (5, "phone is not text"),
        (6, "variables is not an object"),
        (9, "too short"),
    ]
    assert report.invalid[0].value == "'+447700900456'"
    assert report.variables == ["first_name", "visits", "vip"]
    assert report.phone_column is None


def test_an_api_list_of_national_numbers_needs_a_region() -> None:
    report = check_recipient_list([{"phone": "07700 900123"}], None)
    assert report.recipients == []
    assert "country code" in report.invalid[0].reason
    assert report.warnings and "No valid phone number" in report.warnings[0]
    empty = check_recipient_list([], None)
    assert (empty.recipients, empty.warnings) == ([], ["The list is empty."])


def test_the_api_list_must_be_a_list() -> None:
    with pytest.raises(InputError) as caught:
        check_recipient_list("+447700900123", None)  # type: ignore[arg-type]
    assert caught.value.field == "recipients"
