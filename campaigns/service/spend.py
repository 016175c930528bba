"""Spend caps: what one campaign may cost (MAX_CAMPAIGN_COST) and what a calendar month may
(MONTHLY_BUDGET), checked when a campaign is confirmed.

The month's spend is an estimate, priced as the preview prices: every message Textcast handed
to Twilio in campaigns that started (or were due, or made) this month, UTC, plus what is still
to send in the ones that are scheduled, running or paused, plus the test messages sent this
month ("Send a test to me"). Twilio's invoice is the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.errors import SpendCapError
from campaigns.models import Campaign, Recipient, TestSend
from campaigns.settings import Settings
from campaigns.status import TEST_MAY_COST, CampaignStatus, RecipientStatus

__all__ = [
    "Spend", "SpendCapError", "month_spend", "refuse_over_caps", "spend_for", "test_price",
    "tests_spend",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Spend:
    """The figures the preview shows and the confirmation checks."""

    cost: Decimal  # this campaign's estimate
    month: Decimal  # the month's spend so far, without this campaign
    budget: Decimal | None  # MONTHLY_BUDGET
    campaign_cap: Decimal | None  # MAX_CAMPAIGN_COST
    currency: str

    @property
    def over_campaign_cap(self) -> bool:
        return self.campaign_cap is not None and self.cost > self.campaign_cap

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.month + self.cost > self.budget

    def refusal(self) -> str | None:
        """Why confirming is refused, with the figures and what to do; None when it is not."""
        money = self._money
        if self.over_campaign_cap:
            return (
                f"This campaign would cost about {money(self.cost)}, more than the "
                f"{money(self.campaign_cap)} one campaign may cost. Send "
                "it to fewer people, or shorten the message, or ask whoever runs Textcast to "
                "raise the cap."
            )
        if self.over_budget:
            return (
                f"This campaign (about {money(self.cost)}) would take this month's spend to "
                f"{money(self.month + self.cost)}, over the {money(self.budget)} monthly budget "
                f"({money(self.month)} spent or committed so far). Send it to "
                "fewer people, wait for next month, or ask whoever runs Textcast to raise it."
            )
        return None

    def _money(self, amount: Decimal | None) -> str:
        return f"{(amount or Decimal(0)).quantize(Decimal('0.01'))} {self.currency}"


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def month_spend(
    session: AsyncSession, settings: Settings, now: datetime, *, besides: str | None = None
) -> Decimal:
    """The month's estimated spend (module docstring), leaving out campaign `besides`."""
    when = func.coalesce(Campaign.started_at, Campaign.scheduled_at, Campaign.created_at)
    campaigns = select(Campaign.id).where(
        Campaign.status != CampaignStatus.DRAFT, when >= month_start(now)
    )
    if besides is not None:
        campaigns = campaigns.where(Campaign.id != besides)
    rows = await session.execute(
        select(Recipient.campaign_id, func.count(), func.sum(Recipient.segments))
        .where(
            Recipient.campaign_id.in_(campaigns),
            or_(
                Recipient.twilio_sid.is_not(None),
                Recipient.status.in_([RecipientStatus.PENDING, RecipientStatus.QUEUED]),
            ),
        )
        .group_by(Recipient.campaign_id)
    )
    sums = {campaign_id: (messages, int(segments or 0)) for campaign_id, messages, segments in rows}
    tests = await tests_spend(session, settings, month_start(now))
    if not sums:
        return tests
    # Picture messages are priced by the message (JSON cannot be grouped by in PostgreSQL).
    media = await session.execute(
        select(Campaign.id, Campaign.media_urls).where(Campaign.id.in_(list(sums)))
    )
    total = tests
    for campaign_id, media_urls in media:
        messages, segments = sums[campaign_id]
        if media_urls:
            total += messages * settings.PRICE_PER_MMS
        else:
            total += segments * settings.PRICE_PER_SEGMENT
    return total


def test_price(settings: Settings, segments: int, mms: bool) -> Decimal:
    """What one test message costs, priced as a campaign's messages are."""
    return settings.PRICE_PER_MMS if mms else segments * settings.PRICE_PER_SEGMENT


async def tests_spend(session: AsyncSession, settings: Settings, since: datetime) -> Decimal:
    """What the test messages made since `since` may have cost."""
    rows = await session.execute(
        select(TestSend.mms, func.count(), func.sum(TestSend.segments))
        .where(TestSend.created_at >= since, TestSend.status.in_(TEST_MAY_COST))
        .group_by(TestSend.mms)
    )
    total = Decimal(0)
    for mms, count, segments in rows:
        total += (
            count * test_price(settings, 1, True)
            if mms
            else test_price(settings, int(segments or 0), False)
        )
    return total


def caps_configured(settings: Settings) -> bool:
    """Whether any spend cap is set (MAX_CAMPAIGN_COST, MONTHLY_BUDGET)."""
    return settings.MAX_CAMPAIGN_COST is not None or settings.MONTHLY_BUDGET is not None


async def spend_for(
    session: AsyncSession, settings: Settings, now: datetime, campaign_id: str, cost: Decimal
) -> Spend:
    month = Decimal(0)
    if settings.MONTHLY_BUDGET is not None:
        month = await month_spend(session, settings, now, besides=campaign_id)
    return Spend(cost, month, settings.MONTHLY_BUDGET, settings.MAX_CAMPAIGN_COST,
                 settings.PRICE_CURRENCY)  # fmt: skip


def refuse_over_caps(spend: Spend) -> None:
    if (why := spend.refusal()) is not None:
        raise SpendCapError(why, field="spend")
