"""Where Redis's clock stands against this process's event loop clock, learnt from bookings.

The pacer books slots on Redis's clock (`TIME`, in its script) and a lane hands them out on the
event loop's. One booking says little about the distance between the two: the script ran
somewhere between the moment it was asked and the moment its answer was read, and on a starved
machine that round trip is tens of milliseconds, mostly our own loop being slow to read the
reply. Dated from the answer, a slot errs late by up to the round trip, and a slot from a quick
booking beside one from a slow booking puts two requests closer than the MPS allows (CI16: six
creates in 0.999 s on a 5 MPS number, from two worker processes).

Every booking bounds the distance (Redis minus loop) to an interval: [script instant - answer,
script instant - ask]. The true distance lies in all of them, so in their intersection, which
is as narrow as the quickest recent round trip. A slot is handed out at the latest it can be
(never early) and judged late from the soonest it can be (see worker/lanes.py).

Clocks drift: Redis's is the wall clock, which NTP may slew by up to 500 ppm, so a bound taken
some seconds ago widens by that much a second, and bounds older than WINDOW are forgotten.
Bounds that do not meet (the wall clock was stepped) are all forgotten but the newest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WINDOW = 5.0  # seconds of bookings whose bounds are kept
DRIFT = 0.0005  # seconds a second two clocks may move apart (NTP slews at most 500 ppm)
KEPT = 64  # bounds kept at most: the quickest round trips of the window are what matter


@dataclass(frozen=True, slots=True)
class Bound:
    seen: float  # loop time the answer was read
    low: float  # Redis's clock minus the loop's is at least this...
    high: float  # ...and at most this


class RedisClock:
    """The distance from the event loop's clock to Redis's, from the round trips seen."""

    def __init__(self) -> None:
        self._bounds: deque[Bound] = deque(maxlen=KEPT)

    def seen(self, asked: float, answered: float, redis_now: float) -> None:
        """A script read Redis's clock at `redis_now` between loop times `asked` and `answered`."""
        bound = Bound(answered, redis_now - answered, redis_now - asked)
        self._forget_before(answered - WINDOW)
        low, high = self.distance(answered)
        if bound.high < low or bound.low > high:
            self._bounds.clear()  # a clock was stepped: the old bounds say nothing now
        self._bounds.append(bound)

    def distance(self, now: float) -> tuple[float, float]:
        """Redis's clock minus the loop's, as known at loop time `now`: (at least, at most). A
        Redis time `t` is on the loop's clock at `t - low` at the latest, `t - high` at the
        soonest; one booking's slots all convert with it, worked out once."""
        if not self._bounds:
            return float("-inf"), float("inf")
        low = max(b.low - DRIFT * (now - b.seen) for b in self._bounds)
        high = min(b.high + DRIFT * (now - b.seen) for b in self._bounds)
        return low, high

    def _forget_before(self, moment: float) -> None:
        while self._bounds and self._bounds[0].seen < moment:
            self._bounds.popleft()
