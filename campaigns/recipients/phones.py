"""One phone number as a person or a spreadsheet wrote it, in E.164 or with the reason it is not.

Validity is `phonenumbers`' `is_valid_number`, with one addition: Ofcom's drama range (07700
900000 to 900999), which libphonenumber rejects, counts as valid so that demos, tests and training
lists can use numbers that reach nobody; the carrier refuses them at send time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers.phonenumberutil import _number_type_helper

from campaigns.errors import InputError

EMPTY = "empty"
NOT_A_NUMBER = "not a phone number"
TOO_SHORT = "too short"
TOO_LONG = "too long"
UNKNOWN_COUNTRY_CODE = "unknown country code"
NO_COUNTRY_CODE = (
    "written without a country code: add + and the country code (or ask whoever runs Textcast "
    "to set a default country)"
)
SCIENTIFIC_NOTATION = (
    "the spreadsheet turned this number into scientific notation and lost digits: "
    "format the column as text and export again"
)

_DRAMA_RANGE = range(7700900000, 7700901000)  # Ofcom: 07700 900000-900999, never assigned

# +country code and number, spaced or punctuated as people write it but with nothing parse would
# read as an extension (x, ext, #, comma). ASCII digits only: the slow path handles other scripts.
_INTERNATIONAL = re.compile(r"\+[1-9][0-9 ().\-]*[0-9]")
_SPACING = re.compile(r"[ ().\-]")
_EXCEL_FORMULA = re.compile(r'="(.*)"')
_EXCEL_FLOAT = re.compile(r"(\+?[0-9]+)\.0+")
_SCIENTIFIC = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+")
_DIGITS_AND_SPACING = re.compile(r"[0-9][0-9 ().\-]*")
_NOT_DIGIT = re.compile(r"[^0-9]")

Parser = Callable[[str, str | None], PhoneNumber]


@dataclass(frozen=True, slots=True)
class Kind:
    """Where a valid number is and what sort it is, as phonenumbers' region_code_for_number and
    number_type say."""

    region: str  # "US", "GG" (Guernsey shares +44), or "001" for networks in no country (+881)
    type: int  # a PhoneNumberType: MOBILE, PREMIUM_RATE, SHARED_COST, ...


@dataclass(frozen=True, slots=True)
class PhoneResult:
    e164: str | None  # "+447700900123" when valid
    reason: str | None  # plain-language reason when not, e.g. "not a valid number for GB"
    # When valid; follows from e164, so left out of comparisons.
    kind: Kind | None = field(default=None, compare=False)
    # Written without + or 00 and read as another country's number than the region's, because
    # it is not a valid number there: 447911123456 under US is +44 7911 123456.
    read_abroad: bool = False


def check_region(region: str | None) -> str | None:
    """The region as phonenumbers expects it, or an InputError a person can act on."""
    if region is None or not region.strip():
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise InputError(
            f"{region!r} is not a region code: use a two-letter code such as GB or US{hint}.",
            field="region",
        )
    return code


def normalise_phone(raw: str, region: str | None) -> PhoneResult:
    """`raw` in E.164, reading numbers without a +country code as `region`'s (ISO 3166, or None)."""
    return normalise(raw, check_region(region))


def normalise(raw: str, region: str | None, parse: Parser | None = None) -> PhoneResult:
    """`normalise_phone` for a region already checked; `parse` exists to compare the fast path."""
    text = raw.strip()
    if parse is None:
        parse = parse_number
        valid = _valid_international(text)
        if valid is not None:
            return valid
    text = _undo_spreadsheet(text)
    if not text:
        return PhoneResult(None, EMPTY)
    if _SCIENTIFIC.fullmatch(text):
        return PhoneResult(None, SCIENTIFIC_NOTATION)
    try:
        number = parse(text, region)
    except NumberParseException as error:
        reason = _parse_failure(error, text, region)
    else:
        kind = classify(number)
        if kind is not None:
            return PhoneResult(_e164(number), None, kind)
        reason = _invalid_reason(number, text, region)
    retried = _without_plus(text, region, parse)
    if retried is not None:
        number, kind = retried
        abroad = region is not None and number.country_code != _country_code(region)
        return PhoneResult(_e164(number), None, kind, read_abroad=abroad)
    return PhoneResult(None, reason)


def parse_number(text: str, region: str | None) -> PhoneNumber:
    """`phonenumbers.parse`, built directly (and ~10x faster) for +country code and digits."""
    digits = _international_digits(text)
    number = _from_international_digits(digits) if digits else None
    return number if number is not None else phonenumbers.parse(text, region)


def _valid_international(text: str) -> PhoneResult | None:
    """The common case, a valid international number, without the general path's detours."""
    digits = _international_digits(text)
    number = _from_international_digits(digits) if digits else None
    kind = classify(number) if number is not None else None
    if kind is None:
        return None
    return PhoneResult("+" + digits, None, kind)  # what format_number(E164) gives for it


def _international_digits(text: str) -> str | None:
    # parse refuses text over 250 characters whatever it holds; no real number comes close to 40.
    if len(text) > 40 or not _INTERNATIONAL.fullmatch(text):
        return None
    digits = text[1:] if text[1:].isdigit() else _SPACING.sub("", text[1:])
    return digits if 6 <= len(digits) <= 17 else None


def is_valid(number: PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`, and Ofcom's drama range."""
    return classify(number) is not None


def classify(number: PhoneNumber) -> Kind | None:
    """Where a valid number is and its type, or None when it is not valid (`is_valid`).

    What region_code_for_number, number_type and is_valid_number find, in one pass: each of them
    would match the number against its region's patterns again, and this runs for every row.
    """
    if number.country_code == 44 and not number.italian_leading_zero:
        if number.national_number in _DRAMA_RANGE:
            return Kind("GB", PhoneNumberType.MOBILE)
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code, ())
    national = phonenumbers.national_significant_number(number)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(number.country_code, region)
        if metadata is None:
            continue
        if len(regions) > 1 and metadata.leading_digits is not None:
            # Its leading digits name the region: valid there or nowhere.
            if not _leading_digits(metadata.leading_digits).match(national):
                continue
            return _kind(region, _number_type_helper(national, metadata))
        kind = _kind(region, _number_type_helper(national, metadata))
        if kind is not None or len(regions) == 1:
            return kind
    return None


def _kind(region: str, number_type: int) -> Kind | None:
    return None if number_type == PhoneNumberType.UNKNOWN else Kind(region, number_type)


@functools.cache
def _leading_digits(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@functools.cache
def _country_code(region: str) -> int:
    return phonenumbers.country_code_for_region(region)


def _undo_spreadsheet(text: str) -> str:
    """Undo what exports do to numbers: ="..." formulas, a float's trailing .0, and Google
    Contacts' several numbers in one cell ("+44 7700 900123 ::: +44 7700 900456": the first)."""
    text = text.partition(" ::: ")[0].strip()
    formula = _EXCEL_FORMULA.fullmatch(text)
    if formula:
        text = formula.group(1).strip()
    floating = _EXCEL_FLOAT.fullmatch(text)
    return floating.group(1) if floating else text


def _without_plus(text: str, region: str | None, parse: Parser) -> tuple[PhoneNumber, Kind] | None:
    """`447700900123`: a country code written without its +, tried when the national reading fails.

    With no region there is no national reading, so international access code 00 counts as +.
    """
    if not _DIGITS_AND_SPACING.fullmatch(text):
        return None
    digits = _NOT_DIGIT.sub("", text)
    if region is None and digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("0"):
        return None
    try:
        number = parse("+" + digits, None)
    except NumberParseException:
        return None
    kind = classify(number)
    return (number, kind) if kind is not None else None


def _parse_failure(error: NumberParseException, text: str, region: str | None) -> str:
    kind = error.error_type
    if kind == NumberParseException.NOT_A_NUMBER:
        return NOT_A_NUMBER
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        international = text.lstrip().startswith(("+", "＋"))
        return NO_COUNTRY_CODE if region is None and not international else UNKNOWN_COUNTRY_CODE
    if kind == NumberParseException.TOO_LONG:
        return TOO_LONG
    return TOO_SHORT  # TOO_SHORT_NSN and TOO_SHORT_AFTER_IDD


def _invalid_reason(number: PhoneNumber, text: str, region: str | None) -> str:
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        return TOO_SHORT
    if possible == ValidationResult.TOO_LONG:
        return TOO_LONG
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return UNKNOWN_COUNTRY_CODE
    return f"not a valid number for {_place(number.country_code, region)}"


def _place(country_code: int, region: str | None) -> str:
    if region is not None and phonenumbers.country_code_for_region(region) == country_code:
        return region
    main = phonenumbers.region_code_for_country_code(country_code)
    return main if main.isalpha() and main != "ZZ" else f"+{country_code}"


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _from_international_digits(digits: str) -> PhoneNumber | None:
    """What `phonenumbers.parse` returns for + and these digits, or None where it might differ.

    The country code is the shortest known prefix, as phonenumbers reads it. parse may also strip a
    national prefix after the country code (+44 07700...) and marks leading zeros; those numbers
    are left to it.
    """
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if national[0] == "0" or _may_strip_national_prefix(country_code, national):
                return None
            return PhoneNumber(country_code=country_code, national_number=int(national))
    return None


def _may_strip_national_prefix(country_code: int, national: str) -> bool:
    prefix = _national_prefix(country_code)
    return prefix is not None and prefix.match(national) is not None


@functools.cache
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    # Without metadata parse behaves differently; a pattern matching everything sends it there.
    if metadata is None:
        return re.compile("")
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else None
