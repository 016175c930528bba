"""Injected faults, as the SDK's caller sees them."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox, start
from tests.sandbox.twilio_fixtures import FAST_NUMBER, HANDSET, sandbox_config
from worker.twilio_client import close_twilio_client, create_twilio_client


async def test_429_surfaces_as_rest_exception_and_creates_nothing(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_faults(rate_429=1.0)

    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")

    assert (raised.value.status, raised.value.code) == (429, 20429)
    assert "Too Many Requests" in raised.value.msg
    assert twilio_sandbox.sandbox.messages() == []
    # Reads are spared unless asked for.
    assert await twilio.messages.list_async(to=HANDSET) == []


async def test_500_surfaces_as_rest_exception(twilio: Client, twilio_sandbox: RunningTwilioSandbox):
    twilio_sandbox.sandbox.set_faults(rate_500=1.0, on_reads=True)

    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert (raised.value.status, raised.value.code) == (500, 20500)
    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages("SM" + "0" * 32).fetch_async()
    assert raised.value.status == 500
    assert twilio_sandbox.sandbox.faults.injected["500"] == 2


async def test_dropped_connection_after_create_leaves_a_message_to_reconcile(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_faults(drop_rate=1.0)

    with pytest.raises(aiohttp.ClientError):
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Unknown fate")

    twilio_sandbox.sandbox.clear_faults()
    (stored,) = twilio_sandbox.sandbox.messages()
    found = await twilio.messages.list_async(to=HANDSET)
    assert [(m.sid, m.body) for m in found] == [(stored.sid, "Unknown fate")]
    await twilio_sandbox.sandbox.settled()
    assert stored.status == "delivered"  # it went out although the sender never heard


async def test_fault_mix_is_repeatable_with_a_seed():
    async def outcomes() -> list[str]:
        running = await start(config=sandbox_config(seed=99))
        running.sandbox.set_faults(rate_429=0.2, rate_500=0.2, drop_rate=0.2)
        client = create_twilio_client(running.account_sid, running.auth_token, running.url)
        seen = []
        try:
            for i in range(30):
                try:
                    await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=f"{i}")
                    seen.append("ok")
                except TwilioRestException as error:
                    seen.append(str(error.status))
                except aiohttp.ClientError:
                    seen.append("dropped")
        finally:
            await close_twilio_client(client)
            await running.stop()
        return seen

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert {"ok", "429", "500", "dropped"} <= set(first)


async def test_latency_delays_create_answers(twilio: Client, twilio_sandbox: RunningTwilioSandbox):
    started = time.monotonic()
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="fast")
    fast = time.monotonic() - started
    twilio_sandbox.sandbox.set_faults(latency_ms=300)

    started = time.monotonic()
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="slow")
    slow = time.monotonic() - started

    assert slow >= 0.3
    assert slow - fast >= 0.25


async def test_faults_endpoint_changes_faults_while_running(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{twilio_sandbox.url}/sandbox/faults", json={"rate_429": 1}) as r:
            assert r.status == 200
            assert (await r.json())["rate_429"] == 1
        async with session.post(f"{twilio_sandbox.url}/sandbox/faults", json={"rate_429": 2}) as r:
            assert r.status == 400  # refused, and nothing changed
        async with session.post(f"{twilio_sandbox.url}/sandbox/faults", json={"nope": 1}) as r:
            assert r.status == 400

    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert raised.value.status == 429

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{twilio_sandbox.url}/sandbox/faults", json={"rate_429": 0}) as r:
            assert r.status == 200
    message = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert message.status == "queued"


async def test_a_late_create_lands_after_the_client_gave_up(twilio_sandbox: RunningTwilioSandbox):
    twilio_sandbox.sandbox.set_faults(late_rate=1.0, late_ms=600)
    impatient = create_twilio_client(
        twilio_sandbox.account_sid, twilio_sandbox.auth_token, twilio_sandbox.url, timeout=0.2
    )
    try:
        with pytest.raises(TimeoutError):
            await impatient.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Too slow")
        assert twilio_sandbox.sandbox.messages() == []  # nothing yet when the client gave up
        await asyncio.sleep(0.6)
        (late,) = twilio_sandbox.sandbox.messages()
        assert late.body == "Too slow"  # ...but Twilio made it all the same
        assert twilio_sandbox.sandbox.faults.injected["late"] == 1
    finally:
        await close_twilio_client(impatient)


async def test_a_patient_client_gets_the_late_create_answered(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_faults(late_rate=1.0, late_ms=200)
    started = time.monotonic()
    message = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Slow")
    assert time.monotonic() - started >= 0.2
    assert [m.sid for m in twilio_sandbox.sandbox.messages()] == [message.sid]


async def test_list_calls_fail_at_the_read_rate_and_creates_do_not(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_faults(read_fail_rate=1.0)
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    statuses = set()
    for _ in range(20):
        # The SDK raises a plain TwilioException for a page it could not fetch.
        with pytest.raises(TwilioException) as raised:
            await twilio.messages.list_async(to=HANDSET)
        statuses.add(raised.value.args[1].status_code)
    assert statuses == {429, 500}
    assert twilio_sandbox.sandbox.faults.injected["read_failed"] == 20


async def test_the_next_creates_fail_with_the_code_asked_for(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_faults(fail_next=2, fail_status=401, fail_code=20003)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
        assert (raised.value.status, raised.value.code) == (401, 20003)
    assert twilio_sandbox.sandbox.messages() == []
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")  # the third works
    assert len(twilio_sandbox.sandbox.messages()) == 1


async def test_a_new_message_shows_in_lists_only_after_the_lag(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_faults(list_lag_ms=300)
    message = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert await twilio.messages.list_async(to=HANDSET) == []
    assert (await twilio.messages(message.sid).fetch_async()).sid == message.sid
    await asyncio.sleep(0.35)
    assert [m.sid for m in await twilio.messages.list_async(to=HANDSET)] == [message.sid]


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ({"list_order": "date_sent"}, True),
        ({"list_order": "random"}, False),
        ({"max_page_size": 1}, True),
        ({"max_page_size": 0}, False),
        ({"max_page_size": 1001}, False),  # past Twilio's largest page
        ({"clock_offset_s": -120.5}, True),
    ],
)
async def test_list_order_page_size_and_clock_are_checked_when_set(
    twilio_sandbox: RunningTwilioSandbox, change: dict[str, object], accepted: bool
):
    url = f"{twilio_sandbox.url}/sandbox/faults"
    async with aiohttp.ClientSession() as session, session.post(url, json=change) as r:
        assert (r.status == 200) is accepted, await r.text()
    (name, value), *_ = change.items()
    assert (getattr(twilio_sandbox.sandbox.faults.faults, name) == value) is accepted
