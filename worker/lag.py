"""How long this process takes to write a request once it is handed out: its event loop's lag.

On an idle machine a request handed out at its slot's time is written a millisecond or two
later. On a starved one (other processes hold the CPU) it takes tens to hundreds of
milliseconds: more than the 20 ms a slot allows (see worker/lanes.py), so the request is found
late as it is written and its slot is given up. Under load that lasted, nearly every slot was
given up and a campaign all but stopped (60 messages took over 3 minutes). Knowing the lag, a
lane moves the number's schedule back by as much before its requests go (`Pacer.push_back`),
and they go late but paced, instead of not at all.

The lag is the median of the last SAMPLES requests: what the process does these days. A single
stall (a GC pause) is not it: the requests it caught are handled as late, once, and taking it
for the lag would push every schedule back for as long as it counted.
"""

from __future__ import annotations

from collections import deque

SAMPLES = 32


class Lag:
    """The median lag of the last SAMPLES paced requests, from each one's hand-out to the last
    check before its bytes were written (loop seconds). One per process: the loop is shared."""

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._median = 0.0

    def seen(self, seconds: float) -> None:
        """A request was checked `seconds` after it was handed out."""
        self._samples.append(max(0.0, seconds))
        ordered = sorted(self._samples)
        self._median = ordered[len(ordered) // 2]

    def expected(self) -> float:
        return self._median
