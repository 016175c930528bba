"""One number at a time: E.164 out, or a reason a person can act on."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from campaigns.errors import InputError
from campaigns.recipients import PhoneResult, normalise_phone, phones


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+447700900123", None, "+447700900123"),
        ("+44 7700 900123", None, "+447700900123"),
        ("  +44 (0)7700 900123 ", None, "+447700900123"),
        ("07700 900123", "GB", "+447700900123"),
        ("07700-900-123", "gb", "+447700900123"),
        ("0044 7700 900123", "GB", "+447700900123"),
        ("0044 7700 900123", None, "+447700900123"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+33 6 12 34 56 78", "GB", "+33612345678"),
        ("+1 415 555 2671", "GB", "+14155552671"),
    ],
)
def test_valid_numbers_come_out_in_e164(raw: str, region: str | None, e164: str) -> None:
    assert normalise_phone(raw, region) == PhoneResult(e164, None)


def test_a_national_number_needs_a_region() -> None:
    without = normalise_phone("07700 900123", None)
    assert without.e164 is None
    assert without.reason == phones.NO_COUNTRY_CODE
    assert "add + and the country code" in (without.reason or "")
    assert "DEFAULT_REGION" not in (without.reason or "")  # people read it in Slack
    assert normalise_phone("07700 900123", "GB").e164 == "+447700900123"
    assert normalise_phone("(415) 555-2671", "GB").reason == "not a valid number for GB"


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "GB", "empty"),
        ("   ", None, "empty"),
        ("hello", "GB", "not a phone number"),
        ("n/a", None, "not a phone number"),
        ("12", "GB", "too short"),
        ("+44 1", None, "too short"),
        ("+4412", None, "too short"),
        ("+44 7700 900123 4567 8901", None, "too long"),
        ("07700 900123 4567", "GB", "too long"),
        ("+999 1234 5678", "GB", "unknown country code"),
        ("07700 90012", "GB", "not a valid number for GB"),
        ("+44 1632 960000", None, "not a valid number for GB"),
        ("+1 555 123 4567", None, "not a valid number for US"),
        ("202 555 01", "US", "too short"),
        ("+44 800 123", None, "not a valid number for GB"),
    ],
)
def test_invalid_numbers_say_why(raw: str, region: str | None, reason: str) -> None:
    assert normalise_phone(raw, region) == PhoneResult(None, reason)


def test_excel_damage_is_undone_or_explained() -> None:
    assert normalise_phone('="+447700900123"', None).e164 == "+447700900123"
    assert normalise_phone('="07700 900123"', "GB").e164 == "+447700900123"
    assert normalise_phone("447700900123.0", "GB").e164 == "+447700900123"
    assert normalise_phone("+447700900123.0", None).e164 == "+447700900123"
    for damaged in ("4.47701E+11", "4,47701E+11", "4.477009E11", "7.7009E+10"):
        result = normalise_phone(damaged, "GB")
        assert result.e164 is None
        assert result.reason == phones.SCIENTIFIC_NOTATION
        assert "format the column as text" in (result.reason or "")


def test_a_country_code_without_its_plus_is_accepted_unless_the_number_is_national() -> None:
    assert normalise_phone("447700900123", "GB").e164 == "+447700900123"
    assert normalise_phone("447700900123", None).e164 == "+447700900123"
    assert normalise_phone("447700900123", "US").e164 == "+447700900123"
    assert normalise_phone("33612345678", "GB").e164 == "+33612345678"
    # Valid as a US number, so it stays one, although +1 415... would be valid too.
    assert normalise_phone("4155552671", "US").e164 == "+14155552671"
    # Valid as a GB mobile without its leading 0: read as GB, not as +7 (Russia).
    assert normalise_phone("7911123456", "GB").e164 == "+447911123456"
    assert normalise_phone("7911 123456", None).e164 is None


def test_the_drama_range_is_valid_but_only_it() -> None:
    assert not phonenumbers.is_valid_number(phonenumbers.parse("+447700900000"))
    assert normalise_phone("+447700900000", None).e164 == "+447700900000"
    assert normalise_phone("07700 900999", "GB").e164 == "+447700900999"
    assert normalise_phone("07700 901000", "GB").e164 is None
    assert normalise_phone("+44 7700 900999 1", None).e164 is None


def test_an_unknown_region_is_an_input_error() -> None:
    with pytest.raises(InputError, match="GB") as caught:
        normalise_phone("07700 900123", "UK")
    assert caught.value.field == "region"
    with pytest.raises(InputError):
        normalise_phone("07700 900123", "XX")


def _varied_values() -> list[str]:
    rng = random.Random(1234)
    values: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            values += [
                e164,
                e164[:-1],
                e164 + "7",
                e164[:2] + "0" + e164[2:],  # a national prefix after a 1-digit country code
                e164[:3] + "0" + e164[3:],
                e164[:4] + "00" + e164[4:],
                e164[1:],
                phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL),
            ]
    for _ in range(250):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 19)))
        values += ["+" + digits, "+" + rng.choice("123456789") + digits, digits]
        spaced = "".join(d + rng.choice(["", "", " ", "-", ".", "(", ")", "  "]) for d in digits)
        values += ["+" + spaced, "+" + spaced.strip(" -.()"), "+ " + digits, "+" + digits + "-"]
    values.append("+44" + " " * 300 + "7911123456")  # parse refuses text this long
    return values


def test_the_fast_path_reads_every_number_exactly_as_phonenumbers_does() -> None:
    regions = [None, "GB", "US", "AR", "BR"]
    fast_hits = 0
    for value in _varied_values():
        for region in regions:
            assert _parsed(phones.parse_number, value, region) == _parsed(
                phonenumbers.parse, value, region
            ), (value, region)
            slow = phones.normalise(value, region, phonenumbers.parse)
            assert phones.normalise(value, region) == slow, (value, region)
            fast_hits += phones._INTERNATIONAL.fullmatch(value) is not None
    assert fast_hits > 4_000  # the comparison did exercise the fast path


def test_the_validity_shortcut_agrees_with_is_valid_number() -> None:
    for value in _varied_values():
        if not value.startswith("+"):
            continue
        try:
            number = phonenumbers.parse(value)
        except NumberParseException:
            continue
        if number.country_code == 44 and number.national_number // 1000 == 7700900:
            continue  # the drama range, valid on purpose
        assert phones.is_valid(number) == phonenumbers.is_valid_number(number), value


def _parsed(parse: phones.Parser, value: str, region: str | None) -> object:
    try:
        return parse(value, region)
    except NumberParseException as error:
        return error.error_type
