"""Approve and Reject on an approval request: an allowed person who did not create or change the
campaign since its last approval decides (a request for an older version decides nothing); the request shows the decision, the campaign's thread says who made it, and an
approved campaign starts (or waits for its time, or asks again if its time is gone)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.approval import (
    APPROVE,
    REJECT,
    approval_answered,
    approved_by,
    rejected_by,
    request_outdated,
)
from bot.jobs import enqueue_start
from bot.runtime import Runtime
from bot.slack.actions import SOMETHING_WENT_WRONG
from bot.slack.permissions import require_permission
from bot.slack.progress import show_change
from campaigns.errors import InputError, TextcastError
from campaigns.service import get_campaign
from campaigns.service.approval import OutdatedRequest, approve_campaign, reject_campaign
from campaigns.status import CampaignStatus

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    app.action(APPROVE)(_decided(runtime, approve=True))
    app.action(REJECT)(_decided(runtime, approve=False))


def _asked_about(body: dict[str, Any]) -> tuple[str, int]:
    value = (body.get("actions") or [{}])[0].get("value") or ""
    campaign_id, _, version = str(value).rpartition(":")
    if not campaign_id or not version.isdigit():
        raise InputError("This button does not say which campaign it is for.")
    return campaign_id, int(version)


def _decided(runtime: Runtime, *, approve: bool):  # type: ignore[no-untyped-def]
    async def listener(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = body["user"]["id"]
        actor = f"slack:{user_id}"
        try:
            campaign_id, version = _asked_about(body)
            await require_permission(runtime, client, user_id)
            if approve:
                decided = await approve_campaign(runtime.ctx, campaign_id, version, actor)
                view, line = decided.view, approved_by(user_id, late=decided.late)
            else:
                view = await reject_campaign(runtime.ctx, campaign_id, version, actor)
                line = rejected_by(user_id)
        except OutdatedRequest as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            await _outdated(runtime, respond, campaign_id)
            return
        except TextcastError as error:
            await respond(text=error.message, response_type="ephemeral", replace_original=False)
            return
        except Exception:
            log.exception("the %s button failed", "Approve" if approve else "Reject")
            await respond(text=SOMETHING_WENT_WRONG, response_type="ephemeral",
                          replace_original=False)  # fmt: skip
            return
        campaign = view.campaign
        if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED):
            await enqueue_start(runtime.redis, runtime.settings.REDIS_NAMESPACE, campaign.id,
                                campaign.version, campaign.scheduled_at)  # fmt: skip
        await respond(replace_original=True,
                      **approval_answered(campaign, view.counts.total, runtime.settings, line))  # fmt: skip
        await _tell_the_thread(runtime, client, campaign_id, line)
        await show_change(runtime, client, campaign_id)

    listener.__name__ = "approve" if approve else "reject"
    return listener


async def _outdated(runtime: Runtime, respond: AsyncRespond, campaign_id: str) -> None:
    """The request was for an older version: it shows what the campaign says now, without
    buttons, and points to the new request (a new version is always asked about anew)."""
    view = (await get_campaign(runtime.ctx, campaign_id, recipients_limit=1)).view
    await respond(replace_original=True,
                  **request_outdated(view.campaign, view.counts.total, runtime.settings))  # fmt: skip


async def _tell_the_thread(
    runtime: Runtime, client: AsyncWebClient, campaign_id: str, line: str
) -> None:
    """The decision, and who made it, in the campaign's own thread too."""
    campaign = (await get_campaign(runtime.ctx, campaign_id, recipients_limit=1)).view.campaign
    if not (campaign.channel_id and campaign.progress_message_ts):
        return
    try:
        await client.chat_postMessage(channel=campaign.channel_id,
                                      thread_ts=campaign.progress_message_ts, text=line)  # fmt: skip
    except SlackApiError as error:
        log.warning("could not tell campaign %s's thread: %s", campaign_id,
                    error.response.get("error"))  # fmt: skip
