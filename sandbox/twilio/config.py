"""What the Twilio stand-in is configured with: account, numbers, carrier behaviour and faults.

All of it is plain data. `CarrierConfig` and `Faults` may be changed while the stand-in runs
(through `TwilioSandbox.set_carrier` / `set_faults`, or `POST /sandbox/carrier|faults`); the
carrier and the fault injector read them on every decision.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from sandbox.twilio.errors import SHAPES

if TYPE_CHECKING:
    from campaigns.settings import Settings

DEFAULT_ACCOUNT_SID = "AC5a4db0c55a4db0c55a4db0c55a4db0c5"
DEFAULT_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
DEFAULT_NUMBER = "+14155550100"

# Carrier error codes the stand-in can end a message with, and the status each ends in.
# 30008 is Twilio's catch-all: the message never left, so it is "failed"; the others were handed
# to the carrier and came back, so they are "undelivered".
CARRIER_ERRORS: dict[int, tuple[str, str]] = {
    30003: ("undelivered", "Unreachable destination handset"),
    30005: ("undelivered", "Unknown destination handset"),
    30006: ("undelivered", "Landline or unreachable carrier"),
    30007: ("undelivered", "Message filtered"),
    30008: ("failed", "Unknown error"),
}

# How a list of messages is ordered. "created": newest created first. "date_sent": as Twilio
# documents its list, by DateSent, newest first; a message not sent yet has no DateSent and Twilio
# promises no place for it: here it comes after every sent one (newest created first).
ListOrder = Literal["created", "date_sent"]
LIST_ORDERS: tuple[ListOrder, ...] = ("created", "date_sent")
MAX_PAGE_SIZE = 1000  # Twilio's largest PageSize

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


@dataclass
class RecipientFailure:
    """A recipient whose messages end with `code`, each with probability `rate`."""

    code: int = 30003
    rate: float = 1.0

    def __post_init__(self) -> None:
        _check_code(self.code)
        _check_rate("rate", self.rate)


MAX_CALLBACK_CONCURRENCY = 1000


@dataclass
class CarrierConfig:
    """How the simulated carrier moves messages along, and how it reports back."""

    step_delay: float = 0.005  # seconds between sending, sent and the final status
    failure_rate: float = 0.0  # chance any message ends with one of failure_codes
    failure_codes: tuple[int, ...] = (30003, 30005, 30006, 30007, 30008)
    recipient_failures: dict[str, RecipientFailure] = field(default_factory=dict)
    # Numbers whose carrier never reports delivery: their messages stay `sent`, with this error
    # code on the `sent` status (None: without one), as Twilio shows a carrier's warning.
    sent_only: dict[str, int | None] = field(default_factory=dict)
    # Chance a message with pictures ends `partially_delivered` (some of its parts arrived)
    # instead of `delivered`.
    partial_rate: float = 0.0
    callback_delay: float = 0.0  # seconds added before each status callback is posted
    callback_duplicate_rate: float = 0.0  # chance a status callback is posted twice
    callback_reorder_rate: float = 0.0  # chance a callback is held until after the next one
    # Chance a status callback is never posted at all. Twilio does not promise to post a lost
    # callback again, so a dropped one is never retried: only asking Twilio recovers it.
    callback_drop_rate: float = 0.0
    # Status callbacks posted at once, each waiting for its answer. Twilio documents no limit
    # (its callbacks come from many hosts as statuses change); 16 keeps the tests' pace. One
    # message's callbacks go one after another whatever the number: change it between
    # campaigns, not while one's callbacks are on their way.
    callback_concurrency: int = 16

    def __post_init__(self) -> None:
        if self.step_delay < 0 or self.callback_delay < 0:
            raise ValueError("step_delay and callback_delay cannot be negative")
        self.callback_concurrency = int(self.callback_concurrency)
        if not 1 <= self.callback_concurrency <= MAX_CALLBACK_CONCURRENCY:
            raise ValueError(
                f"callback_concurrency must be 1 to {MAX_CALLBACK_CONCURRENCY}, "
                f"not {self.callback_concurrency}"
            )
        for name in (
            "failure_rate",
            "callback_duplicate_rate",
            "callback_reorder_rate",
            "callback_drop_rate",
            "partial_rate",
        ):
            _check_rate(name, getattr(self, name))
        self.failure_codes = tuple(self.failure_codes)
        if not self.failure_codes:
            raise ValueError("failure_codes needs at least one code")
        for code in self.failure_codes:
            _check_code(code)
        self.sent_only = {number: _optional_int(code) for number, code in self.sent_only.items()}
        self.recipient_failures = {
            number: failure
            if isinstance(failure, RecipientFailure)
            else RecipientFailure(**failure)
            for number, failure in self.recipient_failures.items()
        }


@dataclass
class Faults:
    """Faults of the REST API itself, decided per request with the stand-in's seeded generator."""

    rate_429: float = 0.0  # answer 429 / 20429 without creating the message
    rate_500: float = 0.0  # answer 500 / 20500 without creating the message
    latency_ms: float = 0.0  # wait this long before answering a create
    read_latency_ms: float = 0.0  # wait this long before answering a list or a fetch
    drop_rate: float = 0.0  # create the message, then close the connection without answering
    on_reads: bool = False  # also answer fetches and lists with 429 / 500 at those rates
    # A slow Twilio: hold a create for `late_ms` (longer than the client waits), then create the
    # message all the same. The client has given up; the message exists from then on.
    late_rate: float = 0.0
    late_ms: float = 0.0
    # A message shows in lists only this long after it was created (fetching it works at once).
    list_lag_ms: float = 0.0
    # Lists and fetches answer 429 or 500 (half each) at this rate, whatever `on_reads` says.
    read_fail_rate: float = 0.0
    # The next `fail_next` creates answer HTTP `fail_status` with Twilio code `fail_code` and
    # create nothing (e.g. 401 / 20003 for an account whose credentials stopped working).
    fail_next: int = 0
    fail_status: int = 500
    fail_code: int = 20500
    # The shape of every error the REST API answers, creates, lists and fetches alike, injected
    # or not (a refused number, a wrong token): "legacy" (Twilio's 2010 body), "problem" (an
    # RFC 9457 problem body) or "html" (a page that is not JSON, as from a proxy). See errors.py.
    error_shape: str = "legacy"
    # The next `odd_next` creates that succeed make the message, then answer 201 with its SID
    # but fields that do not parse: num_segments "abc", a status Textcast does not know, no
    # date_created and an odd date_updated. Lists and fetches show the message as it is.
    odd_next: int = 0
    # A garbled answer: these fields of every Message resource answered (fetched or listed), and
    # of every list page, hold these values instead, e.g. {"num_media": "two"} or
    # {"next_page_uri": 7}. A client must read what it can and carry on.
    garbled_fields: dict[str, Any] = field(default_factory=dict)
    garbled_page_fields: dict[str, Any] = field(default_factory=dict)
    # The order lists come in (see ListOrder). Twilio documents "date_sent" (newest sent first,
    # those not sent yet after them), the default; "created" is creation order, newest first.
    list_order: ListOrder = "date_sent"
    # The largest page a list answers, whatever PageSize asked (Twilio's is 1000): a small one
    # makes every list span pages, to be followed by next_page_uri.
    max_page_size: int = MAX_PAGE_SIZE
    # Twilio's clock runs this many seconds ahead of this machine's (negative: behind). Its
    # dates (date_created, date_sent, date_updated) are read from it as they are made.
    clock_offset_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_500", "drop_rate", "late_rate", "read_fail_rate"):
            _check_rate(name, getattr(self, name))
        if self.rate_429 + self.rate_500 > 1:
            raise ValueError("rate_429 + rate_500 cannot exceed 1")
        for name in ("latency_ms", "read_latency_ms", "late_ms", "list_lag_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.fail_next < 0 or self.odd_next < 0:
            raise ValueError("fail_next and odd_next cannot be negative")
        if self.error_shape not in SHAPES:
            raise ValueError(f"error_shape must be one of {', '.join(SHAPES)}")
        if not 400 <= self.fail_status <= 599:
            raise ValueError("fail_status must be an HTTP error status (400-599)")
        if self.list_order not in LIST_ORDERS:
            raise ValueError(f"list_order must be one of {list(LIST_ORDERS)}")
        if not 1 <= self.max_page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"max_page_size must be between 1 and {MAX_PAGE_SIZE}")

    def twilio_time(self) -> float:
        """Now on Twilio's clock (Unix time), for the dates it shows."""
        return time.time() + self.clock_offset_s


@dataclass
class SandboxConfig:
    """One Twilio account as the stand-in plays it."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    numbers: dict[str, float] = field(default_factory=lambda: {DEFAULT_NUMBER: 1.0})  # → MPS
    messaging_services: dict[str, tuple[str, ...]] = field(default_factory=dict)  # MG → numbers
    # The services replace look-alike characters (curly quotes, long dashes) in the bodies they
    # store and send, as Twilio's Smart Encoding does (on by default for new services).
    smart_encoding: bool = True
    inbound_url: str | None = None  # where replies are posted, as a number's SMS webhook
    carrier: CarrierConfig = field(default_factory=CarrierConfig)
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None  # seeds fault and carrier-outcome decisions
    price_per_segment: str = "0.0079"
    callback_connections: int = 64  # connection limit of the session that posts callbacks
    callback_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"AC[0-9a-fA-F]{32}", self.account_sid):
            raise ValueError(f"account_sid must be AC and 32 hex digits, not {self.account_sid!r}")
        if not self.auth_token:
            raise ValueError("auth_token cannot be empty")
        self.numbers = {number: float(mps) for number, mps in self.numbers.items()}
        for number, mps in self.numbers.items():
            if not _E164.fullmatch(number):
                raise ValueError(f"{number!r} is not an E.164 number")
            if mps <= 0:
                raise ValueError(f"{number}: MPS must be positive")
        self.messaging_services = {
            sid: tuple(numbers) for sid, numbers in self.messaging_services.items()
        }
        for sid, numbers in self.messaging_services.items():
            if not _MESSAGING_SERVICE_SID.fullmatch(sid):
                raise ValueError(f"{sid!r} is not a Messaging Service SID (MG and 32 hex digits)")
            if not numbers:
                raise ValueError(f"{sid} has no numbers")
            unknown = [number for number in numbers if number not in self.numbers]
            if unknown:
                raise ValueError(f"{sid} uses numbers the account does not have: {unknown}")
        if self.callback_connections < 1:
            raise ValueError("callback_connections must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SandboxConfig:
        """The account Textcast's settings describe: its SID, token, numbers and service."""
        values: dict[str, Any] = {}
        if settings.TWILIO_ACCOUNT_SID:
            values["account_sid"] = settings.TWILIO_ACCOUNT_SID
        if settings.TWILIO_AUTH_TOKEN:
            values["auth_token"] = settings.TWILIO_AUTH_TOKEN
        numbers = {sender.phone: float(sender.mps) for sender in settings.SENDER_NUMBERS}
        if numbers:
            values["numbers"] = numbers
        if settings.TWILIO_MESSAGING_SERVICE_SID and numbers:
            values["messaging_services"] = {settings.TWILIO_MESSAGING_SERVICE_SID: tuple(numbers)}
        values["price_per_segment"] = str(settings.PRICE_PER_SEGMENT)
        values.update(overrides)
        return cls(**values)


def replace_fields(target: Any, changes: dict[str, Any]) -> None:
    """Set `changes` on a config dataclass after validating them all on a copy."""
    names = {f.name for f in fields(target)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    merged = {name: getattr(target, name) for name in names} | changes
    checked = type(target)(**merged)  # runs __post_init__ validation
    for name in changes:
        setattr(target, name, getattr(checked, name))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _check_rate(name: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1, not {value}")


def _check_code(code: int) -> None:
    if code not in CARRIER_ERRORS:
        raise ValueError(
            f"{code} is not a carrier error the stand-in knows: {list(CARRIER_ERRORS)}"
        )
