"""Approve and Reject on an approval request: an allowed person who did not create or change the
campaign since its last approval decides (a request for an older version decides nothing); the
request shows the decision, the campaign's thread says who made it (mentioning its creator), and
an approved campaign starts (or waits for its time, or asks again if its time is gone).

Approve is behind Slack's confirmation; Reject opens a modal that asks why (required), and the
reason goes with the decision to the request, the thread and the audit log."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.approval import (
    APPROVE,
    REJECT,
    REJECT_REASON,
    REJECT_VIEW,
    approval_answered,
    approved_by,
    reject_modal,
    rejected_by,
    request_outdated,
)
from bot.blocks.people import for_creator
from bot.jobs import enqueue_start
from bot.runtime import Runtime
from bot.slack.actions import SOMETHING_WENT_WRONG
from bot.slack.permissions import require_permission
from bot.slack.progress import show_change
from campaigns.errors import InputError, TextcastError
from campaigns.service import get_campaign
from campaigns.service.approval import (
    OutdatedRequest,
    approve_campaign,
    awaiting_decision,
    reject_campaign,
)
from campaigns.status import CampaignStatus

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.action(APPROVE)(_approved(runtime))
    app.action(REJECT)(_reject_asked(runtime))
    app.view(REJECT_VIEW)(_rejected(runtime))


def _asked_about(body: dict[str, Any]) -> tuple[str, int]:
    value = (body.get("actions") or [{}])[0].get("value") or ""
    campaign_id, _, version = str(value).rpartition(":")
    if not campaign_id or not version.isdigit():
        raise InputError("This button does not say which campaign it is for.")
    return campaign_id, int(version)


def _approved(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def approve(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        campaign_id = ""
        try:
            campaign_id, version = _asked_about(body)
            await require_permission(runtime, client, user_id)
            decided = await approve_campaign(runtime.ctx, campaign_id, version, f"slack:{user_id}")
        except OutdatedRequest as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            await _outdated(runtime, respond, campaign_id)
            return
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            return
        except Exception:
            log.exception("the Approve button failed")
            await respond(text=SOMETHING_WENT_WRONG, response_type="ephemeral",
                          replace_original=False)  # fmt: skip
            return
        view, line = decided.view, approved_by(user_id, late=decided.late)
        campaign = view.campaign
        if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED):
            await enqueue_start(runtime.redis, runtime.settings.REDIS_NAMESPACE, campaign.id,
                                campaign.version, campaign.scheduled_at)  # fmt: skip
        await respond(replace_original=True,
                      **approval_answered(campaign, view.counts.total, runtime.settings, line))  # fmt: skip
        await _tell_the_thread(runtime, client, campaign_id, line, by=user_id)
        await show_change(runtime, client, campaign_id)

    return approve


def _reject_asked(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Reject opens a modal asking why; nothing is decided until it is submitted."""

    async def reject(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        campaign_id = ""
        try:
            campaign_id, version = _asked_about(body)
            await require_permission(runtime, client, user_id)
            campaign = await awaiting_decision(runtime.ctx, campaign_id, version)
        except OutdatedRequest as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            await _outdated(runtime, respond, campaign_id)
            return
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            return
        container = body.get("container") or {}
        metadata = json.dumps({"campaign": campaign_id, "version": version,
                               "channel": container.get("channel_id"),
                               "ts": container.get("message_ts")})  # fmt: skip
        await client.views_open(trigger_id=body["trigger_id"],
                                view=reject_modal(campaign, metadata))  # fmt: skip

    return reject


def _rejected(runtime: Runtime):  # type: ignore[no-untyped-def]
    """The modal submitted: rejected with its reason, or the reason it cannot be, inline."""

    async def rejected(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id, view = body["user"]["id"], body["view"]
        asked = json.loads(view.get("private_metadata") or "{}")
        campaign_id, version = str(asked.get("campaign") or ""), int(asked.get("version") or 0)
        field = view["state"]["values"].get(REJECT_REASON, {}).get(REJECT_REASON, {})
        reason = str(field.get("value") or "").strip()
        if not reason:
            await ack(response_action="errors",
                      errors={REJECT_REASON: "Say why, so whoever made it knows what to change."})  # fmt: skip
            return
        try:
            await require_permission(runtime, client, user_id)
            done = await reject_campaign(runtime.ctx, campaign_id, version, f"slack:{user_id}",
                                         reason=reason)  # fmt: skip
        except TextcastError as error:
            await ack(response_action="errors", errors={REJECT_REASON: error.message})
            if isinstance(error, OutdatedRequest):
                await _show_on_request(runtime, client, asked, None)
            return
        await ack()
        line = rejected_by(user_id, reason)
        await _show_on_request(runtime, client, asked, line)
        await _tell_the_thread(runtime, client, done.campaign.id, line, by=user_id)
        await show_change(runtime, client, done.campaign.id)

    return rejected


async def _show_on_request(
    runtime: Runtime, client: AsyncWebClient, asked: dict[str, Any], line: str | None
) -> None:
    """The request message, answered with `line` (None: out of date), from a modal (which has
    no response_url: the message is named in the modal's metadata)."""
    channel, ts = asked.get("channel"), asked.get("ts")
    if not (channel and ts):
        return
    view = (await get_campaign(runtime.ctx, str(asked["campaign"]), recipients_limit=1)).view
    settings = runtime.settings
    content = (request_outdated(view.campaign, view.counts.total, settings) if line is None
               else approval_answered(view.campaign, view.counts.total, settings, line))  # fmt: skip
    try:
        await client.chat_update(channel=channel, ts=ts, **content)
    except SlackApiError as error:
        log.warning("could not update the approval request of campaign %s: %s",
                    asked["campaign"], error.response.get("error"))  # fmt: skip


async def _outdated(runtime: Runtime, respond: AsyncRespond, campaign_id: str) -> None:
    """The request was for an older version: it shows what the campaign says now, without
    buttons, and points to the new request (a new version is always asked about anew)."""
    view = (await get_campaign(runtime.ctx, campaign_id, recipients_limit=1)).view
    await respond(replace_original=True,
                  **request_outdated(view.campaign, view.counts.total, runtime.settings))  # fmt: skip


async def _tell_the_thread(
    runtime: Runtime, client: AsyncWebClient, campaign_id: str, line: str, *, by: str
) -> None:
    """The decision, and who made it, in the campaign's own thread too, mentioning its creator
    (who waits for it)."""
    campaign = (await get_campaign(runtime.ctx, campaign_id, recipients_limit=1)).view.campaign
    if not (campaign.channel_id and campaign.progress_message_ts):
        return
    text = for_creator(campaign, line, unless=f"slack:{by}")
    try:
        await client.chat_postMessage(channel=campaign.channel_id,
                                      thread_ts=campaign.progress_message_ts, text=text)  # fmt: skip
    except SlackApiError as error:
        log.warning("could not tell campaign %s's thread: %s", campaign_id,
                    error.response.get("error"))  # fmt: skip
