"""The process's lag: what it takes these days to write a request it hands out, not one stall."""

from __future__ import annotations

import pytest

from worker.lag import SAMPLES, Lag


def test_a_starved_process_shows_its_lag() -> None:
    lag = Lag()
    assert lag.expected() == 0.0
    for i in range(SAMPLES):
        lag.seen(0.080 + 0.001 * (i % 7))
    assert lag.expected() == pytest.approx(0.083, abs=0.002)


def test_one_stall_is_not_the_lag_and_a_lasting_one_is() -> None:
    lag = Lag()
    for _ in range(SAMPLES):
        lag.seen(0.002)
    for _ in range(12):  # the requests a 150 ms stall caught: at 49 MPS, a quarter second's
        lag.seen(0.150)
    assert lag.expected() == pytest.approx(0.002)
    for _ in range(8):  # and then it stayed slow
        lag.seen(0.150)
    assert lag.expected() == pytest.approx(0.150)
