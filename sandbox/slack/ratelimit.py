"""Rate limits per Web API method, answered as Slack does: HTTP 429, `Retry-After` in seconds.

Two kinds, both changeable while the sandbox runs: a sliding window (at most `calls` per
`per_seconds`, optionally counted per channel, like chat.postMessage's one per second per channel),
and a fixed number of refusals for the next calls to a method, for tests that want exactly one 429.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    calls: int
    per_seconds: float = 60.0
    per_channel: bool = False


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, RateLimit] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits: dict[str, RateLimit] = dict(limits or {})
        self._clock = clock
        self._seen: dict[tuple[str, str | None], deque[float]] = {}
        self._refusals: dict[str, list[int]] = {}  # method -> Retry-After of each refusal to come

    def set(self, method: str, limit: RateLimit | None) -> None:
        if limit is None:
            self.limits.pop(method, None)
        else:
            self.limits[method] = limit
        self._seen = {k: v for k, v in self._seen.items() if k[0] != method}

    def refuse_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._refusals.setdefault(method, []).extend([retry_after] * times)

    def clear(self) -> None:
        """Forget past calls and pending refusals; the configured limits stay."""
        self._seen.clear()
        self._refusals.clear()

    def check(self, method: str, channel: str | None) -> int | None:
        """None if the call may go ahead (and it is counted), else the Retry-After in seconds."""
        pending = self._refusals.get(method)
        if pending:
            return pending.pop(0)
        limit = self.limits.get(method)
        if limit is None:
            return None
        now = self._clock()
        seen = self._seen.setdefault((method, channel if limit.per_channel else None), deque())
        while seen and now - seen[0] >= limit.per_seconds:
            seen.popleft()
        if len(seen) >= limit.calls:
            return max(1, math.ceil(limit.per_seconds - (now - seen[0])))
        seen.append(now)
        return None


# Roughly Slack's published tiers (Tier 2: 20/min, Tier 3: 50/min, Tier 4: 100/min) and
# chat.postMessage's one message per second per channel. Slack allows short bursts above these;
# the sandbox does not, so code that survives these survives Slack. Opt in with
# SlackConfig(rate_limits=dict(SLACK_RATE_LIMITS)).
SLACK_RATE_LIMITS: dict[str, RateLimit] = {
    "chat.postMessage": RateLimit(1, 1.0, per_channel=True),
    "chat.update": RateLimit(50, 60.0),
    "chat.delete": RateLimit(50, 60.0),
    "chat.postEphemeral": RateLimit(100, 60.0),
    "chat.getPermalink": RateLimit(100, 60.0),
    "views.open": RateLimit(100, 60.0),
    "views.push": RateLimit(100, 60.0),
    "views.update": RateLimit(100, 60.0),
    "views.publish": RateLimit(100, 60.0),
    "users.info": RateLimit(100, 60.0),
    "users.lookupByEmail": RateLimit(100, 60.0),
    "users.list": RateLimit(20, 60.0),
    "conversations.info": RateLimit(50, 60.0),
    "conversations.open": RateLimit(50, 60.0),
    "conversations.members": RateLimit(100, 60.0),
    "conversations.history": RateLimit(50, 60.0),
    "conversations.replies": RateLimit(50, 60.0),
    "usergroups.users.list": RateLimit(50, 60.0),
    "files.info": RateLimit(100, 60.0),
    "files.getUploadURLExternal": RateLimit(100, 60.0),
    "files.completeUploadExternal": RateLimit(100, 60.0),
}
