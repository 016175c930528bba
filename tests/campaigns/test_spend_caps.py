"""Spend caps: MAX_CAMPAIGN_COST and MONTHLY_BUDGET refuse a confirmation with the figures, the
preview shows the month's spend against the budget, and a refused campaign leaves nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from campaigns.db import Database
from campaigns.errors import SpendCapError
from campaigns.models import Campaign
from campaigns.recipients import check_recipient_list
from campaigns.service import Context, create_campaign, launch_campaign, preview_campaign
from tests.campaigns.test_service_create import new_campaign, people
from tests.conftest import Clock, make_settings

ACTOR = "slack:U1"


def with_caps(db: Database, clock: Clock, **caps: str) -> Context:
    return Context(db=db, settings=make_settings(**caps), clock=clock)


async def stored(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return (await session.execute(select(func.count()).select_from(Campaign))).scalar_one()


async def test_a_campaign_over_its_cap_is_refused_with_the_figures(
    db: Database, clock: Clock
) -> None:
    ctx = with_caps(db, clock, MAX_CAMPAIGN_COST="0.05")
    # 10 recipients, one segment each at 0.0079: 0.079 USD.
    with pytest.raises(SpendCapError) as refused:
        await create_campaign(ctx, new_campaign(recipients=check_recipient_list(people(10), "GB")),
                              ACTOR)  # fmt: skip
    assert "about 0.08 USD" in refused.value.message and "0.05 USD" in refused.value.message
    assert "one campaign may cost" in refused.value.message
    assert await stored(ctx) == 0  # nothing half-written
    small = await create_campaign(ctx, new_campaign(), ACTOR)  # 3 recipients: 0.0237 USD
    assert small.campaign.status == "running"


async def test_the_month_budget_counts_what_was_sent_and_committed(
    db: Database, clock: Clock
) -> None:
    ctx = with_caps(db, clock, MONTHLY_BUDGET="0.10")
    many = check_recipient_list(people(10), "GB")  # 0.079 USD
    await create_campaign(ctx, new_campaign(recipients=many), ACTOR)
    draft = await create_campaign(ctx, new_campaign(recipients=check_recipient_list(
        people(5, start=50), "GB")), ACTOR, launch=False)  # 0.0395 USD  # fmt: skip
    preview = await preview_campaign(ctx, draft.campaign.id)
    assert preview.spend is not None
    assert preview.spend.month == Decimal("0.0790") and preview.spend.over_budget
    with pytest.raises(SpendCapError, match=r"0\.12 USD, over the 0\.10 USD monthly budget"):
        await launch_campaign(ctx, draft.campaign.id, ACTOR, consent_confirmed=True)
    # A draft does not count: only confirmed campaigns spend.
    again = await preview_campaign(ctx, draft.campaign.id)
    assert again.spend is not None and again.spend.month == Decimal("0.0790")


async def test_last_months_spend_does_not_count(db: Database, clock: Clock) -> None:
    ctx = with_caps(db, clock, MONTHLY_BUDGET="0.10")
    await create_campaign(ctx, new_campaign(recipients=check_recipient_list(people(10), "GB")),
                          ACTOR)  # fmt: skip
    clock.advance(days=10)  # 23 November + 10 days: December
    fresh = await create_campaign(ctx, new_campaign(recipients=check_recipient_list(
        people(10, start=50), "GB")), ACTOR)  # fmt: skip
    assert fresh.campaign.status == "running"
