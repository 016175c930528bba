"""Faults of the REST API, decided per request from a seeded generator so runs repeat.

The generator is drawn whatever the rates, so a given seed and the same sequence of requests give
the same decisions.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from sandbox.twilio.config import Faults, replace_fields
from sandbox.twilio.errors import TwilioApiError, internal_error, too_many_requests

Refusal = Literal[429, 500]


class FaultInjector:
    def __init__(self, faults: Faults, seed: int | None) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        self.injected: dict[str, int] = {"429": 0, "500": 0, "dropped": 0}

    def update(self, **changes: Any) -> Faults:
        replace_fields(self.faults, changes)
        return self.faults

    def clear(self) -> Faults:
        return self.update(
            rate_429=0.0, rate_500=0.0, latency_ms=0.0, drop_rate=0.0, on_reads=False
        )

    @property
    def latency(self) -> float:
        return self.faults.latency_ms / 1000

    def refusal(self, create: bool) -> TwilioApiError | None:
        """The error to answer instead of handling the request, if any."""
        if not create and not self.faults.on_reads:
            return None
        draw = self.rng.random()
        if draw < self.faults.rate_429:
            self.injected["429"] += 1
            return too_many_requests()
        if draw < self.faults.rate_429 + self.faults.rate_500:
            self.injected["500"] += 1
            return internal_error()
        return None

    def drop(self) -> bool:
        """Whether to close the connection instead of answering a create that succeeded."""
        dropped = self.rng.random() < self.faults.drop_rate
        if dropped:
            self.injected["dropped"] += 1
        return dropped
