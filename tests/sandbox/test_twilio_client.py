"""worker.twilio_client: the real SDK pointed elsewhere, with a timeout and without retries."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient

from sandbox.twilio import RunningTwilioSandbox
from tests.sandbox.twilio_fixtures import FAST_NUMBER, HANDSET
from worker.twilio_client import (
    TextcastTwilioHttpClient,
    close_twilio_client,
    create_twilio_client,
)


class RecordingServer:
    """Answers every request after `delay` seconds with `status`, and counts them."""

    def __init__(self, status: int = 500, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[tuple[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""
        self._closing = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path_qs))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay)
        body = {"code": 20500, "message": "boom", "more_info": "", "status": self.status}
        return web.json_response(body, status=self.status)

    async def __aenter__(self) -> RecordingServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        self._closing.set()
        await self.runner.cleanup()


async def test_requests_go_to_api_url_with_its_path_prefix():
    async with RecordingServer(status=404) as server:
        client = create_twilio_client("AC" + "1" * 32, "token", server.url + "/prefix/")
        try:
            # A list answered with an error is a bare TwilioException ("Unable to fetch page").
            with pytest.raises(TwilioException):
                await client.messages.list_async(to=HANDSET, page_size=5)
        finally:
            await close_twilio_client(client)

    ((method, path),) = server.requests
    assert method == "GET"
    assert path.startswith(f"/prefix/2010-04-01/Accounts/{'AC' + '1' * 32}/Messages.json?")
    assert "To=%2B14155550123" in path and "PageSize=5" in path


async def test_twilio_url_is_left_alone():
    client = create_twilio_client("AC" + "1" * 32, "token", "https://api.twilio.com/")
    try:
        http_client = client.http_client
        assert isinstance(http_client, TextcastTwilioHttpClient)
        assert isinstance(http_client, AsyncTwilioHttpClient)
        assert http_client.api_url is None
        url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=1"
        assert http_client.target(url) == url
    finally:
        await close_twilio_client(client)


async def test_api_url_must_be_http():
    with pytest.raises(ValueError, match="TWILIO_API_URL"):
        TextcastTwilioHttpClient("localhost:8080")


async def test_a_post_answered_500_is_not_retried():
    async with RecordingServer(status=503) as server:
        client = create_twilio_client("AC" + "1" * 32, "token", server.url)
        try:
            with pytest.raises(TwilioRestException) as raised:
                await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
        finally:
            await close_twilio_client(client)

    assert raised.value.status == 503
    assert [method for method, _ in server.requests] == ["POST"]


async def test_timeout_applies_to_an_answer_that_never_comes():
    async with RecordingServer(status=201, delay=10.0) as server:
        client = create_twilio_client("AC" + "1" * 32, "token", server.url, timeout=0.3)
        started = time.monotonic()
        try:
            with pytest.raises(asyncio.TimeoutError):
                await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
        finally:
            await close_twilio_client(client)
        elapsed = time.monotonic() - started

    assert 0.25 <= elapsed < 1.5
    assert len(server.requests) == 1


async def test_close_closes_the_session(twilio_sandbox: RunningTwilioSandbox):
    client = create_twilio_client(
        twilio_sandbox.account_sid, twilio_sandbox.auth_token, twilio_sandbox.url
    )
    await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    await close_twilio_client(client)

    session = client.http_client.session  # type: ignore[attr-defined]
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")


async def test_connection_refused_is_a_client_error():
    client = create_twilio_client("AC" + "1" * 32, "token", "http://127.0.0.1:9")
    try:
        with pytest.raises(aiohttp.ClientConnectorError):
            await client.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    finally:
        await close_twilio_client(client)


async def test_a_create_posts_the_form_as_aiohttp_would_have_encoded_it():
    received: list[tuple[str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((request.headers["Content-Type"], await request.read()))
        return web.json_response({"sid": "SM" + "0" * 32, "status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    client = create_twilio_client(
        "AC" + "1" * 32, "token", f"http://127.0.0.1:{runner.addresses[0][1]}"
    )
    try:
        await client.messages.create_async(
            to=HANDSET,
            from_=FAST_NUMBER,
            body="Hi & bye, 100% £5 ✓",
            media_url=["https://a/1", "https://a/2"],
        )
    finally:
        await close_twilio_client(client)
        await runner.cleanup()

    ((content_type, body),) = received
    assert content_type == "application/x-www-form-urlencoded"
    expected = aiohttp.FormData(
        {
            "To": HANDSET,
            "From": FAST_NUMBER,
            "Body": "Hi & bye, 100% £5 ✓",
            "MediaUrl": ["https://a/1", "https://a/2"],
        }
    )()
    assert sorted(body.split(b"&")) == sorted(expected.decode().encode().split(b"&"))
    assert body.count(b"MediaUrl=") == 2
