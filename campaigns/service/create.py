"""Creating a campaign (as a draft to preview, or launched at once) and launching a draft."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from campaigns import audit
from campaigns.errors import IdempotencyKeyReused, InputError, StateError
from campaigns.ids import new_campaign_id
from campaigns.media import check_media_urls, check_mms_senders
from campaigns.media_files import MediaUpload
from campaigns.models import Campaign
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport
from campaigns.schedule import check_send_time
from campaigns.senders import choose_senders
from campaigns.service.approval import confirmed_status, note_change
from campaigns.service.common import (
    CampaignView,
    analyse,
    checked_name,
    checked_send_hours,
    checked_template,
    counts_for,
    import_summary,
    insert_recipients,
    load_campaign,
    require_recipients,
)
from campaigns.service.context import Context
from campaigns.service.media import attach_media
from campaigns.status import CampaignStatus, status_said
from campaigns.text import check_text


@dataclass(frozen=True, slots=True)
class NewCampaign:
    name: str
    message_template: str
    recipients: ImportReport
    from_numbers: Sequence[str] | None  # one, several, ["all"], or None for the only one
    send_at: datetime | None  # None: send now
    source: str  # "slack" or "api"
    consent_confirmed: bool  # the person confirmed every recipient opted in
    channel_id: str | None = None
    agent_id: str | None = None
    idempotency_key: str | None = None
    request_digest: str | None = None  # of the request that carried the key
    region: str | None = None
    media_urls: Sequence[str] = ()  # pictures sent with every message (MMS)
    uploads: Sequence[MediaUpload] = ()  # pictures uploaded with it, stored and named as media
    send_hours: str | None = None  # its own sending hours (`09:00-20:00`, `any`); None: SEND_HOURS


def _require_consent(confirmed: bool) -> None:
    if not confirmed:
        raise InputError(
            "Confirm that everyone on the list agreed to receive texts from you.", field="consent"
        )


def _launched_status(send_at: datetime | None) -> CampaignStatus:
    return CampaignStatus.RUNNING if send_at is None else CampaignStatus.SCHEDULED


async def checked_campaign(
    ctx: Context, new: NewCampaign, actor: str, *, launch: bool
) -> tuple[Campaign, list[int]]:
    """Every check a create makes, and the campaign it would store (not stored) with each
    recipient's segments: for create_campaign, and for a preview that stores nothing."""
    name = checked_name(new.name)
    template = checked_template(new.message_template)
    await off_loop(require_recipients, new.recipients)
    senders = choose_senders(ctx.settings, new.from_numbers)
    media_urls = check_media_urls([*new.media_urls, *(upload.ref for upload in new.uploads)])
    if media_urls:
        check_mms_senders(senders)
    send_hours = checked_send_hours(new.send_hours)
    now = ctx.now()
    send_at = check_send_time(new.send_at, now)
    if launch:
        _require_consent(new.consent_confirmed)
    report = new.recipients
    segments, stats = await off_loop(
        analyse, template, [r.variables for r in report.recipients], report.variables,
        bool(media_urls), [r.row for r in report.recipients],
    )  # fmt: skip

    campaign = Campaign(
        id=new_campaign_id(),
        name=name,
        status=_launched_status(send_at) if launch else CampaignStatus.DRAFT,
        source=new.source,
        message_template=new.message_template,
        sender_mode=senders.mode,
        from_numbers=list(senders.numbers),
        media_urls=list(media_urls),
        scheduled_at=send_at,
        send_hours=send_hours,
        version=1,
        region=new.region,
        created_by=actor,
        changed_by=[actor],
        created_at=now,
        updated_at=now,
        channel_id=new.channel_id,
        agent_id=new.agent_id,
        idempotency_key=new.idempotency_key,
        request_digest=new.request_digest if new.idempotency_key else None,
        import_report=import_summary(new.recipients),
        message_stats=stats.to_json(),
    )
    return campaign, segments


async def create_campaign(
    ctx: Context, new: NewCampaign, actor: str, *, launch: bool = True
) -> CampaignView:
    """Check everything, then store the campaign and its recipients in one transaction.

    With `launch=False` the campaign is a draft to preview and then `launch_campaign`. A repeated
    request with the same idempotency key (and actor) returns the first campaign instead.
    """
    for field, value in (("agent_id", new.agent_id), ("Idempotency-Key", new.idempotency_key)):
        if value:
            check_text(value, field)
    if new.idempotency_key and (earlier := await _by_idempotency_key(ctx, new, actor)):
        return earlier
    campaign, segments = await checked_campaign(ctx, new, actor, launch=launch)
    now = campaign.created_at
    if new.consent_confirmed:
        campaign.consent_confirmed_by, campaign.consent_confirmed_at = actor, now
    try:
        async with ctx.db.transaction() as session:
            if launch:
                recipients = len(new.recipients.recipients)
                campaign.status = await confirmed_status(ctx, session, campaign, recipients)
            session.add(campaign)
            await session.flush()
            await attach_media(session, campaign, new.uploads, actor)
            await insert_recipients(session, campaign.id, new.recipients, segments)
            audit.record(
                session, actor, "campaign.create", campaign.id,
                status=campaign.status, recipients=len(new.recipients.recipients),
            )  # fmt: skip
            counts = (await counts_for(session, [campaign.id]))[campaign.id]
    except IntegrityError:
        # Two requests with one idempotency key raced; the other one stored its campaign first.
        if new.idempotency_key and (earlier := await _by_idempotency_key(ctx, new, actor)):
            return earlier
        raise
    return CampaignView(campaign, counts)


async def _by_idempotency_key(ctx: Context, new: NewCampaign, actor: str) -> CampaignView | None:
    async with ctx.db.read() as session:
        campaign = (
            await session.execute(
                select(Campaign).where(
                    Campaign.created_by == actor, Campaign.idempotency_key == new.idempotency_key
                )
            )
        ).scalar_one_or_none()
        if campaign is None:
            return None
        stored, sent = campaign.request_digest, new.request_digest
        if stored and sent and stored != sent:
            raise IdempotencyKeyReused(
                f"This Idempotency-Key already created campaign {campaign.id} from a different "
                "request body: use a new key for a new campaign.",
                field="Idempotency-Key",
            )
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
        return CampaignView(campaign, counts, replayed=True)


async def launch_campaign(
    ctx: Context, campaign_id: str, actor: str, *, consent_confirmed: bool
) -> CampaignView:
    """Turn a previewed draft into a running or scheduled campaign."""
    _require_consent(consent_confirmed)
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status != CampaignStatus.DRAFT:
            raise StateError(
                f"Campaign {campaign.name!r} is already {status_said(campaign.status)}; it was launched once."
            )
        if campaign.created_by != actor:  # a button names the draft: that is no proof
            raise StateError("This draft is someone else's: only they can confirm it.")
        now = ctx.now()
        # The preview may have sat open for a while: the window is checked again.
        send_at = check_send_time(campaign.scheduled_at, now)
        campaign.scheduled_at = send_at
        total = (await counts_for(session, [campaign.id]))[campaign.id].total
        campaign.status = await confirmed_status(ctx, session, campaign, total)
        campaign.consent_confirmed_by, campaign.consent_confirmed_at = actor, now
        note_change(campaign, actor)  # whoever launches it may not approve it either
        campaign.updated_at = now
        audit.record(session, actor, "campaign.launch", campaign.id, status=campaign.status)
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    return CampaignView(campaign, counts)
