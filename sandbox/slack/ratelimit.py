"""Rate limits per Web API method, answered as Slack does: HTTP 429, `Retry-After` in seconds.

Three kinds, all changeable while the sandbox runs: a sliding window (at most `calls` per
`per_seconds`, optionally counted per channel); a bucket that allows a short burst above that pace
(`burst` calls at once, refilled at `calls` per `per_seconds`, like chat.postMessage's one a second
per channel); and a fixed number of refusals for the next calls to a method, for tests that want
exactly one 429.

Slack's published limits are on by default (`SLACK_RATE_LIMITS`, SlackConfig.rate_limits).
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
    # Calls allowed at once above the pace (a bucket of this size, refilled at calls/per_seconds);
    # 0: a sliding window of `calls` per `per_seconds`, no more.
    burst: int = 0


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, RateLimit] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits: dict[str, RateLimit] = dict(limits or {})
        self._clock = clock
        self._seen: dict[tuple[str, str | None], deque[float]] = {}
        self._buckets: dict[tuple[str, str | None], tuple[float, float]] = {}  # tokens, when
        self._refusals: dict[str, list[int]] = {}  # method -> Retry-After of each refusal to come

    def set(self, method: str, limit: RateLimit | None) -> None:
        if limit is None:
            self.limits.pop(method, None)
        else:
            self.limits[method] = limit
        self._seen = {k: v for k, v in self._seen.items() if k[0] != method}
        self._buckets = {k: v for k, v in self._buckets.items() if k[0] != method}

    def refuse_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._refusals.setdefault(method, []).extend([retry_after] * times)

    def clear(self) -> None:
        """Forget past calls and pending refusals; the configured limits stay."""
        self._seen.clear()
        self._buckets.clear()
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
        key = (method, channel if limit.per_channel else None)
        if limit.burst:
            return self._from_bucket(key, limit, now)
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= limit.per_seconds:
            seen.popleft()
        if len(seen) >= limit.calls:
            return max(1, math.ceil(limit.per_seconds - (now - seen[0])))
        seen.append(now)
        return None

    def _from_bucket(self, key: tuple[str, str | None], limit: RateLimit, now: float) -> int | None:
        pace = limit.calls / limit.per_seconds  # tokens a second
        tokens, then = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - then) * pace)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / pace))
        self._buckets[key] = (tokens - 1, now)
        return None


# Slack's published limits, per method (docs.slack.dev/apis/web-api/rate-limits and each method's
# page): Tier 2 is 20+ a minute, Tier 3 50+, Tier 4 100+; chat.postMessage about one message a
# second per channel, short bursts allowed (Slack names no size: three here). Slack tolerates
# more bursts than this; the sandbox does not, so code that survives these survives Slack. On
# by default: SlackConfig(rate_limits={}) turns them off, and a test that deliberately posts
# hundreds of messages raises the one it needs (`set_rate_limit`) and says why.
TIER_2 = RateLimit(20, 60.0)
TIER_3 = RateLimit(50, 60.0)
TIER_4 = RateLimit(100, 60.0)
POST_MESSAGE = RateLimit(1, 1.0, per_channel=True, burst=3)

SLACK_RATE_LIMITS: dict[str, RateLimit] = {
    "chat.postMessage": POST_MESSAGE,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "users.info": TIER_4,
    "users.lookupByEmail": TIER_3,
    "users.list": TIER_2,
    "conversations.info": TIER_3,
    "conversations.open": TIER_3,
    "conversations.members": TIER_4,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "usergroups.users.list": TIER_2,
    "files.info": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}
