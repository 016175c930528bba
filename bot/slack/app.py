"""Building the Slack app from the settings and mounting it on the aiohttp application.

The aiohttp route is a thin translator (slack_bolt's own adapter functions); Bolt verifies every
request's signature with SLACK_SIGNING_SECRET before any listener runs, and answers 401 when it
does not match.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.slack import actions

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SLACK_APP = web.AppKey("slack_app", AsyncApp)


def create_slack_app(runtime: Runtime) -> AsyncApp | None:
    """The app with every listener registered; None unless both SLACK_BOT_TOKEN and
    SLACK_SIGNING_SECRET are set (a bot token alone still lets the worker report progress)."""
    settings = runtime.settings
    if not (settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET):
        return None
    client = AsyncWebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler()],
    )
    app = AsyncApp(
        name="textcast",
        signing_secret=settings.SLACK_SIGNING_SECRET,
        client=client,
        logger=logging.getLogger("textcast.slack"),
    )
    actions.register(app, runtime)
    return app


def register(web_app: web.Application, runtime: Runtime) -> None:
    """Mount the Slack app at POST /slack/events, if Slack is configured."""
    slack_app = create_slack_app(runtime)
    if slack_app is None:
        missing = [
            name
            for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
            if not getattr(runtime.settings, name)
        ]
        log.info("%s not set: %s answers 404", " and ".join(missing), EVENTS_PATH)
        return
    web_app[SLACK_APP] = slack_app

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await slack_app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(EVENTS_PATH, slack_events)
