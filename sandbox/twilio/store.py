"""Every message the stand-in knows, indexed for the API, and what tests and benchmarks observe.

Times come in two clocks: `*_at` is the event loop's clock (time.monotonic, comparable across
processes on one machine), `*_wall` is Twilio's clock for its dates (time.time(), plus
`Faults.clock_offset_s` when Twilio's clock is set to disagree with this machine's).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

FINAL_STATUSES = frozenset(
    {"delivered", "partially_delivered", "undelivered", "failed", "received"}
)

Stage = Literal["carrier", "api"]


class StatusChange(NamedTuple):
    status: str
    at: float  # monotonic
    wall: float


class CallbackAttempt(NamedTuple):
    status: str  # the MessageStatus posted
    at: float  # monotonic, when the answer (or the error) came back
    result: int | str  # the HTTP status, or the name of the exception


@dataclass(slots=True, eq=False)
class Message:
    sid: str
    seq: int  # creation order, across all messages
    direction: str  # "outbound-api" or "inbound"
    to: str
    from_: str | None  # as Twilio shows it: None while a Messaging Service picks the sender
    sender: str | None  # our number that carries it (outbound) or received it (inbound)
    messaging_service_sid: str | None
    body: str
    media_urls: tuple[str, ...]
    segments: int
    status: str
    status_callback: str | None
    validity_period: int | None
    created_at: float
    created_wall: float
    updated_wall: float
    sent_wall: float | None = None
    requested_at: float | None = None  # when the create request arrived (later for a slow one)
    carrier_at: float | None = None  # when the carrier took its first segment
    carrier_wall: float | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    history: list[StatusChange] = field(default_factory=list)
    callbacks: list[CallbackAttempt] = field(default_factory=list)

    @property
    def outbound(self) -> bool:
        return self.direction != "inbound"

    @property
    def arrived_at(self) -> float:
        """When its create request reached the API (a late create is made later than this)."""
        return self.created_at if self.requested_at is None else self.requested_at

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def statuses(self) -> list[str]:
        return [change.status for change in self.history]

    def observation(self) -> dict[str, object]:
        """Plain data for `GET /sandbox/messages`."""
        return {
            "sid": self.sid,
            "direction": self.direction,
            "to": self.to,
            "from": self.from_,
            "sender": self.sender,
            "messaging_service_sid": self.messaging_service_sid,
            "body": self.body,
            "segments": self.segments,
            "status": self.status,
            "error_code": self.error_code,
            "created_at": self.created_at,
            "requested_at": self.arrived_at,
            "created_wall": self.created_wall,
            "carrier_at": self.carrier_at,
            "carrier_wall": self.carrier_wall,
            "history": [list(change) for change in self.history],
            "callbacks": [list(attempt) for attempt in self.callbacks],
        }


class Duplicate(NamedTuple):
    to: str
    body: str
    sids: tuple[str, ...]


class MessageStore:
    """Messages by sid, by To and by From, in creation order; no operation scans them all."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.by_sid: dict[str, Message] = {}
        self.ordered: list[Message] = []
        self.by_to: dict[str, list[Message]] = defaultdict(list)
        self.by_from: dict[str, list[Message]] = defaultdict(list)
        # Per sender: the monotonic time each segment left the carrier, in order.
        self.departures: dict[str, list[float]] = defaultdict(list)
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add(self, message: Message) -> None:
        self.by_sid[message.sid] = message
        self.ordered.append(message)
        self.by_to[message.to].append(message)
        if message.from_ is not None:
            self.by_from[message.from_].append(message)

    def index_from(self, message: Message) -> None:
        """Index a message whose From became known after it was added."""
        bisect.insort(self.by_from[message.from_ or ""], message, key=_seq)

    def get(self, sid: str) -> Message | None:
        return self.by_sid.get(sid)

    def candidates(self, to: str | None, from_: str | None) -> list[Message]:
        """Messages that can match a To/From filter, in creation order."""
        if to is not None:
            return self.by_to.get(to, [])
        if from_ is not None:
            return self.by_from.get(from_, [])
        return self.ordered

    # Observation -------------------------------------------------------------------------

    def outbound(self) -> Iterator[Message]:
        return (message for message in self.ordered if message.outbound)

    def count_for(self, to: str) -> int:
        """Outbound messages created for one recipient."""
        return sum(1 for message in self.by_to.get(to, ()) if message.outbound)

    def per_recipient(self) -> Counter[str]:
        return Counter(message.to for message in self.outbound())

    def duplicates(self, include_failed: bool = False) -> list[Duplicate]:
        """Recipients given the same body more than once.

        A `failed` message never left Twilio, so a resend after one is not a duplicate unless
        `include_failed`.
        """
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for message in self.outbound():
            if include_failed or message.status != "failed":
                groups[(message.to, message.body)].append(message.sid)
        return [
            Duplicate(to, body, tuple(sids)) for (to, body), sids in groups.items() if len(sids) > 1
        ]

    def max_in_window(self, sender: str, seconds: float = 1.0, stage: Stage = "carrier") -> int:
        """The most segments `sender` moved in any window of `seconds` (half-open).

        stage="carrier": when the simulated carrier took each segment from the sender's queue,
        which the carrier itself keeps within the number's MPS. stage="api": when the create
        request reached the REST API (for a slow create, before the message was made), which
        shows whether the client paced itself.
        """
        if stage == "carrier":
            times = self.departures.get(sender, [])
        else:
            times = sorted(
                message.arrived_at
                for message in self.outbound()
                if message.sender == sender
                for _ in range(message.segments)
            )
        most = 0
        first = 0
        for last, time in enumerate(times):
            while time - times[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

    def status_counts(self) -> Counter[str]:
        return Counter(message.status for message in self.outbound())


def _seq(message: Message) -> int:
    return message.seq
