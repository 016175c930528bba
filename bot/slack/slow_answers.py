"""Answering a view submission whose work may take longer than Slack's 3 seconds.

The work runs as a task. If it ends within `budget` seconds its outcome is the answer itself
(`response_action` "update", or "errors" to show inline). Otherwise a waiting view is the answer,
and the outcome replaces it when ready: by `views.update` with the hash of that waiting view, so
it never overwrites a view that changed since. The hash is learnt from an update of the waiting
view; Slack may apply our answer (the same waiting view) after that update, and the hash then
conflicts once and is learnt again.

Used by the compose modal (bot/slack/compose.py) and by the template and contact forms
(bot/slack/library.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.background import spawn

log = logging.getLogger(__name__)

INLINE_SECONDS = 1.5  # of Slack's 3: what is left is for the answer to travel
# Where the web process notes, in Bolt's context, the loop time a request from Slack arrived
# (bot/slack/app.py): Slack's 3 seconds, and Bolt's, count from then, not from the listener.
ARRIVED = "textcast_arrived"
INLINE_BYTES = 256 * 1024  # a file up to this is read within INLINE_SECONDS
CONFLICT_TRIES = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    view: dict[str, Any]  # what the modal shows next: the result, or the form with the problem
    errors: dict[str, str] = field(default_factory=dict)  # the problem by block id, for inline


def arrived(context: Mapping[str, Any]) -> float:
    """The loop time the request arrived (now, for one that came another way: Socket Mode)."""
    return float(context.get(ARRIVED) or asyncio.get_running_loop().time())


def small_upload(files: list[dict[str, Any]]) -> bool:
    """No file, or one small enough to answer with its outcome."""
    return not files or int(files[0].get("size") or 0) <= INLINE_BYTES


async def answer_in_time(
    ack: AsyncAck,
    client: AsyncWebClient,
    view_id: str,
    work: asyncio.Task[Outcome],
    *,
    budget: float,
    since: float,
    waiting: dict[str, Any],
    failed: dict[str, Any],
) -> None:
    """The outcome itself if `work` ends within `budget` seconds of `since` (the loop time the
    request arrived: see `arrived`), else `waiting` now and the outcome when it is ready
    (`failed` if the work raised).

    Counted from the arrival: what the listener did before (a database read, a permission
    check) comes out of Slack's 3 seconds too. Counted from here, a starved web process
    answered after Bolt's own 3 seconds had passed, and Bolt answered 404 instead (CI16)."""
    left = budget - (asyncio.get_running_loop().time() - since)
    done, _ = await asyncio.wait({work}, timeout=max(0.0, left))
    if done and not work.exception():
        outcome = work.result()
        if outcome.errors:
            await ack(response_action="errors", errors=outcome.errors)
        else:
            await ack(response_action="update", view=outcome.view)
        return
    await ack(response_action="update", view=waiting)
    spawn(_replace_when_ready(client, view_id, waiting, work, failed), f"answer in {view_id}")


async def _replace_when_ready(
    client: AsyncWebClient,
    view_id: str,
    waiting: dict[str, Any],
    work: asyncio.Task[Outcome],
    failed: dict[str, Any],
) -> None:
    try:
        final = (await work).view
    except Exception:  # logged by `spawn`
        final = failed
    for _ in range(CONFLICT_TRIES):
        try:
            shown = await client.views_update(view_id=view_id, view=waiting)
            await client.views_update(view_id=view_id, hash=shown["view"]["hash"], view=final)
            return
        except SlackApiError as error:
            code = error.response.get("error")
            if code != "hash_conflict":
                log.info("the outcome was not shown: %s", code)  # closed, most likely
                return
    log.warning("the outcome was not shown: the view kept changing")
