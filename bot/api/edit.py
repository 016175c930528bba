"""PATCH /v1/sms/campaigns/{id}: change a campaign that has not started, guarded by its version.

Every answer about one campaign carries `ETag: "<version>"`. A caller that sends it back as
`If-Match` gets 412 instead of overwriting a change someone made meanwhile (in Slack or over the
API); without `If-Match` the edit applies to whatever the campaign is now. An edit goes through
the same rules as a create, in one transaction, and a confirmed campaign's caps and approval are
decided again, as Slack's Edit does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web

from bot.api.body import read_json
from bot.api.campaigns import read_recipients
from bot.api.errors import BadRequest
from bot.api.requests import EditCampaign
from bot.api.responses import created_json, etag
from bot.blocks.changes import change_of
from bot.jobs import enqueue_confirmed, enqueue_show_change
from bot.keys import RUNTIME, api_key
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport
from campaigns.service import NOW, CampaignChanges, edit_confirmed_campaign
from campaigns.settings import Settings

MAX_VERSION_DIGITS = 9

# An answer's `changed` names what changed by the fields a caller sends and reads back, not by
# the service's own names for them (which Slack's notices also use).
CHANGED_FIELDS = {
    "name": "name",
    "senders": "from_numbers",
    "media": "media_urls",
    "send_hours": "send_hours",
    "schedule": "scheduled_at",
    "recipients": "recipients",
    "message": "message_template",
}


def expected_version(request: web.Request) -> int | None:
    """The version named by If-Match (`"3"`, or `*` for any), None when there is none."""
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_VERSION_DIGITS):
        raise BadRequest(
            'If-Match must be the ETag a GET answered, the campaign\'s version in quotes ("3").',
            "If-Match",
        )
    return int(text)


def _read_edit(raw: bytes, settings: Settings) -> tuple[EditCampaign, ImportReport | None]:
    """The body, and its recipients read and checked (seconds of CPU for 100,000: the pool)."""
    body = EditCampaign.model_validate(read_json(raw))
    if not body.new_recipients():
        return body, None
    region = body.region.upper() if body.region else settings.DEFAULT_REGION
    return body, read_recipients(body, region, settings.destinations)


def _changes(
    body: EditCampaign, recipients: ImportReport | None, version: int | None
) -> CampaignChanges:
    send_at: datetime | Literal["now"] | None = None
    if body.schedule_type == "now":
        send_at = NOW
    elif body.scheduled_at is not None:
        send_at = body.scheduled_at
    return CampaignChanges(
        name=body.name,
        message_template=body.message_template,
        recipients=recipients,
        from_numbers=body.senders(),
        media_urls=body.media_urls,
        send_at=send_at,
        send_hours=body.send_hours,
        expected_version=version,
    )


async def edit(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    version = expected_version(request)
    raw = await request.read()  # at most the route's limit (`body_limits`)
    body, recipients = await off_loop(_read_edit, raw, runtime.settings)
    actor = f"api:{api_key(request).id}"
    view, changed = await edit_confirmed_campaign(
        runtime.ctx, request.match_info["campaign_id"], _changes(body, recipients, version), actor
    )
    campaign = view.campaign
    if changed:  # a new version: its start job (or approval request) replaces the old one's
        namespace = runtime.settings.REDIS_NAMESPACE
        await enqueue_confirmed(runtime.redis, namespace, campaign)
        await enqueue_show_change(runtime.redis, namespace, campaign.id, campaign.version,
                                  change_of(actor, changed=changed))  # fmt: skip
    return web.json_response(
        {**created_json(view, runtime.settings), "changed": [CHANGED_FIELDS[c] for c in changed]},
        headers={"ETag": etag(campaign.version)},
    )


def register(app: web.Application) -> None:
    app.router.add_patch("/v1/sms/campaigns/{campaign_id}", edit)
