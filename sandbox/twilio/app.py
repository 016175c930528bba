"""The stand-in's HTTP face: Twilio's Messages routes, and `/sandbox/...` routes to drive it.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json       create (faults apply here)
GET  /2010-04-01/Accounts/{AccountSid}/Messages.json       list, filtered and paged
GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json fetch
GET  /sandbox/messages[?to=]       outbound messages as observed (times, history, callbacks)
GET  /sandbox/summary              counts, duplicates, max segments per window, queues
POST /sandbox/reply                a handset replies: From, To, Body (JSON or form)
GET|POST /sandbox/faults           read or change Faults (JSON fields; error_shape: the shape of
                                   every error answer, odd_next: creates answered with odd fields)
GET|POST /sandbox/carrier          read or change CarrierConfig (JSON fields)
POST /sandbox/inbound-url          {"url": ...}: where replies are posted
POST /sandbox/reset                forget messages, opt-outs and queues
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.twilio import errors
from sandbox.twilio.account import Arrival, TwilioSandbox
from sandbox.twilio.config import SandboxConfig
from sandbox.twilio.errors import API_VERSION, TwilioApiError
from sandbox.twilio.resources import list_page, message_resource, odd_resource
from sandbox.twilio.services import phone_numbers_page

SANDBOX = web.AppKey("twilio_sandbox", TwilioSandbox)

_MESSAGES = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages"


def create_app(config: SandboxConfig | TwilioSandbox | None = None) -> web.Application:
    """The aiohttp application; the stand-in starts and stops with it."""
    sandbox = config if isinstance(config, TwilioSandbox) else TwilioSandbox(config)
    app = web.Application(middlewares=[_twilio_errors])
    app[SANDBOX] = sandbox
    app.router.add_post(f"{_MESSAGES}.json", create_message)
    app.router.add_get(f"{_MESSAGES}.json", list_messages)
    app.router.add_get(f"{_MESSAGES}/{{sid}}.json", fetch_message)
    app.router.add_get("/v1/Services/{service_sid}/PhoneNumbers", service_phone_numbers)
    app.router.add_get("/sandbox/messages", observed_messages)
    app.router.add_get("/sandbox/summary", summary)
    app.router.add_post("/sandbox/reply", reply)
    app.router.add_get("/sandbox/faults", get_faults)
    app.router.add_post("/sandbox/faults", set_faults)
    app.router.add_get("/sandbox/carrier", get_carrier)
    app.router.add_post("/sandbox/carrier", set_carrier)
    app.router.add_post("/sandbox/inbound-url", set_inbound_url)
    app.router.add_post("/sandbox/reset", reset)

    async def on_startup(_: web.Application) -> None:
        await sandbox.start()

    async def on_cleanup(_: web.Application) -> None:
        await sandbox.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


class RunningTwilioSandbox:
    """A stand-in serving on a port: `url` to point the SDK at, `sandbox` to drive and observe."""

    def __init__(self, runner: web.AppRunner, sandbox: TwilioSandbox, host: str, port: int):
        self.runner = runner
        self.sandbox = sandbox
        self.host = host
        self.port = port
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{connect_host}:{port}"

    @property
    def account_sid(self) -> str:
        return self.sandbox.config.account_sid

    @property
    def auth_token(self) -> str:
        return self.sandbox.config.auth_token

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningTwilioSandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def start(
    host: str = "127.0.0.1",
    port: int = 0,
    config: SandboxConfig | TwilioSandbox | None = None,
) -> RunningTwilioSandbox:
    """Serve the stand-in on host:port (0 picks a free port) in the running event loop."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    return RunningTwilioSandbox(runner, app[SANDBOX], host, bound_port)


# Twilio's routes ------------------------------------------------------------------------


async def create_message(request: web.Request) -> web.StreamResponse:
    # Noted before any await: a stand-in short of CPU reads the body late, and would otherwise
    # date requests that came evenly as if they came together.
    arrival = Arrival.now()
    sandbox = request.app[SANDBOX]
    form = await request.post()
    sandbox.arrived(str(form.get("To") or "") or None, arrival)
    if sandbox.faults.latency:
        await asyncio.sleep(sandbox.faults.latency)
    account_sid = _authenticated(request)
    refusal = sandbox.faults.refusal(create=True)
    if refusal is not None:
        raise refusal
    held = sandbox.faults.late()
    if held:
        # Made by a task of its own, so it happens even after the client has hung up (and
        # aiohttp has cancelled this handler): the message a slow Twilio creates too late.
        message = await asyncio.shield(sandbox.create_later(form, held, arrival.at))
    else:
        message = sandbox.create_message(form, arrival.at)
    if sandbox.faults.drop():
        # The message exists and is on its way; the client never learns it.
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=201)
    resource = message_resource(message, account_sid)
    if sandbox.faults.odd():
        resource = odd_resource(resource)
    return web.json_response(resource, status=201)


async def list_messages(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    account_sid = _authenticated(request)
    sandbox.reads += 1
    if sandbox.faults.read_latency:
        await asyncio.sleep(sandbox.faults.read_latency)
    sandbox.list_filters.append(dict(request.query))
    refusal = sandbox.faults.refusal(create=False)
    if refusal is not None:
        raise refusal
    lag = sandbox.faults.list_lag
    hidden_after = asyncio.get_running_loop().time() - lag if lag else None
    faults = sandbox.faults.faults
    page = list_page(
        sandbox.store, account_sid, request.query, created_before=hidden_after,
        order=faults.list_order, max_page_size=faults.max_page_size,
    )  # fmt: skip
    return web.json_response(sandbox.faults.garble_page(page))


async def fetch_message(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    account_sid = _authenticated(request)
    sandbox.reads += 1
    if sandbox.faults.read_latency:
        await asyncio.sleep(sandbox.faults.read_latency)
    refusal = sandbox.faults.refusal(create=False)
    if refusal is not None:
        raise refusal
    message = sandbox.store.get(request.match_info["sid"])
    if message is None:
        raise errors.not_found(request.path)
    return web.json_response(sandbox.faults.garble(message_resource(message, account_sid)))


async def service_phone_numbers(request: web.Request) -> web.Response:
    """The Messaging API's list of a Messaging Service's senders."""
    sandbox = request.app[SANDBOX]
    if not sandbox.authenticate(request.headers.get("Authorization")):
        raise errors.authenticate()
    sandbox.reads += 1
    service_sid = request.match_info["service_sid"]
    numbers = sandbox.config.messaging_services.get(service_sid)
    if numbers is None:
        raise errors.not_found(request.path)
    account_sid = sandbox.config.account_sid
    return web.json_response(phone_numbers_page(account_sid, service_sid, numbers, request.query))


def _authenticated(request: web.Request) -> str:
    sandbox = request.app[SANDBOX]
    if not sandbox.authenticate(request.headers.get("Authorization")):
        raise errors.authenticate()
    account_sid = request.match_info["account_sid"]
    if account_sid != sandbox.config.account_sid:
        raise errors.not_found(request.path)
    return account_sid


@web.middleware
async def _twilio_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    shape = request.app[SANDBOX].faults.error_shape
    try:
        return await handler(request)
    except TwilioApiError as error:
        return error.response(shape, instance=request.path)
    except web.HTTPNotFound:
        if request.path.startswith(f"/{API_VERSION}/"):
            return errors.not_found(request.path).response(shape, instance=request.path)
        raise
    except web.HTTPMethodNotAllowed:
        if request.path.startswith(f"/{API_VERSION}/"):
            return errors.method_not_allowed().response(shape, instance=request.path)
        raise
    except ValueError as error:
        if request.path.startswith("/sandbox/"):  # a bad setting or number, said plainly
            return web.json_response({"error": str(error)}, status=400)
        raise


# The stand-in's own routes --------------------------------------------------------------


async def observed_messages(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    messages = sandbox.messages(request.query.get("to"))
    return web.json_response({"messages": [message.observation() for message in messages]})


async def summary(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX].summary())


async def reply(request: web.Request) -> web.Response:
    fields = await _fields(request)
    for name in ("From", "To", "Body"):
        if not isinstance(fields.get(name), str):
            raise ValueError(f"{name} is required")
    result = await request.app[SANDBOX].reply(fields["From"], fields["To"], fields["Body"])
    webhook = result.webhook
    return web.json_response(
        {
            "sid": result.message.sid,
            "keyword": result.keyword,
            "webhook_status": webhook.status if webhook is not None else None,
            "webhook_error": webhook.error if webhook is not None else None,
        }
    )


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[SANDBOX].faults.faults))


async def set_faults(request: web.Request) -> web.Response:
    faults = request.app[SANDBOX].set_faults(**await _json(request))
    return web.json_response(asdict(faults))


async def get_carrier(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[SANDBOX].config.carrier))


async def set_carrier(request: web.Request) -> web.Response:
    carrier = request.app[SANDBOX].set_carrier(**await _json(request))
    return web.json_response(asdict(carrier))


async def set_inbound_url(request: web.Request) -> web.Response:
    url = (await _json(request)).get("url")
    if url is not None and not isinstance(url, str):
        raise ValueError("url must be a string or null")
    request.app[SANDBOX].set_inbound_url(url)
    return web.json_response({"url": url})


async def reset(request: web.Request) -> web.Response:
    request.app[SANDBOX].reset()
    return web.json_response({"reset": True})


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except json.JSONDecodeError as error:
        raise ValueError(f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


async def _fields(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await _json(request)
    return dict(await request.post())
