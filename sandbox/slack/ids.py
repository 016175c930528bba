"""Ids and message timestamps the way Slack forms them: `ts` is "seconds.micros", unique and rising."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable


class Timestamps:
    """Message `ts` values: wall-clock based, strictly increasing even within one microsecond."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class Ids:
    """Sequential ids per prefix (F for files, V for views...): stable across runs for snapshots."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        count = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = count
        return f"{prefix}0{count:08d}"


def view_hash(now: float | None = None) -> str:
    """A view's `hash`, e.g. "1569262015.55b5e41b": changes on every update."""
    return f"{int(now if now is not None else time.time())}.{secrets.token_hex(4)}"


def block_id(seed: str) -> str:
    """The short id Slack gives a block that was sent without one; derived, so it is stable."""
    return hashlib.sha1(seed.encode()).hexdigest()[:5]
