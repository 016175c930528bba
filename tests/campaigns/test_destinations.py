"""Where a workspace may text: premium-rate, shared-cost and satellite numbers are refused, other
countries than ALLOWED_COUNTRIES too, each with a reason a receptionist understands; a number
written without a country code but read as another country's is kept and flagged."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberType

from campaigns.recipients import check_recipient_list, normalise_phone, parse_recipients
from campaigns.recipients.destinations import (
    NO_COUNTRY,
    PREMIUM_RATE,
    SATELLITE,
    SHARED_COST,
    Destinations,
)
from campaigns.recipients.phones import classify
from campaigns.service.common import checked_destinations, import_summary
from campaigns.settings import SettingsError, load_settings
from tests.conftest import make_settings

US_ONLY = Destinations(frozenset({"US"}))
US_AND_GB = Destinations(frozenset({"US", "GB"}))
ANYWHERE = Destinations(None)


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("+19005550123", PREMIUM_RATE),  # US 900
        ("+449090901234", PREMIUM_RATE),  # UK 0909
        ("+80812345678", SHARED_COST),  # international shared-cost
        ("+881612345678", SATELLITE),  # Iridium
        ("+883510012345", NO_COUNTRY),  # an international network, in no country
        ("+882161234567", NO_COUNTRY),
    ],
)
def test_numbers_that_cost_extra_are_refused_wherever_texting_is_allowed(
    phone: str, reason: str
) -> None:
    assert normalise_phone(phone, None).e164 == phone  # valid numbers, as phonenumbers says
    assert ANYWHERE.refusal_for(phone) == reason
    assert US_AND_GB.refusal_for(phone) == reason


def test_the_kinds_refused_are_what_phonenumbers_reports() -> None:
    kinds = {
        phone: (phonenumbers.region_code_for_number(n), phonenumbers.number_type(n))
        for phone in ("+19005550123", "+449090901234", "+80812345678", "+881612345678")
        for n in [phonenumbers.parse(phone)]
    }
    assert kinds == {
        "+19005550123": ("US", PhoneNumberType.PREMIUM_RATE),
        "+449090901234": ("GB", PhoneNumberType.PREMIUM_RATE),
        "+80812345678": ("001", PhoneNumberType.SHARED_COST),
        "+881612345678": ("001", PhoneNumberType.MOBILE),  # a satellite phone is region 001
    }


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("+33612345678", "in France (+33): this workspace only texts the United States"),
        ("+14165550123", "in Canada (+1): this workspace only texts the United States"),
        ("+18765550123", "in Jamaica (+1): this workspace only texts the United States"),
        ("+447911123456", "in Guernsey (+44): this workspace only texts the United States"),
        (
            "+447700900123",
            "in the United Kingdom (+44): this workspace only texts the United States",
        ),
    ],
)
def test_other_countries_are_refused_naming_the_country_and_the_ones_allowed(
    phone: str, reason: str
) -> None:
    assert US_ONLY.refusal_for(phone) == reason
    assert ANYWHERE.refusal_for(phone) is None


def test_allowed_countries_are_texted() -> None:
    for phone in ("+12025550123", "+14155550123", "+447700900123", "+447400123456"):
        assert US_AND_GB.refusal_for(phone) is None
    reason = US_AND_GB.refusal_for("+33612345678")
    assert reason == (
        "in France (+33): this workspace only texts the United Kingdom and the United States"
    )


def test_a_number_without_a_country_code_read_as_another_country_is_flagged() -> None:
    abroad = normalise_phone("447911123456", "US")
    assert abroad.e164 == "+447911123456" and abroad.read_abroad
    # Written as the region's own, or with its + or the region's international prefix: not flagged.
    assert not normalise_phone("(202) 555-0123", "US").read_abroad
    assert not normalise_phone("+44 7911 123456", "US").read_abroad
    assert not normalise_phone("011 44 7911 123456", "US").read_abroad
    assert not normalise_phone("447700900123", "GB").read_abroad  # +44 is GB's own code
    assert not normalise_phone("447700900123", None).read_abroad  # no region, no other country


def test_a_list_refuses_each_row_with_its_reason_and_flags_numbers_read_abroad() -> None:
    csv = (
        "name,phone\n"
        "Ann,2025550123\n"
        "Bob,1-900-555-0123\n"
        "Cat,+881612345678\n"
        "Dan,+33 6 12 34 56 78\n"
        "Eve,447911123456\n"
        "Fay,447700900123\n"
    )
    report = parse_recipients(csv, "US", Destinations(frozenset({"US", "GB"})))
    assert [r.phone for r in report.recipients] == ["+12025550123", "+447700900123"]
    assert [(bad.row, bad.value, bad.reason) for bad in report.invalid] == [
        (3, "1-900-555-0123", PREMIUM_RATE),
        (4, "+881612345678", SATELLITE),
        (5, "+33 6 12 34 56 78",
         "in France (+33): this workspace only texts the United Kingdom and the United States"),
        (6, "447911123456",
         "in Guernsey (+44): this workspace only texts the United Kingdom and the United States"),
    ]  # fmt: skip
    assert [(r.row, r.value, r.phone) for r in report.read_abroad] == [
        (7, "447700900123", "+447700900123")
    ]
    note = "read as a number in the United Kingdom (+44 7700 900123), not in the United States"
    assert report.read_abroad[0].note == note
    assert f"Row 7: 447700900123 was {note}." in report.warnings[0]
    assert report.to_json()["read_abroad"] == [
        {"row": 7, "value": "447700900123", "phone": "+447700900123", "note": note}
    ]


def test_the_api_list_and_pasted_text_are_held_to_the_same_rules() -> None:
    items = [{"phone": "+19005550123"}, {"phone": "+12025550123"}, {"phone": "447911123456"}]
    report = check_recipient_list(items, "US", US_ONLY)
    assert [r.phone for r in report.recipients] == ["+12025550123"]
    assert [(bad.row, bad.reason[:20]) for bad in report.invalid] == [
        (1, PREMIUM_RATE[:20]),
        (3, "in Guernsey (+44): t"),
    ]
    pasted = parse_recipients("+19005550123, +12025550123 +881612345678", "US", US_ONLY)
    assert [r.phone for r in pasted.recipients] == ["+12025550123"]
    assert [bad.reason for bad in pasted.invalid] == [PREMIUM_RATE, SATELLITE]


def test_without_destinations_a_list_is_read_as_before() -> None:
    report = parse_recipients("+19005550123\n+33612345678\n", "US")
    assert [r.phone for r in report.recipients] == ["+19005550123", "+33612345678"]


def test_allowed_countries_default_to_the_senders_and_the_region() -> None:
    us = make_settings(SENDER_NUMBERS="+14155550100", DEFAULT_REGION="US")
    assert us.destinations == Destinations(frozenset({"US"}))
    both = make_settings(SENDER_NUMBERS="+14155550100,+447400123456", DEFAULT_REGION="US")
    assert both.destinations == Destinations(frozenset({"US", "GB"}))
    assert make_settings(SENDER_NUMBERS="+14155550100", DEFAULT_REGION="GB").destinations == (
        Destinations(frozenset({"US", "GB"}))
    )
    assert make_settings(ALLOWED_COUNTRIES="ca, us").destinations == (
        Destinations(frozenset({"US", "CA"}))
    )
    assert make_settings(ALLOWED_COUNTRIES="any").destinations == ANYWHERE
    service_only = make_settings(SENDER_NUMBERS="", DEFAULT_REGION="")
    assert service_only.destinations == ANYWHERE


@pytest.mark.parametrize(("value", "words"), [("US,UK", "the United Kingdom is GB"),
                                              ("US,any", "'ANY' is not")])  # fmt: skip
def test_a_mistyped_allowed_country_stops_start_up(value: str, words: str) -> None:
    with pytest.raises(SettingsError, match="ALLOWED_COUNTRIES") as caught:
        load_settings(_env_file=None, ALLOWED_COUNTRIES=value)
    assert words in caught.value.message


def test_classify_agrees_with_phonenumbers() -> None:
    """`classify` is region_code_for_number, number_type and is_valid_number in one pass."""
    numbers: list[PhoneNumber] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE,
                     PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                     PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP):  # fmt: skip
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(example)
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.append(example)
    rng = random.Random(21)
    for example in list(numbers):
        digits = str(example.national_number)
        for _ in range(3):
            at = rng.randrange(len(digits))
            changed = digits[:at] + rng.choice("0123456789") + digits[at + 1 :]
            numbers.append(PhoneNumber(country_code=example.country_code,
                                       national_number=int(changed)))  # fmt: skip
    for number in numbers:
        kind = classify(number)
        if phonenumbers.is_valid_number(number):
            expected = (phonenumbers.region_code_for_number(number),
                        phonenumbers.number_type(number))  # fmt: skip
            assert kind is not None and (kind.region, kind.type) == expected, number
        else:
            assert kind is None, number


def test_a_list_keeps_what_it_was_checked_against_so_sending_need_not_check_each_number() -> None:
    checked = import_summary(check_recipient_list([{"phone": "+14155550123"}], "US", US_AND_GB))
    assert checked_destinations(checked) == US_AND_GB
    assert (
        checked_destinations(import_summary(check_recipient_list(["+14155550123"], "US"))) is None
    )
    # Sending checks each number again only where the workspace's destinations are narrower now.
    assert US_AND_GB.covers(US_ONLY) and US_AND_GB.covers(US_AND_GB)
    assert not US_ONLY.covers(US_AND_GB)
    assert ANYWHERE.covers(US_ONLY) and ANYWHERE.covers(ANYWHERE)
    assert not US_AND_GB.covers(ANYWHERE)
