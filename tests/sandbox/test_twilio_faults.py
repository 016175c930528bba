"""Injected faults, as the SDK's caller sees them."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
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


async def test_errors_come_in_the_shape_asked_for_on_creates_lists_and_fetches(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    """What the SDK raises for each shape: the legacy body a TwilioRestException with Twilio's
    code, an RFC 9457 problem body a TwilioServiceException with it, a page that is not JSON a
    TwilioRestException whose code is only the HTTP status."""
    sandbox = twilio_sandbox.sandbox
    await sandbox.reply(HANDSET, FAST_NUMBER, "STOP")  # a create to it answers 21610

    sandbox.set_faults(error_shape="problem")
    with pytest.raises(TwilioServiceException) as problem:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert (problem.value.status, problem.value.code) == (400, 21610)
    assert problem.value.type == "https://www.twilio.com/docs/errors/21610"
    assert problem.value.title and problem.value.detail
    with pytest.raises(TwilioServiceException) as missing:
        await twilio.messages("SM" + "0" * 32).fetch_async()
    assert (missing.value.status, missing.value.code) == (404, 20404)

    sandbox.set_faults(error_shape="html")
    with pytest.raises(TwilioRestException) as page:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert (page.value.status, page.value.code) == (400, 400)  # nothing but the status
    sandbox.set_faults(read_fail_rate=1.0)
    with pytest.raises(TwilioException) as listed:  # a page the SDK could not fetch
        await twilio.messages.list_async(to=HANDSET)
    assert listed.value.args[1].status_code in (429, 500)
    assert "<html>" in listed.value.args[1].text

    sandbox.set_faults(error_shape="legacy", read_fail_rate=0.0)
    with pytest.raises(TwilioRestException) as legacy:
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    assert (legacy.value.status, legacy.value.code) == (400, 21610)
    assert sandbox.messages() == []


async def test_the_shapes_reach_the_wire_as_twilio_and_proxies_send_them(
    twilio_sandbox: RunningTwilioSandbox,
):
    url = f"{twilio_sandbox.url}/2010-04-01/Accounts/{twilio_sandbox.account_sid}/Messages.json"
    bodies = {}
    async with aiohttp.ClientSession() as session:
        for shape in ("legacy", "problem", "html"):
            twilio_sandbox.sandbox.set_faults(error_shape=shape)
            async with session.get(url) as response:  # no credentials: 401 / 20003
                assert response.status == 401
                bodies[shape] = (response.content_type, await response.text())
    assert bodies["legacy"][0] == "application/json"
    assert json.loads(bodies["legacy"][1])["code"] == 20003
    assert bodies["problem"][0] == "application/problem+json"
    problem = json.loads(bodies["problem"][1])
    assert {"type", "title", "status", "code", "detail"} <= set(problem)
    assert (problem["status"], problem["code"]) == (401, 20003)
    assert bodies["html"][0] == "text/html" and "20003" not in bodies["html"][1]
    twilio_sandbox.sandbox.set_faults(error_shape="problem")
    async with aiohttp.ClientSession() as session:
        async with session.get(url.replace("Messages.json", "Nothing.json")) as response:
            assert response.content_type == "application/problem+json"
            assert (await response.json(content_type=None))["code"] == 20404
    with pytest.raises(ValueError, match="error_shape"):
        twilio_sandbox.sandbox.set_faults(error_shape="xml")


async def test_odd_fields_answer_a_create_that_made_its_message(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    sandbox.set_faults(odd_next=1)
    # The message keeps its first status while the test reads it (CI15, loaded: the carrier's
    # 5 ms steps moved it on between the fetch and the comparison).
    sandbox.set_carrier(step_delay=60.0)
    path = f"/Accounts/{twilio_sandbox.account_sid}/Messages.json"
    answer = await twilio.api.v2010.create_async(
        method="POST", uri=path, data={"To": HANDSET, "From": FAST_NUMBER, "Body": "x"}
    )
    (made,) = sandbox.messages()
    assert answer["sid"] == made.sid
    assert (answer["num_segments"], answer["status"]) == ("abc", "accepting")
    assert "date_created" not in answer
    # The message itself is as any other: a fetch shows it so, and the next create is plain.
    fetched = await twilio.messages(made.sid).fetch_async()
    assert (fetched.num_segments, fetched.status) == ("1", made.status)
    plain = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="y")
    assert plain.num_segments == "1"
    assert sandbox.faults.injected["odd"] == 1


async def test_garbled_fields_are_answered_in_fetches_and_lists_until_cleared(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sent = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    twilio_sandbox.sandbox.set_faults(
        garbled_fields={"num_media": "two", "error_code": "n/a"},
        garbled_page_fields={"next_page_uri": 7},
    )
    fetched = await twilio.messages(sent.sid).fetch_async()
    assert (fetched.num_media, fetched.error_code, fetched.body) == ("two", "n/a", "x")
    page = await twilio.messages.page_async(to=HANDSET)
    assert page._payload["next_page_uri"] == 7
    assert [m.num_media for m in page] == ["two"]

    twilio_sandbox.sandbox.clear_faults()
    assert (await twilio.messages(sent.sid).fetch_async()).num_media == "0"


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
