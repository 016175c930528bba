"""worker.gateway: one create through the real SDK, and what each kind of answer means."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from twilio.rest import Client

from campaigns.status import RecipientStatus
from sandbox.twilio import RunningTwilioSandbox, SandboxConfig, start
from worker.gateway import Attempt, CredentialsRefused, Gateway, Kind, Outgoing
from worker.twilio_client import close_twilio_client, create_twilio_client

SENDER = "+14155550100"
SERVICE = "MG" + "0123456789abcdef" * 2
HANDSET = "+447700900123"


@pytest.fixture
async def stand_in() -> AsyncIterator[RunningTwilioSandbox]:
    config = SandboxConfig(numbers={SENDER: 100}, messaging_services={SERVICE: (SENDER,)}, seed=7)
    running = await start(config=config)
    yield running
    await running.stop()


@pytest.fixture
async def client(stand_in: RunningTwilioSandbox) -> AsyncIterator[Client]:
    made = create_twilio_client(stand_in.account_sid, stand_in.auth_token, stand_in.url, timeout=1)
    yield made
    await close_twilio_client(made)


@asynccontextmanager
async def answering(
    answer: Callable[[web.Request], Awaitable[web.Response]],
) -> AsyncIterator[Client]:
    """A twilio client pointed at a server that answers every request with `answer`: for
    answers the stand-in would never give (a proxy's page, fields Twilio leaves out)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    client = create_twilio_client(
        "AC" + "1" * 32, "token", f"http://127.0.0.1:{runner.addresses[0][1]}"
    )
    try:
        yield client
    finally:
        await close_twilio_client(client)
        await runner.cleanup()


def outgoing(sender: str = SENDER, to: str = HANDSET, callback: str | None = None) -> Outgoing:
    return Outgoing(to=to, body="Hi Sam, 20% off", sender=sender, status_callback=callback,
                    validity_period=600)  # fmt: skip


async def test_a_create_is_submitted_with_its_sid_and_segments(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    callback = "https://textcast.example.com/twilio/status?rid=7"
    attempt = await Gateway(client).send(outgoing(callback=callback))
    (message,) = stand_in.sandbox.messages()
    assert (attempt.kind, attempt.sid, attempt.segments) == (Kind.SUBMITTED, message.sid, 1)
    assert attempt.status is RecipientStatus.QUEUED
    assert (message.to, message.from_, message.body) == (HANDSET, SENDER, "Hi Sam, 20% off")
    assert (message.status_callback, message.validity_period) == (callback, 600)


async def test_a_messaging_service_picks_the_number(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    attempt = await Gateway(client).send(outgoing(sender=SERVICE))
    (message,) = stand_in.sandbox.messages()
    assert (attempt.kind, attempt.sid) == (Kind.SUBMITTED, message.sid)
    assert attempt.segments is None  # Twilio says 0 until the service has picked a number
    assert message.messaging_service_sid == SERVICE and message.status_callback is None


async def test_refusals_429s_and_500s_are_told_apart(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    gateway = Gateway(client)
    refused = await gateway.send(outgoing(to="+1555"))
    assert (refused.kind, refused.code) == (Kind.REFUSED, 21211)
    stand_in.sandbox.set_faults(rate_429=1.0)
    assert (await gateway.send(outgoing())).kind is Kind.TRANSIENT  # surely not created
    stand_in.sandbox.set_faults(rate_429=0.0, rate_500=1.0)
    assert (await gateway.send(outgoing())).kind is Kind.UNKNOWN  # a 5xx may come after it was
    stand_in.sandbox.set_faults(rate_500=0.0, drop_rate=1.0)
    assert (await gateway.send(outgoing())).kind is Kind.UNKNOWN
    assert len(stand_in.sandbox.messages()) == 1  # the dropped one: it exists, unknown to us


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("<html>Created</html>", "text/html", "not JSON"),
        ("{}", "application/json", "no message SID"),
    ],
)
async def test_a_2xx_that_names_no_message_is_unknown(
    body: str, content_type: str, reason: str
) -> None:
    """A proxy's page or an empty answer: Twilio may have created it, so it is reconciled."""

    async def answer(_: web.Request) -> web.Response:
        return web.Response(status=201, text=body, content_type=content_type)

    async with answering(answer) as client:
        attempt = await Gateway(client).send(outgoing())
    assert attempt.kind is Kind.UNKNOWN and reason in (attempt.reason or "")


async def test_a_create_sends_what_the_sdk_would_send() -> None:
    """The gateway posts creates itself (the SDK's layers cost a tenth of a create's CPU): the
    same address, body and headers as `client.messages.create_async`, the SDK's own rules for
    the answer."""
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def answer(request: web.Request) -> web.Response:
        kept = ("Authorization", "User-Agent", "X-Twilio-Client", "Accept-Charset",
                "Content-Type", "Accept")  # fmt: skip
        headers = {name: request.headers.get(name, "") for name in kept}
        seen.append((request.path_qs, await request.text(), headers))
        return web.json_response({"sid": "SM" + "a" * 32, "status": "queued"}, status=201)

    async with answering(answer) as client:
        gateway = Gateway(client)
        assert gateway._direct is not None  # the engine's client: creates go the short way
        ours = await gateway.send(outgoing(callback="https://example.com/s?rid=1"))
        await client.messages.create_async(
            to=HANDSET, from_=SENDER, body="Hi Sam, 20% off",
            status_callback="https://example.com/s?rid=1", validity_period=600,
        )  # fmt: skip
    assert ours.kind is Kind.SUBMITTED and ours.sid == "SM" + "a" * 32
    (path, body, headers), sdk = seen
    assert (path, parse_qs(body), headers) == (sdk[0], parse_qs(sdk[1]), sdk[2])
    assert path == "/2010-04-01/Accounts/" + "AC" + "1" * 32 + "/Messages.json"
    assert (
        headers["Authorization"].startswith("Basic ") and "twilio-python" in headers["User-Agent"]
    )


async def test_no_connection_is_transient() -> None:
    client = create_twilio_client("AC" + "1" * 32, "token", "http://127.0.0.1:9")
    try:
        attempt = await Gateway(client).send(outgoing())
    finally:
        await close_twilio_client(client)
    assert attempt.kind is Kind.TRANSIENT


async def test_the_start_up_check_refuses_wrong_credentials_only(
    stand_in: RunningTwilioSandbox,
) -> None:
    wrong = create_twilio_client(stand_in.account_sid, "wrong-token", stand_in.url)
    try:
        with pytest.raises(CredentialsRefused):
            await Gateway(wrong).check()
    finally:
        await close_twilio_client(wrong)
    right = create_twilio_client(stand_in.account_sid, stand_in.auth_token, stand_in.url)
    try:
        stand_in.sandbox.set_faults(read_fail_rate=1.0)  # Twilio busy: the worker starts anyway
        await Gateway(right).check()
    finally:
        await close_twilio_client(right)


@asynccontextmanager
async def one_connection_held(
    stand_in: RunningTwilioSandbox, latency_ms: float
) -> AsyncIterator[tuple[Gateway, asyncio.Task[Attempt]]]:
    """A gateway whose pool has one connection, held by a first create (to +447700900001) that
    the stand-in answers after `latency_ms`."""
    stand_in.sandbox.set_faults(latency_ms=latency_ms)
    client = create_twilio_client(stand_in.account_sid, stand_in.auth_token, stand_in.url,
                                  timeout=5, max_connections=1)  # fmt: skip
    gateway = Gateway(client)
    try:
        first = asyncio.create_task(gateway.send(outgoing(to="+447700900001")))
        await asyncio.sleep(0.1)  # the first holds the only connection
        yield gateway, first
    finally:
        await close_twilio_client(client)


async def test_a_create_that_cannot_get_a_connection_in_time_is_never_sent(
    stand_in: RunningTwilioSandbox,
) -> None:
    """The pool is full (one connection, held by a slow create): the next create waits for it
    only until its `connect_by`, then is dropped before any byte leaves, as transient. Without
    the bound it would leave whenever the connection came free, however long after its sender
    last checked that its claim was still its own."""
    loop = asyncio.get_running_loop()
    async with one_connection_held(stand_in, latency_ms=800) as (gateway, first):
        second = await gateway.send(outgoing(to="+447700900002"), connect_by=loop.time() + 0.2)
        assert (await first).kind is Kind.SUBMITTED
    assert second.kind is Kind.TRANSIENT and "in time" in (second.reason or "")
    await asyncio.sleep(1.0)  # had it been queued, it would have been created by now
    assert [m.to for m in stand_in.sandbox.messages()] == ["+447700900001"]


async def test_a_create_that_gets_its_connection_after_its_leave_by_is_never_sent(
    stand_in: RunningTwilioSandbox,
) -> None:
    """The pool is full (one connection, held by a slow create): the next, paced to a slot, gets
    the connection after its `leave_by` and is dropped unwritten, as late; the connection is
    not lost with it, and the next create uses it."""
    loop = asyncio.get_running_loop()
    async with one_connection_held(stand_in, latency_ms=500) as (gateway, first):
        second = await gateway.send(outgoing(to="+447700900002"), leave_by=loop.time() + 0.1)
        assert (await first).kind is Kind.SUBMITTED
        stand_in.sandbox.set_faults(latency_ms=0)
        async with asyncio.timeout(2):  # the one connection went back to the pool
            third = await gateway.send(outgoing(to="+447700900003"), leave_by=loop.time() + 1)
    assert second.kind is Kind.LATE
    assert third.kind is Kind.SUBMITTED
    await asyncio.sleep(0.5)  # had the second been written, it would have been created by now
    assert [m.to for m in stand_in.sandbox.messages()] == ["+447700900001", "+447700900003"]


async def test_a_create_stalled_after_it_had_its_connection_is_never_sent_late(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    """The whole process stalls (SIGSTOP, a long GC pause, a frozen VM) after a paced create had
    its connection and before its bytes were written, and wakes past its `leave_by`: it is not
    written (aiohttp writes a request a turn of the event loop after the connection is had).
    Written, it would leave whenever the process woke, past its slot and its lease, when
    another loop may have sent the recipient already."""
    connector = client.http_client.session.connector
    connect = connector.connect

    async def connect_then_stall(*args: Any, **kwargs: Any) -> Any:
        connection = await connect(*args, **kwargs)
        time.sleep(0.3)  # noqa: ASYNC251 - the whole process stops, the event loop with it
        return connection

    gateway = Gateway(client)
    loop = asyncio.get_running_loop()
    connector.connect = connect_then_stall
    late = await gateway.send(outgoing(to="+447700900002"), leave_by=loop.time() + 0.1)
    connector.connect = connect
    on_time = await gateway.send(outgoing(to="+447700900003"), leave_by=loop.time() + 1)
    assert late.kind is Kind.LATE
    assert on_time.kind is Kind.SUBMITTED
    await asyncio.sleep(0.5)  # had the late one been written, it would have been created by now
    assert [m.to for m in stand_in.sandbox.messages()] == ["+447700900003"]


@pytest.mark.parametrize(
    ("shape", "status", "code", "kind", "kept"),
    [
        # Twilio's code decides, in its legacy body and in an RFC 9457 problem body alike.
        ("problem", 400, 21610, Kind.REFUSED, 21610),
        ("problem", 400, 21211, Kind.REFUSED, 21211),
        ("problem", 401, 20003, Kind.ACCOUNT, 20003),
        ("problem", 400, 21606, Kind.ACCOUNT, 21606),
        ("problem", 400, 21611, Kind.TRANSIENT, 21611),
        ("problem", 429, 20429, Kind.TRANSIENT, 20429),
        ("problem", 500, 20500, Kind.UNKNOWN, 20500),
        ("legacy", 403, 20003, Kind.ACCOUNT, 20003),
        # A page that is not JSON: its HTTP status alone, and no code is made up from it.
        ("html", 400, 21610, Kind.REFUSED, None),
        ("html", 404, 20404, Kind.REFUSED, None),
        ("html", 422, 20001, Kind.REFUSED, None),
        ("html", 401, 20003, Kind.ACCOUNT, None),
        ("html", 403, 20003, Kind.ACCOUNT, None),
        ("html", 429, 20429, Kind.TRANSIENT, None),
        ("html", 500, 20500, Kind.UNKNOWN, None),
        ("html", 502, 20500, Kind.UNKNOWN, None),
        ("html", 503, 20500, Kind.UNKNOWN, None),
    ],
)
async def test_a_refusal_means_the_same_in_every_shape(
    client: Client, stand_in: RunningTwilioSandbox, shape: str, status: int, code: int,
    kind: Kind, kept: int | None,
) -> None:  # fmt: skip
    stand_in.sandbox.set_faults(error_shape=shape, fail_next=1, fail_status=status,
                                fail_code=code)  # fmt: skip
    attempt = await Gateway(client).send(outgoing())
    assert (attempt.kind, attempt.code) == (kind, kept)
    assert attempt.reason and (kept is not None or f"HTTP {status}" in attempt.reason)
    assert stand_in.sandbox.messages() == []


async def test_a_201_with_a_sid_and_fields_that_do_not_parse_is_submitted(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    stand_in.sandbox.set_faults(odd_next=1)
    attempt = await Gateway(client).send(outgoing())
    (message,) = stand_in.sandbox.messages()
    assert (attempt.kind, attempt.sid) == (Kind.SUBMITTED, message.sid)
    assert attempt.segments is None  # "abc": the campaign's own count stands
    assert attempt.status is RecipientStatus.QUEUED  # a status this code does not know


@pytest.mark.parametrize("shape", ["legacy", "problem", "html"])
async def test_the_start_up_check_refuses_wrong_credentials_in_every_shape(
    stand_in: RunningTwilioSandbox, shape: str
) -> None:
    stand_in.sandbox.set_faults(error_shape=shape)
    wrong = create_twilio_client(stand_in.account_sid, "wrong-token", stand_in.url)
    try:
        with pytest.raises(CredentialsRefused):
            await Gateway(wrong).check()
    finally:
        await close_twilio_client(wrong)


async def test_the_start_up_check_starts_anyway_on_a_page_that_is_not_json() -> None:
    """A proxy answers 200 with its own page: nothing is known of the credentials."""

    async def answer(_: web.Request) -> web.Response:
        return web.Response(
            status=200, text="<html>Please sign in</html>", content_type="text/html"
        )

    async with answering(answer) as client:
        await Gateway(client).check()


# Looking up a message whose create answer was lost (Gateway.candidates) ---------------------


def _claimed_now() -> datetime:
    """A claim's time as the database gives it: this machine's clock (Twilio's may differ)."""
    return datetime.now(UTC)


async def test_a_lookup_reads_every_page_whatever_the_order(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    sandbox = stand_in.sandbox
    sandbox.set_faults(clock_offset_s=-3600)  # an hour ago: other texts to the number, sent
    for i in range(4):
        await client.messages.create_async(to=HANDSET, from_=SENDER, body=f"Earlier {i}")
    await sandbox.settled()
    sandbox.set_faults(clock_offset_s=0, list_order="date_sent", max_page_size=2)
    sandbox.set_carrier(step_delay=10.0)  # the one looked for is not sent yet: listed last
    since = _claimed_now()
    made = await client.messages.create_async(to=HANDSET, from_=SENDER, body="Hi Sam, 20% off")

    found = await Gateway(client).candidates(outgoing(), [SENDER], since)

    assert [c.sid for c in found] == [made.sid]
    assert (found[0].kind, found[0].sender) == (Kind.SUBMITTED, SENDER)
    assert sandbox.lookups([HANDSET]) == 3  # pages of 2, 2 and 1, each followed


async def test_a_lookup_past_its_bound_says_nothing_rather_than_never_made(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    since = _claimed_now()
    for i in range(5):
        await client.messages.create_async(to=HANDSET, from_=SENDER, body=f"Other {i}")
    # Listed once every one is sent: one gaining its date_sent while the pages are read moves
    # up the list, past where the read had got (a page of 2, 2, then none), and the bound is
    # what this test is about.
    await stand_in.sandbox.settled()
    stand_in.sandbox.set_faults(max_page_size=2)
    gateway = Gateway(client)
    gateway.lookup_limit = 4
    with pytest.raises(LookupError):
        await gateway.candidates(outgoing(), [SENDER], since)
    gateway.lookup_limit = 5  # every message read: now it truly is not there
    assert await gateway.candidates(outgoing(), [SENDER], since) == []


@pytest.mark.parametrize("offset", [-120, -5, 5, 120])
async def test_a_lookup_finds_the_message_with_twilios_clock_minutes_off(
    client: Client, stand_in: RunningTwilioSandbox, offset: int
) -> None:
    stand_in.sandbox.set_faults(clock_offset_s=-20 * 60)  # same text, before the window
    await client.messages.create_async(to=HANDSET, from_=SENDER, body="Hi Sam, 20% off")
    stand_in.sandbox.set_faults(clock_offset_s=offset)
    since = _claimed_now()
    made = await client.messages.create_async(to=HANDSET, from_=SENDER, body="Hi Sam, 20% off")

    found = await Gateway(client).candidates(outgoing(), [SENDER], since)

    assert [c.sid for c in found] == [made.sid]


async def test_a_lookup_matches_a_body_smart_encoding_changed(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    asked = Outgoing(to=HANDSET, body="Hi Sam \u2014 it\u2019s 20% off", sender=SERVICE,
                     status_callback=None, validity_period=600)  # fmt: skip
    since = _claimed_now()
    made = await client.messages.create_async(
        to=HANDSET, messaging_service_sid=SERVICE, body=asked.body
    )
    assert made.body == "Hi Sam - it's 20% off"

    found = await Gateway(client).candidates(asked, [SERVICE], since)

    assert [c.sid for c in found] == [made.sid]


async def test_a_lookup_keeps_a_message_whose_date_is_missing_or_unreadable() -> None:
    """Twilio's answer is the judge of nothing it leaves out: no date excludes no candidate."""
    since = datetime.now(UTC)

    def listed(sid: str, date: str | None) -> dict[str, object]:
        return {"sid": sid, "to": HANDSET, "from": SENDER, "body": "Hi Sam, 20% off",
                "direction": "outbound-api", "status": "queued", "date_created": date,
                "num_segments": "1", "messaging_service_sid": None}  # fmt: skip

    page = {
        "messages": [listed("SM" + "1" * 32, None), listed("SM" + "2" * 32, "not a date"),
                     listed("SM" + "3" * 32, "Mon, 01 Jan 2024 00:00:00 +0000")],
        "next_page_uri": None, "page": 0, "page_size": 1000,
    }  # fmt: skip

    async def answer(_: web.Request) -> web.Response:
        return web.json_response(page)

    async with answering(answer) as client:
        found = await Gateway(client).candidates(outgoing(), [SENDER], since)
    assert sorted(c.sid or "" for c in found) == ["SM" + "1" * 32, "SM" + "2" * 32]


async def test_a_message_sent_while_the_pages_are_read_is_found_where_it_moved() -> None:
    """By date_sent, a message that is sent between two page reads moves from the end of the
    list to its top, behind the reader: read page by page, it is on no page. Played here by a
    server answering as Twilio would at each moment (the stand-in's carrier cannot be timed to
    a request this exactly)."""
    since = datetime.now(UTC)
    earlier = {"sid": "SM" + "e" * 32, "to": HANDSET, "from": SENDER, "body": "Earlier",
               "direction": "outbound-api", "status": "delivered", "num_segments": "1",
               "date_created": "Mon, 01 Jan 2024 00:00:00 +0000"}  # fmt: skip
    target = {**earlier, "sid": "SM" + "7" * 32, "body": "Hi Sam, 20% off", "status": "sent",
              "date_created": format_datetime(since, usegmt=True)}  # fmt: skip
    asked: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(request.query.get("PageToken", ""))
        if len(asked) == 1:  # the first page: the earlier one; the target is unsent, last
            return web.json_response(
                {"messages": [earlier], "next_page_uri": f"{request.path}?To=x&PageToken=PA1"}
            )
        if len(asked) == 2:  # the target was sent meanwhile: no longer here, but at the top
            return web.json_response({"messages": [], "next_page_uri": None})
        return web.json_response({"messages": [target, earlier], "next_page_uri": None})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    client = create_twilio_client("AC" + "1" * 32, "token", url)
    try:
        found = await Gateway(client).candidates(outgoing(), [SENDER], since)
    finally:
        await close_twilio_client(client)
        await runner.cleanup()
    assert [c.sid for c in found] == [target["sid"]]
    assert asked == ["", "PA1", ""]  # both pages, then the first again


async def test_a_lookup_reads_a_listed_message_whose_fields_do_not_parse(
    client: Client, stand_in: RunningTwilioSandbox
) -> None:
    """A garbled segment count or error code in the list is left unknown: the message is still
    found (a lookup that raised would leave it in doubt, and one that missed it would resend)."""
    since = _claimed_now()
    made = await client.messages.create_async(to=HANDSET, from_=SENDER, body="Hi Sam, 20% off")
    stand_in.sandbox.set_faults(garbled_fields={"num_segments": "abc", "error_code": "n/a"})

    (found,) = await Gateway(client).candidates(outgoing(), [SENDER], since)

    assert (found.sid, found.segments, found.code) == (made.sid, None, None)
