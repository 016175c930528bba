"""Sending one campaign: claim recipients, pace them per sender, submit, record, finish.

One `Driver` runs one send loop for one campaign; several (in one or many worker processes) may
run on the same campaign at once: the database hands each a different set of recipients and the
pacer in Redis keeps every sender number under its MPS, whoever sends.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import select

from campaigns.models import Campaign
from campaigns.privacy import mask
from campaigns.senders import SenderMode, preferred_senders
from campaigns.service import opted_out_among, record_opt_out
from campaigns.service.sending import (
    OPTED_OUT,
    Claimed,
    FailureWindow,
    Outcome,
    SendResult,
    claim_batch,
    finish_if_complete,
    pause_campaign,
    record_results,
    refresh_claims,
    release_claims,
    stale_claims,
)
from campaigns.status import CampaignStatus, RecipientStatus
from campaigns.templates import Template, compile_template
from worker.gateway import Attempt, Kind, Outgoing
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)

STATE_CHECK_SECONDS = 0.5  # a cancel stops the loop within this (plus one pacing step)
FLUSH_SECONDS = 0.1
MAX_ATTEMPTS = 8
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# Twilio's clock and ours may differ: look for an uncertain message this far before its claim.
CLOCK_SKEW = timedelta(minutes=5)
OPT_OUT_CODE = 21610
# Pace 2% under each number's MPS: over any 1-second window that leaves 20 ms for requests that
# reach Twilio a little late or early, at any rate, for 2% of the throughput.
PACING_MARGIN = 0.02
# A request that would leave more than this after its slot (the event loop woke it late: the
# worker is busy) gives the slot up and books another. Late requests bunch up with the next
# ones; half of the margin's 20 ms is for that, half for the network.
MAX_LATENESS = 0.020


class Booked(NamedTuple):
    sender: str
    due: float  # the slot's start on this event loop's clock (never earlier than Redis's)


@dataclass
class Driver:
    rt: WorkerRuntime
    campaign: Campaign
    slice_seconds: float = 600.0  # then hand over to a fresh job, so no job runs for hours
    template: Template = field(init=False)
    pool: list[tuple[str, float]] = field(init=False)
    weights: list[tuple[str, int]] = field(init=False)  # the pool as preferred_senders takes it
    results: list[SendResult] = field(default_factory=list)
    waiting: dict[int, Claimed] = field(default_factory=dict)  # claimed, no request made yet
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # requests, waiting or made
    freed: asyncio.Event = field(default_factory=asyncio.Event)  # a task in `tasks` has ended
    stopping: CampaignStatus | None = None
    ticking: asyncio.Task[None] | None = None
    late_slots: int = 0  # slots given up because this loop woke too late for them
    window: FailureWindow = field(init=False)

    def __post_init__(self) -> None:
        settings = self.rt.settings
        self.template = compile_template(self.campaign.message_template)
        if self.campaign.sender_mode == SenderMode.SERVICE:
            sid = settings.TWILIO_MESSAGING_SERVICE_SID or ""
            self.pool = [(sid, _paced(settings.TWILIO_MESSAGING_SERVICE_MPS))]
        else:
            self.pool = [
                (phone, _paced(sender.mps if (sender := settings.sender(phone)) else 1))
                for phone in self.campaign.from_numbers
            ]
        self.weights = [(sender, max(1, round(mps))) for sender, mps in self.pool]
        self.window = FailureWindow(settings.AUTO_PAUSE_WINDOW)

    @property
    def senders(self) -> list[str]:
        return [sender for sender, _ in self.pool]

    @property
    def cid(self) -> str:
        return self.campaign.id

    # --- the loop --------------------------------------------------------------------------------

    async def run(self) -> bool:
        """Send until the campaign is finished, stopped, or this slice is over (returns True)."""
        deadline = time.monotonic() + self.slice_seconds
        watcher = asyncio.create_task(self._watch_state())
        flusher = asyncio.create_task(self._flush_forever())
        claiming: asyncio.Task[list[Claimed]] | None = None
        try:
            # Posting the progress message is a Slack round trip (more if Slack says 429): the
            # first messages do not wait for it, and progress ticks wait until it is done.
            self.ticking = asyncio.create_task(self.rt.reporter.started(self.cid))
            await self._reconcile_stale()
            while not self.stopping and time.monotonic() < deadline:
                ready = await claiming if claiming is not None else await self._claim()
                claiming = None
                if not ready:
                    if not await self._idle():
                        break
                    continue
                # The next batch is claimed while this one is paced and sent, so the requests in
                # flight do not dip each time the database is asked for more.
                claiming = asyncio.create_task(self._claim())
                await self._launch_all(ready)
                self._tick_in_background()
            return not self.stopping and time.monotonic() >= deadline
        finally:
            if claiming is not None:  # what it claimed is in `waiting`, released below
                await asyncio.gather(claiming, return_exceptions=True)
            await self._wind_down()
            watcher.cancel()
            flusher.cancel()
            await self._flush()

    def _batch_size(self) -> int:
        # Claim about half a second of sending: a claim never waits long for its slot.
        rate = sum(mps for _, mps in self.pool)
        return max(1, min(500, int(rate / 2), self.rt.settings.WORKER_MAX_IN_FLIGHT))

    async def _idle(self) -> bool:
        """Nothing to claim: wait for what is in flight, then finish. False ends the loop."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=STATE_CHECK_SECONDS)
            return True
        await self._flush()
        if await self._reconcile_stale():
            return True
        finished = await finish_if_complete(self.rt.ctx, self.cid)
        if finished is not None:
            await self.rt.reporter.finished(self.cid)
            return False
        if self.stopping:
            return False
        # Another driver still has requests in flight, or a dead one left claims that are not
        # stale yet: look again shortly.
        await asyncio.sleep(STATE_CHECK_SECONDS)
        return await self._still_running()

    async def _still_running(self) -> bool:
        return await self._status() == CampaignStatus.RUNNING

    async def _status(self) -> str | None:
        async with self.rt.ctx.db.read() as session:
            return await session.scalar(select(Campaign.status).where(Campaign.id == self.cid))

    async def _claim(self) -> list[Claimed]:
        """Claim the next recipients; the opted-out fail at once, the rest wait in `waiting`."""
        while claimed := await claim_batch(self.rt.ctx, self.cid, self._batch_size()):
            opted_out = await opted_out_among(self.rt.ctx, [c.phone for c in claimed])
            ready: list[Claimed] = []
            for recipient in claimed:
                if recipient.phone in opted_out:
                    self._result(SendResult(recipient.id, Outcome.FAILED, error_reason=OPTED_OUT))
                    continue
                self.waiting[recipient.id] = recipient
                ready.append(recipient)
            if ready:
                return ready
        return []

    async def _launch_all(self, ready: Sequence[Claimed]) -> None:
        """Book each recipient a send slot and start its request, as fast as the in-flight
        bound allows; a recipient left when stopping stays in `waiting`."""
        queue = deque(ready)
        while queue and not self.stopping:
            room = await self._room()
            batch = [queue.popleft() for _ in range(min(room, len(queue)))]
            slots = await self._slots(batch)
            for recipient, booked in zip(batch, slots, strict=False):
                task = asyncio.create_task(self._deliver(recipient, booked))
                self.tasks.add(task)
                task.add_done_callback(self._landed)
            queue.extendleft(reversed(batch[len(slots) :]))

    async def _room(self) -> int:
        """How many more requests may start now; waits until at least one may."""
        while (room := self.rt.settings.WORKER_MAX_IN_FLIGHT - len(self.tasks)) <= 0:
            self.freed.clear()
            await self.freed.wait()
        return room

    def _landed(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.freed.set()

    async def _slots(self, batch: Sequence[Claimed]) -> list[Booked]:
        """Book send slots for the first of `batch`, in one round trip: as many as are near.

        Each goes on one of the campaign's senders, preferring the recipient's sticky one.
        Nothing is near: wait until a sender is free. Stopped meanwhile: none.
        """
        messages = [(recipient.segments, self._sticky(recipient.phone)) for recipient in batch]
        pacer = self.rt.pacer
        loop = asyncio.get_running_loop()
        while not self.stopping:
            slots = await pacer.reserve_many(self.pool, messages)
            if slots:
                # The waits count from the script's instant: from now, they err late, never early.
                now = loop.time()
                return [Booked(slot.sender, now + slot.wait) for slot in slots]
            # Until the soonest slot comes within the horizon: booked then, it is taken at its
            # time, not at whenever this loop wakes up (which would lose that lateness each time).
            await asyncio.sleep(max(0.001, await pacer.next_free(self.pool) - pacer.horizon))
        return []

    async def _on_time(self, booked: Booked) -> bool:
        """Sleep until the slot; False if woken more than MAX_LATENESS after it."""
        loop = asyncio.get_running_loop()
        if (wait := booked.due - loop.time()) > 0:
            await asyncio.sleep(wait)
        if loop.time() - booked.due <= MAX_LATENESS:
            return True
        self.late_slots += 1
        return False

    async def _slot(self, recipient: Claimed) -> str | None:
        """Book one send slot and wait for it (a retry); None if stopped meanwhile."""
        while slots := await self._slots([recipient]):
            if await self._on_time(slots[0]):
                return None if self.stopping else slots[0].sender
        return None

    def _sticky(self, phone: str) -> str | None:
        if len(self.weights) == 1:
            return None
        return preferred_senders(phone, self.weights)[0]

    def _tick_in_background(self) -> None:
        # Slack may answer 429 and make the reporter wait: sending never waits with it.
        if self.ticking is None or self.ticking.done():
            self.ticking = asyncio.create_task(self.rt.reporter.tick(self.cid))

    # --- one recipient ---------------------------------------------------------------------------

    def _outgoing(self, recipient: Claimed, sender: str) -> Outgoing:
        base = self.rt.settings.PUBLIC_BASE_URL
        return Outgoing(
            to=recipient.phone,
            body=self.template.render(recipient.variables).text,
            sender=sender,
            # The recipient id lets a callback that beats our own write of the SID find its row.
            status_callback=f"{base}/twilio/status?rid={recipient.id}" if base else None,
            validity_period=self.rt.settings.MESSAGE_VALIDITY_SECONDS,
        )

    async def _deliver(self, recipient: Claimed, booked: Booked) -> None:
        try:
            while not await self._on_time(booked):
                if self.stopping or recipient.id not in self.waiting:
                    return
                rebooked = await self._slots([recipient])
                if not rebooked:  # stopped
                    return
                booked = rebooked[0]
            # Stopped before its slot: the claim stays in `waiting`, for _wind_down to release.
            # Not there any more: _wind_down has released it already (the slice ended).
            if self.stopping or self.waiting.pop(recipient.id, None) is None:
                return
            await self._attempt_until_settled(recipient, booked.sender)
        except Exception:
            # Leave the claim as it is: it will go stale and be reconciled, never sent twice.
            log.exception("sending to %s failed unexpectedly", mask(recipient.phone))

    async def _attempt_until_settled(self, recipient: Claimed, sender: str) -> None:
        message = self._outgoing(recipient, sender)
        for attempt_number in range(1, MAX_ATTEMPTS + 1):
            attempt = await self.rt.gateway.send(message)
            if attempt.kind is Kind.UNKNOWN:
                attempt = await self._reconciled(message, recipient) or attempt
            if attempt.kind is Kind.SUBMITTED:
                self._submitted(recipient, attempt.sender or sender, attempt)
                return
            if attempt.kind is Kind.REFUSED:
                await self._refused(recipient, sender, attempt)
                return
            if attempt_number == MAX_ATTEMPTS or self.stopping:
                break
            await asyncio.sleep(_backoff(attempt_number))
            await refresh_claims(self.rt.ctx, [recipient.id])
            paced = await self._slot(recipient)
            if paced is None:  # stopped while waiting for a slot: never send unpaced
                break
            sender = paced
            message = self._outgoing(recipient, sender)
        await self._give_up(recipient, sender, message, attempt)

    async def _give_up(
        self, recipient: Claimed, sender: str, message: Outgoing, last: Attempt
    ) -> None:
        """No more tries (stopping, or Twilio kept failing): settle the recipient one way."""
        if last.kind is Kind.UNKNOWN:
            try:
                found = await self.rt.gateway.find(
                    message, self.senders, recipient.claimed_at - CLOCK_SKEW
                )
            except LookupError:
                return  # Twilio cannot tell us now: the claim goes stale and is checked again
            if found is not None:
                self._submitted(recipient, found.sender or sender, found)
                return
        if self.stopping:
            to = (
                RecipientStatus.CANCELLED
                if self.stopping == CampaignStatus.CANCELLED
                else RecipientStatus.PENDING
            )
            await release_claims(self.rt.ctx, [recipient.id], to=to)
            return
        reason = f"{last.reason or 'Twilio did not accept it'} (gave up after {MAX_ATTEMPTS} tries)"
        await self._refused(recipient, sender, Attempt(Kind.REFUSED, code=last.code, reason=reason))

    async def _reconciled(self, message: Outgoing, recipient: Claimed) -> Attempt | None:
        try:
            return await self.rt.gateway.find(
                message, self.senders, recipient.claimed_at - CLOCK_SKEW
            )
        except LookupError:
            return None

    def _submitted(self, recipient: Claimed, sender: str, attempt: Attempt) -> None:
        self.window.add(False)
        self._result(
            SendResult(recipient.id, Outcome.SUBMITTED, sender=sender, twilio_sid=attempt.sid,
                       segments=attempt.segments)
        )  # fmt: skip

    async def _refused(self, recipient: Claimed, sender: str, attempt: Attempt) -> None:
        self.window.add(True)
        self._result(
            SendResult(recipient.id, Outcome.FAILED, sender=sender, error_code=attempt.code,
                       error_reason=attempt.reason)
        )  # fmt: skip
        if attempt.code == OPT_OUT_CODE:
            await record_opt_out(
                self.rt.ctx, recipient.phone, source="twilio_21610", campaign_id=self.cid
            )
        await self._pause_on_failure_spike()

    async def _pause_on_failure_spike(self) -> None:
        settings = self.rt.settings
        if (
            self.stopping
            or not self.window.full()
            or self.window.rate() <= settings.AUTO_PAUSE_FAILURE_RATE
        ):
            return
        self.stopping = CampaignStatus.PAUSED
        share = round(self.window.rate() * 100)
        try:
            await pause_campaign(
                self.rt.ctx,
                self.cid,
                f"{share}% of the last {self.window.size} messages failed. Check the errors "
                "below, then resume or cancel.",
            )
        except Exception:  # already cancelled or paused by someone else: nothing to add
            log.info("campaign %s was not paused: it had already stopped", self.cid)
            return
        await self.rt.reporter.paused(self.cid)

    # --- stale claims left by a worker that died mid-request --------------------------------------

    async def _reconcile_stale(self) -> bool:
        """Settle stale claims: adopt the message Twilio has, or give the recipient back."""
        stale = await stale_claims(self.rt.ctx, self.cid)
        if not stale:
            return False
        unsent: list[int] = []
        for recipient in stale:
            sender = recipient.sender or self.pool[0][0]
            message = self._outgoing(recipient, sender)
            try:
                found = await self.rt.gateway.find(
                    message, self.senders, recipient.claimed_at - CLOCK_SKEW
                )
            except LookupError:
                continue  # Twilio did not answer: try again on the next pass
            if found is not None:
                self._submitted(recipient, found.sender or sender, found)
            else:
                unsent.append(recipient.id)
        await self._flush()
        # Twilio never got these: they go back to pending and are claimed again.
        await release_claims(self.rt.ctx, unsent, to=RecipientStatus.PENDING)
        log.info(
            "campaign %s: %d stale claims reconciled, %d to resend",
            self.cid,
            len(stale),
            len(unsent),
        )
        return True

    # --- state, results and stopping -------------------------------------------------------------

    async def _watch_state(self) -> None:
        while True:
            await asyncio.sleep(STATE_CHECK_SECONDS)
            status = await self._status()
            if status != CampaignStatus.RUNNING and not self.stopping:
                self.stopping = CampaignStatus(status) if status else CampaignStatus.CANCELLED

    def _result(self, result: SendResult) -> None:
        self.results.append(result)

    async def _flush(self) -> None:
        batch, self.results = self.results, []
        if batch:
            await record_results(self.rt.ctx, batch)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self._flush()
            except Exception:
                log.exception("recording results failed; they will be retried")

    async def _wind_down(self) -> None:
        """Claims that never reached Twilio go back (pending) or, after a cancel, are cancelled."""
        leftover = list(self.waiting)
        self.waiting.clear()
        to = (
            RecipientStatus.CANCELLED
            if self.stopping == CampaignStatus.CANCELLED
            else RecipientStatus.PENDING
        )
        await release_claims(self.rt.ctx, leftover, to=to)
        if self.tasks:
            await asyncio.wait(self.tasks)
        if self.late_slots:
            log.info(
                "campaign %s: %d send slots given up, woken too late for them (the worker is busy)",
                self.cid,
                self.late_slots,
            )
        if self.stopping:
            await self.rt.reporter.tick(self.cid, force=True)


def _paced(mps: int) -> float:
    return mps * (1 - PACING_MARGIN)


def _backoff(attempt_number: int) -> float:
    """Exponential backoff with full jitter, so retries from many tasks do not arrive together."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt_number))
