"""Fixtures for the Twilio stand-in's tests: the stand-in on a free port, the real twilio SDK
pointed at it, and a small web server that records the webhooks the stand-in posts."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from sandbox.twilio import CarrierConfig, RunningTwilioSandbox, SandboxConfig, start

FAST_NUMBER = "+14155550100"  # 500 MPS: never the bottleneck
SLOW_NUMBER = "+14155550101"  # 5 MPS: for pacing tests
SERVICE_SID = "MG" + "0123456789abcdef" * 2
HANDSET = "+14155550123"
OTHER_HANDSET = "+447700900123"  # Ofcom's drama range: valid for Textcast, reaches nobody


@dataclass
class ReceivedWebhook:
    url: str  # as the receiving app sees it, scheme to query
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class WebhookReceiver:
    """An aiohttp app in the test that records every POST it gets, as an app behind Twilio would."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self.base_url = ""
        self._arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        webhook = ReceivedWebhook(
            url=str(request.url),
            path=request.path,
            params={name: str(value) for name, value in form.items()},
            headers=dict(request.headers),
        )
        async with self._arrived:
            self.received.append(webhook)
            self._arrived.notify_all()
        return web.Response(text="<Response/>", content_type="text/xml")

    def url(self, path: str) -> str:
        return self.base_url + path

    def at(self, path: str) -> list[ReceivedWebhook]:
        return [webhook for webhook in self.received if webhook.path == path]

    def for_message(self, sid: str) -> list[ReceivedWebhook]:
        return [webhook for webhook in self.received if webhook.params.get("MessageSid") == sid]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 3.0) -> None:
        def enough() -> bool:
            seen = self.received if path is None else self.at(path)
            return len(seen) >= count

        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(enough)


def auth_headers(running: RunningTwilioSandbox) -> dict[str, str]:
    """HTTP Basic auth with the stand-in's account, for requests made without the SDK."""
    credentials = f"{running.account_sid}:{running.auth_token}".encode()
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


def sandbox_config(**overrides: object) -> SandboxConfig:
    values: dict[str, object] = {
        "numbers": {FAST_NUMBER: 500, SLOW_NUMBER: 5},
        "messaging_services": {SERVICE_SID: (FAST_NUMBER,)},
        "carrier": CarrierConfig(step_delay=0.002),
        "seed": 1234,
    }
    values.update(overrides)
    return SandboxConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def webhooks() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def twilio_sandbox(webhooks: WebhookReceiver) -> AsyncIterator[RunningTwilioSandbox]:
    running = await start(config=sandbox_config(inbound_url=webhooks.url("/twilio/inbound")))
    yield running
    await running.stop()
