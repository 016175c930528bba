"""The simulated carrier: per-number queues drained at the number's MPS, and each message's
walk through Twilio's statuses, reported to its StatusCallback.

A message goes queued → sending → sent → delivered, or ends undelivered or failed with a carrier
error code; one with pictures may end partially_delivered, and one to a `sent_only` number stays
sent, with the error code Twilio shows on it, if any. A Messaging Service message starts accepted and becomes queued once a sender is
picked. Every change after the initial status is posted to the StatusCallback (Twilio sends no
callback for the status a message was created with). One task per sender number drains its queue, one segment per 1/MPS seconds, so no window
of one second holds more than MPS segments; the later steps are timer callbacks on the event loop,
not tasks.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass, field

from sandbox.twilio.callbacks import StatusCallbacks
from sandbox.twilio.config import CARRIER_ERRORS, SandboxConfig
from sandbox.twilio.store import Message, MessageStore, StatusChange

VALIDITY_EXPIRED = 30036
# A hair over 1/MPS between segments, so that float rounding can never fit MPS + 1 segments
# into one window.
_SPACING_MARGIN = 1e-9
# A line with a backlog and a late event loop may release segments without sleeping; it yields
# after this many so the API keeps answering.
_RELEASES_BEFORE_YIELD = 64


@dataclass(eq=False)
class SenderLine:
    """One sender number's queue at the carrier."""

    number: str
    mps: float
    queue: deque[Message] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    next_slot: float = 0.0  # monotonic time the next segment may leave

    @property
    def interval(self) -> float:
        return 1.0 / self.mps + _SPACING_MARGIN


class Carrier:
    def __init__(
        self,
        config: SandboxConfig,
        store: MessageStore,
        callbacks: StatusCallbacks,
        rng: random.Random,
    ) -> None:
        self.config = config
        self.store = store
        self.callbacks = callbacks
        self.rng = rng
        self.lines = {number: SenderLine(number, mps) for number, mps in config.numbers.items()}
        self.in_flight = 0  # outbound messages without a final status
        self._epoch = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._drain(line)) for line in self.lines.values()]

    async def stop(self) -> None:
        self._epoch += 1  # steps still on the loop's timers become no-ops
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def reset(self) -> None:
        """Drop every queued message and pending step; pacing starts afresh."""
        self._epoch += 1
        for line in self.lines.values():
            line.queue.clear()
            line.next_slot = 0.0
        self.in_flight = 0

    def queue_depth(self, number: str) -> int:
        return len(self.lines[number].queue)

    def submit(self, message: Message) -> None:
        """Take a message the API has just created (status queued or accepted).

        As Twilio, no status callback reports the initial status: the create answer did.
        """
        self.in_flight += 1
        if message.status == "accepted":
            asyncio.get_running_loop().call_later(
                self.config.carrier.step_delay, self._pick_sender, self._epoch, message
            )
        else:
            self._enqueue(message)

    def _pick_sender(self, epoch: int, message: Message) -> None:
        if epoch != self._epoch:
            return
        message.from_ = message.sender
        self.store.index_from(message)
        self._set(message, "queued")
        self._enqueue(message)

    def _enqueue(self, message: Message) -> None:
        line = self.lines[message.sender or ""]
        line.queue.append(message)
        line.wakeup.set()

    async def _drain(self, line: SenderLine) -> None:
        loop = asyncio.get_running_loop()
        released = 0
        while True:
            if not line.queue:
                line.wakeup.clear()
                await line.wakeup.wait()
                continue
            now = loop.time()
            if line.next_slot > now:
                await asyncio.sleep(line.next_slot - now)
                released = 0
                continue
            self._depart(line, line.queue.popleft(), now)
            released += 1
            if released >= _RELEASES_BEFORE_YIELD:
                released = 0
                await asyncio.sleep(0)

    def _depart(self, line: SenderLine, message: Message, now: float) -> None:
        if (
            message.validity_period is not None
            and now - message.created_at > message.validity_period
        ):
            self._finish(self._epoch, message, "failed", VALIDITY_EXPIRED)
            return
        interval = line.interval
        departures = self.store.departures[line.number]
        for segment in range(message.segments):
            departures.append(now + segment * interval)
        line.next_slot = now + message.segments * interval
        message.carrier_at = now
        message.carrier_wall = self.config.faults.twilio_time()
        self._set(message, "sending")

        code = self._outcome(message)
        loop = asyncio.get_running_loop()
        handed_over = now + (message.segments - 1) * interval + self.config.carrier.step_delay
        if code is not None and CARRIER_ERRORS[code][0] == "failed":
            loop.call_at(handed_over, self._finish, self._epoch, message, "failed", code)
        else:
            loop.call_at(handed_over, self._sent, self._epoch, message, code)

    def _outcome(self, message: Message) -> int | None:
        carrier = self.config.carrier
        forced = carrier.recipient_failures.get(message.to)
        if forced is not None and self.rng.random() < forced.rate:
            return forced.code
        if carrier.failure_rate and self.rng.random() < carrier.failure_rate:
            return self.rng.choice(carrier.failure_codes)
        return None

    def _sent(self, epoch: int, message: Message, code: int | None) -> None:
        if epoch != self._epoch:
            return
        carrier = self.config.carrier
        if message.to in carrier.sent_only:  # no receipt will ever come: as final as it gets
            message.error_code = carrier.sent_only[message.to]
            self.in_flight -= 1
            self._set(message, "sent")
            return
        self._set(message, "sent")
        status = "delivered" if code is None else CARRIER_ERRORS[code][0]
        if status == "delivered" and message.media_urls and carrier.partial_rate:
            if self.rng.random() < carrier.partial_rate:
                status = "partially_delivered"
        asyncio.get_running_loop().call_later(
            self.config.carrier.step_delay, self._finish, epoch, message, status, code
        )

    def _finish(self, epoch: int, message: Message, status: str, code: int | None) -> None:
        if epoch != self._epoch:
            return
        if code is not None:
            message.error_code = code
            message.error_message = (
                "Validity Period Expired" if code == VALIDITY_EXPIRED else CARRIER_ERRORS[code][1]
            )
        self.in_flight -= 1
        self._set(message, status)

    def _set(self, message: Message, status: str) -> None:
        now = self.config.faults.twilio_time()
        message.status = status
        message.updated_wall = now
        if status == "sent":
            message.sent_wall = now
            message.price = _price(self.config.price_per_segment, message.segments)
        message.history.append(StatusChange(status, asyncio.get_running_loop().time(), now))
        self.callbacks.status_changed(message)


def _price(per_segment: str, segments: int) -> str:
    return f"-{float(per_segment) * segments:.5f}"
