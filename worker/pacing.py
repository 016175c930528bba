"""Per-sender pacing shared by every worker process: GCRA in one Redis script, on Redis's clock.

Each sender number has a theoretical arrival time (TAT): the instant, in microseconds of Redis
`TIME`, from which the number is free again. Every number's is a field of one hash, the
schedule, so that a booking reads and writes all its candidates in one command each: with a key
per number, a booking over twenty numbers cost Redis some forty commands, and several loops
booking a few messages each cost it up to eighteen commands a message. A message of `cost` segments
starting at `start` moves it to `max(TAT, start) + cost / MPS`, so segments never go closer than
1/MPS apart, whichever process books them. Only slots close at hand are booked (`horizon`): a
worker never holds a slot far ahead while other workers could have used the number sooner.

One call books a run of messages (`reserve_many`), in order, as if each had made its own call at
the same instant: a fast campaign makes one Redis round trip per batch, not one per message.

After a Redis flush (or a restart that comes back empty) the schedule is gone, but the send
loops still hold the slots they booked before it, up to a horizon ahead, and a message's
segments hold the number for `cost / MPS` after its start. A field of its own, the epoch, tells
a number never booked from a flush: its absence means the flush. The first call that finds it
absent writes the instant, and until `horizon + LONGEST_MESSAGE / MPS` after it, a number
without a field starts no sooner than that: every slot booked before the flush is behind it by
then. A number idle in ordinary times (a TAT long past, or none, with the epoch in place) is
free at once. Fields are never removed: a TAT in the past says what an absent one would, and
the hash holds one field for each number ever used.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from campaigns.limits import MAX_BODY_CHARS
from worker.redis_clock import RedisClock

# The most segments one message can have: the longest body Twilio takes, at 67 characters a
# segment (UCS-2). A message booked just before a flush may hold its number this long at its MPS.
UCS2_SEGMENT_CHARS = 67
LONGEST_MESSAGE = -(-MAX_BODY_CHARS // UCS2_SEGMENT_CHARS)

# KEYS: the schedule (a hash: each number's TAT, and the epoch under EPOCH_FIELD).
# ARGV: burst, horizon_us, tolerance_us, book (1 = reserve, 0 = only look), the number of
#       candidates, each candidate's field (its number), each candidate's MPS, then per
#       message: cost, sticky (1-based candidate, 0 = none). ARGV[#ARGV]: the longest message's
#       segments (LONGEST_MESSAGE).
# Returns {candidate, wait_us, start_us} for each message booked, in order. When a message cannot
# be booked (its soonest slot is beyond the horizon, or book is 0) the list ends with
# {0, wait_us, start_us} of the soonest candidate, and the messages after it are not looked at.
PACING_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local burst = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local book = ARGV[4] == '1'
local count = tonumber(ARGV[5])
local longest = tonumber(ARGV[#ARGV])

local stored = redis.call('HMGET', KEYS[1], '@epoch', unpack(ARGV, 6, 5 + count))
local epoch = tonumber(stored[1] or '-1')
local flushed = epoch < 0
if flushed then
    -- The loops may still hold slots booked before (see the module's docstring).
    epoch = now
end

local tats, intervals, starts, booked = {}, {}, {}, {}
for i = 1, count do
    intervals[i] = 1000000 / tonumber(ARGV[5 + count + i])
    -- An absent field: the number is free once whatever was booked before a flush is over
    -- (long ago, for a number never booked since the epoch).
    if stored[i + 1] then
        tats[i] = tonumber(stored[i + 1])
    else
        tats[i] = epoch + horizon + math.ceil(longest * intervals[i])
    end
end

local reply = {}
for first = 6 + 2 * count, #ARGV - 1, 2 do
    local cost = tonumber(ARGV[first])
    local sticky = tonumber(ARGV[first + 1])
    local soonest = 0
    for i = 1, count do
        -- A burst lets a message start while the bucket still holds (burst - cost) segments; a
        -- message bigger than the burst waits for an empty bucket.
        local slack = (burst - math.min(cost, burst)) * intervals[i]
        local start = math.max(now, math.ceil(tats[i] - slack))
        starts[i] = start
        if soonest == 0 or start < starts[soonest] then
            soonest = i
        end
    end
    local chosen = soonest
    if sticky > 0 and starts[sticky] - starts[soonest] <= tolerance
            and starts[sticky] - now <= horizon then
        chosen = sticky
    end
    local start = starts[chosen]
    if not book or start - now > horizon then
        reply[#reply + 1] = 0
        reply[#reply + 1] = starts[soonest] - now
        reply[#reply + 1] = starts[soonest]
        break
    end
    -- Rounded up, so that rounding never packs segments closer than 1/MPS.
    tats[chosen] = math.ceil(math.max(tats[chosen], start) + cost * intervals[chosen])
    booked[chosen] = true
    reply[#reply + 1] = chosen
    reply[#reply + 1] = start - now
    reply[#reply + 1] = start
end

local writes = {}
if flushed then
    writes[#writes + 1] = '@epoch'
    writes[#writes + 1] = string.format('%d', now)
end
for i in pairs(booked) do
    writes[#writes + 1] = ARGV[5 + i]
    writes[#writes + 1] = string.format('%d', tats[i])
end
if #writes > 0 then
    redis.call('HSET', KEYS[1], unpack(writes))
end
return reply
"""

# KEYS: the schedule. ARGV: the sender's field, delay_us, burst_us (the late requests'
# segments / MPS), guard_us (what an absent field stands for after a flush, as in PACING_SCRIPT).
# Late requests go now, all at once: every slot booked from now on moves back by `delay`, and at
# least behind the burst, so that no second holds more than the MPS (see `push_back`).
PUSH_BACK_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stored = redis.call('HMGET', KEYS[1], '@epoch', ARGV[1])
local epoch = tonumber(stored[1] or '-1')
if epoch < 0 then
    epoch = now
    redis.call('HSET', KEYS[1], '@epoch', string.format('%d', now))
end
local tat = epoch + tonumber(ARGV[4])
if stored[2] then
    tat = tonumber(stored[2])
end
tat = math.ceil(math.max(tat + tonumber(ARGV[2]), now + tonumber(ARGV[3])))
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', tat))
return tat
"""

_MICROSECONDS = 1_000_000
EPOCH_FIELD = "@epoch"  # never a number, nor a Messaging Service SID (the scripts spell it too)


@dataclass(frozen=True, slots=True)
class Slot:
    sender: str
    wait: float  # seconds from the script's instant until this send may go (0.0 = at once)
    at: float = 0.0  # the booked start in Redis `TIME` seconds: one clock for every process
    # The start on this process's event loop clock (see worker/redis_clock.py): `due` is the
    # latest it may be (go then, never early), `earliest` the soonest (judge lateness from it).
    due: float = 0.0
    earliest: float = 0.0


class Pacer:
    """Hands out send slots per sender number, shared through Redis by every worker process."""

    def __init__(
        self, redis: Redis, *, prefix: str = "textcast:", horizon: float = 0.25, burst: int = 1
    ) -> None:
        if horizon < 0:
            raise ValueError("horizon must not be negative")
        if burst < 1:
            raise ValueError("burst must be at least 1 segment")
        self.prefix = prefix
        self.horizon = horizon
        self.burst = burst
        self._redis = redis
        self.clock = RedisClock()
        self._script = redis.register_script(PACING_SCRIPT)
        self._push_back = redis.register_script(PUSH_BACK_SCRIPT)

    @property
    def schedule_key(self) -> str:
        """The hash of every number's TAT (its field is the number), and the epoch's."""
        return f"{self.prefix}pace:@schedule"

    async def prepare(self) -> None:
        """A worker starting up: a namespace without an epoch that has no worker yet has never
        been paced, so nothing is booked in it and its numbers are free now. (A worker that
        starts in the moment after a flush, while others still hold slots, lets them be; see
        the README.)"""
        await self._redis.hsetnx(self.schedule_key, EPOCH_FIELD, "0")

    async def reserve(
        self,
        candidates: Sequence[tuple[str, float]],
        cost: int,
        *,
        sticky: str | None = None,
        tolerance: float = 0.5,
    ) -> Slot | None:
        """Book the soonest slot among `candidates` (number, MPS) for a message of `cost` segments.

        `sticky` is preferred while it can start within `tolerance` seconds of the soonest and
        within the horizon. None means every candidate is further away than the horizon and
        nothing was booked: sleep `next_free` and ask again.
        """
        slots = await self.reserve_many(candidates, [(cost, sticky)], tolerance=tolerance)
        return slots[0] if slots else None

    async def reserve_many(
        self,
        candidates: Sequence[tuple[str, float]],
        messages: Sequence[tuple[int, str | None]],
        *,
        tolerance: float = 0.5,
    ) -> list[Slot]:
        """Book slots for `messages` (cost, sticky sender) in order, in one round trip.

        Each is booked as `reserve` would book it. The slots returned are for the first messages,
        as many as fit within the horizon: fewer than asked (none at all when the soonest number
        is beyond the horizon) means sleep `next_free` and ask again for the rest.
        """
        slots, _ = await self.book(candidates, messages, tolerance=tolerance)
        return slots

    async def book(
        self,
        candidates: Sequence[tuple[str, float]],
        messages: Sequence[tuple[int, str | None]],
        *,
        tolerance: float = 0.5,
    ) -> tuple[list[Slot], float]:
        """`reserve_many`, and the seconds until the soonest candidate is free when not every
        message could be booked (0.0 when all were): one round trip either way."""
        if any(cost < 1 for cost, _ in messages):
            raise ValueError("a message costs at least 1 segment")
        senders = [sender for sender, _ in candidates]
        index = {sender: i for i, sender in enumerate(senders, start=1)}
        loop = asyncio.get_running_loop()
        asked = loop.time()
        reply = await self._run(
            candidates,
            [(cost, index.get(sticky, 0) if sticky else 0) for cost, sticky in messages],
            book=True,
            tolerance=tolerance,
        )
        answered = loop.time()
        if reply:  # every entry's start minus its wait is the script's instant
            _, wait_us, start_us = reply[0]
            self.clock.seen(asked, answered, (start_us - wait_us) / _MICROSECONDS)
        # Redis's clock minus the loop's, (at least, at most): a slot at Redis time `at` is at
        # `at - low` on the loop's at the latest, `at - high` at the soonest.
        low, high = self.clock.distance(answered)
        slots = []
        for chosen, wait_us, start_us in reply:
            if chosen:
                at = start_us / _MICROSECONDS
                slots.append(
                    Slot(senders[chosen - 1], wait_us / _MICROSECONDS, at, at - low, at - high)
                )
        rest = reply[-1][1] / _MICROSECONDS if reply and not reply[-1][0] else 0.0
        return slots, rest

    async def push_back(self, sender: str, mps: float, delay: float, cost: int) -> None:
        """Requests woken `delay` seconds late, `cost` segments in all, go now: move the
        sender's schedule back by `delay` (and at least behind them).

        Why that keeps every second under the MPS: the late requests' slots lay within the
        last `delay` seconds, and now lie at this instant; the slots already booked ahead stay
        where they are (they reach `horizon` ahead at most), and every slot booked from now on
        comes `delay` later than it would have. Any window of a second that holds the late
        requests therefore holds `delay` seconds fewer of the schedule after them: no more
        segments than the schedule put in a second, as long as `delay` + `horizon` is under a
        second (the slot a second after the late ones is not booked yet).
        """
        if delay <= 0:
            return
        await self._push_back(
            keys=[self.schedule_key],
            args=[
                sender,
                round(delay * _MICROSECONDS),
                round(cost / mps * _MICROSECONDS),
                round(self.horizon * _MICROSECONDS) + math.ceil(LONGEST_MESSAGE / mps * 1e6),
            ],
        )

    async def next_free(self, candidates: Sequence[tuple[str, float]]) -> float:
        """Seconds until the soonest candidate could take a 1-segment message (0.0 = now)."""
        reply = await self._run(candidates, [(1, 0)], book=False, tolerance=0.0)
        _, wait_us, _ = reply[-1]
        return wait_us / _MICROSECONDS

    async def _run(
        self,
        candidates: Sequence[tuple[str, float]],
        messages: Sequence[tuple[int, int]],
        *,
        book: bool,
        tolerance: float,
    ) -> list[tuple[int, int, int]]:
        if not candidates:
            raise ValueError("no candidate senders")
        if any(mps <= 0 for _, mps in candidates):
            raise ValueError("every candidate needs a positive MPS")
        if not messages:
            return []
        flat = await self._script(
            keys=[self.schedule_key],
            args=[
                self.burst,
                round(self.horizon * _MICROSECONDS),
                round(tolerance * _MICROSECONDS),
                1 if book else 0,
                len(candidates),
                *(sender for sender, _ in candidates),
                *(repr(float(mps)) for _, mps in candidates),
                *(value for message in messages for value in message),
                LONGEST_MESSAGE,
            ],
        )
        values = [int(value) for value in flat]
        return [(values[i], values[i + 1], values[i + 2]) for i in range(0, len(values), 3)]
