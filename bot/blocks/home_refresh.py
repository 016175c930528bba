"""Publishing the App Home tab, for the web process and the worker alike.

Not a pure builder like the rest of `bot.blocks`, but the one piece of Slack I/O both processes
share (DESIGN: the worker may use `bot.blocks`, never `bot.slack`): who has opened Home is kept in
a Redis set, and every change of a campaign's state publishes it again for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.allowed import whom_to_ask
from bot.blocks.home import home_view
from campaigns.service import Context, list_campaigns

log = logging.getLogger(__name__)
LISTED = 60  # campaigns read for the tab: enough for its three lists
MAX_HOMES = 200  # people whose tab is kept fresh; others see it fresh when they open it


def home_users_key(namespace: str) -> str:
    return f"{namespace}:slack:home-users"


async def home_content(ctx: Context, *, who_may: str | None = None) -> dict[str, Any]:
    page = await list_campaigns(ctx, limit=LISTED)
    return home_view([v for v in page.items if v.campaign.status != "draft"], who_may=who_may)


async def may_act(ctx: Context, client: AsyncWebClient) -> Callable[[str], bool]:
    """Whether a person may create and cancel (ALLOWED_SLACK_USERS / _USERGROUP; anyone when
    neither is set): the group's members are read once for all the tabs published."""
    users, group = ctx.settings.ALLOWED_SLACK_USERS, ctx.settings.ALLOWED_SLACK_USERGROUP
    if not users and not group:
        return lambda _user: True
    allowed = set(users)
    if group:
        try:
            members = await client.usergroups_users_list(usergroup=group)
        except SlackApiError as error:  # the group's members see no buttons until next time
            log.warning("could not read the allowed group: %s", error.response.get("error"))
        else:
            allowed.update(members.get("users") or [])
    return allowed.__contains__


async def _views(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tab for those who may act, and for those who may not (no buttons)."""
    acting = await home_content(ctx)
    if not ctx.settings.ALLOWED_SLACK_USERS and not ctx.settings.ALLOWED_SLACK_USERGROUP:
        return acting, acting
    return acting, await home_content(ctx, who_may=whom_to_ask(ctx.settings))


async def publish_home(
    ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str, user_id: str
) -> None:
    """Show `user_id` the tab, and keep it fresh for them from now on."""
    await redis.sadd(home_users_key(namespace), user_id)
    allowed = (await may_act(ctx, client))(user_id)
    view = await home_content(ctx, who_may=None if allowed else whom_to_ask(ctx.settings))
    await client.views_publish(user_id=user_id, view=view)


async def refresh_homes(ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str) -> int:
    """Publish the tab again for everyone who opened it; returns how many were refreshed."""
    users = sorted(m.decode() if isinstance(m, bytes) else m
                   for m in await redis.smembers(home_users_key(namespace)))[:MAX_HOMES]  # fmt: skip
    if not users:
        return 0
    acting, watching = await _views(ctx)
    allowed = await may_act(ctx, client)
    done = 0
    for user_id in users:
        try:
            view = acting if allowed(user_id) else watching
            await client.views_publish(user_id=user_id, view=view)
            done += 1
        except SlackApiError as error:
            log.warning("could not refresh a Home tab: %s", error.response.get("error"))
    return done
