"""The process's recent lag: the longest one seen, fading with time."""

from __future__ import annotations

import math

import pytest

from worker.lag import DECAY_SECONDS, Lag


def test_the_longest_recent_lag_counts_and_fades() -> None:
    lag = Lag()
    assert lag.expected(100.0) == 0.0
    lag.seen(0.040, now=100.0)
    lag.seen(0.010, now=100.5)  # shorter: the 40 ms still counts
    assert lag.expected(100.5) == pytest.approx(0.040 * math.exp(-0.5 / DECAY_SECONDS))
    assert lag.expected(100.0 + 5 * DECAY_SECONDS) < 0.001  # a stall long past counts no more
    lag.seen(0.080, now=101.0)
    assert lag.expected(101.0) == pytest.approx(0.080)
