"""The preview a person checks before confirming: who, what, how much, from where, and when."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.content_checks import ContentWarning, content_warnings
from campaigns.messages import MessageStats
from campaigns.models import Campaign, OptOut, Recipient
from campaigns.offload import off_loop
from campaigns.recipients import Recipient as ParsedRecipient
from campaigns.send_hours import (
    ANY,
    ZONE_PREFIX_LENGTH,
    SendHours,
    effective_hours,
    main_zone,
    next_allowed,
    zone_label,
    zone_variable,
    zones_for,
)
from campaigns.senders import SenderChoice, SenderMode, messages_per_second
from campaigns.service.approval import approval_reason
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.service.create import NewCampaign, checked_campaign
from campaigns.service.frequency import NOT_COUNTED, capped_among, capped_phones, opted_out
from campaigns.service.optouts import opted_out_among
from campaigns.service.recent import RecentlyTexted, recently_texted_among, recently_texted_in
from campaigns.service.spend import Spend, caps_configured, spend_for
from campaigns.status import Counts
from campaigns.templates import Template, compile_template

OPTED_OUT_SHOWN = 20


@dataclass(frozen=True, slots=True)
class SampleMessage:
    row: int
    phone: str
    text: str
    segments: int
    missing: tuple[str, ...] = ()  # placeholders left empty in this message


@dataclass(frozen=True, slots=True)
class Preview:
    view: CampaignView
    import_report: dict[str, Any]  # invalid rows (first ones), invalid_count, duplicates, ...
    opted_out_count: int  # recipients who said STOP: shown now, failed at send time
    opted_out: list[str]  # the first of them
    samples: list[SampleMessage]
    stats: MessageStats
    cost: Decimal
    currency: str
    messages_per_second: int
    send_duration: timedelta  # until the last message goes, at the senders' combined rate
    send_at: datetime | None  # None: now
    # With pictures (MMS): recipients outside North America (+1), where carriers may not take
    # them (Twilio sends those from US and Canadian numbers only, and only there in full).
    outside_mms_area: int = 0
    send_hours: str = "any"  # in each recipient's own zone
    waiting: tuple[WaitGroup, ...] = ()  # who would wait for their hours at the send time
    spend: Spend | None = None  # with MAX_CAMPAIGN_COST or MONTHLY_BUDGET set
    frequency_cap: str | None = None  # FREQUENCY_CAP, described: "1 message in 24 hours"
    frequency_capped: int = 0  # recipients other campaigns texted up to it: they would fail
    content: tuple[ContentWarning, ...] = ()  # what to fix in the message (content_checks)
    approval: str | None = None  # why Confirm would wait for a second person's approval
    # Those skipped (opted out, or over the frequency cap) are sent nothing and cost nothing.
    skipped_segments: int = 0  # their messages' segments
    texted_cost: Decimal | None = None  # the estimate for those who will be texted
    # Without a frequency cap: most of the list was texted in the last 24 hours.
    recently_texted: RecentlyTexted | None = None

    @property
    def texted(self) -> int:
        """Who will be texted: the valid numbers, less the opted-out and the capped ones (the
        preview counts the capped among those not opted out, so none is counted twice)."""
        return max(0, self.view.counts.total - self.opted_out_count - self.frequency_capped)

    @property
    def skipped(self) -> int:
        return self.view.counts.total - self.texted

    @property
    def cost_to_text(self) -> Decimal:
        return self.cost if self.texted_cost is None else self.texted_cost

    @property
    def gaps(self) -> tuple[str, ...]:
        """When every message shown has a placeholder left empty (an empty value, or a name
        that is not a column of the list), those placeholders: the message is most likely
        wrong. Otherwise ()."""
        return missing_in_every(self.samples)

    @property
    def refused(self) -> str | None:
        """Why Confirm would be refused (a spend cap, no approvals to ask instead)."""
        if self.approval is not None or self.spend is None:
            return None
        return self.spend.refusal()

    @property
    def sending_time(self) -> timedelta:
        """The sending itself, at the senders' combined rate, without any wait for sending
        hours: what "takes about" means to someone whose list waits until the morning."""
        segments = max(0, self.stats.total_segments - self.skipped_segments)
        return timedelta(seconds=segments / max(1, self.messages_per_second))


@dataclass(frozen=True, slots=True)
class WaitGroup:
    """Recipients who would wait for their sending hours, and until when."""

    count: int
    release: datetime  # UTC
    zone: str  # where it is that time, e.g. "America/Los_Angeles"
    local: str  # the local time then, e.g. "08:00"


async def waiting_at(
    session: AsyncSession, campaign: Campaign, hours: SendHours | None, at: datetime
) -> tuple[WaitGroup, ...]:
    """Who would wait for their sending hours if sent at `at`, in groups by release time. Zones
    depend on the first digits of a number only, so numbers are counted by those in SQL."""
    if hours is None:
        return ()
    groups: Counter[tuple[datetime, tuple[str, ...]]] = Counter()
    if _has_zone_column(campaign):
        rows = await session.execute(
            select(Recipient.phone, Recipient.variables).where(Recipient.campaign_id == campaign.id)
        )
        for phone, variables in rows:
            zones = zones_for(phone, variables)
            if (release := next_allowed(at, zones, hours)) is not None:
                groups[(release, zones)] += 1
    else:
        prefix = func.substr(Recipient.phone, 1, ZONE_PREFIX_LENGTH)
        rows = await session.execute(
            select(prefix, func.count())
            .where(Recipient.campaign_id == campaign.id)
            .group_by(prefix)
        )
        for first_digits, count in rows:
            zones = zones_for(first_digits)
            if (release := next_allowed(at, zones, hours)) is not None:
                groups[(release, zones)] += count
    return _merged(groups)


@dataclass(frozen=True, slots=True)
class HoursWait:
    """Of a campaign's recipients, who wait for their sending hours if it sends now."""

    total: int
    groups: tuple[WaitGroup, ...]  # soonest first

    @property
    def waiting(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def everyone(self) -> bool:
        """Nobody can be texted yet: the campaign waits, it does not send."""
        return self.total > 0 and self.waiting >= self.total


async def waiting_now(ctx: Context, campaign_id: str) -> HoursWait:
    """For the confirmation: who waits for their sending hours as the campaign starts (the
    send loop marks them itself a moment later)."""
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        total = (await counts_for(session, [campaign_id]))[campaign_id].total
        hours = effective_hours(campaign.send_hours, ctx.settings.SEND_HOURS)
        groups = await waiting_at(session, campaign, hours, ctx.now())
    return HoursWait(total, groups)


def waiting_among(
    recipients: Sequence[ParsedRecipient], hours: SendHours | None, at: datetime
) -> tuple[WaitGroup, ...]:
    """The same for a list not stored (a preview that stores nothing), in the CPU pool."""
    if hours is None:
        return ()
    groups: Counter[tuple[datetime, tuple[str, ...]]] = Counter()
    for recipient in recipients:
        zones = zones_for(recipient.phone, recipient.variables)
        if (release := next_allowed(at, zones, hours)) is not None:
            groups[(release, zones)] += 1
    return _merged(groups)


def _merged(groups: Counter[tuple[datetime, tuple[str, ...]]]) -> tuple[WaitGroup, ...]:
    merged: Counter[tuple[datetime, str, str]] = Counter()
    for (release, zones), count in groups.items():
        zone = zone_label(zones)
        local = release.astimezone(ZoneInfo(main_zone(zones))).strftime("%H:%M")
        merged[(release, zone, local)] += count
    return tuple(
        WaitGroup(count, release, zone, local)
        for (release, zone, local), count in sorted(merged.items())
    )


async def preview_new_campaign(
    ctx: Context, new: NewCampaign, actor: str, *, samples: int = 3
) -> Preview:
    """The preview of a campaign as it would be created, storing nothing: the same checks and
    the same figures as the preview of a stored draft (the API's POST .../preview)."""
    campaign, segments = await checked_campaign(ctx, new, actor, launch=False)
    recipients = new.recipients.recipients
    phones = [r.phone for r in recipients]
    settings = ctx.settings
    hours = effective_hours(campaign.send_hours, settings.SEND_HOURS)
    start = campaign.scheduled_at or ctx.now()
    opted = await opted_out_among(ctx, phones)
    spend = None
    if caps_configured(settings):
        async with ctx.db.read() as session:
            spend = await spend_for(session, settings, ctx.now(), campaign.id, _cost(ctx, campaign))
    cap = settings.frequency_cap
    reachable = [p for p in phones if p not in opted]
    capped = await capped_among(ctx, reachable, cap, start) if cap is not None else set()
    texted = [i for i, r in enumerate(recipients) if r.phone not in opted and r.phone not in capped]
    template = compile_template(campaign.message_template)
    total = len(recipients)
    read = _Read(
        counts=Counts(total=total, pending=total),
        opted_out_count=len(opted),
        opted_out=[p for p in phones if p in opted][:OPTED_OUT_SHOWN],
        samples=[_sample(template, recipients[i], segments[i]) for i in texted[:samples]],
        outside_mms_area=sum(not p.startswith("+1") for p in phones) if campaign.media_urls else 0,
        hours=hours,
        start=start,
        waiting=await off_loop(waiting_among, recipients, hours, start),
        spend=spend,
        capped=len(capped),
        skipped_segments=sum(segments) - sum(segments[i] for i in texted),
        recently=(
            await recently_texted_among(ctx, [phones[i] for i in texted]) if cap is None else None
        ),
    )
    return _preview(ctx, campaign, read)


def _sample(
    template: Template, recipient: ParsedRecipient | Recipient, segments: int
) -> SampleMessage:
    rendered = template.render(recipient.variables)
    return SampleMessage(recipient.row, recipient.phone, rendered.text, segments, rendered.missing)


@dataclass(frozen=True, slots=True)
class _Read:
    """What each preview reads its own way: from stored rows, or from a list not stored."""

    counts: Counts
    opted_out_count: int
    opted_out: list[str]
    samples: list[SampleMessage]
    outside_mms_area: int
    hours: SendHours | None
    start: datetime  # when it would start sending
    waiting: tuple[WaitGroup, ...]
    spend: Spend | None
    capped: int  # recipients other campaigns texted up to the frequency cap (not opted out)
    skipped_segments: int  # the segments of the opted-out and capped recipients' messages
    recently: RecentlyTexted | None


def _cost(ctx: Context, campaign: Campaign) -> Decimal:
    stats = MessageStats.from_json(campaign.message_stats)
    return stats.cost(ctx.settings.PRICE_PER_SEGMENT, ctx.settings.PRICE_PER_MMS)


def _preview(ctx: Context, campaign: Campaign, read: _Read) -> Preview:
    """The figures both previews share, worked out the same way."""
    settings = ctx.settings
    stats = MessageStats.from_json(campaign.message_stats)
    cost = _cost(ctx, campaign)
    texted = max(0, read.counts.total - read.opted_out_count - read.capped)
    if stats.mms:
        texted_cost = texted * settings.PRICE_PER_MMS
    else:
        texted_cost = (
            max(0, stats.total_segments - read.skipped_segments) * settings.PRICE_PER_SEGMENT
        )
    choice = SenderChoice(SenderMode(campaign.sender_mode), tuple(campaign.from_numbers))
    mps = messages_per_second(settings, choice)
    cap = settings.frequency_cap
    total = read.counts.total
    return Preview(
        view=CampaignView(campaign, read.counts),
        import_report=campaign.import_report,
        opted_out_count=read.opted_out_count,
        opted_out=read.opted_out,
        samples=read.samples,
        stats=stats,
        cost=cost,
        currency=settings.PRICE_CURRENCY,
        messages_per_second=mps,
        send_duration=finishing_after(read.start, read.waiting, total, mps, stats.total_segments),
        send_at=campaign.scheduled_at,
        outside_mms_area=read.outside_mms_area,
        send_hours=str(read.hours) if read.hours is not None else ANY,
        waiting=read.waiting,
        spend=read.spend,
        frequency_cap=cap.describe() if cap is not None else None,
        frequency_capped=read.capped,
        content=tuple(content_warnings(campaign.message_template, stats)),
        approval=_approval(ctx, campaign, total, cost, read.spend),
        skipped_segments=read.skipped_segments,
        texted_cost=texted_cost,
        recently_texted=read.recently,
    )


def _has_zone_column(campaign: Campaign) -> bool:
    names = campaign.import_report.get("variables") or []
    return any(zone_variable({str(name): "UTC"}) for name in names)


def finishing_after(start: datetime, waiting: Sequence[WaitGroup], total: int, mps: float,
                    segments: int) -> timedelta:  # fmt: skip
    """How long from `start` until the last message goes: those who wait go from their
    release on, the rest at once, each group at the senders' rate."""
    per_message = segments / max(1, total) / mps
    waiting_count = sum(group.count for group in waiting)
    end = start + timedelta(seconds=(total - waiting_count) * per_message)
    for group in waiting:  # released in order; a group starts when released or when free
        end = max(end, group.release) + timedelta(seconds=group.count * per_message)
    return end - start


async def preview_campaign(ctx: Context, campaign_id: str, *, samples: int = 3) -> Preview:
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        counts = (await counts_for(session, [campaign_id]))[campaign_id]
        opted_out_rows = (
            select(Recipient.phone)
            .join(OptOut, OptOut.phone == Recipient.phone)
            .where(Recipient.campaign_id == campaign_id, OptOut.opted_out.is_(True))
        )
        opted_out_count = (
            await session.execute(select(func.count()).select_from(opted_out_rows.subquery()))
        ).scalar_one()
        opted_out_first = list(
            (
                await session.execute(opted_out_rows.order_by(Recipient.id).limit(OPTED_OUT_SHOWN))
            ).scalars()
        )
        outside_mms_area = 0
        if campaign.media_urls:
            outside_mms_area = (
                await session.execute(
                    select(func.count()).where(
                        Recipient.campaign_id == campaign_id, Recipient.phone.not_like("+1%")
                    )
                )
            ).scalar_one()
        hours = effective_hours(campaign.send_hours, ctx.settings.SEND_HOURS)
        start = campaign.scheduled_at or ctx.now()
        cap = ctx.settings.frequency_cap
        skipped = _skipped(ctx, campaign, start)
        skipped_count, skipped_segments = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Recipient.segments), 0)).where(
                    Recipient.campaign_id == campaign_id, skipped
                )
            )
        ).one()
        first = await _first_texted(session, campaign_id, skipped, samples)
        capped = int(skipped_count) - opted_out_count
        recently = None
        if cap is None:
            texted = counts.total - int(skipped_count)
            recently = await recently_texted_in(ctx, session, campaign_id, texted)
        waiting = await waiting_at(session, campaign, hours, start)
        spend = None
        if caps_configured(ctx.settings):
            spend = await spend_for(session, ctx.settings, ctx.now(), campaign.id,
                                    _cost(ctx, campaign))  # fmt: skip
    template = compile_template(campaign.message_template)
    read = _Read(
        counts=counts,
        opted_out_count=opted_out_count,
        opted_out=opted_out_first,
        samples=[_sample(template, r, r.segments) for r in first],
        outside_mms_area=outside_mms_area,
        hours=hours,
        start=start,
        waiting=waiting,
        spend=spend,
        capped=capped,
        skipped_segments=int(skipped_segments),
        recently=recently,
    )
    return _preview(ctx, campaign, read)


def _skipped(ctx: Context, campaign: Campaign, start: datetime) -> ColumnElement[bool]:
    """A recipient of `campaign` who will not be texted: opted out, or over the frequency cap
    (as things stand now) if it starts at `start`."""
    cap = ctx.settings.frequency_cap
    if cap is None or campaign.source in NOT_COUNTED:
        return opted_out(Recipient.phone)
    return or_(
        opted_out(Recipient.phone), Recipient.phone.in_(capped_phones(campaign.id, cap, start))
    )


async def _first_texted(
    session: AsyncSession, campaign_id: str, skipped: ColumnElement[bool], limit: int
) -> list[Recipient]:
    """The first recipients who will be texted: the preview's samples."""
    rows = await session.execute(
        select(Recipient)
        .where(Recipient.campaign_id == campaign_id, ~skipped)
        .order_by(Recipient.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def gaps_in_every_sample(ctx: Context, campaign_id: str, *, samples: int) -> tuple[str, ...]:
    """The placeholders left empty when every message the preview shows (`samples` of them)
    has one, else (): Confirm then needs an explicit "send anyway". Reads only the samples."""
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        skipped = _skipped(ctx, campaign, campaign.scheduled_at or ctx.now())
        first = await _first_texted(session, campaign_id, skipped, samples)
    template = compile_template(campaign.message_template)
    shown = [_sample(template, r, r.segments) for r in first]
    return missing_in_every(shown)


def missing_in_every(samples: Sequence[SampleMessage]) -> tuple[str, ...]:
    """What is left empty, when every sample has something left empty; else ()."""
    if not samples or not all(sample.missing for sample in samples):
        return ()
    return tuple(dict.fromkeys(name for sample in samples for name in sample.missing))


def _approval(
    ctx: Context, campaign: Campaign, total: int, cost: Decimal, spend: Spend | None
) -> str | None:
    if campaign.source in NOT_COUNTED:
        return None
    return approval_reason(ctx.settings, total, cost, spend)
