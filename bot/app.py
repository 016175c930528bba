"""The web process: one aiohttp application for the HTTP API and health checks.

`create_web_app` is the one place where routes and middlewares are put together. `serve` runs
it, and with `socket=True` also takes Slack's requests over Socket Mode (bot/slack/socket_mode.py)
for servers Slack cannot reach; Twilio, the API and /healthz stay on PORT either way.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from aiohttp import web

from bot import api, media, slack, twilio
from bot.access_log import access_log
from bot.api.auth import require_api_key
from bot.api.errors import json_errors
from bot.api.lane import api_lane
from bot.body_limits import MAX_BODY, body_limits
from bot.connection_guard import ConnectionGuard, request_deadline
from bot.health import healthz
from bot.keys import RUNTIME
from bot.listener import GuardedSite
from bot.runtime import Runtime
from bot.slack import socket_mode as slack_socket_mode
from bot.slack.background import drain
from campaigns.settings import Settings

log = logging.getLogger(__name__)


def create_web_app(runtime: Runtime) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY,
        # request_deadline before anything reads the body; after access_log, which logs the 408
        # it answers for a request whose client went (or was closed at its deadline) mid-body.
        middlewares=[
            access_log,
            request_deadline,
            body_limits,
            json_errors,
            require_api_key,
            api_lane,
        ],
    )
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz, allow_head=False)
    api.register(app)
    slack.register(app, runtime)  # POST /slack/events, when Slack is configured
    twilio.register(app)
    media.register(app)  # GET /media/{token}: uploaded pictures, for Twilio
    return app


def keep_the_loop_responsive() -> None:
    """Large lists are read in the CPU pool's threads (campaigns/offload.py), which share the
    GIL with the event loop. Two settings keep the loop's waits for it short:

    - a switch interval of 1 ms instead of 5: answering /healthz or a Slack request takes a
      dozen hand-overs of the GIL between threads, each up to one interval;
    - the garbage collector walks less: what start-up made is frozen out of it, and young
      collections wait for 50,000 new objects instead of 700, so reading 100,000 recipients
      sets off a few full collections instead of dozens (each held the GIL for up to 80 ms).

    bench/slack_modal.py: the longest /healthz during 100,000-row submissions went from 222 ms
    to 54 ms with these.
    """
    sys.setswitchinterval(0.001)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def stop_signal() -> asyncio.Event:
    """An event SIGINT or SIGTERM sets. Installed before anything starts, so a signal that
    comes during start-up (a supervisor stopping a process still connecting) still ends it
    cleanly, once start-up is done, instead of killing it half-way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until_stopped() -> None:
    """Wait for SIGINT or SIGTERM, so the caller can shut down cleanly."""
    await stop_signal().wait()


async def serve(settings: Settings, *, socket: bool = False) -> None:
    """Run the web process until SIGINT or SIGTERM; with `socket`, Slack over Socket Mode too."""
    if socket:
        slack_socket_mode.check_settings(settings)  # before anything starts
    stop = stop_signal()
    runtime = await Runtime.start(settings)
    runner = web.AppRunner(
        create_web_app(runtime),
        access_log=None,
        keepalive_timeout=settings.KEEPALIVE_TIMEOUT_SECONDS,
    )
    await runner.setup()
    assert runner.server is not None
    guard = ConnectionGuard(settings, runner.server)
    keep_the_loop_responsive()
    socket_mode: slack_socket_mode.SocketMode | None = None
    try:
        # Not web.TCPSite: bot/listener.py says why.
        await GuardedSite(runner, settings.HOST, settings.PORT, guard).start()
        log.info("Textcast is listening on port %s (address %s)", settings.PORT, settings.HOST)
        if socket:
            socket_mode = await slack_socket_mode.start_socket_mode(runtime)
        await stop.wait()
    finally:
        # Slack first, so no new envelope arrives while the database is going away.
        if socket_mode is not None:
            await socket_mode.close()
        await runner.cleanup()
        await drain()  # work Slack's listeners handed on (a preview, a confirm) ends first
        await runtime.close()
