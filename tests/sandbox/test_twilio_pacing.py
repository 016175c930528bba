"""The carrier drains each number at its MPS, counted in segments."""

from __future__ import annotations

import asyncio

from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox
from sandbox.twilio.store import MessageStore
from tests.sandbox.twilio_fixtures import FAST_NUMBER, HANDSET, SLOW_NUMBER


async def test_five_mps_number_sends_at_most_five_segments_a_second(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    await asyncio.gather(
        *(
            twilio.messages.create_async(to=HANDSET, from_=SLOW_NUMBER, body=f"Message {i}")
            for i in range(20)
        )
    )
    assert sandbox.max_in_window(SLOW_NUMBER, stage="api") == 20  # all arrived at once

    await sandbox.settled(timeout=6)

    left = sorted(message.carrier_at for message in sandbox.messages() if message.carrier_at)
    assert len(left) == 20
    assert left[-1] - left[0] >= 3.0
    assert sandbox.max_in_window(SLOW_NUMBER) <= 5
    assert sandbox.max_in_window(SLOW_NUMBER) >= 4  # it does use what it is allowed
    assert sandbox.max_in_window(SLOW_NUMBER, seconds=2.0) <= 10


async def test_segments_count_against_the_rate(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    # Two messages of three segments each at 5 MPS: six segments, so at least 1 s.
    for i in range(2):
        await twilio.messages.create_async(to=HANDSET, from_=SLOW_NUMBER, body=f"{i}" * 400)
    await sandbox.settled(timeout=4)

    departures = sandbox.store.departures[SLOW_NUMBER]
    assert len(departures) == 6
    assert departures[-1] - departures[0] >= 1.0
    second = sandbox.messages()[1]
    assert second.carrier_at is not None and second.carrier_at - departures[0] >= 0.6
    assert sandbox.max_in_window(SLOW_NUMBER) <= 5


async def test_numbers_are_paced_independently(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    await asyncio.gather(
        *(
            twilio.messages.create_async(to=HANDSET, from_=number, body=f"{number} {i}")
            for i in range(6)
            for number in (SLOW_NUMBER, FAST_NUMBER)
        )
    )
    await asyncio.sleep(0.3)

    # The 500 MPS number is done while the 5 MPS number still has a queue.
    fast = sandbox.messages()
    assert all(m.status == "delivered" for m in fast if m.sender == FAST_NUMBER)
    assert sandbox.queue_depth(SLOW_NUMBER) >= 3


def test_max_in_window_counts_a_half_open_window():
    store = MessageStore()
    store.departures["+1"] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 1.5]

    assert store.max_in_window("+1", 1.0) == 5  # 1.0 is outside [0, 1) and [0.2, 1.2) holds 5
    assert store.max_in_window("+1", 1.0001) == 6
    assert store.max_in_window("+1", 0.1) == 2  # the two at 1.5
    assert store.max_in_window("+1", 10) == 8
    assert store.max_in_window("+2") == 0
