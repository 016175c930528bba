"""`TwilioSandbox`: one Twilio account as the stand-in plays it, and everything tests can ask of it.

It holds the messages, the opt-outs, the carrier and the fault injector; the aiohttp routes in
`app.py` are a thin layer over `create_message`, `list_page` and friends. Tests and benchmarks
use the same object to inject faults, make handsets reply and read what happened.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hmac
import ipaddress
import random
import re
import secrets
import time
import zlib
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from campaigns.recipients.phones import normalise
from campaigns.segments import count_segments
from campaigns.smart_encoding import smart_encoded
from sandbox.twilio import errors
from sandbox.twilio.callbacks import StatusCallbacks, WebhookAnswer
from sandbox.twilio.carrier import Carrier
from sandbox.twilio.config import (
    CarrierConfig,
    Faults,
    RecipientFailure,
    SandboxConfig,
    replace_fields,
)
from sandbox.twilio.faults import FaultInjector
from sandbox.twilio.handsets import Keyword, OptOuts, inbound_params, keyword
from sandbox.twilio.store import Duplicate, Message, MessageStore, Stage, StatusChange

MAX_VALIDITY_PERIOD = 36000


class Arrival(NamedTuple):
    """When a request reached the API, on the loop's clock and on the wall clock."""

    at: float  # monotonic
    wall: float

    @classmethod
    def now(cls) -> Arrival:
        return cls(asyncio.get_running_loop().time(), time.time())


class CreateRequest(NamedTuple):
    """A create request as it reached the API, whatever it was answered (a 429 creates nothing,
    but a request that left after it should not have is seen all the same)."""

    at: float  # monotonic, when it arrived
    wall: float
    to: str | None


class Form(Protocol):
    """What the create route reads from a request's form (aiohttp's MultiDictProxy has it)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getall(self, key: str, default: Any = ...) -> list[Any]: ...


class Reply(NamedTuple):
    """A handset's reply: the inbound message, the keyword it was, and the webhook's answer."""

    message: Message
    keyword: Keyword | None
    webhook: WebhookAnswer | None  # None when no inbound_url is configured


class TwilioSandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        seed = self.config.seed
        self.store = MessageStore()
        self.optouts = OptOuts()
        self.faults = FaultInjector(self.config.faults, seed)
        # Separate generators, so that changing faults does not change carrier outcomes.
        self.callbacks = StatusCallbacks(
            self.config, random.Random(None if seed is None else seed + 1)
        )
        self.carrier = Carrier(
            self.config,
            self.store,
            self.callbacks,
            random.Random(None if seed is None else seed + 2),
        )
        self._expected_auth = _basic(self.config.account_sid, self.config.auth_token)
        self._service_of = {
            number: sid
            for sid, numbers in self.config.messaging_services.items()
            for number in numbers
        }
        self._running = False
        self._late: set[asyncio.Task[Message]] = set()  # creates held back by `Faults.late_rate`
        self.reads = 0  # list and fetch requests answered or refused: how hard clients look
        self.create_requests: list[CreateRequest] = []  # every create that arrived, in order
        self.list_filters: list[dict[str, str]] = []  # each list request's query, in order

    async def start(self) -> None:
        if self._running:
            return
        await self.callbacks.start()
        await self.carrier.start()
        self._running = True

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        for task in self._late:
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)
        await self.carrier.stop()
        await self.callbacks.stop()

    # The REST API ------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        if authorization == self._expected_auth:
            return True
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.config.account_sid) and hmac.compare_digest(
            password, self.config.auth_token
        )

    def create_message(self, form: Form, requested_at: float | None = None) -> Message:
        """Validate a create request as Twilio does, store the message and hand it to the carrier.

        Raises TwilioApiError with Twilio's code for a request Twilio would refuse.
        `requested_at` (loop time): when the request arrived, if earlier than now (the route
        notes it before reading the body).
        """
        to = (form.get("To") or "").strip()
        if not to:
            raise errors.missing_to()
        if not _valid_to(to):
            raise errors.invalid_to(to)
        from_ = form.get("From") or None
        service_sid = form.get("MessagingServiceSid") or None
        if from_ is None and service_sid is None:
            raise errors.missing_from()
        if service_sid is not None and service_sid not in self.config.messaging_services:
            raise errors.invalid_messaging_service(service_sid)
        if from_ is not None and from_ not in self.config.numbers:
            raise errors.invalid_from(from_)
        body = form.get("Body") or ""
        media_urls = tuple(form.getall("MediaUrl", []))
        if not body and not media_urls:
            raise errors.missing_body()
        if len(body) > errors.MAX_BODY_CHARACTERS:
            raise errors.body_too_long()
        if len(media_urls) > errors.MAX_MEDIA_URLS:
            raise errors.too_many_media()
        for url in media_urls:
            if not url.startswith(("https://", "http://")):
                raise errors.invalid_media_url(url)
        status_callback = form.get("StatusCallback") or None
        if status_callback is not None and not _valid_callback_url(status_callback):
            raise errors.invalid_status_callback(status_callback)
        validity_period = _validity_period(form.get("ValidityPeriod"))
        sender = from_ or self._sticky_sender(service_sid or "", to)
        if self.optouts.blocked(to, sender) or (
            service_sid is not None and self.optouts.blocked(to, service_sid)
        ):
            raise errors.unsubscribed()

        if service_sid is not None and self.config.smart_encoding:
            # Twilio stores, lists and sends the replaced body, and counts its segments.
            body = smart_encoded(body)
        status = "queued" if from_ is not None else "accepted"
        now = self.config.faults.twilio_time()
        message = Message(
            sid=_sid(),
            seq=self.store.next_seq(),
            direction="outbound-api",
            to=to,
            from_=from_,
            sender=sender,
            messaging_service_sid=service_sid,
            body=body,
            media_urls=media_urls,
            # An MMS is one message, whatever the length of its text.
            segments=1 if media_urls else max(count_segments(body).segments, 1),
            status=status,
            status_callback=status_callback,
            validity_period=validity_period,
            created_at=asyncio.get_running_loop().time(),
            created_wall=now,
            updated_wall=now,
            requested_at=requested_at,
        )
        message.history.append(StatusChange(status, message.created_at, now))
        self.store.add(message)
        self.carrier.submit(message)
        return message

    def create_later(
        self, form: Form, delay: float, requested_at: float | None = None
    ) -> asyncio.Task[Message]:
        """`create_message(form)` after `delay` seconds, in a task that outlives the request
        (`requested_at`, loop time: when it arrived; now if not given)."""
        if requested_at is None:
            requested_at = asyncio.get_running_loop().time()

        async def later() -> Message:
            await asyncio.sleep(delay)
            return self.create_message(form, requested_at)

        task = asyncio.create_task(later())
        self._late.add(task)
        task.add_done_callback(self._forget_late)
        return task

    def _forget_late(self, task: asyncio.Task[Message]) -> None:
        self._late.discard(task)
        if not task.cancelled():
            task.exception()  # a refusal nobody waited for (the client hung up) is not an error

    def _sticky_sender(self, service_sid: str, to: str) -> str:
        # Twilio's Sticky Sender: a recipient always hears from the same number of the service.
        numbers = self.config.messaging_services[service_sid]
        return numbers[zlib.crc32(to.encode()) % len(numbers)]

    # Handsets ----------------------------------------------------------------------------

    async def reply(
        self, handset: str, number: str, body: str, media_urls: Sequence[str] = ()
    ) -> Reply:
        """`handset` texts `body` to our `number`: opt-out keywords take effect, and the
        incoming-message webhook is posted, signed, to `config.inbound_url`."""
        if number not in self.config.numbers:
            raise ValueError(f"{number} is not one of the stand-in's numbers")
        service_sid = self._service_of.get(number)
        now = self.config.faults.twilio_time()
        loop_now = asyncio.get_running_loop().time()
        message = Message(
            sid=_sid(),
            seq=self.store.next_seq(),
            direction="inbound",
            to=number,
            from_=handset,
            sender=number,
            messaging_service_sid=service_sid,
            body=body,
            media_urls=tuple(media_urls),
            # An MMS is one message, whatever the length of its text.
            segments=1 if media_urls else max(count_segments(body).segments, 1),
            status="received",
            status_callback=None,
            validity_period=None,
            created_at=loop_now,
            created_wall=now,
            updated_wall=now,
            sent_wall=now,
        )
        message.history.append(StatusChange("received", loop_now, now))
        self.store.add(message)
        kind = keyword(body)
        senders = [number] if service_sid is None else [number, service_sid]
        if kind == "opt-out":
            self.optouts.opt_out(handset, senders)
        elif kind == "opt-in":
            self.optouts.opt_in(handset, senders)
        answer = None
        if self.config.inbound_url:
            params = inbound_params(message, self.config.account_sid)
            answer = await self.callbacks.post(self.callbacks.sign(self.config.inbound_url, params))
        return Reply(message, kind, answer)

    def lookups(self, numbers: Collection[str]) -> int:
        """List requests for messages to any of `numbers` (a sender's search for what it sent),
        leaving out the rest (a client listing what came in to its own numbers, say)."""
        return sum(query.get("To") in numbers for query in self.list_filters)

    def opted_out(self, handset: str, sender: str) -> bool:
        """Whether `handset` has opted out of `sender` (a number or a Messaging Service SID)."""
        return self.optouts.blocked(handset, sender)

    # Faults and carrier behaviour, changeable while running ------------------------------

    def set_faults(self, **changes: Any) -> Faults:
        return self.faults.update(**changes)

    def clear_faults(self) -> Faults:
        return self.faults.clear()

    def set_carrier(self, **changes: Any) -> CarrierConfig:
        replace_fields(self.config.carrier, changes)
        return self.config.carrier

    def fail_recipient(self, number: str, code: int = 30003, rate: float = 1.0) -> None:
        """Make messages to `number` end with carrier error `code` (with probability `rate`)."""
        self.config.carrier.recipient_failures[number] = RecipientFailure(code, rate)

    def set_inbound_url(self, url: str | None) -> None:
        self.config.inbound_url = url

    # Observation -------------------------------------------------------------------------

    def arrived(self, to: str | None, arrival: Arrival | None = None) -> None:
        """A create request has arrived (called before faults decide its answer); `arrival`:
        when, if it was noted earlier than now."""
        at, wall = arrival or Arrival.now()
        self.create_requests.append(CreateRequest(at, wall, to))

    def messages(self, to: str | None = None) -> list[Message]:
        """Outbound messages created, oldest first (all, or those to one recipient)."""
        if to is None:
            return list(self.store.outbound())
        return [message for message in self.store.by_to.get(to, []) if message.outbound]

    def replies(self) -> list[Message]:
        """Inbound messages, oldest first."""
        return [message for message in self.store.ordered if not message.outbound]

    def message(self, sid: str) -> Message | None:
        return self.store.get(sid)

    def count_for(self, to: str) -> int:
        return self.store.count_for(to)

    def per_recipient(self) -> Counter[str]:
        return self.store.per_recipient()

    def duplicates(self, include_failed: bool = False) -> list[Duplicate]:
        return self.store.duplicates(include_failed)

    def max_in_window(self, sender: str, seconds: float = 1.0, stage: Stage = "carrier") -> int:
        return self.store.max_in_window(sender, seconds, stage)

    def status_counts(self) -> Counter[str]:
        return self.store.status_counts()

    def queue_depth(self, sender: str) -> int:
        return self.carrier.queue_depth(sender)

    @property
    def idle(self) -> bool:
        """Every message has its final status and every status callback has been answered."""
        return self.carrier.in_flight == 0 and self.callbacks.pending == 0

    async def settled(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a test helper
        """Wait until `idle`; raises TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            # Two counters in two components; polling them is simpler than wiring an Event.
            while not self.idle:  # noqa: ASYNC110
                await asyncio.sleep(0.005)

    def summary(self) -> dict[str, Any]:
        return {
            "messages": sum(1 for _ in self.store.outbound()),
            "replies": len(self.replies()),
            "statuses": dict(self.status_counts()),
            "duplicates": [duplicate._asdict() for duplicate in self.duplicates()],
            "max_in_window": {
                number: {
                    "mps": mps,
                    "carrier": self.max_in_window(number),
                    "api": self.max_in_window(number, stage="api"),
                }
                for number, mps in self.config.numbers.items()
            },
            "queue_depth": {number: self.queue_depth(number) for number in self.config.numbers},
            "in_flight": self.carrier.in_flight,
            "callbacks_pending": self.callbacks.pending,
            "callbacks_dropped": self.callbacks.dropped,
            "callbacks_posted": self.callbacks.posted,
            "faults_injected": dict(self.faults.injected),
            "reads": self.reads,
            "opt_outs": [list(pair) for pair in self.optouts.pairs()],
        }

    def reset(self) -> None:
        """Forget messages, opt-outs, queues, pending callbacks and fault counts.

        Faults and carrier settings stay as they are; `clear_faults()` resets those.
        """
        self.carrier.reset()
        self.callbacks.reset()
        self.store.reset()
        self.optouts.clear()
        self.faults.injected = dict.fromkeys(self.faults.injected, 0)
        self.reads = 0
        self.list_filters.clear()
        self.create_requests.clear()


def _sid() -> str:
    return "SM" + secrets.token_hex(16)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@functools.lru_cache(maxsize=65536)
def _valid_to(to: str) -> bool:
    # Strict E.164 as Textcast always sends it; valid per campaigns' phone rules, which accept
    # Ofcom's drama range so demos can text numbers that reach nobody.
    return to.startswith("+") and normalise(to, None).e164 == to


# Twilio's rule for a callback URL's host: a valid host name (letters, digits, inner hyphens;
# no underscore) or an IP address.
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _valid_callback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return all(_HOST_LABEL.fullmatch(label) for label in host.removesuffix(".").split("."))


def _validity_period(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        seconds = int(raw)
    except ValueError:
        raise errors.invalid_validity_period(raw) from None
    if not 1 <= seconds <= MAX_VALIDITY_PERIOD:
        raise errors.invalid_validity_period(raw)
    return seconds
