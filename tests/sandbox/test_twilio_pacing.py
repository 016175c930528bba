"""The carrier drains each number at its MPS, counted in segments."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit

from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox
from sandbox.twilio.store import MessageStore
from tests.sandbox.twilio_fixtures import FAST_NUMBER, HANDSET, SLOW_NUMBER, auth_headers


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


async def test_a_create_is_dated_when_it_reaches_the_api_not_when_its_body_was_read(
    twilio_sandbox: RunningTwilioSandbox,
):
    """A stand-in short of CPU reads bodies late: a create is dated before any await, as a
    request whose body comes late shows (its headers are in, the route has started)."""
    sandbox = twilio_sandbox.sandbox
    url = urlsplit(twilio_sandbox.url)
    body = urlencode({"To": HANDSET, "From": FAST_NUMBER, "Body": "Hi"}).encode()
    path = f"/2010-04-01/Accounts/{twilio_sandbox.account_sid}/Messages.json"
    headers = {**auth_headers(twilio_sandbox), "Host": url.netloc, "Content-Length": len(body),
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    loop = asyncio.get_running_loop()
    try:
        writer.write(head.encode() + b"\r\n")
        await writer.drain()
        sent_head = loop.time()
        await asyncio.sleep(0.5)
        body_sent = loop.time()
        writer.write(body)
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 201")
    finally:
        writer.close()
    (request,) = sandbox.create_requests
    (message,) = sandbox.messages()
    assert sent_head <= request.at < body_sent
    assert message.arrived_at == request.at
    assert sandbox.max_in_window(FAST_NUMBER, stage="api") == 1
