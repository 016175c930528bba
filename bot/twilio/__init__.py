"""Twilio's webhooks on the web process: POST /twilio/status (delivery statuses) and
POST /twilio/inbound (texts recipients send us).

Status callbacks are verified against PUBLIC_BASE_URL and written in batches by a writer task
that starts and stops with the application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.keys import RUNTIME
from bot.twilio.batcher import BATCHER, StatusBatcher
from bot.twilio.inbound import receive_inbound
from bot.twilio.status import receive_status


def register(app: web.Application) -> None:
    """Add the routes and the status writer; `app[RUNTIME]` must be set already."""
    runtime = app[RUNTIME]
    app[BATCHER] = StatusBatcher(runtime.ctx, runtime.redis)
    app.router.add_post("/twilio/status", receive_status)
    app.router.add_post("/twilio/inbound", receive_inbound)
    app.cleanup_ctx.append(_run_status_batcher)


async def _run_status_batcher(app: web.Application) -> AsyncIterator[None]:
    batcher = app[BATCHER]
    await batcher.start()
    try:
        yield
    finally:
        await batcher.stop()
