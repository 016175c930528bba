"""Redis's clock on the event loop's: each booking bounds the distance between the two clocks to
its round trip, and the bounds together pin it down to the quickest of them."""

from __future__ import annotations

import pytest

from worker.redis_clock import DRIFT, WINDOW, RedisClock

# Redis's clock runs 1,000 s ahead of the loop's in these tests.
AHEAD = 1000.0


def on_loop(clock: RedisClock, redis_time: float, now: float) -> tuple[float, float]:
    """Redis's `redis_time` on the loop's clock: (the latest it may be, the soonest)."""
    low, high = clock.distance(now)
    return redis_time - low, redis_time - high


def booked(clock: RedisClock, asked: float, script: float, answered: float) -> None:
    """A booking asked at loop time `asked`, run by Redis at loop time `script`, read at
    `answered`."""
    clock.seen(asked, answered, script + AHEAD)


def test_one_booking_places_a_slot_within_its_round_trip() -> None:
    clock = RedisClock()
    booked(clock, asked=10.0, script=10.010, answered=10.050)
    latest, soonest = on_loop(clock, 10.3 + AHEAD, now=10.050)
    # Its truth (10.3) lies between: going at `latest` is never early.
    assert latest == pytest.approx(10.34) and soonest == pytest.approx(10.3 - 0.010)


def test_a_slow_booking_is_placed_as_closely_as_a_quick_one_before_it() -> None:
    """Dated from its own answer, a slot of a 50 ms round trip errs late by up to 50 ms; beside
    the slots of quick round trips that put requests closer than the MPS allows."""
    clock = RedisClock()
    booked(clock, asked=10.0, script=10.0005, answered=10.001)  # quick
    booked(clock, asked=11.0, script=11.001, answered=11.050)  # slow: the loop was starved
    latest, soonest = on_loop(clock, 11.2 + AHEAD, now=11.050)
    assert 11.2 <= latest <= 11.2 + 0.001 + DRIFT  # never early, and no longer 49 ms late
    assert soonest <= 11.2 and latest - soonest < 0.001 + 2 * DRIFT * 1.05 + 1e-9


def test_bounds_widen_with_drift_and_are_forgotten_after_the_window() -> None:
    clock = RedisClock()
    booked(clock, asked=10.0, script=10.0, answered=10.0)  # exact
    latest, soonest = on_loop(clock, 12.0 + AHEAD, now=12.0)
    assert latest - soonest == pytest.approx(2 * DRIFT * 2.0)
    booked(clock, asked=10.0 + WINDOW + 1, script=10.0 + WINDOW + 1.02, answered=16.04)
    latest, soonest = on_loop(clock, 17.0 + AHEAD, now=16.04)
    assert latest - soonest == pytest.approx(0.04)  # only the new booking's round trip is left


def test_a_stepped_clock_forgets_the_bounds_that_no_longer_meet() -> None:
    clock = RedisClock()
    booked(clock, asked=10.0, script=10.0005, answered=10.001)
    # Redis's wall clock went back a second: its bound does not meet the old one.
    clock.seen(12.0, 12.002, 12.001 + AHEAD - 1.0)
    latest, soonest = on_loop(clock, 12.5 + AHEAD - 1.0, now=12.002)
    assert latest == pytest.approx(12.501) and soonest == pytest.approx(12.499)
