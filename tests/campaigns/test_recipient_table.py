"""Table detection on its own: header words, delimiters and layouts."""

from __future__ import annotations

import pytest

from campaigns.recipients.table import (
    detect_layout,
    header_words,
    is_mobile_header,
    is_phone_header,
    sniff_delimiter,
)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("Mobile Phone", ["mobile", "phone"]),
        ("Phone 1 - Value", ["phone", "value"]),
        ("phone_number", ["phone", "number"]),
        ("PhoneNumber", ["phone", "number"]),
        ("SMSNumber", ["sms", "number"]),
        ("TEL", ["tel"]),
    ],
)
def test_headers_split_into_words(header: str, words: list[str]) -> None:
    assert header_words(header) == words


@pytest.mark.parametrize(
    ("header", "phone", "mobile"),
    [
        ("Mobile Phone", True, True),
        ("Phone 1 - Value", True, False),
        ("phone_number", True, False),
        ("Order Number", True, False),
        ("TEL", True, False),
        ("Telephone", True, False),
        ("Cell", True, True),
        ("phonenumber", True, False),
        ("Telephony", False, False),
        ("Phones", False, False),
        ("Name", False, False),
        ("", False, False),
    ],
)
def test_phone_and_mobile_headers(header: str, phone: bool, mobile: bool) -> None:
    assert is_phone_header(header) is phone
    assert is_mobile_header(header) is mobile


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("name,phone\nA,1\nB,2\n", ","),
        ("name;phone;amount\nA;1;2,50\nB;2;3,75\n", ";"),
        ("name\tphone\nSmith, A\t1\nJones, B\t2\n", "\t"),
        ("name|phone\nA|1\n", "|"),
        ('name,phone\n"Smith; A",1\n"Jones; B",2\n', ","),
        ("+447700900123\n+447700900456\n", None),
        ("", None),
    ],
)
def test_the_delimiter_is_the_most_consistent_one(text: str, delimiter: str | None) -> None:
    assert sniff_delimiter(text) == delimiter


def is_phone(cell: str) -> bool:
    return cell.startswith("+44")


def test_numbers_alone_read_as_a_list() -> None:
    assert detect_layout([["+441", "+442"], ["+443", "0770"]], is_phone) is None
    assert detect_layout([["+441"]], is_phone) is None


def test_a_mistyped_first_number_is_not_taken_for_a_header() -> None:
    assert detect_layout([["07700 90012"], ["+441"], ["+442"]], is_phone) is None


def test_a_header_is_found_by_its_words_or_by_the_numbers_under_it() -> None:
    by_word = detect_layout([["Name", "Mobile"], ["A", "n/a"]], is_phone)
    assert by_word is not None and by_word.has_header and by_word.phone_index == 1
    by_values = detect_layout([["Name", "Telefon"], ["A", "+441"]], is_phone)
    assert by_values is not None and by_values.phone_column == "Telefon"


def test_without_a_header_a_text_column_makes_a_table() -> None:
    layout = detect_layout([["Amara", "+441"], ["Ben", "+442"]], is_phone)
    assert layout is not None and not layout.has_header
    assert layout.phone_index == 1
    assert layout.variables == ((0, "column1"),)
