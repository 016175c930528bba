"""The delivery chart's data: bucketed in SQL, cumulative, with the failure reasons."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaigns.errors import NotFound
from campaigns.models import Recipient
from campaigns.service import Context, cancel_campaign
from campaigns.service.claims import OPTED_OUT, Outcome, SendResult, claim_batch, record_results
from campaigns.service.timeline import OPTED_OUT_LABEL, OTHER_LABEL, delivery_timeline
from campaigns.status import RecipientStatus
from tests.conftest import Clock
from tests.worker.test_reporting import SENDER, TOKEN, new_campaign, receipts, refuse, submit


async def _settle_at(ctx: Context, sids: list[str], at: object) -> None:
    """Date these messages' final status: receipts are stamped with the real clock, the test's
    clock is fixed, so the test says when each one settled."""
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Recipient).where(Recipient.twilio_sid.in_(sids)).values(updated_at=at)
        )


async def test_sent_delivered_and_failed_are_counted_by_when(ctx: Context, clock: Clock) -> None:
    t0 = clock.now
    campaign_id = await new_campaign(ctx, count=10)
    early = await submit(ctx, campaign_id, 4)
    clock.advance(seconds=60)
    late = await submit(ctx, campaign_id, 4)
    await refuse(ctx, campaign_id, 1, 21211, "Invalid 'To' Phone Number")
    await refuse(ctx, campaign_id, 1, None, OPTED_OUT)
    await receipts(ctx, early[:3], RecipientStatus.DELIVERED)
    await receipts(ctx, late[:2], RecipientStatus.DELIVERED)
    await receipts(ctx, late[2:3], RecipientStatus.UNDELIVERED, 30003)
    await _settle_at(ctx, early[:3], t0 + timedelta(seconds=30))
    await _settle_at(ctx, late[:3], t0 + timedelta(seconds=120))

    timeline = await delivery_timeline(ctx, campaign_id, buckets=4)
    assert timeline.start == t0 and timeline.total == 10
    rows = [(p.seconds, p.sent, p.delivered, p.failed) for p in timeline.points]
    # 30 s buckets over 0-120 s, each point the totals at the end of its bucket.
    assert rows == [
        (0.0, 0, 0, 0),
        (30.0, 4, 0, 0),
        (60.0, 4, 3, 0),
        (90.0, 8, 3, 2),
        (120.0, 8, 3, 2),
        (150.0, 8, 5, 3),
    ]
    assert [(r.label, r.count) for r in timeline.reasons] == [
        ("21211: Invalid 'To' Phone Number", 1),
        ("30003: The phone is switched off or out of…", 1),
        (OPTED_OUT_LABEL, 1),
    ]
    assert timeline.awaiting_receipt == 2 and not timeline.final  # one early, one late


async def test_the_most_common_reasons_then_other(ctx: Context) -> None:
    campaign_id = await new_campaign(ctx, count=9)
    for code, count in [(21211, 3), (21612, 2), (30007, 2), (21408, 1), (21614, 1)]:
        await refuse(ctx, campaign_id, count, code, f"refused with {code}")
    reasons = (await delivery_timeline(ctx, campaign_id)).reasons
    assert [(r.label, r.count) for r in reasons] == [
        ("21211: refused with 21211", 3),
        ("21612: refused with 21612", 2),
        ("30007: refused with 30007", 2),
        (OTHER_LABEL, 2),
    ]


async def test_sent_at_is_written_with_the_sid_once(ctx: Context, clock: Clock) -> None:
    campaign_id = await new_campaign(ctx, count=1)
    [claimed] = await claim_batch(ctx, campaign_id, 1, token=TOKEN, lease=60)
    async with ctx.db.read() as session:
        assert await session.scalar(select(Recipient.sent_at)) is None  # claimed is not sent
    sid = f"SM{uuid.uuid4().hex}"
    result = SendResult(claimed.id, Outcome.SUBMITTED, sender=SENDER, twilio_sid=sid)
    await record_results(ctx, [result], token=TOKEN)
    sent_at = clock.now
    clock.advance(seconds=30)
    await record_results(ctx, [result], token=TOKEN)  # recorded again: still when it was sent
    async with ctx.db.read() as session:
        assert await session.scalar(select(Recipient.sent_at)) == sent_at


async def test_nothing_sent_yet_is_an_empty_timeline(ctx: Context) -> None:
    campaign_id = await new_campaign(ctx, count=3)
    timeline = await delivery_timeline(ctx, campaign_id)
    assert timeline.empty and timeline.start is None and timeline.total == 3


async def test_an_unknown_campaign_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound):
        await delivery_timeline(ctx, "smsc_nosuchcampaign")


async def test_the_cancelled_are_counted(ctx: Context) -> None:
    """What the chart says of a campaign cancelled part-way: the ones never sent."""
    campaign_id = await new_campaign(ctx, count=10)
    await submit(ctx, campaign_id, 4)
    assert (await delivery_timeline(ctx, campaign_id)).cancelled == 0
    await cancel_campaign(ctx, campaign_id, actor="slack:U0BOB")
    timeline = await delivery_timeline(ctx, campaign_id)
    assert timeline.cancelled == 6 and timeline.total == 10
