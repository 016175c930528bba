"""How long this process takes to write a request once it is handed out: its event loop's lag.

On an idle machine a request handed out at its slot's time is written a millisecond or two
later. On a starved one (other processes hold the CPU, a long GC pause) it takes tens of
milliseconds: more than the 20 ms a slot allows (see worker/lanes.py), so the request is found
late as it is written and its slot is given up. Under load that lasted, nearly every slot was
given up and a campaign all but stopped (60 messages took over 3 minutes). Knowing the lag, a
lane moves the number's schedule back by as much before its requests go (`Pacer.push_back`),
and they go late but paced, instead of not at all.
"""

from __future__ import annotations

import math

# A lag seen this long ago counts for 1/e as much: one stall does not slow sending for long,
# a machine starved for minutes keeps its requests pushed back.
DECAY_SECONDS = 5.0


class Lag:
    """The longest recent lag from a request's hand-out to the last check before its bytes are
    written (loop seconds), fading with time. One per process: the event loop is shared."""

    def __init__(self) -> None:
        self._value = 0.0
        self._at = 0.0

    def seen(self, seconds: float, now: float) -> None:
        """A request handed out `seconds` before it was checked at `now` (loop time)."""
        current = self.expected(now)
        if seconds > current:
            self._value, self._at = seconds, now

    def expected(self, now: float) -> float:
        if not self._value:
            return 0.0
        return self._value * math.exp(-max(0.0, now - self._at) / DECAY_SECONDS)
