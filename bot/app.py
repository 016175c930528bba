"""The web process: one aiohttp application for the HTTP API and health checks.

`create_web_app` is the one place where routes and middlewares are put together.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot import api, slack, twilio
from bot.access_log import access_log
from bot.api.auth import require_api_key
from bot.api.errors import json_errors
from bot.body_limits import MAX_BODY, body_limits
from bot.health import healthz
from bot.keys import RUNTIME
from bot.runtime import Runtime
from campaigns.settings import Settings

log = logging.getLogger(__name__)


def create_web_app(runtime: Runtime) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[access_log, body_limits, json_errors, require_api_key],
    )
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz, allow_head=False)
    api.register(app)
    slack.register(app, runtime)  # POST /slack/events, when Slack is configured
    twilio.register(app)
    return app


async def until_stopped() -> None:
    """Wait for SIGINT or SIGTERM, so the caller can shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, host: str = "0.0.0.0") -> None:
    """Run the web process until SIGINT or SIGTERM."""
    runtime = await Runtime.start(settings)
    runner = web.AppRunner(create_web_app(runtime), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, settings.PORT).start()
        log.info("Textcast is listening on port %s", settings.PORT)
        await until_stopped()
    finally:
        await runner.cleanup()
        await runtime.close()
