"""Buttons: Resume and Cancel on a paused campaign's notice, Send now and Cancel on a late start's.

`register` is the one place these listeners are attached. Every button runs the same way
(`button`): acknowledge at once (Slack wants an answer within 3 seconds, and a busy database may
take longer), check the person may do it, change the campaign through the service layer, then
replace the notice's buttons with who decided what. A domain error (the campaign already finished,
say) becomes an ephemeral explanation to the person who clicked, and the notice stays as it was.

Errors are answered here rather than raised to Bolt's global error handler: Bolt resets its
acknowledgement when a listener fails after `ack()`, and may then answer Slack's request 404.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.actions import CANCEL_CAMPAIGN, RESUME_CAMPAIGN, SEND_NOW
from bot.blocks.notices import cancelled_by, resolved, resumed_by, sent_now_by
from bot.jobs import enqueue_start
from bot.runtime import Runtime
from bot.slack.permissions import require_permission
from bot.slack.progress import announce, show_change
from campaigns.errors import InputError, TextcastError
from campaigns.service import cancel_campaign
from campaigns.service.sending import resume_campaign

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    "Something went wrong on Textcast's side. Check the campaign's progress message before "
    "trying again."
)

# What a button does, given who clicked and the campaign; returns the line that replaces the
# notice's buttons.
Press = Callable[[Runtime, AsyncWebClient, str, str], Awaitable[str]]


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Every button Textcast's messages carry."""
    app.action(RESUME_CAMPAIGN)(button(runtime, resume))
    app.action(SEND_NOW)(button(runtime, send_now))
    app.action(CANCEL_CAMPAIGN)(button(runtime, cancel))


# -- what each button does


async def resume(runtime: Runtime, client: AsyncWebClient, user_id: str, campaign_id: str) -> str:
    await _start_again(runtime, user_id, campaign_id)
    return resumed_by(user_id)


async def send_now(runtime: Runtime, client: AsyncWebClient, user_id: str, campaign_id: str) -> str:
    await _start_again(runtime, user_id, campaign_id)
    return sent_now_by(user_id)


async def _start_again(runtime: Runtime, user_id: str, campaign_id: str) -> None:
    """A paused campaign runs again, and the worker is told to pick it up now."""
    campaign = await resume_campaign(runtime.ctx, campaign_id, actor=f"slack:{user_id}")
    await enqueue_start(
        runtime.redis, runtime.settings.REDIS_NAMESPACE, campaign.id, campaign.version
    )


async def cancel(runtime: Runtime, client: AsyncWebClient, user_id: str, campaign_id: str) -> str:
    view, unsent = await cancel_campaign(runtime.ctx, campaign_id, actor=f"slack:{user_id}")
    # A paused campaign has no worker driving it to show "Cancelled" in its progress message.
    await show_change(runtime, client, campaign_id)
    await announce(runtime, client, view.campaign, f"slack:{user_id}", unsent=unsent)
    return cancelled_by(user_id, unsent)


# -- how every button runs


def button(runtime: Runtime, press: Press) -> Callable[..., Awaitable[None]]:
    async def listener(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            user_id, campaign_id = _clicked(body)
            await require_permission(runtime, client, user_id)
            outcome = await press(runtime, client, user_id, campaign_id)
        except TextcastError as error:
            await _tell(respond, error.message)
            return
        except Exception:
            log.exception("the %s button failed", press.__name__)
            await _tell(respond, SOMETHING_WENT_WRONG)
            return
        answer = await respond(
            replace_original=True, **resolved(body.get("message") or {}, outcome)
        )
        if answer.status_code != 200:
            log.warning(
                "Slack refused to update a notice (%s): %s", answer.status_code, answer.body
            )

    listener.__name__ = press.__name__  # how Bolt names it in its logs
    return listener


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    """Who clicked, and the campaign id the button carries as its value."""
    return body["user"]["id"], campaign_of(body)


def campaign_of(body: dict[str, Any]) -> str:
    """The campaign id a clicked button carries as its value (every campaign button does)."""
    value = (body.get("actions") or [{}])[0].get("value")
    if not isinstance(value, str) or not value:
        raise InputError("This button does not say which campaign it is for.")
    return value


async def _tell(respond: AsyncRespond, message: str) -> None:
    """An ephemeral answer to the person who clicked; the notice stays as it was."""
    answer = await respond(text=message, response_type="ephemeral", replace_original=False)
    if answer.status_code != 200:
        log.warning("Slack refused an explanation (%s): %s", answer.status_code, message)
