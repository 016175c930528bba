"""Where a workspace may text: never to numbers that cost extra to reach, and only to its countries.

A premium-rate or shared-cost number, a satellite phone or a number on an international network
costs far more than PRICE_PER_SEGMENT, or bills the sender: never a patient's phone. A country the
workspace does not text (ALLOWED_COUNTRIES) is most often a typing mistake or a number read the
wrong way. Each refusal is said so that whoever pasted the list understands it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.geodata.locale import LOCALE_DATA

from campaigns.recipients.phones import Kind, PhoneResult, normalise

PREMIUM_RATE = "a premium-rate number: calls and texts to it cost extra"
SHARED_COST = "a shared-cost number: calls and texts to it cost extra"
SATELLITE = "a satellite phone: texts to it cost many times more than to a mobile"
NO_COUNTRY = (
    "a number on an international network, not in any country: texts to it cost many times more "
    "than to a mobile"
)
NON_GEOGRAPHIC = "001"  # phonenumbers' region for +800, +808, +870, +881, +882, +883, +979...
_SATELLITE_CODES = (870, 881)  # Inmarsat; Iridium, Globalstar, Thuraya and the others
# Country names that read better with "the": "in the United States", "in France".
_WITH_THE = frozenset({"US", "GB", "NL", "PH", "AE", "DO", "BS", "CZ", "GM", "CF", "CD", "KM",
                       "MV", "MH", "SB", "VA", "KY", "VG", "VI", "TC", "FO", "CG"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Destinations:
    """The countries a workspace texts (None: any), ISO 3166 codes as phonenumbers names them."""

    countries: frozenset[str] | None

    def refusal(self, result: PhoneResult) -> str | None:
        """Why this valid number may not be texted, in plain words; None when it may."""
        kind = result.kind
        if result.e164 is None or kind is None:
            return None
        return self._refusal(result.e164, kind)

    def refusal_for(self, phone: str) -> str | None:
        """The same for a number stored in E.164 (a campaign's, a contact's)."""
        return self.refusal(normalise(phone, None))

    def covers(self, checked: Destinations) -> bool:
        """Whether every number `checked` lets through may be texted here too: a list checked
        against it needs no second look against these."""
        if self.countries is None:
            return True
        return checked.countries is not None and checked.countries <= self.countries

    def to_json(self) -> dict[str, Any]:
        return {"countries": None if self.countries is None else sorted(self.countries)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Destinations:
        countries = data["countries"]
        return cls(None if countries is None else frozenset(countries))

    def describe(self) -> str:
        """ "the United States and Canada"; "any country" without a limit."""
        if self.countries is None:
            return "any country"
        names = (country_name(code) for code in self.countries)
        return in_words(sorted(names, key=lambda name: name.removeprefix("the ")))

    def _refusal(self, phone: str, kind: Kind) -> str | None:
        if kind.type == PhoneNumberType.PREMIUM_RATE:
            return PREMIUM_RATE
        if kind.type == PhoneNumberType.SHARED_COST:
            return SHARED_COST
        if kind.region == NON_GEOGRAPHIC:
            return SATELLITE if int(phone[1:4]) in _SATELLITE_CODES else NO_COUNTRY
        if self.countries is None or kind.region in self.countries:
            return None
        country_code = phonenumbers.country_code_for_region(kind.region)
        return (
            f"in {country_name(kind.region)} (+{country_code}): this workspace only texts "
            f"{self.describe()}"
        )


def country_name(region: str) -> str:
    """ "the United States", "France", "Guernsey"; the code itself when phonenumbers has no name."""
    names = LOCALE_DATA.get(region, {})
    name = names.get("en", "")
    if name.startswith("*"):  # held under another language: "*aa" means names["aa"]
        name = names.get(name[1:], "")
    name = name or region
    return f"the {name}" if region in _WITH_THE else name


def in_words(names: Iterable[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def read_abroad_note(phone: str, region: str | None) -> str:
    """What to say of a number written without a country code but read as another country's."""
    result = normalise(phone, None)
    where = country_name(result.kind.region) if result.kind is not None else phone
    shown = phonenumbers.format_number(
        phonenumbers.parse(phone, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    home = country_name(region) if region else "here"
    return f"read as a number in {where} ({shown}), not in {home}"
