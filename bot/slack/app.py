"""Building the Slack app from the settings and mounting it on the aiohttp application.

The aiohttp route is a thin translator (slack_bolt's own adapter functions); Bolt verifies every
request's signature with SLACK_SIGNING_SECRET before any listener runs, and answers 401 when it
does not match.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.access_log import note, refuse
from bot.api.errors import error_response
from bot.runtime import Runtime
from bot.slack import (
    actions,
    approvals,
    commands,
    compose,
    confirm,
    conversation,
    home,
    library,
    permissions,
    reports,
    shortcuts,
    test_send,
    texts,
)
from bot.slack.nesting import nested_deeper_than
from bot.slack.slow_answers import ARRIVED

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# A 429 is waited out (Retry-After, plus up to a second) this many times before the call fails;
# every listener's client is a copy of the app's, and Socket Mode uses the app's too.
RATE_LIMIT_RETRIES = 2
SLACK_APP = web.AppKey("slack_app", AsyncApp)


class _WithoutUnusedTokenWarning(logging.Filter):
    """Bolt takes SLACK_BOT_TOKEN from the environment by itself and, given the client we build
    from that same token (for SLACK_API_URL and the retry handlers), warns at every start that
    the token "will be unused": true, harmless, and alarming in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


SLACK_LOG = logging.getLogger("textcast.slack")
SLACK_LOG.addFilter(_WithoutUnusedTokenWarning())


def create_slack_app(runtime: Runtime) -> AsyncApp | None:
    """The app with every listener registered; None unless both SLACK_BOT_TOKEN and
    SLACK_SIGNING_SECRET are set (a bot token alone still lets the worker report progress)."""
    settings = runtime.settings
    if not (settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET):
        return None
    return build_slack_app(runtime, signing_secret=settings.SLACK_SIGNING_SECRET)


def build_slack_app(runtime: Runtime, *, signing_secret: str | None) -> AsyncApp:
    """The Bolt app with every listener. `signing_secret=None` is for Socket Mode, where Slack's
    envelopes arrive over the app's own WebSocket and carry no signature to check."""
    settings = runtime.settings
    client = AsyncWebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        retry_handlers=[
            *async_default_handlers(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )
    app = AsyncApp(
        name="textcast",
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        client=client,
        logger=SLACK_LOG,
    )
    register_listeners(app, runtime)
    return app


def register_listeners(app: AsyncApp, runtime: Runtime) -> None:
    """Every listener, by Slack concept: the one place to see what the app answers."""
    permissions.register(app, runtime)  # first: requests from another workspace go no further
    commands.register(app, runtime)
    shortcuts.register(app, runtime)
    compose.register(app, runtime)
    confirm.register(app, runtime)
    test_send.register(app, runtime)
    conversation.register(app, runtime)
    texts.register(app, runtime)
    home.register(app, runtime)
    library.register(app, runtime)
    reports.register(app, runtime)
    actions.register(app, runtime)
    approvals.register(app, runtime)


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
    verifier = SignatureVerifier(runtime.settings.SLACK_SIGNING_SECRET or "")

    async def slack_events(request: web.Request) -> web.Response:
        arrived = asyncio.get_running_loop().time()
        # Checked here before Bolt sees the request: Bolt would answer a non-numeric timestamp
        # with a 500 and log a refused request's whole body; here it is one line (access_log).
        body = await request.read()  # at most the route's limit (`body_limits`)
        problem = _signature_problem(verifier, request, body)
        if problem:
            refuse(request, problem)
            return error_response(401, "unauthorized", "The request is not signed by Slack.")
        if request.headers.get("X-Slack-Retry-Reason") == "http_timeout":
            # Slack gave up waiting for our answer to the first try, which is still being
            # handled: doing it again could do it twice. Only events are retried, never commands
            # or clicks, and every listener is idempotent besides.
            log.info("Slack retry %s of a slow request: acknowledged, not run again",
                     request.headers.get("X-Slack-Retry-Num"))  # fmt: skip
            return web.Response(status=200)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, RecursionError):  # payload=notjson, or [[[[... past the parser
            return error_response(400, "invalid_request", "The request body is malformed.")
        if nested_deeper_than(bolt_request.body):
            return error_response(
                400, "invalid_request", "The request body is malformed: it is nested too deep."
            )
        bolt_request.context[ARRIVED] = arrived  # Slack's 3 seconds count from here
        bolt_response = await slack_app.async_dispatch(bolt_request)
        user = bolt_request.context.user_id
        if user:
            note(request).who = f"slack:{user}"
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(EVENTS_PATH, slack_events)


def _signature_problem(
    verifier: SignatureVerifier, request: web.Request, body: bytes
) -> str | None:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not signature:
        return "no Slack signature"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "malformed Slack timestamp"
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if not verifier.is_valid(text, timestamp, signature):
        return "bad Slack signature or timestamp too old"
    return None
