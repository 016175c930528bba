"""A Messaging Service's phone-number list, shaped as Twilio's Messaging API (v1) answers
`GET /v1/Services/{ServiceSid}/PhoneNumbers`: ISO 8601 dates, and a `meta` block that names the
list's key and links the pages."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

MESSAGING_URL = "https://messaging.twilio.com"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_CREATED = "2026-01-05T09:00:00Z"  # the stand-in's numbers were all added to their service then


def phone_number_sid(number: str) -> str:
    """A stable PN SID per number: the same in every answer, as Twilio's."""
    return "PN" + hashlib.sha256(number.encode()).hexdigest()[:32]


def phone_numbers_page(
    account_sid: str, service_sid: str, numbers: Sequence[str], query: Mapping[str, str]
) -> dict[str, Any]:
    """One page of the service's numbers, in the order they were added."""
    page_size = min(max(_int(query.get("PageSize"), DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE)
    page = max(_int(query.get("Page"), 0), 0)
    records = numbers[page * page_size : (page + 1) * page_size]
    path = f"/v1/Services/{service_sid}/PhoneNumbers"

    def url(number: int) -> str:
        return f"{MESSAGING_URL}{path}?{urlencode({'PageSize': page_size, 'Page': number})}"

    more = (page + 1) * page_size < len(numbers)
    return {
        "meta": {
            "page": page,
            "page_size": page_size,
            "first_page_url": url(0),
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
            "next_page_url": url(page + 1) if more else None,
            "key": "phone_numbers",
        },
        "phone_numbers": [
            {
                "sid": phone_number_sid(number),
                "account_sid": account_sid,
                "service_sid": service_sid,
                "date_created": _CREATED,
                "date_updated": _CREATED,
                "phone_number": number,
                "country_code": "GB" if number.startswith("+44") else "US",
                "capabilities": ["SMS", "MMS"],
                "url": f"{MESSAGING_URL}{path}/{phone_number_sid(number)}",
            }
            for number in records
        ],
    }


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default
