"""worker.redis_clock: the offset between Redis's clock and the loop's, from round trips."""

from __future__ import annotations

import pytest

from worker.redis_clock import WINDOW, Reading, RedisClock

# Redis's clock runs 1,000 s ahead of the loop's in these readings.


def test_one_round_trip_pins_the_offset_to_within_itself() -> None:
    clock = RedisClock()
    offset = clock.read(Reading(asked=10.0, answered=10.030, instant=1_010.001))
    assert offset.low == pytest.approx(1_000.0 - 0.029)
    assert offset.high == pytest.approx(1_000.001)
    assert offset.width == pytest.approx(0.030)


def test_a_quick_round_trip_pins_it_for_the_slow_ones_after() -> None:
    """A starved loop that reads an answer late learns nothing worse than it knew."""
    clock = RedisClock()
    clock.read(Reading(asked=10.0, answered=10.001, instant=1_010.0005))  # a quick one
    offset = clock.read(Reading(asked=10.5, answered=10.560, instant=1_010.5005))  # read late
    assert offset.width == pytest.approx(0.001)
    assert clock.offset(11.0) == offset


def test_readings_older_than_the_window_are_forgotten() -> None:
    clock = RedisClock()
    clock.read(Reading(asked=10.0, answered=10.001, instant=1_010.0005))
    assert clock.offset(10.001 + WINDOW + 0.1) is None
    offset = clock.read(Reading(asked=20.0, answered=20.050, instant=1_020.001))
    assert offset.width == pytest.approx(0.050)


def test_a_stepped_clock_drops_the_readings_that_contradict_it() -> None:
    clock = RedisClock()
    clock.read(Reading(asked=10.0, answered=10.001, instant=1_010.0005))
    # Redis's clock stepped 0.5 s ahead: the old reading cannot hold with this one.
    offset = clock.read(Reading(asked=10.2, answered=10.203, instant=1_010.7015))
    assert offset.low == pytest.approx(1_010.7015 - 10.203)
    assert offset.width == pytest.approx(0.003)
