"""Test messages ("Send a test to me"): the campaign's first message, to the person who asked.

A test is no recipient of the campaign, but Twilio bills it: it is recorded before it is handed
to the worker, counted in the month's spend (campaigns/service/spend.py) and against the
person's hourly limit (TEST_SENDS_PER_HOUR), and refused when it would take the month over
MONTHLY_BUDGET. The limit and the budget are checked and the test recorded in one transaction,
under a lock per person, so two clicks at once cannot both slip under the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import LimitError, NotFound, SpendCapError
from campaigns.models import Campaign, Recipient, TestSend
from campaigns.privacy import mask
from campaigns.segments import count_segments
from campaigns.service.context import Context
from campaigns.service.frequency import lock_numbers
from campaigns.service.spend import month_spend, test_price
from campaigns.settings import Settings
from campaigns.status import TestSendStatus
from campaigns.templates import compile_template

WINDOW = timedelta(hours=1)


class TooManyTests(LimitError):
    """The person sent TEST_SENDS_PER_HOUR tests in the last hour already."""


@dataclass(frozen=True, slots=True)
class ReservedTest:
    id: int
    campaign_id: str


async def reserve_test_send(ctx: Context, campaign_id: str, actor: str, phone: str) -> ReservedTest:
    """Record a test of the campaign to `phone` for `actor`, or refuse it (TooManyTests,
    SpendCapError) with what to do."""
    settings = ctx.settings
    async with ctx.db.transaction() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound("This campaign no longer exists: open the preview again.")
        await lock_numbers(ctx, session, [f"test-send:{actor}"])
        clock = await ctx.db.now(session)
        await _refuse_over_limit(session, settings, actor, clock)
        segments, mms = await _first_message_cost(session, campaign)
        if settings.MONTHLY_BUDGET is not None:
            cost = test_price(settings, segments, mms)
            spent = await month_spend(session, settings, ctx.now())
            if spent + cost > settings.MONTHLY_BUDGET:
                raise SpendCapError(
                    f"No test was sent: this month's spend ({_money(settings, spent)}) has "
                    f"reached the {_money(settings, settings.MONTHLY_BUDGET)} budget. Ask "
                    "whoever runs Textcast to raise it, or wait for next month.",
                    field="spend",
                )
        test = TestSend(campaign_id=campaign_id, actor=actor, to_masked=mask(phone),
                        segments=segments, mms=mms, status=TestSendStatus.QUEUED,
                        created_at=clock)  # fmt: skip
        session.add(test)
        await session.flush()
        audit.record(session, actor, "campaign.test_send", campaign_id, to=mask(phone))
        return ReservedTest(test.id, campaign_id)


async def settle_test_send(
    ctx: Context, test_id: int, status: TestSendStatus, twilio_sid: str | None = None
) -> None:
    """What became of the test: sent (with Twilio's SID), unknown, or not sent."""
    async with ctx.db.transaction() as session:
        await session.execute(
            update(TestSend)
            .where(TestSend.id == test_id)
            .values(status=status, twilio_sid=twilio_sid)
        )


async def _refuse_over_limit(
    session: AsyncSession, settings: Settings, actor: str, clock: datetime
) -> None:
    limit = settings.TEST_SENDS_PER_HOUR
    if limit == 0:
        raise TooManyTests(
            "Test messages are turned off here: ask whoever runs Textcast if you need them.",
            field="test",
        )
    recent = await session.execute(
        select(TestSend.created_at)
        .where(TestSend.actor == actor, TestSend.created_at > clock - WINDOW)
        .order_by(TestSend.created_at)
    )
    times = list(recent.scalars())
    if len(times) >= limit:
        wait = times[len(times) - limit] + WINDOW - clock
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        raise TooManyTests(
            f"You have sent {len(times)} tests in the last hour, the most one person may. "
            f"The next can go in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            field="test",
        )


async def _first_message_cost(session: AsyncSession, campaign: Campaign) -> tuple[int, bool]:
    """The segments of the message the test sends (the first recipient's), and whether it is
    a picture message (priced by the message)."""
    if campaign.media_urls:
        return 1, True
    first = await session.execute(
        select(Recipient.variables)
        .where(Recipient.campaign_id == campaign.id)
        .order_by(Recipient.id)
        .limit(1)
    )
    variables = first.scalar_one_or_none()
    try:
        body = compile_template(campaign.message_template).render(
            variables if isinstance(variables, dict) else {}
        )
        return max(1, count_segments(body.text).segments), False
    except Exception:  # the worker refuses it then: priced as one part meanwhile
        return 1, False


def _money(settings: Settings, amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))} {settings.PRICE_CURRENCY}"
