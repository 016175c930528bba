"""Editing a campaign before it starts, and cancelling one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import StaleVersion, StateError
from campaigns.media import check_media_urls, check_mms_senders
from campaigns.media_files import MediaUpload
from campaigns.models import Campaign, Recipient
from campaigns.offload import off_loop
from campaigns.recipients import ImportReport
from campaigns.schedule import check_send_time
from campaigns.senders import SenderChoice, SenderMode, choose_senders
from campaigns.service.approval import decide_again, note_change
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
from campaigns.service.in_effect import until_in_effect
from campaigns.service.media import attach_media
from campaigns.status import CANCELLABLE, EDITABLE, CampaignStatus, RecipientStatus, status_said
from campaigns.templates import Template

NOW: Literal["now"] = "now"


@dataclass(frozen=True, slots=True)
class CampaignChanges:
    """What to change; None leaves a field as it is."""

    name: str | None = None
    message_template: str | None = None
    recipients: ImportReport | None = None
    from_numbers: Sequence[str] | None = None
    media_urls: Sequence[str] | None = None  # [] removes them
    uploads: Sequence[MediaUpload] = ()  # pictures uploaded now, added to the media
    send_at: datetime | Literal["now"] | None = None  # "now": send at once instead
    send_hours: str | None = None  # its own sending hours; "" goes back to SEND_HOURS
    expected_version: int | None = None  # refuse if someone else changed it meanwhile


def _refuse_edit(campaign: Campaign) -> StateError:
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        why = "it has started sending; you can still cancel what is not sent yet"
    elif campaign.status == CampaignStatus.DRAFT:
        why = "it is a draft, still being written in Slack"
    else:
        why = f"it is {status_said(campaign.status)}"
    return StateError(f"Campaign {campaign.name!r} can no longer be edited: {why}.")


async def edit_campaign(
    ctx: Context, campaign_id: str, changes: CampaignChanges, actor: str
) -> CampaignView:
    """Change a draft or a confirmed campaign that has not started; every edit bumps its
    version. A confirmed one's caps and approval are decided again (edit_confirmed_campaign)."""
    return await _edit(ctx, campaign_id, changes, actor, own_draft=False)


async def edit_own_draft(
    ctx: Context, draft_id: str, changes: CampaignChanges, actor: str
) -> CampaignView:
    """Change `actor`'s own draft, and nothing else: what a form names (its private_metadata)
    is the person's say-so, not proof. Checked under the row's lock, in the write's own
    transaction, so a draft confirmed meanwhile is not changed after all."""
    return await _edit(ctx, draft_id, changes, actor, own_draft=True)


async def _edit(
    ctx: Context, campaign_id: str, changes: CampaignChanges, actor: str, *, own_draft: bool
) -> CampaignView:
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if own_draft:
            _require_own_draft(campaign, actor)
        if campaign.status not in EDITABLE:
            raise _refuse_edit(campaign)
        _check_version(campaign, changes.expected_version)
        changed = await _apply(ctx, session, campaign, changes)
        if "media" in changed:
            await attach_media(session, campaign, changes.uploads, actor)
        campaign.version += 1
        campaign.updated_at = ctx.now()
        note_change(campaign, actor)
        if campaign.status != CampaignStatus.DRAFT:
            await decide_again(ctx, session, campaign)
        audit.record(
            session, actor, "campaign.edit", campaign.id, fields=changed, version=campaign.version
        )
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    return CampaignView(campaign, counts)


def _require_own_draft(campaign: Campaign, actor: str) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise StateError(
            f"Campaign {campaign.name!r} is {status_said(campaign.status)}, not a draft: this form cannot "
            "change it, and nothing was changed. To change a scheduled campaign, use "
            f"/sms edit {campaign.id}."
        )
    if campaign.created_by != actor:
        raise StateError(
            "This draft is someone else's: nothing was changed. Start your own with /sms new."
        )


def _check_version(campaign: Campaign, expected: int | None) -> None:
    if expected not in (None, campaign.version):
        raise StaleVersion(
            f"Campaign {campaign.name!r} was changed meanwhile: it is at version "
            f"{campaign.version}, not {expected}. Reload it and make your change again."
        )


async def edit_confirmed_campaign(
    ctx: Context, campaign_id: str, changes: CampaignChanges, actor: str
) -> tuple[CampaignView, list[str]]:
    """Change a confirmed campaign before it starts (scheduled, or awaiting approval), in one
    transaction: a change that breaks a rule leaves it as it was. As at its first confirmation,
    the spend caps apply and approval is asked afresh (an approval was for what it said before);
    its version goes up, so its old start job finds nothing to do. Returns the campaign and what
    changed (nothing: no new version)."""
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        waiting = await waits_before_first_text(ctx, session, campaign)
        if campaign.status not in CONFIRMED_EDITABLE and not waiting:
            raise _refuse_edit(campaign)
        _check_version(campaign, changes.expected_version)
        if waiting:
            campaign.scheduled_at = None  # it runs: at once, unless the edit gives it a time
        changed = await _apply(ctx, session, campaign, changes)
        if "media" in changed:  # every upload it names is stored, and within 5 MB in all
            await attach_media(session, campaign, changes.uploads, actor)
        if changed and waiting:
            await restart_after_edit(session, campaign, hours_changed="send_hours" in changed)
        if changed:
            campaign.version += 1
            campaign.updated_at = ctx.now()
            note_change(campaign, actor)
            await decide_again(ctx, session, campaign)
            audit.record(session, actor, "campaign.edit", campaign.id, fields=changed,
                         version=campaign.version)  # fmt: skip
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    return CampaignView(campaign, counts), changed


CONFIRMED_EDITABLE = frozenset({CampaignStatus.SCHEDULED, CampaignStatus.AWAITING_APPROVAL})


async def waits_before_first_text(ctx: Context, session: AsyncSession, campaign: Campaign) -> bool:
    """Whether a running campaign may still be edited: no text has left (none was handed to
    Twilio, none is claimed to be), and every recipient not yet done waits for their sending
    hours, so no send loop is about to take one. Read under the campaign's row lock, which a
    claim takes too (claims.claim_batch): a claim is either seen here, or comes after the edit
    and finds the campaign at its new version, which no loop of the old one claims for."""
    if campaign.status != CampaignStatus.RUNNING:
        return False
    clock = await ctx.db.now(session)
    due = (Recipient.status == RecipientStatus.PENDING) & (
        Recipient.not_before.is_(None) | (Recipient.not_before <= clock)
    )
    waiting = (Recipient.status == RecipientStatus.PENDING) & (Recipient.not_before > clock)
    busy, held = (
        await session.execute(
            select(
                func.count(case((Recipient.twilio_sid.is_not(None)
                                 | (Recipient.status == RecipientStatus.QUEUED) | due, 1))),
                func.count(case((waiting, 1))),
            ).where(Recipient.campaign_id == campaign.id)
        )
    ).one()  # fmt: skip
    return busy == 0 and held > 0


async def restart_after_edit(
    session: AsyncSession, campaign: Campaign, *, hours_changed: bool
) -> None:
    """A campaign edited while it waited for sending hours: its new version is started afresh
    (the caller queues its start job), so it is not left asleep on the old one's wake time;
    new sending hours are judged again for every recipient, by the next claim."""
    campaign.wake_at = None
    if hours_changed:
        await session.execute(
            update(Recipient)
            .where(
                Recipient.campaign_id == campaign.id,
                Recipient.status == RecipientStatus.PENDING,
            )
            .values(not_before=None)
        )


async def _apply(
    ctx: Context, session: AsyncSession, campaign: Campaign, changes: CampaignChanges
) -> list[str]:
    changed: list[str] = []
    if changes.name is not None:
        campaign.name = checked_name(changes.name)
        changed.append("name")
    if changes.from_numbers is not None:
        senders = choose_senders(ctx.settings, changes.from_numbers)
        campaign.sender_mode, campaign.from_numbers = senders.mode, list(senders.numbers)
        changed.append("senders")
    was_mms = bool(campaign.media_urls)
    if changes.media_urls is not None or changes.uploads:
        kept = campaign.media_urls if changes.media_urls is None else changes.media_urls
        media_urls = list(check_media_urls([*kept, *(u.ref for u in changes.uploads)]))
        if media_urls != list(campaign.media_urls or ()):
            campaign.media_urls = media_urls
            changed.append("media")
    new_media = bool(changes.media_urls or changes.uploads)
    if campaign.media_urls and (new_media or changes.from_numbers is not None):
        check_mms_senders(
            SenderChoice(SenderMode(campaign.sender_mode), tuple(campaign.from_numbers)),
            field="media_urls" if new_media else "from_number",
        )
    mms = bool(campaign.media_urls)
    if changes.send_hours is not None:
        hours = checked_send_hours(changes.send_hours)
        if hours != campaign.send_hours:
            campaign.send_hours = hours
            changed.append("send_hours")
    if changes.send_at is not None:
        send_at = None if changes.send_at == NOW else changes.send_at
        campaign.scheduled_at = check_send_time(send_at, ctx.now())
        if campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at is None:
            campaign.status = CampaignStatus.RUNNING
        changed.append("schedule")
    template_text = changes.message_template or campaign.message_template
    template = checked_template(template_text)
    if changes.recipients is not None:
        report = changes.recipients
        await off_loop(require_recipients, report)
        variables = [r.variables for r in report.recipients]
        rows = [r.row for r in report.recipients]
        segments, stats = await off_loop(analyse, template, variables, report.variables, mms, rows)
        await session.execute(delete(Recipient).where(Recipient.campaign_id == campaign.id))
        await insert_recipients(session, campaign.id, changes.recipients, segments)
        campaign.import_report = import_summary(changes.recipients)
        campaign.message_stats = stats.to_json()
        changed.append("recipients")
    elif changes.message_template is not None or mms != was_mms:
        await _resegment(session, campaign, template)
    if changes.message_template is not None:
        campaign.message_template = template_text
        changed.append("message")
    return changed


async def _resegment(session: AsyncSession, campaign: Campaign, template: Template) -> None:
    """A new message for the same recipients: recount every recipient's segments."""
    rows = (
        await session.execute(
            select(Recipient.id, Recipient.variables, Recipient.row).where(
                Recipient.campaign_id == campaign.id
            )
        )
    ).all()
    names = campaign.import_report.get("variables", [])
    variables = [variables for _, variables, _ in rows]
    mms = bool(campaign.media_urls)
    segments, stats = await off_loop(
        analyse, template, variables, names, mms, [row for _, _, row in rows]
    )
    await session.execute(  # ORM bulk UPDATE by primary key
        update(Recipient),
        [{"id": rid, "segments": s} for (rid, _, _), s in zip(rows, segments, strict=True)],
    )
    campaign.message_stats = stats.to_json()


async def cancel_campaign(ctx: Context, campaign_id: str, actor: str) -> tuple[CampaignView, int]:
    """Cancel; unsent recipients become `cancelled`. Sent messages are never recalled.

    Returns the campaign and how many recipients were cancelled, once no send loop starts a
    create for it (see in_effect.py): the caller may tell the person it is done.
    """
    async with ctx.db.transaction() as session:
        campaign = await load_campaign(session, campaign_id, for_update=True)
        if campaign.status not in CANCELLABLE:
            raise StateError(_refuse_cancel(campaign))
        was_sending = campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
        now = ctx.now()
        campaign.status = CampaignStatus.CANCELLED
        campaign.version += 1  # the pending start job, if any, becomes a no-op
        campaign.cancelled_at, campaign.cancelled_by = now, actor
        campaign.finished_at = campaign.updated_at = now
        result = await session.execute(
            update(Recipient)
            .where(
                Recipient.campaign_id == campaign.id,
                Recipient.status == RecipientStatus.PENDING,
            )
            .values(status=RecipientStatus.CANCELLED, updated_at=now)
        )
        cancelled = result.rowcount or 0  # type: ignore[attr-defined]
        audit.record(session, actor, "campaign.cancel", campaign.id, recipients=cancelled)
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    if was_sending:  # a loop may have read it running just before (paused: just before that)
        await until_in_effect()
    return CampaignView(campaign, counts), cancelled


def _refuse_cancel(campaign: Campaign) -> str:
    if campaign.status == CampaignStatus.CANCELLED:
        return f"Campaign {campaign.name!r} is already cancelled."
    return (
        f"Campaign {campaign.name!r} is {status_said(campaign.status)}: there is nothing left to cancel, "
        "and sent messages cannot be recalled."
    )
