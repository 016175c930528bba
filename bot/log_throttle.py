"""One log line a period for an event that can happen thousands of times a second.

Out of file descriptors, asyncio logged a traceback for every failed accept: 213,620 of them
(94 MB) in 35 s. A `ThrottledLog` says the first occurrence at once and then, at most once a
period, how many more there were, so the log stays readable and its size bounded whatever the
rate: at most one line per period, plus the first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

PERIOD_SECONDS = 10.0


class ThrottledLog:
    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        line: Callable[[int, float], str],
        period: float = PERIOD_SECONDS,
    ) -> None:
        """`line(count, period)` is the text for `count` events in the last `period` seconds."""
        self._logger = logger
        self._level = level
        self._line = line
        self._period = period
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None

    def note(self) -> None:
        """Count one event; log it now if the last period was quiet."""
        if self._timer is None:  # quiet until now: say so at once, then once a period at most
            self._logger.log(self._level, self._line(1, 0.0))
            self._timer = asyncio.get_running_loop().call_later(self._period, self._flush)
        else:
            self._count += 1

    def _flush(self) -> None:
        if not self._count:
            self._timer = None  # a quiet period: the next event is logged at once
            return
        self._logger.log(self._level, self._line(self._count, self._period))
        self._count = 0
        self._timer = asyncio.get_running_loop().call_later(self._period, self._flush)

    def close(self) -> None:
        """Log what is still counted, and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._count:
            self._logger.log(self._level, self._line(self._count, self._period))
            self._count = 0
