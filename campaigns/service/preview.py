"""The preview a person checks before confirming: who, what, how much, from where, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from campaigns.messages import MessageStats
from campaigns.models import OptOut, Recipient
from campaigns.senders import SenderChoice, SenderMode, messages_per_second
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.templates import compile_template

OPTED_OUT_SHOWN = 20


@dataclass(frozen=True, slots=True)
class SampleMessage:
    row: int
    phone: str
    text: str
    segments: int


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
    send_duration: timedelta  # at the senders' combined rate, counted in segments
    send_at: datetime | None  # None: now
    # With pictures (MMS): recipients outside North America (+1), where carriers may not take
    # them (Twilio sends those from US and Canadian numbers only, and only there in full).
    outside_mms_area: int = 0


async def preview_campaign(ctx: Context, campaign_id: str, *, samples: int = 3) -> Preview:
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        counts = (await counts_for(session, [campaign_id]))[campaign_id]
        opted_out = (
            select(Recipient.phone)
            .join(OptOut, OptOut.phone == Recipient.phone)
            .where(Recipient.campaign_id == campaign_id, OptOut.opted_out.is_(True))
        )
        opted_out_count = (
            await session.execute(select(func.count()).select_from(opted_out.subquery()))
        ).scalar_one()
        opted_out_first = list(
            (
                await session.execute(opted_out.order_by(Recipient.id).limit(OPTED_OUT_SHOWN))
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
        first = list(
            (
                await session.execute(
                    select(Recipient)
                    .where(Recipient.campaign_id == campaign_id)
                    .order_by(Recipient.id)
                    .limit(samples)
                )
            ).scalars()
        )
    template = compile_template(campaign.message_template)
    stats = MessageStats.from_json(campaign.message_stats)
    choice = SenderChoice(SenderMode(campaign.sender_mode), tuple(campaign.from_numbers))
    mps = messages_per_second(ctx.settings, choice)
    return Preview(
        view=CampaignView(campaign, counts),
        import_report=campaign.import_report,
        opted_out_count=opted_out_count,
        opted_out=opted_out_first,
        samples=[
            SampleMessage(r.row, r.phone, template.render(r.variables).text, r.segments)
            for r in first
        ],
        stats=stats,
        cost=stats.cost(ctx.settings.PRICE_PER_SEGMENT, ctx.settings.PRICE_PER_MMS),
        currency=ctx.settings.PRICE_CURRENCY,
        messages_per_second=mps,
        send_duration=timedelta(seconds=stats.total_segments / mps),
        send_at=campaign.scheduled_at,
        outside_mms_area=outside_mms_area,
    )
