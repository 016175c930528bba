"""A campaign's delivery over time: how many messages were sent, delivered and failed by when,
and why they failed; what the delivery chart draws.

Counted in the database, a few aggregate queries over the campaign's rows, bucketed by time: a
100,000-recipient campaign is never read into memory row by row. When a message was sent is its
`sent_at` (written with its SID); when it ended delivered, undelivered or failed is its
`updated_at` (statuses only move forward, so the last write is the final one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.models import Recipient
from campaigns.service.claims import OPTED_OUT
from campaigns.service.common import load_campaign
from campaigns.service.context import Context
from campaigns.service.report import failure_reason
from campaigns.status import FINISHED, RecipientStatus

BUCKETS = 60  # points on the curve: enough for its shape, few enough to stay a few rows
REASONS_SHOWN = 3  # the most common failure reasons by name; the rest are "Other"
REASON_LENGTH = 44  # a legend line, not the whole explanation (the summary has that)
OPTED_OUT_LABEL = "Opted out (STOP)"
OTHER_LABEL = "Other"

_FAILED = (RecipientStatus.FAILED, RecipientStatus.UNDELIVERED)
_FINAL = (RecipientStatus.DELIVERED, *_FAILED)


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """Totals so far, `seconds` after the first message was sent or settled."""

    seconds: float
    sent: int
    delivered: int
    failed: int


@dataclass(frozen=True, slots=True)
class ReasonCount:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class DeliveryTimeline:
    campaign_id: str
    name: str
    status: str
    start: datetime | None  # the first message's time; None when nothing was sent or settled
    points: tuple[TimelinePoint, ...]  # cumulative, in time order, from (0, 0, 0, 0)
    reasons: tuple[ReasonCount, ...]  # most common first, then "Other"
    total: int  # recipients in the campaign
    awaiting_receipt: int  # handed to Twilio, no final status yet
    cancelled: int = 0  # recipients never sent because the campaign was cancelled

    @property
    def final(self) -> bool:
        """The campaign is over and every receipt is in: the curve will not change."""
        return self.status in FINISHED and self.awaiting_receipt == 0

    @property
    def empty(self) -> bool:
        """Nothing was sent, delivered or failed yet: there is no curve to draw."""
        return not self.points


def _epoch(ctx: Context, column: ColumnElement[Any]) -> ColumnElement[float]:
    """Seconds since 1970 of a stored time, as a float, in the database's own terms."""
    if ctx.db.dialect == "postgresql":
        return cast(func.extract("epoch", column), Float)
    # SQLite keeps times as UTC text; julianday's float is a few microseconds off, which would
    # tip a time on a bucket's edge into the bucket before: milliseconds are exact enough.
    return func.round((func.julianday(column) - 2440587.5) * 86400.0, 3)


def _sent_time() -> ColumnElement[Any]:
    # A row written before sent_at existed (or without it) is dated by its last write instead.
    return case(
        (Recipient.twilio_sid.is_not(None), func.coalesce(Recipient.sent_at, Recipient.updated_at))
    )


def _awaiting() -> ColumnElement[bool]:
    return Recipient.twilio_sid.is_not(None) & Recipient.status.in_(
        (RecipientStatus.QUEUED, RecipientStatus.SENT)
    )


def _cancelled() -> ColumnElement[bool]:
    return Recipient.status == RecipientStatus.CANCELLED


def _settled_time() -> ColumnElement[Any]:
    return case((Recipient.status.in_(_FINAL), Recipient.updated_at))


async def delivery_timeline(
    ctx: Context, campaign_id: str, *, buckets: int = BUCKETS
) -> DeliveryTimeline:
    """What the delivery chart shows; raises NotFound for an unknown campaign."""
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        mine = Recipient.campaign_id == campaign_id
        sent_at, settled_at = _epoch(ctx, _sent_time()), _epoch(ctx, _settled_time())
        bounds = select(
            func.min(sent_at), func.min(settled_at), func.max(sent_at), func.max(settled_at),
            func.count(), func.coalesce(func.sum(case((_awaiting(), 1), else_=0)), 0),
            func.coalesce(func.sum(case((_cancelled(), 1), else_=0)), 0),
        ).where(mine)  # fmt: skip
        first_sent, first_settled, last_sent, last_settled, total, awaiting, cancelled = (
            await session.execute(bounds)
        ).one()
        starts = [float(t) for t in (first_sent, first_settled) if t is not None]
        ends = [float(t) for t in (last_sent, last_settled) if t is not None]
        points: tuple[TimelinePoint, ...] = ()
        start: datetime | None = None
        if starts:
            begin, end = min(starts), max(ends)
            width = max((end - begin) / buckets, 1.0)
            count = min(int((end - begin) / width) + 1, buckets + 1)
            points = await _points(session, ctx, campaign_id, begin, width, count)
            start = datetime.fromtimestamp(begin, tz=UTC)
        reasons = await _reasons(session, campaign_id)
    return DeliveryTimeline(
        campaign_id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        start=start,
        points=points,
        reasons=reasons,
        total=int(total),
        awaiting_receipt=int(awaiting),
        cancelled=int(cancelled),
    )


async def _points(
    session: AsyncSession, ctx: Context, campaign_id: str, begin: float, width: float, count: int
) -> tuple[TimelinePoint, ...]:
    """Cumulative totals at the end of each of `count` buckets of `width` seconds."""

    def bucket(time: ColumnElement[Any]) -> ColumnElement[int]:
        offset = (_epoch(ctx, time) - literal(begin, Float)) / literal(width, Float)
        return cast(offset, Integer).label("bucket")

    mine = Recipient.campaign_id == campaign_id
    sent_bucket = bucket(func.coalesce(Recipient.sent_at, Recipient.updated_at))
    sent_rows = await session.execute(
        select(sent_bucket, func.count())
        .where(mine, Recipient.twilio_sid.is_not(None))
        .group_by(sent_bucket)
    )
    settled_bucket = bucket(Recipient.updated_at)
    is_delivered = Recipient.status == RecipientStatus.DELIVERED
    settled_rows = await session.execute(
        select(
            settled_bucket,
            func.sum(case((is_delivered, 1), else_=0)),
            func.sum(case((is_delivered, 0), else_=1)),
        )
        .where(mine, Recipient.status.in_(_FINAL))
        .group_by(settled_bucket)
    )
    sent = [0] * count
    delivered = [0] * count
    failed = [0] * count

    def slot(index: int | None) -> int:  # a clock a hair off puts a row just outside the range
        return min(max(int(index or 0), 0), count - 1)

    for index, n in sent_rows:
        sent[slot(index)] += int(n)
    for index, ok, bad in settled_rows:
        delivered[slot(index)] += int(ok or 0)
        failed[slot(index)] += int(bad or 0)
    points = [TimelinePoint(0.0, 0, 0, 0)]
    totals = [0, 0, 0]
    for i in range(count):
        totals = [totals[0] + sent[i], totals[1] + delivered[i], totals[2] + failed[i]]
        points.append(TimelinePoint((i + 1) * width, *totals))
    return tuple(points)


async def _reasons(session: AsyncSession, campaign_id: str) -> tuple[ReasonCount, ...]:
    """Why messages failed, most common first: the top few by name, then the rest as Other."""
    # Grouped by its label: PostgreSQL would not match a repeated expression's bound parameter.
    opt_out = (func.coalesce(Recipient.error_reason, "") == OPTED_OUT).label("opted_out")
    rows = await session.execute(
        select(Recipient.error_code, opt_out, func.max(Recipient.error_reason), func.count())
        .where(Recipient.campaign_id == campaign_id, Recipient.status.in_(_FAILED))
        .group_by(Recipient.error_code, opt_out)
    )
    counts: dict[str, int] = {}
    for code, is_opt_out, reason, n in rows:
        label = OPTED_OUT_LABEL if is_opt_out else _label(code, reason)
        counts[label] = counts.get(label, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [ReasonCount(label, n) for label, n in ranked[:REASONS_SHOWN]]
    rest = sum(n for _, n in ranked[REASONS_SHOWN:])
    if rest:
        shown.append(ReasonCount(OTHER_LABEL, rest))
    return tuple(shown)


def _label(code: int | None, stored: str | None) -> str:
    text = failure_reason(code, stored)
    text = f"{code}: {text}" if code is not None else text
    if len(text) > REASON_LENGTH:
        text = text[: REASON_LENGTH - 1].rstrip() + "…"
    return text
