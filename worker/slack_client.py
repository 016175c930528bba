"""The worker's Slack Web API client: slack_sdk's, pointed at SLACK_API_URL, waiting out 429s.

slack_sdk retries nothing but dropped connections unless told to. With
`AsyncRateLimitErrorRetryHandler` a 429 is retried after its `Retry-After` (plus up to a second
of jitter, see slack_sdk/http_retry/builtin_async_handlers.py); after `RATE_LIMIT_RETRIES` the
error reaches the caller, which logs it and moves on.
"""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient

from campaigns.settings import Settings

RATE_LIMIT_RETRIES = 2


def create_slack_client(settings: Settings) -> AsyncWebClient | None:
    """None when SLACK_BOT_TOKEN is unset: campaigns then send without reporting to Slack (the
    worker's runtime says so once, at start)."""
    if not settings.SLACK_BOT_TOKEN:
        return None
    return AsyncWebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        # Passing handlers replaces the defaults, so the connection-error one is kept explicitly.
        retry_handlers=[
            *async_default_handlers(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )
