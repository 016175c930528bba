"""Approval by a second person: a campaign over APPROVAL_ABOVE_RECIPIENTS or
APPROVAL_ABOVE_COST (or over a spend cap, when approvals are configured) waits, confirmed but
unsent, in `awaiting_approval` until an allowed person approves it who made none of its versions
since its last approval (`changed_by`: its creator until a first approval, and every editor), so
an editor cannot approve their own edit. An approval is for one version: the request's buttons
name it, and a request for an older version approves nothing.

Approved before its time, a scheduled campaign waits for it; approved after (or more than
LATE_START_SECONDS after a send-now confirmation), it is not sent late without asking: it is
paused, and the approval message asks again (send now, or cancel). Rejected, it is cancelled.
Every decision, and who made it, is in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import StateError
from campaigns.messages import MessageStats
from campaigns.models import Campaign, Recipient
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.service.frequency import NOT_COUNTED
from campaigns.service.spend import Spend, caps_configured, refuse_over_caps, spend_for
from campaigns.settings import Settings
from campaigns.status import CampaignStatus, RecipientStatus


def approvals_configured(settings: Settings) -> bool:
    return (
        settings.APPROVAL_ABOVE_RECIPIENTS is not None or settings.APPROVAL_ABOVE_COST is not None
    )


def approval_reason(
    settings: Settings, recipients: int, cost: Decimal, spend: Spend | None
) -> str | None:
    """Why the campaign needs a second person's approval, in words; None when it does not."""
    if not approvals_configured(settings):
        return None
    above_recipients, above_cost = settings.APPROVAL_ABOVE_RECIPIENTS, settings.APPROVAL_ABOVE_COST
    currency = settings.PRICE_CURRENCY
    if above_recipients is not None and recipients > above_recipients:
        return (
            f"{recipients:,} recipients, more than {above_recipients:,} (APPROVAL_ABOVE_RECIPIENTS)"
        )
    if above_cost is not None and cost > above_cost:
        return (f"about {cost.quantize(Decimal('0.01'))} {currency}, more than "
                f"{above_cost.quantize(Decimal('0.01'))} {currency} (APPROVAL_ABOVE_COST)")  # fmt: skip
    if spend is not None and (refusal := spend.refusal()) is not None:
        return refusal  # over a spend cap: with approvals configured, a person may allow it
    return None


BUDGET_LOCK = 0x7E47_B0D6  # one advisory lock for every confirmation checked against the budget


async def confirmed_status(
    ctx: Context, session: AsyncSession, campaign: Campaign, recipients: int
) -> CampaignStatus:
    """What a confirmed campaign becomes: awaiting a second person's approval when it is over
    an approval threshold (or over a spend cap, with approvals configured), else running or
    scheduled. Over a spend cap without approvals it is refused (SpendCapError, with the
    figures). Confirmations take turns on PostgreSQL, so two at once cannot both fit into the
    same last part of the budget."""
    settings = ctx.settings
    stats = MessageStats.from_json(campaign.message_stats)
    cost = stats.cost(settings.PRICE_PER_SEGMENT, settings.PRICE_PER_MMS)
    spend = None
    if caps_configured(settings):
        if ctx.db.dialect == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BUDGET_LOCK})
        spend = await spend_for(session, settings, ctx.now(), campaign.id, cost)
    reason = (
        None
        if campaign.source in NOT_COUNTED
        else approval_reason(settings, recipients, cost, spend)
    )  # a one-to-one answer from Slack needs nobody's approval
    if reason is not None:
        campaign.approval_reason = reason
        return CampaignStatus.AWAITING_APPROVAL
    if spend is not None:
        refuse_over_caps(spend)
    return CampaignStatus.RUNNING if campaign.scheduled_at is None else CampaignStatus.SCHEDULED


async def decide_again(ctx: Context, session: AsyncSession, campaign: Campaign) -> None:
    """A confirmed campaign was changed: as at its first confirmation, the spend caps apply and
    approval is asked afresh, on what it says now (an approval was for what it said before)."""
    campaign.approval_reason = campaign.approval_ts = campaign.approval_channel = None
    total = (await counts_for(session, [campaign.id]))[campaign.id].total
    campaign.status = await confirmed_status(ctx, session, campaign, total)


@dataclass(frozen=True, slots=True)
class Decided:
    view: CampaignView
    late: bool  # approved after its time: paused, to be sent now or cancelled by a person


class OutdatedRequest(StateError):
    """The request answered was for an older version of the campaign: nothing was decided."""


async def _awaiting(
    session: AsyncSession, campaign_id: str, version: int, *, lock: bool = True
) -> Campaign:
    campaign = await load_campaign(session, campaign_id, for_update=lock)
    if campaign.version != version and campaign.status == CampaignStatus.AWAITING_APPROVAL:
        raise OutdatedRequest(
            f"Campaign {campaign.name!r} was changed after this request was posted, so nothing "
            "was approved or rejected: decide on the new request, which shows what it says now."
        )
    if campaign.status != CampaignStatus.AWAITING_APPROVAL:
        raise StateError(
            f"Campaign {campaign.name!r} is {campaign.status}: there is nothing to approve."
        )
    return campaign


def note_change(campaign: Campaign, actor: str) -> None:
    """`actor` made a new version of the campaign: they may not approve it (until it is
    approved by someone else, and changed by nobody, again)."""
    if actor not in (campaign.changed_by or []):
        campaign.changed_by = [*(campaign.changed_by or []), actor]


def _refuse_own_change(campaign: Campaign, actor: str) -> None:
    if actor not in (campaign.changed_by or []):
        return
    if actor == campaign.created_by and campaign.approved_by is None:
        raise StateError(
            "You created this campaign: someone else who may send campaigns has to approve it."
        )
    raise StateError(
        "You changed this campaign since it was last approved: someone else who may send "
        "campaigns, and did not change it, has to approve it."
    )


async def approve_campaign(ctx: Context, campaign_id: str, version: int, actor: str) -> Decided:
    """The second person says send: scheduled or running now, or paused if its time is gone."""
    async with ctx.db.transaction() as session:
        campaign = await _awaiting(session, campaign_id, version)
        _refuse_own_change(campaign, actor)
        now = ctx.now()
        due = campaign.scheduled_at or campaign.consent_confirmed_at or now
        if campaign.scheduled_at is not None:
            # Its time is gone when the database's clock says so, as the start job judges it.
            late = campaign.scheduled_at <= await ctx.db.now(session)
        else:  # the confirmation was timed by a web process's clock, as `now` is
            late = now - due > timedelta(seconds=ctx.settings.LATE_START_SECONDS)
        campaign.version += 1
        campaign.approved_by, campaign.approved_at = actor, now
        campaign.changed_by = []  # this version is approved: its makers may approve the next
        if late:
            campaign.status = CampaignStatus.PAUSED
            campaign.pause_reason = f"It was approved after its time ({due:%Y-%m-%d %H:%M} UTC). Send it now, or cancel it?"
        elif campaign.scheduled_at is not None:
            campaign.status = CampaignStatus.SCHEDULED
        else:
            campaign.status = CampaignStatus.RUNNING
            campaign.heartbeat_at = await ctx.db.now(session)
        audit.record(session, actor, "campaign.approve", campaign.id, late=late,
                     status=campaign.status)  # fmt: skip
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    return Decided(CampaignView(campaign, counts), late)


async def awaiting_decision(ctx: Context, campaign_id: str, version: int) -> Campaign:
    """The campaign a request asks about, while that version still awaits a decision; raises
    as approving or rejecting it would (OutdatedRequest, StateError) when it does not."""
    async with ctx.db.read() as session:
        return await _awaiting(session, campaign_id, version, lock=False)


async def reject_campaign(
    ctx: Context, campaign_id: str, version: int, actor: str, reason: str | None = None
) -> CampaignView:
    """The second person says no, and why: cancelled, nothing sent."""
    async with ctx.db.transaction() as session:
        campaign = await _awaiting(session, campaign_id, version)
        now = ctx.now()
        campaign.status = CampaignStatus.CANCELLED
        campaign.cancelled_at, campaign.cancelled_by = now, actor
        campaign.version += 1
        await session.execute(
            update(Recipient)
            .where(
                Recipient.campaign_id == campaign.id, Recipient.status == RecipientStatus.PENDING
            )
            .values(status=RecipientStatus.CANCELLED, updated_at=now)
        )
        audit.record(session, actor, "campaign.reject", campaign.id, reason=reason)
        counts = (await counts_for(session, [campaign.id]))[campaign.id]
    return CampaignView(campaign, counts)


async def set_approval_message(ctx: Context, campaign_id: str, channel_id: str, ts: str) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id)
            .values(approval_channel=channel_id, approval_ts=ts)
        )  # fmt: skip


async def awaiting_without_request(ctx: Context) -> list[tuple[str, int]]:
    """For the sweep: campaigns awaiting approval whose request was never posted."""
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Campaign.id, Campaign.version).where(
                Campaign.status == CampaignStatus.AWAITING_APPROVAL, Campaign.approval_ts.is_(None)
            )
        )
        return [(cid, version) for cid, version in rows]
