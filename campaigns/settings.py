"""Textcast's configuration, read from the environment and `.env` (names as in DESIGN.md).

Every process loads one `Settings`. A missing or malformed value stops start-up with one line
naming the setting and what is wrong: `load_settings` and `Settings.require` raise
`SettingsError`, whose message is that line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from campaigns.errors import TextcastError
from campaigns.frequency import FrequencyCap, parse_frequency_cap
from campaigns.recipients.destinations import Destinations
from campaigns.recipients.phones import normalise
from campaigns.send_hours import ANY, parse_send_hours
from campaigns.setting_names import check_setting_names, default_env_file

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"


ANY_COUNTRY = "ANY"  # ALLOWED_COUNTRIES=any


def _country_of(phone: str) -> str | None:
    """A sender's country: +14155550100 is the United States, +14165550100 Canada."""
    kind = normalise(phone, None).kind
    if kind is not None:
        return kind.region
    # A number phonenumbers does not know as valid (a new range): its calling code's main country.
    try:
        country_code = phonenumbers.parse(phone, None).country_code
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_country_code(country_code)
    return region if region.isalpha() and region != "ZZ" else None


class SettingsError(TextcastError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class SenderNumber:
    """A configured Twilio number and the messages per second its carrier allows."""

    phone: str
    mps: int


def parse_sender_numbers(value: str) -> tuple[SenderNumber, ...]:
    """Parse `+E164` or `+E164:MPS` items separated by commas (MPS defaults to 1)."""
    senders: list[SenderNumber] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        number, _, mps_text = item.partition(":")
        number = number.strip()
        if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
            raise ValueError(f"{number!r} is not a +E.164 number (for example +14155550100)")
        try:
            mps = int(mps_text) if mps_text.strip() else 1
        except ValueError:
            raise ValueError(f"{item!r}: the MPS after ':' must be a whole number") from None
        if mps < 1:
            raise ValueError(f"{item!r}: the MPS must be at least 1")
        if any(sender.phone == number for sender in senders):
            raise ValueError(f"{number} is listed twice")
        senders.append(SenderNumber(number, mps))
    return tuple(senders)


# A host name label: letters, digits and inner hyphens (RFC 1123). Twilio refuses a StatusCallback
# whose host is anything else, an underscore included, so every create would be refused.
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def callback_host_problem(url: str) -> str | None:
    """Why Twilio would refuse `url`'s host in a StatusCallback, or None if it would not."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a port that is not a number
    except ValueError as error:
        return f"not a valid address ({error})"
    if not host:
        return "the address has no host name"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if "_" in host:
        return (
            f"Twilio refuses callback addresses whose host name has an underscore ({host}); "
            "use a name of letters, digits, hyphens and dots"
        )
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return f"{host!r} is not a valid host name, so Twilio would refuse it for callbacks"
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        env_ignore_empty=True,  # an empty variable means "use the default", as in most tools
    )

    DATABASE_URL: str = "sqlite+aiosqlite:///./textcast.db"
    # "transaction" when DATABASE_URL is a pooler that hands each transaction to any server
    # connection (PgBouncer's pool_mode = transaction): no statement then outlives its own
    # transaction (see campaigns/db.py).
    DATABASE_POOL_MODE: Literal["session", "transaction"] = "session"
    REDIS_URL: str = "redis://localhost:6379/0"
    # Every Redis key and the job queue start with this, so two installs (or test runs) can share
    # one Redis.
    REDIS_NAMESPACE: str = Field(default="textcast", pattern=r"^[A-Za-z0-9_.-]{1,40}$")

    SLACK_BOT_TOKEN: str | None = None
    SLACK_SIGNING_SECRET: str | None = None
    SLACK_APP_TOKEN: str | None = None
    SLACK_API_URL: str = DEFAULT_SLACK_API_URL
    SLACK_NOTIFY_CHANNEL: str | None = None
    # Set only when the app is installed org-wide on an Enterprise Grid org (E...): requests
    # from every workspace of that org are taken, and from nowhere else. Unset: only the
    # workspace the bot token belongs to.
    SLACK_ENTERPRISE_ID: str | None = None
    ALLOWED_SLACK_USERS: Annotated[tuple[str, ...], NoDecode] = ()
    # Replies and opt-outs. HELP_TEXT answers HELP and INFO; empty: Textcast's own words.
    HELP_TEXT: str = Field(default="", max_length=1600)
    REPLY_WINDOW_DAYS: int = Field(default=7, ge=1, le=90)
    EXTRA_OPT_OUT_KEYWORDS: Annotated[tuple[str, ...], NoDecode] = ()  # e.g. ARRET,BAJA,ALTO
    # "Send a test to me": at most this many tests a person an hour (0: no tests).
    TEST_SENDS_PER_HOUR: int = Field(default=5, ge=0, le=100)
    INBOUND_POLL_SECONDS: int = Field(default=10, ge=2, le=300)  # without PUBLIC_BASE_URL
    INBOUND_BACKSTOP_SECONDS: int = Field(default=60, ge=2, le=3600)  # with it: missed webhooks
    ALLOWED_SLACK_USERGROUP: str | None = None
    # Whom someone not allowed is told to ask for access: a Slack user (U…) or user group (S…)
    # id. Unset: the allowed people themselves.
    ACCESS_CONTACT: str | None = None

    TWILIO_ACCOUNT_SID: str | None = None
    TWILIO_AUTH_TOKEN: str | None = None
    TWILIO_API_URL: str = DEFAULT_TWILIO_API_URL
    TWILIO_MESSAGING_SERVICE_SID: str | None = None
    # Twilio does not report a Messaging Service's throughput, so it is configured.
    TWILIO_MESSAGING_SERVICE_MPS: int = Field(default=1, ge=1)
    SENDER_NUMBERS: Annotated[tuple[SenderNumber, ...], NoDecode] = ()

    PUBLIC_BASE_URL: str | None = None
    # With PUBLIC_BASE_URL: a message with no final status this long after it was sent is
    # fetched from Twilio, which does not promise to post a lost status callback again.
    RECEIPT_BACKSTOP_SECONDS: int = Field(default=600, ge=1, le=86_400)
    DEFAULT_REGION: str | None = None
    # The countries recipients may be in (ISO codes, e.g. US,CA; `any`: every country). Unset:
    # the countries of SENDER_NUMBERS and DEFAULT_REGION. Premium-rate, shared-cost and
    # satellite numbers are refused whatever it says.
    ALLOWED_COUNTRIES: Annotated[tuple[str, ...], NoDecode] = ()
    PRICE_PER_SEGMENT: Decimal = Field(default=Decimal("0.0079"), ge=0)
    PRICE_PER_MMS: Decimal = Field(
        default=Decimal("0.0200"), ge=0
    )  # a message, whatever its length
    PRICE_CURRENCY: str = "USD"
    # The address the web process listens on: every interface by default (a container's, or a
    # server's behind its proxy); 127.0.0.1 when the proxy runs on the same machine.
    HOST: str = Field(default="0.0.0.0", pattern=r"^[A-Za-z0-9.:_-]+$")
    PORT: int = Field(default=3000, ge=1, le=65535)
    # The web process's defences against slow or greedy clients (bot/connection_guard.py).
    # A connection must send a whole request, headers and body, within this of its first byte.
    REQUEST_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=600)
    # A kept-alive connection idle this long is closed (a proxy in front must close sooner).
    KEEPALIVE_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0, le=3600)
    # Connections open at once from one address; more are closed as they arrive.
    MAX_CONNECTIONS_PER_ADDRESS: int = Field(default=32, ge=1, le=100_000)

    # The worker. Defaults suit one small team; the benchmarks say what they allow.
    WORKER_MAX_IN_FLIGHT: int = Field(default=400, ge=1, le=5000)  # Twilio requests at once
    WORKER_DRIVERS_PER_CAMPAIGN: int = Field(default=1, ge=1, le=16)  # parallel send loops
    TWILIO_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=120)
    # Twilio drops a message still queued after this long instead of sending it hours late.
    MESSAGE_VALIDITY_SECONDS: int = Field(default=14_400, ge=1, le=36_000)
    # A campaign found this late (the worker was down) waits for a person to say send or cancel.
    LATE_START_SECONDS: int = Field(default=3_600, ge=60)
    # Pause when more than this share of the last AUTO_PAUSE_WINDOW submissions failed.
    AUTO_PAUSE_WINDOW: int = Field(default=50, ge=5)
    AUTO_PAUSE_FAILURE_RATE: float = Field(default=0.5, gt=0, le=1)
    # And when the carriers stop delivering: over the last AUTO_PAUSE_RECEIPTS delivery receipts
    # (judged once half of them have come in), more than this share came back not delivered, or
    # more than this share (and at least 5) was filtered as spam (error 30007).
    AUTO_PAUSE_RECEIPTS: int = Field(default=100, ge=10)
    AUTO_PAUSE_UNDELIVERED_RATE: float = Field(default=0.25, gt=0, le=1)
    AUTO_PAUSE_FILTERED_RATE: float = Field(default=0.05, gt=0, le=1)
    # The lease of a send loop's claim on a recipient: renewed every third of this while the
    # loop holds it. A claim not renewed for this long (its worker died or stalled) is taken
    # from it and checked with Twilio, never simply resent.
    RECLAIM_AFTER_SECONDS: float = Field(default=30.0, gt=0)
    # A request whose outcome is unknown (a timeout, a dropped connection, a 5xx) waits this
    # long before the lookup that decides it, so a create Twilio makes late shows up first.
    UNKNOWN_OUTCOME_WAIT_SECONDS: float = Field(default=120.0, gt=0)
    # A recipient whose outcome is still unknown this long after it became so (Twilio's list
    # would not answer) ends `failed` with `unknown_outcome`, never sent twice.
    UNKNOWN_OUTCOME_LIMIT_SECONDS: float = Field(default=3_600.0, gt=0)
    PROGRESS_INTERVAL_SECONDS: float = Field(default=3.0, gt=0)
    # Log the moment each message request leaves for Twilio, with its sender (logger
    # worker.departures): how pacing is judged when a carrier says a number went over its rate.
    LOG_DEPARTURES: bool = False
    # Guardrails. Sending hours, in each recipient's own time zone (`any`: at any hour).
    SEND_HOURS: str = "08:00-21:00"
    # Spend caps, in PRICE_CURRENCY, checked at confirmation (unset: no cap).
    MAX_CAMPAIGN_COST: Decimal | None = Field(default=None, ge=0)
    MONTHLY_BUDGET: Decimal | None = Field(default=None, ge=0)
    # At most N campaign messages to a number in a rolling window, e.g. 1/24h (unset: none).
    FREQUENCY_CAP: str | None = None
    # A campaign over either waits for a second allowed person's approval (unset: none).
    APPROVAL_ABOVE_RECIPIENTS: int | None = Field(default=None, ge=0)
    APPROVAL_ABOVE_COST: Decimal | None = Field(default=None, ge=0)
    APPROVALS_CHANNEL: str | None = None  # where requests go; unset: the campaign's channel
    # A Slack user group (S…) mentioned on each approval request. Unset: the allowed people
    # (ALLOWED_SLACK_USERS / _USERGROUP), else @here.
    APPROVERS_SLACK_USERGROUP: str | None = None
    SWEEP_SECONDS: int = Field(default=15, ge=1, le=30)

    @model_validator(mode="after")
    def _pool_mode_needs_postgresql(self) -> Settings:
        if self.DATABASE_POOL_MODE == "transaction" and not self.DATABASE_URL.startswith(
            "postgresql"
        ):
            raise ValueError(
                "DATABASE_POOL_MODE: transaction is for PostgreSQL behind a pooler such as "
                "PgBouncer; SQLite needs none (leave it unset)"
            )
        return self

    @model_validator(mode="after")
    def _lookups_wait_for_late_creates(self) -> Settings:
        # A lookup sooner than a request can take to fail would miss the late create.
        if self.UNKNOWN_OUTCOME_WAIT_SECONDS < self.TWILIO_TIMEOUT_SECONDS:
            raise ValueError(
                "UNKNOWN_OUTCOME_WAIT_SECONDS: must be at least TWILIO_TIMEOUT_SECONDS "
                f"({self.TWILIO_TIMEOUT_SECONDS:g})"
            )
        return self

    @field_validator("SEND_HOURS")
    @classmethod
    def _send_hours(cls, value: str) -> str:
        hours = parse_send_hours(value)
        return str(hours) if hours is not None else ANY

    @field_validator("FREQUENCY_CAP")
    @classmethod
    def _frequency_cap(cls, value: str | None) -> str | None:
        cap = parse_frequency_cap(value)
        return str(cap) if cap is not None else None

    @cached_property
    def frequency_cap(self) -> FrequencyCap | None:
        return parse_frequency_cap(self.FREQUENCY_CAP)

    @field_validator("SENDER_NUMBERS", mode="before")
    @classmethod
    def _senders(cls, value: Any) -> Any:
        return parse_sender_numbers(value) if isinstance(value, str) else value

    @field_validator("ALLOWED_SLACK_USERS", "EXTRA_OPT_OUT_KEYWORDS", mode="before")
    @classmethod
    def _users(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(user.strip() for user in value.split(",") if user.strip())
        return value

    @field_validator("ACCESS_CONTACT", mode="before")
    @classmethod
    def _slack_person_or_group(cls, value: Any) -> str | None:
        return _slack_id(value, "[UWS]", "a Slack user or user group id: a user's starts with U "
                         "or W (U0123ABCD), a user group's with S (S0123ABCD)")  # fmt: skip

    @field_validator("APPROVERS_SLACK_USERGROUP", mode="before")
    @classmethod
    def _slack_group(cls, value: Any) -> str | None:
        return _slack_id(value, "S", "a Slack user group id: it starts with S, such as S0123ABCD")

    @field_validator("SLACK_ENTERPRISE_ID", mode="before")
    @classmethod
    def _enterprise(cls, value: Any) -> str | None:
        return _slack_id(
            value, "E", "an Enterprise Grid org id: it starts with E, such as E0123ABCD"
        )

    @field_validator("DEFAULT_REGION", mode="before")
    @classmethod
    def _region(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        region = str(value).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a two-letter region code such as US or GB")
        return region

    @field_validator("ALLOWED_COUNTRIES", mode="before")
    @classmethod
    def _countries(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        codes = tuple(code.strip().upper() for code in value.split(",") if code.strip())
        if codes == (ANY_COUNTRY,):
            return codes
        for code in codes:
            if code not in phonenumbers.SUPPORTED_REGIONS:
                hint = " (the United Kingdom is GB)" if code == "UK" else ""
                raise ValueError(
                    f"{code!r} is not a two-letter country code such as US or GB{hint}; "
                    "`any` allows every country"
                )
        return codes

    @cached_property
    def destinations(self) -> Destinations:
        """Where recipients may be: ALLOWED_COUNTRIES, else the senders' and DEFAULT_REGION's
        countries; with none of them (a Messaging Service, no region) any country."""
        if self.ALLOWED_COUNTRIES == (ANY_COUNTRY,):
            return Destinations(None)
        if self.ALLOWED_COUNTRIES:
            return Destinations(frozenset(self.ALLOWED_COUNTRIES))
        countries = {_country_of(sender.phone) for sender in self.SENDER_NUMBERS}
        if self.DEFAULT_REGION:
            countries.add(self.DEFAULT_REGION)
        return Destinations(frozenset(c for c in countries if c) or None)

    @field_validator("DATABASE_URL")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db"
            )
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db")
        return value

    @field_validator("PUBLIC_BASE_URL", mode="before")
    @classmethod
    def _public_url(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        url = str(value).strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ValueError("use the https:// address where Twilio can reach this server")
        problem = callback_host_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url

    @cached_property
    def sender_phones(self) -> tuple[str, ...]:
        return tuple(sender.phone for sender in self.SENDER_NUMBERS)

    def sender(self, phone: str) -> SenderNumber | None:
        return next((s for s in self.SENDER_NUMBERS if s.phone == phone), None)

    def require(self, *names: str) -> None:
        """Stop with one line naming the first of `names` that is not set."""
        for name in names:
            if getattr(self, name) in (None, "", ()):
                raise SettingsError(f"{name} is not set: {_HINTS.get(name, 'set it')}")


_HINTS = {
    "SLACK_BOT_TOKEN": "set it to the app's bot token (xoxb-...)",
    "SLACK_SIGNING_SECRET": "set it to the app's signing secret (Basic Information page)",
    "SLACK_APP_TOKEN": "set it to an app-level token (xapp-...) to use Socket Mode",
    "TWILIO_ACCOUNT_SID": "set it to your Twilio account SID (AC...)",
    "TWILIO_AUTH_TOKEN": "set it to your Twilio auth token",
    "SENDER_NUMBERS": "list your Twilio numbers, for example +14155550100:1,+14155550101:10",
}


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; turn pydantic's report into one line naming the first bad setting.
    A name in .env or the environment that looks like a mistyped setting stops it first."""
    env_file = default_env_file(overrides.get("_env_file", Settings.model_config["env_file"]))
    check_setting_names(Settings.model_fields, os.environ, env_file)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["loc"]:
            name = str(first["loc"][0])
        else:  # a rule across settings names the one to change first: "NAME: what is wrong"
            name, _, message = message.partition(": ")
        shown = _shown(name, first.get("input"))
        raise SettingsError(f"{name} is malformed: {message}{shown}", field=name) from None


def load_only(*names: str) -> Settings:
    """The settings `names`, read and checked as `load_settings` does, and every other one at
    its default, unread: a command that needs a few (`textcast recipients check`) is not
    stopped by a malformed setting it never uses."""
    unknown = set(names) - set(Settings.model_fields)
    if unknown:
        raise ValueError(f"not settings: {sorted(unknown)}")  # a typo here would read nothing
    unread = {
        name: field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
        if name not in names
    }
    return load_settings(**unread)


# Settings whose value is never printed, even when it is wrong.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|KEY|AUTH", re.IGNORECASE)


def _shown(name: str, raw: object) -> str:
    """The bad value, to help fix it, unless it is or may hold a secret."""
    if not isinstance(raw, str) or len(raw) >= 80 or SECRET_NAME.search(name):
        return ""
    return f" (got {without_password(raw)!r})"


def without_password(url: str) -> str:
    """`postgres://app:hunter2@db/x` -> `postgres://***@db/x`, and no `password=` in the query."""
    url = re.sub(r"//.*@", "//***@", url)
    return re.sub(r"(?i)(password=)[^&;]*", r"\1***", url)


def _slack_id(value: Any, first: str, what: str) -> str | None:
    """A Slack id setting: blank is unset; else its first letter matches `first` (a regex
    class or letter) and the rest is Slack's upper-case letters and digits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    slack_id = str(value).strip()
    if not re.fullmatch(rf"{first}[A-Z0-9]{{2,30}}", slack_id):
        raise ValueError(f"{value!r} is not {what}")
    return slack_id
