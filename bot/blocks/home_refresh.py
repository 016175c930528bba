"""Publishing the App Home tab, for the web process and the worker alike.

Not a pure builder like the rest of `bot.blocks`, but the one piece of Slack I/O both processes
share (DESIGN: the worker may use `bot.blocks`, never `bot.slack`).

A change of a campaign's state publishes the tab again, but never for hundreds of people at once
and never faster than Slack allows (views.publish is Tier 4, about 100 a minute):
- only for those who opened Home in the last `RECENT_DAYS` (a Redis sorted set: person -> when,
  at most `MAX_HOMES`, the most recent); anyone else sees it fresh when they next open it;
- coalesced across every process: the first change publishes at once and starts a pause
  (`interval`, longer the more people there are); changes during the pause are shown by one
  more refresh at its end, made by whichever process saw the first of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.allowed import Allowed, allowed_set, whom_to_ask
from bot.blocks.home import home_view
from campaigns.service import Context, list_campaigns

log = logging.getLogger(__name__)
LISTED = 60  # campaigns read for the tab: enough for its three lists
RECENT_DAYS = 7  # a tab opened longer ago is refreshed when it is next opened, not before
MAX_HOMES = 50  # at most this many tabs refreshed per change: the most recently opened
MIN_INTERVAL = 3.0  # seconds between two refreshes of the tabs, however many changes
PUBLISHES_PER_MINUTE = 60  # of Tier 4's 100 a minute: the rest is for tabs being opened
PENDING_GRACE = 10.0  # a refresh promised by a process that died is given up after this

_trailing: set[asyncio.Task[Any]] = set()  # the refreshes at the end of a pause, referenced


def home_users_key(namespace: str) -> str:
    """Who opened Home and when: a sorted set, person -> Unix time of their last visit."""
    return f"{namespace}:slack:home-opened"


def _cooldown_key(namespace: str) -> str:
    return f"{namespace}:slack:home-refresh:pause"


def _pending_key(namespace: str) -> str:
    return f"{namespace}:slack:home-refresh:pending"


def interval(people: int) -> float:
    """Seconds between two refreshes of `people` tabs, to stay within views.publish's limit."""
    return max(MIN_INTERVAL, people * 60.0 / PUBLISHES_PER_MINUTE)


async def note_opened(
    redis: Redis, namespace: str, user_id: str, when: float | None = None
) -> None:
    """`user_id` opened Home (at `when`, Unix time; now by default)."""
    await redis.zadd(home_users_key(namespace), {user_id: time.time() if when is None else when})


async def _adopt_old_visitors(redis: Redis, namespace: str) -> None:
    """Before 'when' was kept, visitors were a plain set: they count as having opened Home now,
    once, so an upgrade does not stop their tabs being refreshed."""
    old = f"{namespace}:slack:home-users"
    members = await redis.smembers(old)
    if members:
        await redis.zadd(home_users_key(namespace), dict.fromkeys(members, time.time()), nx=True)
    await redis.delete(old)


async def recent_home_users(redis: Redis, namespace: str) -> list[str]:
    """Those who opened Home in the last RECENT_DAYS, the most recent first (at most MAX_HOMES);
    older visits are forgotten."""
    key = home_users_key(namespace)
    if await redis.exists(f"{namespace}:slack:home-users"):
        await _adopt_old_visitors(redis, namespace)
    await redis.zremrangebyscore(key, "-inf", time.time() - RECENT_DAYS * 86400)
    members = await redis.zrevrange(key, 0, MAX_HOMES - 1)
    return [m.decode() if isinstance(m, bytes) else m for m in members]


async def home_content(ctx: Context, *, who_may: str | None = None) -> dict[str, Any]:
    page = await list_campaigns(ctx, limit=LISTED)
    return home_view([v for v in page.items if v.campaign.status != "draft"], who_may=who_may)


async def may_act(ctx: Context, client: AsyncWebClient) -> Allowed:
    """Who sees the buttons: the group's members are read once for all the tabs published, and
    if Slack will not list them they see the tab without buttons until the next refresh."""
    try:
        return await allowed_set(ctx.settings, client)
    except SlackApiError as error:
        log.warning("could not read the allowed group: %s", error.response.get("error"))
        return Allowed(people=frozenset(ctx.settings.ALLOWED_SLACK_USERS))


async def _views(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tab for those who may act, and for those who may not (no buttons)."""
    acting = await home_content(ctx)
    if not ctx.settings.ALLOWED_SLACK_USERS and not ctx.settings.ALLOWED_SLACK_USERGROUP:
        return acting, acting
    return acting, await home_content(ctx, who_may=whom_to_ask(ctx.settings))


async def publish_home(
    ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str, user_id: str
) -> None:
    """Show `user_id` the tab, and keep it fresh for them for the next RECENT_DAYS."""
    await note_opened(redis, namespace, user_id)
    allowed = user_id in await may_act(ctx, client)
    view = await home_content(ctx, who_may=None if allowed else whom_to_ask(ctx.settings))
    await client.views_publish(user_id=user_id, view=view)


async def refresh_homes(ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str) -> int:
    """A campaign changed: publish the tab again for those who opened it recently, now, or at
    the end of the current pause if another refresh has just been made. Returns how many tabs
    were published now."""
    users = await recent_home_users(redis, namespace)
    if not users:
        return 0
    pause = interval(len(users))
    if await redis.set(_cooldown_key(namespace), "1", nx=True, px=int(pause * 1000)):
        return await _publish_all(ctx, client, users)
    # Within a pause: the first change seen makes sure one refresh follows it; later ones are in it.
    promised = int((pause + PENDING_GRACE) * 1000)
    if await redis.set(_pending_key(namespace), "1", nx=True, px=promised):
        task = asyncio.create_task(_after_pause(ctx, client, redis, namespace), name="home refresh")
        _trailing.add(task)
        task.add_done_callback(_trailing.discard)
    return 0


async def _after_pause(ctx: Context, client: AsyncWebClient, redis: Redis, namespace: str) -> None:
    try:
        left = await redis.pttl(_cooldown_key(namespace))
        if left > 0:
            await asyncio.sleep(left / 1000)
        # From here on a change starts its own refresh; every one before is read below.
        await redis.delete(_pending_key(namespace))
        users = await recent_home_users(redis, namespace)
        if not users:
            return
        pause = interval(len(users))
        if await redis.set(_cooldown_key(namespace), "1", nx=True, px=int(pause * 1000)):
            await _publish_all(ctx, client, users)
        # else another change took the lead since the pause ended: its refresh reads later
    except Exception as error:  # Slack or the database away: the next change tries again
        log.warning("could not refresh the Home tabs: %r", error)


async def settle_home_refreshes() -> None:
    """Wait for the refreshes promised at the end of a pause (tests, and a process stopping)."""
    if _trailing:
        await asyncio.wait(list(_trailing))


async def _publish_all(ctx: Context, client: AsyncWebClient, users: list[str]) -> int:
    acting, watching = await _views(ctx)
    allowed = await may_act(ctx, client)
    done = 0
    for user_id in users:
        try:
            view = acting if user_id in allowed else watching
            await client.views_publish(user_id=user_id, view=view)
            done += 1
        except SlackApiError as error:
            log.warning("could not refresh a Home tab: %s", error.response.get("error"))
    return done
