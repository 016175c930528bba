"""/v1/sms/campaigns: create, list, get and cancel campaigns over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.api.body import body_digest, query_limit, read_json
from bot.api.errors import BadRequest
from bot.api.from_library import resolve_library_ids
from bot.api.requests import CreateCampaign, EditCampaign
from bot.api.responses import (
    campaign_json,
    created_json,
    etag,
    preview_json,
    recipient_json,
    text_json,
)
from bot.blocks.changes import change_of
from bot.jobs import enqueue_confirmed, enqueue_show_change
from bot.keys import RUNTIME, api_key
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport, check_recipient_list, parse_recipients
from campaigns.recipients.destinations import Destinations
from campaigns.service import (
    NewCampaign,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    preview_new_campaign,
)
from campaigns.service.inbound import texts_answering
from campaigns.settings import Settings
from campaigns.status import RecipientStatus

MAX_IDEMPOTENCY_KEY = 255


def _actor(request: web.Request) -> str:
    return f"api:{api_key(request).id}"


@dataclass(frozen=True, slots=True)
class CreateRequest:
    body: CreateCampaign
    region: str | None
    recipients: ImportReport
    digest: str  # of the body, stored with an Idempotency-Key


def _read_create(raw: bytes, settings: Settings) -> CreateRequest:
    """Everything about a create that takes CPU, in one go for the pool: a 10 MB list of
    100,000 recipients takes seconds to read, check and parse."""
    data = read_json(raw)
    body = CreateCampaign.model_validate(data)
    region = body.region.upper() if body.region else settings.DEFAULT_REGION
    recipients = read_recipients(body, region, settings.destinations)
    return CreateRequest(body, region, recipients, body_digest(data))


def read_recipients(
    body: CreateCampaign | EditCampaign, region: str | None, destinations: Destinations
) -> ImportReport:
    """The list a create or an edit brings, read and checked (CPU: call it in the pool)."""
    if body.recipients_csv is not None:
        return parse_recipients(body.recipients_csv, region, destinations)
    items = [item.model_dump() for item in body.recipients or ()]
    return check_recipient_list(items, region, destinations)


PREVIEW_SAMPLES = 3


def _new_campaign(runtime: Any, prepared: CreateRequest, key: str | None) -> NewCampaign:
    body = prepared.body
    return NewCampaign(
        name=body.name,
        message_template=body.message_template,
        recipients=prepared.recipients,
        from_numbers=body.senders(),
        send_at=body.scheduled_at,
        source="api",
        # Calling the API with a key states, for the key's owner, that everyone opted in.
        consent_confirmed=True,
        channel_id=runtime.settings.SLACK_NOTIFY_CHANNEL,
        agent_id=body.agent_id,
        idempotency_key=key,
        request_digest=prepared.digest if key else None,
        region=prepared.region,
        media_urls=body.media_urls or (),
        send_hours=body.send_hours,
    )


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.", "Idempotency-Key"
        )
    return key


async def create(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    key = _idempotency_key(request)
    raw = await request.read()  # at most the route's limit (`body_limits`)
    prepared = await off_loop(_read_create, raw, runtime.settings)
    prepared = await resolve_library_ids(runtime.ctx, prepared)
    view = await create_campaign(runtime.ctx, _new_campaign(runtime, prepared, key),
                                 _actor(request))  # fmt: skip
    campaign = view.campaign
    if not view.replayed:
        await enqueue_confirmed(runtime.redis, runtime.settings.REDIS_NAMESPACE, campaign)
    headers = {"ETag": etag(campaign.version)}
    if view.replayed:
        headers["Idempotent-Replayed"] = "true"
    return web.json_response(created_json(view, runtime.settings), status=201, headers=headers)


async def list_all(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    limit = query_limit(request, "limit", 50)
    page = await list_campaigns(
        runtime.ctx, limit=limit, cursor=request.query.get("cursor") or None
    )
    return web.json_response(
        {
            "campaigns": [campaign_json(view, runtime.settings) for view in page.items],
            "next_cursor": page.next_cursor,
        }
    )


async def get_one(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    status = request.query.get("status")
    limit = query_limit(request, "recipients_limit", 100)
    if status is not None and status not in set(RecipientStatus):
        raise BadRequest(f"status must be one of: {', '.join(RecipientStatus)}.", "status")
    detail = await get_campaign(
        runtime.ctx,
        request.match_info["campaign_id"],
        recipients_limit=limit,
        cursor=request.query.get("cursor") or None,
        status=status,
    )
    texts = await texts_answering(runtime.ctx, detail.view.campaign.id, limit=REPLIES_SHOWN)
    return web.json_response(
        {
            **campaign_json(detail.view, runtime.settings),
            "recipients": [recipient_json(r) for r in detail.recipients],
            "next_cursor": detail.next_cursor,
            "replies": [text_json(t) for t in texts],
        },
        headers={"ETag": etag(detail.view.campaign.version)},
    )


REPLIES_SHOWN = 100  # the newest texts that answered the campaign


async def cancel(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    view, cancelled = await cancel_campaign(
        runtime.ctx, request.match_info["campaign_id"], _actor(request)
    )
    campaign = view.campaign
    await enqueue_show_change(
        runtime.redis, runtime.settings.REDIS_NAMESPACE, campaign.id, campaign.version,
        change_of(_actor(request), unsent=cancelled),
    )  # fmt: skip
    return web.json_response(
        {**campaign_json(view, runtime.settings), "cancelled_now": cancelled},
        headers={"ETag": etag(campaign.version)},
    )


async def preview(request: web.Request) -> web.Response:
    """POST /v1/sms/campaigns/preview: the create body, the preview Slack shows; nothing stored."""
    runtime = request.app[RUNTIME]
    raw = await request.read()
    prepared = await off_loop(_read_create, raw, runtime.settings)
    prepared = await resolve_library_ids(runtime.ctx, prepared)
    body = prepared.body
    shown = await preview_new_campaign(runtime.ctx, _new_campaign(runtime, prepared, None),
                                       _actor(request), samples=PREVIEW_SAMPLES)  # fmt: skip
    return web.json_response(preview_json(shown, runtime.settings, body.name))


def register(app: web.Application) -> None:
    app.router.add_post("/v1/sms/campaigns/preview", preview)
    app.router.add_post("/v1/sms/campaigns", create)
    app.router.add_get("/v1/sms/campaigns", list_all, allow_head=False)
    app.router.add_get("/v1/sms/campaigns/{campaign_id}", get_one, allow_head=False)
    app.router.add_delete("/v1/sms/campaigns/{campaign_id}", cancel)
