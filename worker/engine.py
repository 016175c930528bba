"""Sending one campaign: claim recipients, pace them per sender, submit, record, settle, finish.

One `Driver` runs one send loop for one campaign; several (in one or many worker processes) may
run on the same campaign at once. The database hands each loop different recipients, under a
claim with the loop's token and a lease that the loop renews while it holds them (see
campaigns/service/claims.py); the pacer in Redis keeps every sender number under its MPS,
whoever sends; and each sender's booked slots are handed out in order by its lane (lanes.py).

What the loop never does: make a request once its lease may have run out; resend a request whose
outcome is unknown (it is quarantined, and a lookup settles it: settling.py); write about a
recipient it no longer holds; let one recipient's problem, or a brief database, Redis or Slack
error, stop the campaign.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from campaigns.frequency import FREQUENCY_CAP
from campaigns.models import Campaign
from campaigns.privacy import mask
from campaigns.recipients.destinations import Destinations
from campaigns.senders import SenderMode, StickyPicker
from campaigns.service import opted_out_among, record_opt_out
from campaigns.service.claims import (
    OPTED_OUT,
    Claimed,
    Outcome,
    SendResult,
    claim_batch,
    hold_claims,
    record_results,
    release_claims,
    renew_claims,
)
from campaigns.service.common import checked_destinations
from campaigns.service.frequency import NOT_COUNTED, over_frequency_cap
from campaigns.service.in_effect import STATE_VALIDITY
from campaigns.service.sending import (
    FailureWindow,
    Receipts,
    ReceiptWindow,
    finish_if_complete,
    pause_campaign,
    receipts_among,
    sleep_until,
    waiting_for_hours,
)
from campaigns.settings import Settings
from campaigns.status import CampaignStatus
from campaigns.templates import Template, compile_template
from worker.gateway import Attempt, Kind, Outgoing, Unsendable, message_body
from worker.lanes import MAX_LATENESS, MAX_START_DELAY, Due, Lane
from worker.media_links import MediaLinks, PicturesUnreachable
from worker.runtime import WorkerRuntime
from worker.settling import Settler

log = logging.getLogger(__name__)

STATE_CHECK_SECONDS = 0.5  # how long the loop naps at most, and how often an idle one looks
# When all that is left waits for its sending hours this many sweeps or more, the loop ends and
# the campaign sleeps until a sweep wakes it; a shorter wait is napped through.
SLEEP_AFTER_SWEEPS = 4
# How often the campaign's state is read. A create starts only while the last read that found
# the campaign running began less than STATE_VALIDITY ago (see _fresh), so reads come well
# within it: one that is slow or fails for a moment does not stall the sending.
WATCH_SECONDS = 0.1
# A request leaves at least this long before its recipient's sending hours close (their end
# converted to the loop's clock at the claim, erring early): half of it covers waiting for a
# connection to Twilio (see _connect_by), the rest the way out.
HOURS_MARGIN = 0.2
FLUSH_SECONDS = 0.1
SETTLE_SECONDS = 1.0  # how often the loop looks for lookups that are due
RECEIPTS_SECONDS = 1.0  # how often the loop reads which of its messages have a receipt now
# Texts filtered as spam that pause a campaign on their own when they are over
# AUTO_PAUSE_FILTERED_RATE of the last receipts: fewer is a stray filtering, not the carriers
# blocking the campaign (with many texts not delivered, they still say why it paused).
FILTERED_BURST = 5
MAX_ATTEMPTS = 8  # requests Twilio refuses for now (429) before the recipient fails
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
ERROR_BACKOFF_CAP = 2.0  # the longest pause after a database or Redis error in the loop itself
WIND_DOWN_TRIES = 20  # attempts at the last writes of a loop that is stopping
OPT_OUT_CODE = 21610
# Pace 2% under each number's MPS: over any 1-second window that leaves 20 ms for requests that
# reach Twilio a little late or early, at any rate, for 2% of the throughput.
PACING_MARGIN = 0.02
# Added to a late request's lateness when the schedule is pushed back: the Redis round trip and
# the launches that follow it.
PUSH_MARGIN = 0.005
PUSH_PER_REQUEST = 0.0003
# And this many times the process's recent lag (worker/lag.py), up to LAG_CEILING: a push and the
# pacer's horizon must stay under a second (see Pacer.push_back). Above 1, so that a lag that
# grows is caught up with in a push or two rather than chased slot by slot.
LAG_FACTOR = 1.5
LAG_CEILING = 0.200
# A loop whose lanes hold slots up to the pacer's horizon books again when this share of the
# horizon has gone by (see Driver._book).
REFILL = 0.5
UNPICKED = ""  # Work.sticky before it is asked: never a number, nor a Messaging Service SID


@dataclass(eq=False, slots=True)
class Work:
    """A recipient this loop holds, from its claim until what happened is recorded."""

    claim: Claimed
    tries: int = 0  # requests Twilio refused for now
    # Loop time after which no request for it may leave: its sending hours close (see _claim).
    send_by: float = math.inf
    # The number it goes from when that number is free soon enough (see Driver._sticky): asked
    # once, when it is first booked. UNPICKED until then; None when the pool has one number.
    sticky: str | None = UNPICKED

    @property
    def id(self) -> int:
        return self.claim.id


@dataclass
class Driver:
    rt: WorkerRuntime
    campaign: Campaign
    slice_seconds: float = 600.0  # then hand over to a fresh job, so no job runs for hours
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    template: Template = field(init=False)
    pool: list[tuple[str, float]] = field(init=False)
    weights: list[tuple[str, int]] = field(init=False)  # the pool as preferred_senders takes it
    picker: StickyPicker | None = field(init=False)  # None: one number, nothing to pick
    window: FailureWindow = field(init=False)
    receipts: ReceiptWindow = field(init=False)  # the carriers' receipts of what it sent
    recheck: Destinations | None = field(init=False)  # what new claims are checked against
    settler: Settler = field(init=False)
    stopping: CampaignStatus | None = None
    # Every recipient held and not yet settled here, and where it is: waiting for a slot
    # (`ready`), booked in a lane, backing off after a 429 (`retrying`, then `retry_due`), or
    # in flight. Its result, once known, waits in `results` for the flusher.
    held: dict[int, Work] = field(default_factory=dict)
    ready: deque[Work] = field(default_factory=deque)
    lanes: dict[str, Lane[Work]] = field(default_factory=dict)
    retrying: set[Work] = field(default_factory=set)
    retry_due: list[Work] = field(default_factory=list)
    unscreened: list[Work] = field(default_factory=list)  # claimed, opt-outs not checked yet
    in_flight: int = 0
    results: list[SendResult] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)  # held, no request made: to give back
    out_of_hours: list[int] = field(default_factory=list)  # ...to give back until hours open
    lease_deadline: float = 0.0  # loop time after which this loop's claims may be another's
    exhausted: bool = False  # the last claim found nothing pending
    exhausted_until: float = 0.0  # ...so look again after this
    book_after: float = 0.0  # the pacer has nothing near: book again after this
    errors: int = 0  # the loop's own steps that failed in a row (database, Redis)
    pushed_back: float = 0.0  # seconds the numbers' schedules moved back for late requests
    pushed_for_lag: float = 0.0  # of which, for the time this process takes to write them

    def __post_init__(self) -> None:
        settings = self.rt.settings
        self.template = compile_template(self.campaign.message_template)
        self.media = MediaLinks(self.campaign.media_urls or (), settings, self.rt.ctx.now)
        if self.campaign.sender_mode == SenderMode.SERVICE:
            sid = settings.TWILIO_MESSAGING_SERVICE_SID or ""
            self.pool = [(sid, _paced(settings.TWILIO_MESSAGING_SERVICE_MPS))]
        else:
            self.pool = [
                (phone, _paced(sender.mps if (sender := settings.sender(phone)) else 1))
                for phone in self.campaign.from_numbers
            ]
        self.weights = [(sender, max(1, round(mps))) for sender, mps in self.pool]
        self.picker = StickyPicker(self.weights) if len(self.weights) > 1 else None
        # The most one booking can place within the pacer's horizon: every number's share of
        # it, and one more each (a number free now takes one at once).
        horizon = self.rt.pacer.horizon
        self._fits = max(1, sum(math.ceil(mps * horizon) + 1 for _, mps in self.pool))
        self._mps = dict(self.pool)
        self.window = FailureWindow(settings.AUTO_PAUSE_WINDOW)
        self.receipts = ReceiptWindow(settings.AUTO_PAUSE_RECEIPTS)
        self.recheck = self._destinations_to_recheck()
        self.settler = Settler(self.rt, self.campaign)
        self._wake = asyncio.Event()
        self._lane_filled: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # requests in flight
        self._background: list[asyncio.Task[None]] = []
        self._dispatchers: list[asyncio.Task[None]] = []
        self._settling: asyncio.Task[None] | None = None
        self._receipts: asyncio.Task[None] | None = None
        self._stop_settling = asyncio.Event()  # set: stop after the current pass (receipts too)
        self._ticking: asyncio.Task[None] | None = None
        self._send_until = 0.0
        self._state_read_at = -math.inf  # loop time a read that found it running began

    @property
    def cid(self) -> str:
        return self.campaign.id

    @property
    def lease(self) -> float:
        return self.rt.settings.RECLAIM_AFTER_SECONDS

    @property
    def late_slots(self) -> int:
        return sum(lane.lost for lane in self.lanes.values())

    # --- the loop --------------------------------------------------------------------------------

    async def run(self) -> bool:
        """Send until the campaign is finished, stopped, or this slice is over (returns True)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.slice_seconds
        self._loop = loop
        self._extend_lease(loop.time() + self.lease)  # before the first claim: err early
        for job in (self._watch_state, self._flush_forever, self._keep_leases):
            self._background.append(asyncio.create_task(job()))
        self._settling = asyncio.create_task(self._settle())
        self._receipts = asyncio.create_task(self._watch_receipts())
        # Posting the progress message is a Slack round trip (more if Slack says 429): the first
        # messages do not wait for it.
        self._ticking = asyncio.create_task(self.rt.reporter.started(self.cid))
        finished = False
        try:
            while not self.stopping and loop.time() < deadline:
                # Cleared before the step, so that what happens during it wakes the next nap.
                self._wake.clear()
                await self._step()
                if self.held or not self.exhausted:
                    await self._nap(deadline)
                    continue
                # The last claim found nothing and nothing is held: done, or wait for lookups.
                try:
                    finished = await self._finish_or_wait()
                except Exception as error:
                    await self._after_error("finish", error)
                if finished:
                    break
            return not self.stopping and not finished and loop.time() >= deadline
        finally:
            await self._wind_down()

    async def _step(self) -> None:
        """Claim what is needed, screen new claims and due retries, book slots for what is ready."""
        loop = asyncio.get_running_loop()
        try:
            if self._may_send() and loop.time() >= self.exhausted_until and self._wants_more():
                await self._claim()
            if self.unscreened or self.retry_due:
                await self._screen()
            if self.ready and self._may_send() and loop.time() >= self.book_after:
                await self._book()
            self.errors = 0
        except Exception as error:
            await self._after_error("claim, screen or book", error)

    async def _after_error(self, what: str, error: Exception) -> None:
        """A database or Redis error in the loop's own work: pause briefly, then go on."""
        self.errors += 1
        pause = min(ERROR_BACKOFF_CAP, 0.05 * 2**self.errors)
        log.warning("campaign %s: could not %s (%r); again in %.2f s", self.cid, what, error,
                    pause)  # fmt: skip
        await asyncio.sleep(random.uniform(pause / 2, pause))

    async def _nap(self, deadline: float) -> None:
        """Until something changes: a request ends, a retry is due, a lane needs booking..."""
        loop = asyncio.get_running_loop()
        timeout = STATE_CHECK_SECONDS
        if self.ready and self.book_after > loop.time():
            timeout = min(timeout, self.book_after - loop.time())
        try:
            async with asyncio.timeout(max(0.0, min(timeout, deadline - loop.time()))):
                await self._wake.wait()
        except TimeoutError:
            pass

    def _booked(self) -> int:
        return sum(len(lane) for lane in self.lanes.values())

    def _wants_more(self) -> bool:
        # Half a second of sending waits behind what is in flight, so that room made by a
        # request that ends is taken at once.
        waiting = len(self.ready) + len(self.unscreened) + self._booked()
        return waiting < min(self._batch_size(), self.rt.settings.WORKER_MAX_IN_FLIGHT)

    def _batch_size(self) -> int:
        # Claim about half a second of sending: a claim never waits long for its slot.
        rate = sum(mps for _, mps in self.pool)
        return max(1, min(500, int(rate / 2), self.rt.settings.WORKER_MAX_IN_FLIGHT))

    async def _finish_or_wait(self) -> bool:
        """Nothing held and nothing to claim: finish the campaign if every recipient is settled
        (True), else wait a little: another loop still sends, or lookups are due later."""
        await self._flush()
        if await finish_if_complete(self.rt.ctx, self.cid) is not None:
            await self.rt.reporter.finished(self.cid)
            return True
        if await self._asleep_until_hours():
            return True
        # Napping through a short wait for sending hours: the progress message says it waits
        # (at most once an interval, like any tick).
        self._tick_in_background()
        await asyncio.sleep(STATE_CHECK_SECONDS)
        return False

    async def _asleep_until_hours(self) -> bool:
        """Everything left waits for its sending hours, the first not for a while: the loop
        ends rather than look every half second for hours. The sweep wakes the campaign then."""
        waiting = await waiting_for_hours(self.rt.ctx, self.cid)
        if not waiting.only_these or waiting.next_release is None:
            return False
        async with self.rt.ctx.db.read() as session:
            clock = await self.rt.ctx.db.now(session)
        sleep_after = SLEEP_AFTER_SWEEPS * self.rt.settings.SWEEP_SECONDS
        if (waiting.next_release - clock).total_seconds() < sleep_after:
            return False
        if not await sleep_until(self.rt.ctx, self.cid, waiting.next_release):
            return False
        log.info("campaign %s: %d recipients wait for their sending hours; asleep until %s",
                 self.cid, waiting.count, f"{waiting.next_release:%Y-%m-%d %H:%M:%S} UTC")  # fmt: skip
        await self.rt.reporter.tick(self.cid, force=True)
        await self.rt.reporter.homes()  # listed as waiting, not as sending
        return True

    async def _status(self) -> str | None:
        """The campaign's status; None when it is gone, or at a version other than this loop's
        (edited while it waited for sending hours: a loop of the new version sends it)."""
        async with self.rt.ctx.db.read() as session:
            row = (
                await session.execute(
                    select(Campaign.status, Campaign.version).where(Campaign.id == self.cid)
                )
            ).one_or_none()
        if row is None:
            return None
        if row.status == CampaignStatus.RUNNING and row.version != self.campaign.version:
            return CampaignStatus.SCHEDULED  # stop: not this loop's to send any more
        return str(row.status)

    def _may_send(self) -> bool:
        """Whether this loop's claims are surely still its own for a while, and nothing that
        would stop a create (a cancel, an opt-out) can have been acknowledged unseen."""
        now = self._loop.time()
        return now < self._send_until and self._fresh(now)

    def _fresh(self, now: float) -> bool:
        """Whether the campaign was found running, and the recent opt-outs were read, by reads
        that began less than STATE_VALIDITY ago. Whoever cancels or records an opt-out waits
        longer than that before saying it is done (campaigns/service/in_effect.py), so no create
        starts here once they have. Reads that fail leave the loop unable to send until one
        succeeds. Two float compares a request: no round trip."""
        return (
            now - self._state_read_at < STATE_VALIDITY
            and now - self.rt.stops.read_at < STATE_VALIDITY
        )

    def _extend_lease(self, deadline: float) -> None:
        """The claims are this loop's until `deadline` (loop time); it sends until a margin
        before, which covers the time from its last check to the request leaving."""
        self.lease_deadline = deadline
        self._send_until = deadline - self._send_margin

    @property
    def _send_margin(self) -> float:
        return min(2.0, self.lease / 4)

    def _connect_by(self, work: Work) -> float:
        """When a create that passed `_may_send` must have its connection to Twilio: waiting
        for one (the pool is shared with lookups, polls and other campaigns) must not carry it
        past the lease, as when renewing the lease fails meanwhile, nor past its sending hours.
        Half the margin is left for the rest of the way."""
        by_lease = self.lease_deadline - self._send_margin / 2
        return min(by_lease, work.send_by + HOURS_MARGIN / 2)

    # --- claiming and booking --------------------------------------------------------------------

    async def _claim(self) -> None:
        """Claim the next recipients; they are screened for opt-outs before they are booked."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        claimed = await claim_batch(
            self.rt.ctx, self.cid, self._batch_size(), token=self.token, lease=self.lease,
            version=self.campaign.version,
        )  # fmt: skip
        self.exhausted = not claimed
        if not claimed:
            self.exhausted_until = loop.time() + STATE_CHECK_SECONDS
            return
        if not self.held:
            # The lease runs from the claim's transaction, which began after `started`. With
            # claims held already, the soonest lease to run out is theirs: the deadline stays.
            self._extend_lease(started + self.lease)
        # The claim found the campaign running, in a read that began after `started`.
        self._state_read_at = max(self._state_read_at, started)
        for recipient in claimed:
            work = Work(recipient, send_by=_send_by(recipient, started))
            self.held[recipient.id] = work
            self.unscreened.append(work)

    async def _screen(self) -> None:
        """New claims, and retries whose backoff is over, go to be booked unless the number
        opted out (for a retry: a STOP that came while it waited) or, for a new claim, other
        campaigns texted it up to FREQUENCY_CAP already. Those fail."""
        fresh, again = self.unscreened, self.retry_due
        self.unscreened, self.retry_due = [], []  # what comes meanwhile waits for the next look
        try:
            opted_out = await opted_out_among(self.rt.ctx, [w.claim.phone for w in fresh + again])
            capped = await self._over_frequency_cap(
                [w for w in fresh if w.claim.phone not in opted_out]
            )
        except BaseException:
            self.unscreened, self.retry_due = fresh + self.unscreened, again + self.retry_due
            raise
        refused = self._refused_destinations(fresh)
        for work in fresh + again:
            if work.claim.phone in opted_out:
                self._settled(work, SendResult(work.id, Outcome.FAILED, error_reason=OPTED_OUT))
            elif work.id in refused:
                self._settled(work, SendResult(work.id, Outcome.FAILED,
                                               error_reason=refused[work.id]))  # fmt: skip
            elif work.id in capped:
                self._settled(work, SendResult(work.id, Outcome.FAILED,
                                               error_reason=FREQUENCY_CAP))  # fmt: skip
        # Retries go first: they have waited longest.
        self.ready.extendleft(reversed([w for w in again if w.claim.phone not in opted_out]))
        self.ready.extend(
            w for w in fresh
            if w.claim.phone not in opted_out and w.id not in capped and w.id not in refused
        )  # fmt: skip

    def _destinations_to_recheck(self) -> Destinations | None:
        """What new claims are checked against, once each; None when none needs it. A list is
        checked when read (premium-rate, satellite, a country outside ALLOWED_COUNTRIES), and
        stored with what it was checked against: only a campaign stored before destinations
        were checked, or whose countries were narrowed since, has each number checked again.
        Decided once per loop, off the per-message path. A reply answers whoever texted in."""
        if self.campaign.source in NOT_COUNTED:
            return None
        now = self.rt.settings.destinations
        checked = checked_destinations(self.campaign.import_report or {})
        return None if checked is not None and now.covers(checked) else now

    def _refused_destinations(self, fresh: list[Work]) -> dict[int, str]:
        """New claims whose numbers the workspace may not text now (see _destinations_to_recheck)."""
        destinations = self.recheck
        if destinations is None:
            return {}
        refused: dict[int, str] = {}
        for work in fresh:
            reason = destinations.refusal_for(work.claim.phone)
            if reason is not None:
                refused[work.id] = f"not sent: {reason}"[:200]  # error_reason holds 200
        return refused

    async def _over_frequency_cap(self, fresh: list[Work]) -> set[int]:
        """New claims whose numbers other campaigns have texted up to FREQUENCY_CAP already.
        Checked once, at the claim; a retry keeps its place."""
        cap = self.rt.settings.frequency_cap
        if cap is None or not fresh or self.campaign.source in NOT_COUNTED:
            return set()
        return await over_frequency_cap(self.rt.ctx, self.cid, [w.claim for w in fresh], cap)

    async def _book(self) -> None:
        """Book send slots for what is ready, as many as the in-flight bound allows and are near.

        Each goes on one of the campaign's senders, preferring the recipient's sticky one.
        """
        loop = asyncio.get_running_loop()
        booked = self._booked()
        room = self.rt.settings.WORKER_MAX_IN_FLIGHT - self.in_flight - booked
        # Near the in-flight bound, each request that ends makes room for one more: book them a
        # few at a time rather than one Redis round trip each, unless the lanes run dry.
        if room <= 0 or (room < min(len(self.ready), self._chunk()) and booked):
            return
        # Taken out while the pacer is asked: others add to `ready` meanwhile. No more than can
        # be booked within the horizon: the rest would be sent to Redis only to come back.
        count = min(room, len(self.ready), self._fits)
        batch = [self.ready.popleft() for _ in range(count)]
        messages = [(w.claim.segments, self._sticky(w)) for w in batch]
        try:
            slots, rest = await self.rt.pacer.book(self.pool, messages)
        except BaseException:
            self.ready.extendleft(reversed(batch))
            raise
        now = loop.time()
        for work, slot in zip(batch, slots, strict=False):
            lane = self._lane(slot.sender)
            lane.add(work, work.claim.segments, slot.due, slot.earliest)
            self._lane_filled[slot.sender].set()
        self.ready.extendleft(reversed(batch[len(slots) :]))
        if len(slots) < len(batch):
            # Until the soonest slot has come well within the horizon: booked then, it is
            # taken at its time, not whenever this loop wakes up, and the lanes still hold what
            # was booked up to it. Not sooner: each booking is a round trip that reads every
            # number's schedule, and one for each slot that comes free would cost Redis tens
            # of commands a message.
            horizon = self.rt.pacer.horizon
            self.book_after = now + max(0.001, rest - horizon + horizon * REFILL)
        self._tick_in_background()

    def _chunk(self) -> int:
        return max(1, min(16, self._batch_size() // 8))

    def _lane(self, sender: str) -> Lane[Work]:
        lane = self.lanes.get(sender)
        if lane is None:
            lane = self.lanes[sender] = Lane(sender)
            self._lane_filled[sender] = asyncio.Event()
            self._dispatchers.append(asyncio.create_task(self._dispatch(lane)))
        return lane

    def _sticky(self, work: Work) -> str | None:
        if work.sticky == UNPICKED:
            work.sticky = self.picker(work.claim.phone) if self.picker else None
        return work.sticky

    async def _dispatch(self, lane: Lane[Work]) -> None:
        """Hand out one sender's slots: each request at its slot's time, or booked again."""
        loop = asyncio.get_running_loop()
        filled = self._lane_filled[lane.sender]
        while True:
            due = lane.next_due()
            if due is None or self.stopping or not self._may_send():
                filled.clear()
                try:
                    async with asyncio.timeout(STATE_CHECK_SECONDS):
                        await filled.wait()
                except TimeoutError:
                    pass
                continue
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
                continue
            now = loop.time()
            handed = lane.take_due(now, self.rt.lag.expected())
            # Each goes with the loop time it must be written by, or is booked again.
            leaving = [(work, slot + MAX_START_DELAY) for work, slot in handed.go]
            if handed.pushed:
                leaving = await self._push_back(lane, handed, now)
            for work, leave_by in leaving:
                self._launch(work, lane, leave_by, handed_at=now)
            if handed.again:
                self.ready.extendleft(reversed(handed.again))
                self._wake.set()

    async def _push_back(
        self, lane: Lane[Work], handed: Due[Work], started: float
    ) -> list[tuple[Work, float]]:
        """Requests woken late (or that this busy process would write late) go now, once the
        number's schedule is pushed back as far, each with the loop time it must leave by."""
        # The schedule moves back by the lateness and by the time they take to leave: the round
        # trip, each request's turn on the event loop, and the lag this process has shown lately.
        for_lag = min(LAG_CEILING, LAG_FACTOR * self.rt.lag.expected())
        allowance = PUSH_MARGIN + PUSH_PER_REQUEST * len(handed.go) + for_lag
        try:
            await self.rt.pacer.push_back(
                lane.sender, self._mps[lane.sender], handed.push + allowance, handed.cost
            )
        except Exception as error:  # Redis away: they cannot go unpaced, so book them again
            log.warning("campaign %s: could not move %s's schedule back: %r", self.cid,
                        lane.sender, error)  # fmt: skip
            lane.lost += len(handed.go)
            handed.again.extend(work for work, _ in handed.go)
            return []
        self.pushed_back += handed.push + allowance
        # What the process's lag cost: the whole push when they were on time.
        on_time = handed.push <= MAX_LATENESS
        self.pushed_for_lag += handed.push + allowance if on_time else for_lag
        # A request that leaves later than the allowance is booked again (see _request).
        return [(work, started + allowance) for work, _ in handed.go]

    def _tick_in_background(self) -> None:
        # Slack may answer 429 and make the reporter wait: sending never waits with it.
        if self._ticking is None or self._ticking.done():
            self._ticking = asyncio.create_task(self.rt.reporter.tick(self.cid))

    # --- one request -----------------------------------------------------------------------------

    def _launch(self, work: Work, lane: Lane[Work], leave_by: float, handed_at: float) -> None:
        self.in_flight += 1
        task = asyncio.create_task(self._request(work, lane, leave_by, handed_at))
        self._tasks.add(task)
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.in_flight -= 1
        self._wake.set()

    def _outgoing(self, recipient: Claimed, sender: str) -> Outgoing:
        base = self.rt.settings.PUBLIC_BASE_URL
        return Outgoing(
            to=recipient.phone,
            body=message_body(self.template, recipient.variables),
            sender=sender,
            # The recipient id lets a callback that beats our own write of the SID find its
            # row, and settles a recipient in quarantine.
            status_callback=f"{base}/twilio/status?rid={recipient.id}" if base else None,
            validity_period=self.rt.settings.MESSAGE_VALIDITY_SECONDS,
            media_urls=self.media.urls(),
        )

    async def _request(
        self, work: Work, lane: Lane[Work], leave_by: float, handed_at: float
    ) -> None:
        # Checked again right before the request leaves: this task may have waited its turn
        # behind others (after a stall, many run at once). Stopped, lease at risk, taken over
        # meanwhile, or too late for its slot: nothing is sent, and it is booked again.
        now = self._loop.time()
        late = now > leave_by
        if late:
            self.rt.lag.seen(now - handed_at)
        if self.stopping or late or not self._may_send() or work.id not in self.held:
            self._book_again(work, lane, late)
            return
        if self.rt.stops.stopped(work.claim.phone) and not await self._still_send(work):
            return
        if self._loop.time() >= work.send_by:
            self._until_hours(work)
            return
        sender = lane.sender
        try:
            message = self._outgoing(work.claim, sender)
        except PicturesUnreachable as error:  # nobody's could go: held, and the campaign pauses
            log.warning("campaign %s paused: %s", self.cid, error)
            await self._hold_and_pause(work, error.reason)
            return
        except Unsendable as error:  # nothing left: this recipient fails, the others go on
            attempt = Attempt(Kind.REFUSED, reason=error.reason)
        else:
            # Checked once more when its connection is had: a request that waited for one (a
            # new connection, on a starved machine) must not leave long after its slot.
            attempt = await self._send(work, message, leave_by=leave_by)
            if attempt.checked_at is not None:
                self.rt.lag.seen(attempt.checked_at - handed_at)
            if attempt.kind is Kind.LATE:  # nothing was written
                self._book_again(work, lane, late=True)
                return
        try:
            await self._outcome(work, sender, attempt)
        except Exception:
            log.exception("recording what happened to %s failed", mask(work.claim.phone))
            self._settle_anyway(work, sender, attempt)

    def _book_again(self, work: Work, lane: Lane[Work], late: bool) -> None:
        """Nothing was sent: a recipient still held goes back to be booked, first in line."""
        if work.id in self.held:
            lane.lost += late
            self.ready.appendleft(work)
            self._wake.set()

    async def _still_send(self, work: Work) -> bool:
        """The number opted out since its claim was screened (a STOP came mid-batch): asked of
        the database, which is the truth, and failed with `opted_out` if so."""
        try:
            opted_out = bool(await opted_out_among(self.rt.ctx, [work.claim.phone]))
        except Exception:
            log.exception("could not check whether %s opted out", mask(work.claim.phone))
            opted_out = None
        if opted_out:
            self._settled(work, SendResult(work.id, Outcome.FAILED, error_reason=OPTED_OUT))
            return False
        # Opted back in (or not known yet): sent, if the checks made before the question still
        # hold; otherwise, and when the database did not answer, booked again.
        if opted_out is None or self.stopping or not self._may_send() or work.id not in self.held:
            if work.id in self.held:
                self.ready.appendleft(work)
                self._wake.set()
            return False
        return True

    async def _send(self, work: Work, message: Outgoing, leave_by: float) -> Attempt:
        try:
            return await self.rt.gateway.send(
                message, connect_by=self._connect_by(work), leave_by=leave_by
            )
        except Exception:
            # Not one of the outcomes the gateway knows: whether it was sent is unknown.
            log.exception("sending to %s failed unexpectedly", mask(work.claim.phone))
            return Attempt(Kind.UNKNOWN, reason="the request failed unexpectedly")

    async def _outcome(self, work: Work, sender: str, attempt: Attempt) -> None:
        if attempt.kind is Kind.SUBMITTED:
            # The SID first, before any other bookkeeping that could fail: the message exists.
            self._settled(
                work,
                SendResult(work.id, Outcome.SUBMITTED, sender=sender, twilio_sid=attempt.sid,
                           segments=attempt.segments),
            )  # fmt: skip
            self.window.add(False)
            self.receipts.sent(work.id, self._loop.time())
        elif attempt.kind is Kind.REFUSED:
            await self._refused(work, sender, attempt)
        elif attempt.kind is Kind.ACCOUNT:
            await self._account_refused(work, attempt)
        elif attempt.kind is Kind.TRANSIENT:
            self._retry_later(work, sender, attempt)
        else:
            # Never resent on a guess: quarantined until a lookup, made long enough from now
            # for a create Twilio makes late to show, finds it or finds that it was never made.
            # No answer from Twilio counts towards a failure spike: in an outage the campaign
            # pauses instead of putting every recipient in doubt.
            self.window.add(True)
            self._settled(
                work,
                SendResult(
                    work.id, Outcome.UNKNOWN, sender=sender, error_code=attempt.code,
                    error_reason=f"{_sentence(attempt.reason)} Checking with Twilio whether it "
                    "was sent.",
                    check_in=self.rt.settings.UNKNOWN_OUTCOME_WAIT_SECONDS,
                ),
            )  # fmt: skip
            await self._pause_on_failure_spike()

    def _settle_anyway(self, work: Work, sender: str, attempt: Attempt) -> None:
        """Recording `attempt` failed (a bug of ours) with the recipient still held here: it must
        not stay held, idle, until the lease runs out. A message Twilio named keeps its SID (a
        lookup that missed it would send it again); anything else is put in doubt, for a lookup
        to settle as any unknown outcome."""
        if work.id not in self.held:
            return
        if attempt.kind is Kind.SUBMITTED:
            result = SendResult(work.id, Outcome.SUBMITTED, sender=sender, twilio_sid=attempt.sid)
        else:
            self.retrying.discard(work)  # a retry must not be booked for a recipient given up
            result = SendResult(
                work.id, Outcome.UNKNOWN, sender=sender, error_code=attempt.code,
                error_reason="What happened could not be recorded. Checking with Twilio whether "
                "it was sent.", check_in=self.rt.settings.UNKNOWN_OUTCOME_WAIT_SECONDS,
            )  # fmt: skip
        self._settled(work, result)

    async def _refused(self, work: Work, sender: str, attempt: Attempt) -> None:
        self.window.add(True)
        self._settled(
            work,
            SendResult(work.id, Outcome.FAILED, sender=sender, error_code=attempt.code,
                       error_reason=attempt.reason or "Twilio did not accept the message."),
        )  # fmt: skip
        if attempt.code == OPT_OUT_CODE:
            await record_opt_out(
                self.rt.ctx, work.claim.phone, source="twilio_21610", campaign_id=self.cid
            )
        await self._pause_on_failure_spike()

    def _retry_later(self, work: Work, sender: str, attempt: Attempt) -> None:
        work.tries += 1
        if work.tries >= MAX_ATTEMPTS:
            reason = f"{_sentence(attempt.reason)} Gave up after {MAX_ATTEMPTS} tries."
            self._settled(
                work,
                SendResult(work.id, Outcome.FAILED, sender=sender, error_code=attempt.code,
                           error_reason=reason),
            )  # fmt: skip
            return
        backoff = _backoff(work.tries)
        if self._loop.time() + backoff >= work.send_by:  # a 429 near the close: it waits for
            self._until_hours(work)  # its next hours rather than be sent after them
            return
        self.retrying.add(work)
        self._loop.call_later(backoff, self._retry_is_due, work)

    def _until_hours(self, work: Work) -> None:
        """Its sending hours close before a request for it could leave: nothing is sent, and it
        goes back to wait for them (written by the flusher)."""
        self.held.pop(work.id, None)
        self.out_of_hours.append(work.id)

    def _retry_is_due(self, work: Work) -> None:
        if work in self.retrying:
            self.retrying.discard(work)
            self.retry_due.append(work)
            self._wake.set()

    async def _account_refused(self, work: Work, attempt: Attempt) -> None:
        """Twilio refuses the account or the sending number: nothing of this campaign can go."""
        await self._hold_and_pause(
            work,
            f"Twilio refused to send: {attempt.reason or 'the account or number was refused.'} "
            "Fix it in Twilio, then resume.",
        )

    async def _hold_and_pause(self, work: Work, reason: str) -> None:
        """Nothing of this campaign can go until a person fixes something: the recipient goes
        back (nothing was sent), and the campaign pauses on the first one, saying why."""
        self.held.pop(work.id, None)
        self.unsent.append(work.id)
        if self.stopping:
            return
        self.stopping = CampaignStatus.PAUSED
        self._wake.set()
        await self._pause(reason)

    async def _pause_on_failure_spike(self) -> None:
        settings = self.rt.settings
        if (
            self.stopping
            or not self.window.full()
            or self.window.rate() <= settings.AUTO_PAUSE_FAILURE_RATE
        ):
            return
        self.stopping = CampaignStatus.PAUSED
        self._wake.set()
        share = round(self.window.rate() * 100)
        await self._pause(
            f"{share}% of the last {self.window.size} messages failed or got no answer from "
            "Twilio. Check the errors below, then resume or cancel."
        )

    async def _watch_receipts(self) -> None:
        """Pause when the carriers stop delivering what Twilio took from this loop: receipts
        come back late (seconds to minutes), by a status callback or the status poll, so they
        are read from the database, for the messages still waiting for one."""
        while not self._stop_settling.is_set() and not self.stopping:
            window = self.receipts
            try:
                receipts = await receipts_among(self.rt.ctx, list(window.waiting))
                window.came_back(receipts, self._loop.time())
            except Exception as error:
                log.warning("campaign %s: could not read its receipts: %r", self.cid, error)
            reason = _receipt_trouble(window.counts(), self.rt.settings)
            if reason is not None and not self.stopping:
                self.stopping = CampaignStatus.PAUSED
                self._wake.set()
                await self._pause(reason)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECEIPTS_SECONDS):
                    await self._stop_settling.wait()

    async def _pause(self, reason: str) -> None:
        try:
            await pause_campaign(self.rt.ctx, self.cid, reason)
        except Exception:  # already cancelled or paused by someone else: nothing to add
            log.info("campaign %s was not paused: it had already stopped", self.cid)
            return
        await self.rt.reporter.paused(self.cid)

    def _settled(self, work: Work, result: SendResult) -> None:
        """What happened is known: it is written by the flusher, and no longer held here."""
        self.held.pop(work.id, None)
        self.results.append(result)

    # --- background: state, leases, results, lookups ---------------------------------------------

    async def _watch_state(self) -> None:
        failures = 0
        while True:
            started = self._loop.time()
            try:
                status = await self._status()
            except Exception as error:
                failures += 1
                if failures == 1:
                    log.warning("campaign %s: could not read its state: %r", self.cid, error)
                # Look again sooner: a cancel must not wait for the database, nor the sending.
                await asyncio.sleep(0.05)
                continue
            failures = 0
            if status == CampaignStatus.RUNNING:
                if not self._fresh(self._loop.time()):
                    self._nudge()  # the lanes stopped handing out while it was unknown
                self._state_read_at = max(self._state_read_at, started)
            elif not self.stopping:
                self.stopping = CampaignStatus(status) if status else CampaignStatus.CANCELLED
                self._wake.set()
            await asyncio.sleep(WATCH_SECONDS)

    def _nudge(self) -> None:
        self._wake.set()
        for filled in self._lane_filled.values():
            filled.set()

    async def _keep_leases(self) -> None:
        """Renew this loop's leases; drop what it no longer holds."""
        loop = asyncio.get_running_loop()
        every = self.lease / 3
        failed = False
        while True:
            await asyncio.sleep(min(every, 1.0) if failed else every)
            started = loop.time()
            holding = set(self.held)
            try:
                renewed = await renew_claims(
                    self.rt.ctx, self.cid, token=self.token, lease=self.lease
                )
            except Exception as error:
                failed = True
                log.warning("campaign %s: could not renew its leases: %r", self.cid, error)
                continue
            failed = False
            self._extend_lease(started + self.lease)
            lost = (holding & set(self.held)) - renewed
            if lost:
                self._lose(lost)

    def _lose(self, lost: set[int]) -> None:
        """Claims another loop has taken (this one stalled past its lease): never send them."""
        log.warning("campaign %s: %d claims were taken over; they are not sent from here",
                    self.cid, len(lost))  # fmt: skip
        self.ready = deque(w for w in self.ready if w.id not in lost)
        for lane in self.lanes.values():
            lane.remove(lost)
        self.retrying = {w for w in self.retrying if w.id not in lost}
        self.retry_due = [w for w in self.retry_due if w.id not in lost]
        self.unscreened = [w for w in self.unscreened if w.id not in lost]
        for rid in lost:
            # One in flight: a SID Twilio gives it is still written while nobody else owns the
            # recipient (campaigns/service/claims.py); anything else is refused, for a lookup.
            self.held.pop(rid, None)

    async def _flush(self) -> None:
        await self._hold_out_of_hours()
        batch, self.results = self.results, []
        if not batch:
            return
        try:
            await record_results(self.rt.ctx, batch, token=self.token)
        except Exception:
            self.results[:0] = batch  # kept, in order, for the next try
            raise

    async def _hold_out_of_hours(self) -> None:
        ids, self.out_of_hours = self.out_of_hours, []
        if not ids:
            return
        try:
            await hold_claims(self.rt.ctx, self.cid, ids, token=self.token)
        except Exception:
            self.out_of_hours[:0] = ids  # kept for the next try
            raise

    async def _flush_forever(self) -> None:
        failures = 0
        while True:
            await asyncio.sleep(min(ERROR_BACKOFF_CAP, FLUSH_SECONDS * 2**failures))
            try:
                await self._flush()
                failures = 0
            except Exception as error:
                failures = min(failures + 1, 5)
                log.warning("campaign %s: recording %d results failed (%r); they are kept",
                            self.cid, len(self.results), error)  # fmt: skip

    async def _settle(self) -> None:
        """Look up what is due in quarantine, and take over claims whose lease ran out."""
        # Not before the first claims: on SQLite its writes would queue in front of them.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_SECONDS):
                await self._stop_settling.wait()
        while not self._stop_settling.is_set():
            try:
                settled, due_in = await self.settler.settle()
                if settled.absent:  # back to pending: claim them again
                    self.exhausted_until = 0.0
                    self._wake.set()
            except Exception as error:
                log.warning("campaign %s: settling unknown outcomes failed: %r", self.cid, error)
                due_in = SETTLE_SECONDS
            pause = SETTLE_SECONDS if due_in is None else min(SETTLE_SECONDS, max(0.2, due_in))
            try:
                async with asyncio.timeout(pause):
                    await self._stop_settling.wait()
            except TimeoutError:
                pass

    # --- stopping --------------------------------------------------------------------------------

    async def _wind_down(self) -> None:
        """Stop making requests; give back what was not sent; record what was; stop the rest.

        Claims that never reached Twilio go back (pending) or, after a cancel, are cancelled.
        """
        self._stop_settling.set()
        for task in self._dispatchers:
            task.cancel()
        await asyncio.gather(*self._dispatchers, return_exceptions=True)
        if self._tasks:  # requests in flight settle themselves (or come back, not sent)
            await asyncio.gather(*self._tasks, return_exceptions=True)
        unsent = list(self.ready) + list(self.retrying) + self.retry_due + self.unscreened
        for lane in self.lanes.values():
            unsent += lane.drain()
        self.ready.clear()
        self.retrying.clear()
        self.retry_due, self.unscreened = [], []
        for work in unsent:
            self.held.pop(work.id, None)
        self.unsent += [work.id for work in unsent]
        await self._last_write("give back unsent claims", self._release)
        await self._last_write("record results", self._flush)
        for task in (self._settling, self._receipts):
            if task is None:  # a lookup pass or a pause under way finishes, up to a point
                continue
            try:
                async with asyncio.timeout(10):
                    await task
            except TimeoutError:
                task.cancel()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.late_slots or self.pushed_back:
            log.info("campaign %s: %d send slots given up, and the numbers' schedules moved "
                     "back %.2f s, for requests woken late (the worker is busy; requests are "
                     "written %.0f ms after they are handed out these days)", self.cid,
                     self.late_slots, self.pushed_back,
                     1000 * self.rt.lag.expected())  # fmt: skip
        if self.stopping:
            await self.rt.reporter.tick(self.cid, force=True)

    async def _release(self) -> None:
        await release_claims(self.rt.ctx, self.cid, self.unsent, token=self.token)
        self.unsent = []

    async def _last_write(self, what: str, write: Callable[[], Awaitable[None]]) -> None:
        """A write the loop must make before it stops; tried for a while on errors. If it never
        succeeds, the leases run out and the claims are settled by a lookup all the same."""
        for attempt in range(WIND_DOWN_TRIES):
            try:
                await write()
                return
            except Exception as error:
                if attempt == WIND_DOWN_TRIES - 1:
                    log.error("campaign %s: could not %s: %r; the leases will run out and "
                              "lookups settle them", self.cid, what, error)  # fmt: skip
                    return
                await asyncio.sleep(min(ERROR_BACKOFF_CAP, 0.1 * 2**attempt))


def _receipt_trouble(window: Receipts, settings: Settings) -> str | None:
    """Why the campaign should pause, from the receipts of `window`, in plain words; None if
    too few came back to judge, or if the carriers deliver well enough."""
    if window.total < max(1, settings.AUTO_PAUSE_RECEIPTS // 2):
        return None
    spam = window.filtered > settings.AUTO_PAUSE_FILTERED_RATE * window.total
    lost = window.undelivered > settings.AUTO_PAUSE_UNDELIVERED_RATE * window.total
    if not lost and not (spam and window.filtered >= FILTERED_BURST):
        return None
    if spam:
        also = (
            f", and {window.undelivered} in all did not reach the phone"
            if window.undelivered > window.filtered
            else ""
        )
        return (
            f"Carriers are blocking these texts as spam: {window.filtered} of the last "
            f"{window.total} were filtered out{also}. Sending more can get the sending number "
            "blocked. Check that the number is registered for business texting and that the "
            "message reads like one from you (who you are, no shortened links), then resume "
            "or cancel."
        )
    some_spam = f", {window.filtered} of them filtered as spam" if window.filtered else ""
    return (
        f"Many of these texts are not reaching phones: {window.undelivered} of the last "
        f"{window.total} came back not delivered{some_spam}. Check the reasons in the report, "
        "then resume or cancel."
    )


def _send_by(claim: Claimed, claimed: float) -> float:
    """The loop time after which no request for `claim` may leave. Its hours' end is known on
    the database's clock; the claim read that clock after `claimed` (loop time), so counting
    from `claimed` errs early, never late. No hours to keep: never (one float compare)."""
    if claim.closes_at is None:
        return math.inf
    return claimed + (claim.closes_at - claim.claimed_at).total_seconds() - HOURS_MARGIN


def _paced(mps: int) -> float:
    return mps * (1 - PACING_MARGIN)


def _backoff(attempt_number: int) -> float:
    """Exponential backoff with full jitter, so retries from many tasks do not arrive together."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt_number))


def _sentence(reason: str | None) -> str:
    text = (reason or "Twilio did not answer").strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
