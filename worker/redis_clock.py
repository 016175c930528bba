"""Where Redis's clock stands against this event loop's, learned from the pacer's round trips.

The pacer books slots on Redis's clock (`TIME`, read inside its script), and a worker sends on
its event loop's. One round trip says only that the script ran somewhere between the call and
its answer, so the offset between the clocks lies within that round trip; every round trip of
the last few seconds says the same of one offset, so together they pin it down to about the
quickest of them. A slow answer (a starved machine whose event loop reads it late, a busy Redis)
then costs little: the call before it, or after, was quick.

Readings older than WINDOW are dropped: two clocks drift apart (NTP slews a clock by up to
500 ppm), so an old reading would pin the offset where it no longer is. Readings that contradict
a new one (a clock stepped) are dropped too.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WINDOW = 2.0  # seconds of readings kept: clocks drift apart by 1 ms at most in that time


@dataclass(frozen=True, slots=True)
class Reading:
    asked: float  # the event loop's clock when the call was made
    answered: float  # the event loop's clock when its answer was read
    instant: float  # Redis's clock when the script ran, in seconds

    @property
    def low(self) -> float:
        """The least Redis's clock minus the loop's can be, by this reading."""
        return self.instant - self.answered

    @property
    def high(self) -> float:
        return self.instant - self.asked


@dataclass(frozen=True, slots=True)
class Offset:
    """Redis's clock minus the event loop's: between `low` and `high`."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


class RedisClock:
    def __init__(self) -> None:
        self._readings: deque[Reading] = deque()

    def offset(self, now: float) -> Offset | None:
        """The offset by the readings of the last WINDOW before `now` (None: there are none)."""
        while self._readings and self._readings[0].answered < now - WINDOW:
            self._readings.popleft()
        if not self._readings:
            return None
        return Offset(
            max(reading.low for reading in self._readings),
            min(reading.high for reading in self._readings),
        )

    def read(self, reading: Reading) -> Offset:
        """Add a round trip's reading; the offset by it and the recent ones that agree with it."""
        self._readings = deque(
            kept
            for kept in self._readings
            if kept.answered >= reading.answered - WINDOW
            and kept.low <= reading.high
            and kept.high >= reading.low
        )
        self._readings.append(reading)
        offset = self.offset(reading.answered)
        assert offset is not None
        if offset.low > offset.high:  # older readings disagree among themselves with this one
            self._readings = deque([reading])
            return Offset(reading.low, reading.high)
        return offset
