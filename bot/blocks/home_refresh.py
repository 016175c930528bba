"""Publishing the App Home tab, for the web process and the worker alike.

Not a pure builder like the rest of `bot.blocks`, but the one piece of Slack I/O both processes
share (DESIGN: the worker may use `bot.blocks`, never `bot.slack`): who has opened Home is kept in
a Redis set, and every change of a campaign's state publishes it again for them.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import home_view
from campaigns.service import Context, list_campaigns

log = logging.getLogger(__name__)
LISTED = 60  # campaigns read for the tab: enough for its three lists
MAX_HOMES = 200  # people whose tab is kept fresh; others see it fresh when they open it


def home_users_key(namespace: str) -> str:
    return f"{namespace}:slack:home-users"


async def home_content(ctx: Context) -> dict[str, Any]:
    page = await list_campaigns(ctx, limit=LISTED)
    return home_view([v for v in page.items if v.campaign.status != "draft"])


async def publish_home(
    ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str, user_id: str
) -> None:
    """Show `user_id` the tab, and keep it fresh for them from now on."""
    await redis.sadd(home_users_key(namespace), user_id)
    await client.views_publish(user_id=user_id, view=await home_content(ctx))


async def refresh_homes(ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str) -> int:
    """Publish the tab again for everyone who opened it; returns how many were refreshed."""
    users = sorted(m.decode() if isinstance(m, bytes) else m
                   for m in await redis.smembers(home_users_key(namespace)))[:MAX_HOMES]  # fmt: skip
    if not users:
        return 0
    view = await home_content(ctx)
    done = 0
    for user_id in users:
        try:
            await client.views_publish(user_id=user_id, view=view)
            done += 1
        except SlackApiError as error:
            log.warning("could not refresh a Home tab: %s", error.response.get("error"))
    return done
