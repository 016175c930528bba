"""Who may do what from Slack, checked in one place for commands, buttons and views alike.

- Requests from any workspace but the one the bot token belongs to (`auth.test`, which Bolt
  calls and caches) are refused before any listener runs, and so are requests that name no
  workspace or another Enterprise Grid org. With SLACK_ENTERPRISE_ID (an org-wide install), the
  org is checked instead: every workspace of that org, and nothing outside it.
- When ALLOWED_SLACK_USERS or ALLOWED_SLACK_USERGROUP is set, only those people create, send,
  edit or cancel, and only they see personal data: who a campaign went to (View report, Export
  CSV) and the opt-outs (`/sms optout list`, with or without a number). What the progress
  message already shows the channel (names, counts, status) stays open to everyone: `/sms list`,
  `/sms status`, help.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import allowed
from bot.blocks.allowed import who_may, whom_to_ask
from bot.runtime import Runtime
from campaigns.errors import TextcastError
from campaigns.settings import Settings

log = logging.getLogger(__name__)


class NotAllowed(TextcastError):
    """The person is not among ALLOWED_SLACK_USERS or in ALLOWED_SLACK_USERGROUP."""


def not_allowed(settings: Settings) -> str:
    """The refusal, naming whom to ask (the contact for access, else the allowed people)."""
    if settings.ACCESS_CONTACT:
        return (
            "You are not one of the people who may create, send, edit or cancel campaigns here: "
            f"ask {whom_to_ask(settings)} for access."
        )
    return (
        f"You are not one of the people who may create, send, edit or cancel campaigns here: "
        f"ask {who_may(settings)}, or an admin to add you."
    )


async def require_permission(runtime: Runtime, client: AsyncWebClient, user_id: str) -> None:
    """Raise NotAllowed unless `user_id` may change campaigns (anyone, when neither is set)."""
    if not await is_allowed(runtime, client, user_id):
        raise NotAllowed(not_allowed(runtime.settings))


async def require_permission_to_see(
    runtime: Runtime, client: AsyncWebClient, user_id: str, what: str
) -> None:
    """Raise NotAllowed, naming whom to ask, unless `user_id` may see `what` (personal data:
    the same people who may change campaigns)."""
    if not await is_allowed(runtime, client, user_id):
        settings = runtime.settings
        ask = (f"ask {whom_to_ask(settings)} for access" if settings.ACCESS_CONTACT
               else "ask one of them, or an admin to add you")  # fmt: skip
        raise NotAllowed(f"Only {who_may(settings)} can see {what}: {ask}.")


async def is_allowed(runtime: Runtime, client: AsyncWebClient, user_id: str) -> bool:
    return await allowed.is_allowed(runtime.settings, client, user_id)


def register(app: AsyncApp, runtime: Runtime) -> None:
    org_wide = runtime.settings.SLACK_ENTERPRISE_ID

    async def only_our_workspace(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Refuse a request from anywhere the app is not installed: Bolt's authorization has
        already asked `auth.test` which workspace (and Grid org) the bot token belongs to."""
        problem = foreign_request(context, org_wide)
        if problem:
            log.warning("refused a Slack request %s", problem)
            return BoltResponse(status=403, body="This app is not installed in your workspace.")
        await next()
        return None

    app.middleware(only_our_workspace)


def foreign_request(context: AsyncBoltContext, org_wide: str | None) -> str | None:
    """Why the request comes from outside the install, or None when it comes from inside.

    Slack names the Grid org of a request (`enterprise_id`) whenever the workspace is on one,
    so an org id other than ours is always foreign; without SLACK_ENTERPRISE_ID a request must
    also name our workspace: one that names none (as an org-wide payload may) is not ours."""
    installed = context.authorize_result
    org = org_wide or (installed.enterprise_id if installed else None)
    enterprise, team = context.enterprise_id, context.team_id
    if enterprise and enterprise != org:
        return f"from Enterprise Grid org {enterprise} (installed in {org or 'no org'})"
    if org_wide:
        return None if enterprise == org_wide else f"from outside org {org_wide}"
    if not team:
        return "that names no workspace"
    if installed and installed.team_id and team != installed.team_id:
        return f"from workspace {team} (installed in {installed.team_id})"
    return None
