"""Per-sender pacing shared by every worker process: GCRA in one Redis script, on Redis's clock.

Each sender number has one key holding its theoretical arrival time (TAT): the instant, in
microseconds of Redis `TIME`, from which the number is free again. A message of `cost` segments
starting at `start` moves it to `max(TAT, start) + cost / MPS`, so segments never go closer than
1/MPS apart, whichever process books them. Only slots close at hand are booked (`horizon`): a
worker never holds a slot far ahead while other workers could have used the number sooner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: one pacing key per candidate.
# ARGV: cost, burst, horizon_us, tolerance_us, sticky (1-based candidate, 0 = none),
#       book (1 = reserve, 0 = only look), then each candidate's MPS.
# Returns {candidate (1-based, 0 = none booked), wait_us, start_us}; with nothing booked, the
# soonest candidate's wait and start.
PACING_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local cost = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local tolerance = tonumber(ARGV[4])
local sticky = tonumber(ARGV[5])
local book = ARGV[6] == '1'

local starts, tats, intervals = {}, {}, {}
local soonest = 0
for i, key in ipairs(KEYS) do
    local interval = 1000000 / tonumber(ARGV[6 + i])
    local tat = tonumber(redis.call('GET', key) or '0')
    -- A burst lets a message start while the bucket still holds (burst - cost) segments; a
    -- message bigger than the burst waits for an empty bucket.
    local slack = (burst - math.min(cost, burst)) * interval
    local start = math.max(now, math.ceil(tat - slack))
    starts[i], tats[i], intervals[i] = start, tat, interval
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
    return {0, starts[soonest] - now, starts[soonest]}
end

-- Rounded up, so that rounding never packs segments closer than 1/MPS.
local tat = math.ceil(math.max(tats[chosen], start) + cost * intervals[chosen])
-- Once its TAT has passed a key says nothing an absent key would not: let it expire then.
local ttl_ms = math.ceil((tat - now) / 1000) + 1
redis.call('SET', KEYS[chosen], string.format('%d', tat), 'PX', ttl_ms)
return {chosen, start - now, start}
"""

_MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class Slot:
    sender: str
    wait: float  # seconds from now until this send may go (0.0 = now); the slot is booked
    at: float = 0.0  # the booked start in Redis `TIME` seconds: one clock for every process


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
        self._script = redis.register_script(PACING_SCRIPT)

    def key(self, sender: str) -> str:
        return f"{self.prefix}pace:{sender}"

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
        if cost < 1:
            raise ValueError("a message costs at least 1 segment")
        senders = [sender for sender, _ in candidates]
        choice = senders.index(sticky) + 1 if sticky in senders else 0
        index, wait_us, start_us = await self._run(
            candidates, cost, book=True, sticky=choice, tolerance=tolerance
        )
        if not index:
            return None
        # The wait counts from the script's instant, so sleeping it from the reply errs late by
        # the reply's travel time, never early.
        return Slot(senders[index - 1], wait_us / _MICROSECONDS, start_us / _MICROSECONDS)

    async def next_free(self, candidates: Sequence[tuple[str, float]]) -> float:
        """Seconds until the soonest candidate could take a 1-segment message (0.0 = now)."""
        _, wait_us, _ = await self._run(candidates, 1, book=False, sticky=0, tolerance=0.0)
        return wait_us / _MICROSECONDS

    async def _run(
        self,
        candidates: Sequence[tuple[str, float]],
        cost: int,
        *,
        book: bool,
        sticky: int,
        tolerance: float,
    ) -> tuple[int, int, int]:
        if not candidates:
            raise ValueError("no candidate senders")
        if any(mps <= 0 for _, mps in candidates):
            raise ValueError("every candidate needs a positive MPS")
        index, wait_us, start_us = await self._script(
            keys=[self.key(sender) for sender, _ in candidates],
            args=[
                cost,
                self.burst,
                round(self.horizon * _MICROSECONDS),
                round(tolerance * _MICROSECONDS),
                sticky,
                1 if book else 0,
                *(repr(float(mps)) for _, mps in candidates),
            ],
        )
        return int(index), int(wait_us), int(start_us)
