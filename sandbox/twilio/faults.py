"""Faults of the REST API, decided per request from a seeded generator so runs repeat.

The generator is drawn whatever the rates, so a given seed and the same sequence of requests give
the same decisions.
"""

from __future__ import annotations

import random
from typing import Any, Literal, cast

from sandbox.twilio.config import MAX_PAGE_SIZE, Faults, replace_fields
from sandbox.twilio.errors import Shape, TwilioApiError, internal_error, too_many_requests

Refusal = Literal[429, 500]


class FaultInjector:
    def __init__(self, faults: Faults, seed: int | None) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        # Its own generator, so that turning these on does not change the decisions above.
        self.slow_rng = random.Random(None if seed is None else seed + 7)
        self.injected: dict[str, int] = dict.fromkeys(
            ("429", "500", "dropped", "late", "read_failed", "failed_next", "odd"), 0
        )

    def update(self, **changes: Any) -> Faults:
        replace_fields(self.faults, changes)
        return self.faults

    def clear(self) -> Faults:
        return self.update(
            rate_429=0.0, rate_500=0.0, latency_ms=0.0, read_latency_ms=0.0, drop_rate=0.0,
            on_reads=False, late_rate=0.0, late_ms=0.0, list_lag_ms=0.0, read_fail_rate=0.0, fail_next=0,
            error_shape="legacy", odd_next=0,
            garbled_fields={}, garbled_page_fields={},
            list_order="date_sent", max_page_size=MAX_PAGE_SIZE, clock_offset_s=0.0,
        )  # fmt: skip

    def garble(self, resource: dict[str, Any]) -> dict[str, Any]:
        """A Message resource as answered: with `garbled_fields` in place of its own."""
        return resource | self.faults.garbled_fields

    def garble_page(self, page: dict[str, Any]) -> dict[str, Any]:
        """A list page as answered: its records and its own keys garbled."""
        records = [self.garble(record) for record in page["messages"]]
        return page | {"messages": records} | self.faults.garbled_page_fields

    @property
    def latency(self) -> float:
        return self.faults.latency_ms / 1000

    @property
    def read_latency(self) -> float:
        return self.faults.read_latency_ms / 1000

    @property
    def error_shape(self) -> Shape:
        return cast(Shape, self.faults.error_shape)

    @property
    def list_lag(self) -> float:
        return self.faults.list_lag_ms / 1000

    def refusal(self, create: bool) -> TwilioApiError | None:
        """The error to answer instead of handling the request, if any."""
        if create and self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            self.injected["failed_next"] += 1
            code, status = self.faults.fail_code, self.faults.fail_status
            return TwilioApiError(code, status, f"Injected failure {code}")
        if not create:
            read_draw = self.slow_rng.random()
            if read_draw < self.faults.read_fail_rate:
                self.injected["read_failed"] += 1
                half = read_draw < self.faults.read_fail_rate / 2
                return too_many_requests() if half else internal_error()
            if not self.faults.on_reads:
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

    def odd(self) -> bool:
        """Whether to answer this create, which made its message, with fields that do not parse."""
        if self.faults.odd_next <= 0:
            return False
        self.faults.odd_next -= 1
        self.injected["odd"] += 1
        return True

    def late(self) -> float:
        """Seconds to hold this create before making the message (0.0: not held)."""
        if self.slow_rng.random() >= self.faults.late_rate or self.faults.late_ms <= 0:
            return 0.0
        self.injected["late"] += 1
        return self.faults.late_ms / 1000
