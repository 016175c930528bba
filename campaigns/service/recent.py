"""Who on a list other campaigns texted lately. Without a frequency cap nothing stops a second
message the same day, so the preview warns when most of a list was texted in the last 24 hours
(by any campaign), with how many, when the latest went and from which campaign.

"Texted" means handed to Twilio (`sent_at`), judged on the database's clock. "Most" is at least
half of those who will be texted (opted-out numbers are left out of both counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from campaigns.models import Campaign, Recipient
from campaigns.service.context import Context
from campaigns.service.frequency import NOT_COUNTED, opted_out

RECENT = timedelta(hours=24)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RecentlyTexted:
    count: int  # of those who will be texted, how many other campaigns texted in the window
    of: int  # those who will be texted
    last_at: datetime  # UTC: the latest of those texts
    last_campaign: str  # the name of the campaign that sent it
    window: timedelta = RECENT


def mostly(count: int, of: int) -> bool:
    """At least half: a few regulars texted yesterday are normal, most of the list is not."""
    return of > 0 and count * 2 >= of


def _texted_since(
    since: datetime, *, campaign_id: str | None = None, phones: Sequence[str] = ()
) -> tuple[Select[Any], Any, Any]:
    """Other campaigns' messages handed to Twilio since `since` to the numbers of a stored
    campaign (its own opted-out numbers left out) or to `phones`; fresh aliases each call, so
    two of these can sit in one statement."""
    other, campaign = aliased(Recipient), aliased(Campaign)
    query = select().select_from(other).join(campaign, campaign.id == other.campaign_id)
    conditions = [other.sent_at >= since, campaign.source.not_in(NOT_COUNTED)]
    if campaign_id is not None:
        mine = aliased(Recipient)
        query = query.join(mine, and_(mine.phone == other.phone, mine.campaign_id == campaign_id))
        conditions += [other.campaign_id != campaign_id, ~opted_out(mine.phone)]
    else:
        conditions.append(other.phone.in_(list(phones)))
    return query.where(*conditions), other, campaign


async def _latest(
    session: AsyncSession, since: datetime, **which: Any
) -> tuple[int, datetime | None, str | None]:
    """How many numbers were texted since `since`, the latest text's time and campaign: one
    statement (the count is a scalar subquery of the same rows)."""
    counted, other, _ = _texted_since(since, **which)
    count = (
        counted.with_only_columns(func.count(func.distinct(other.phone)))
        .scalar_subquery()
        .correlate(None)
    )
    latest, other, campaign = _texted_since(since, **which)
    row = (
        await session.execute(
            latest.with_only_columns(other.sent_at, campaign.name, count)
            .order_by(other.sent_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return 0, None, None
    return int(row[2]), row[0], row[1]


async def recently_texted_in(
    ctx: Context, session: AsyncSession, campaign_id: str, of: int
) -> RecentlyTexted | None:
    """For a stored campaign's preview: a warning when most of those it will text were texted
    by other campaigns in the last 24 hours, else None."""
    since = await ctx.db.now(session) - RECENT
    count, last_at, name = await _latest(session, since, campaign_id=campaign_id)
    if last_at is None or not mostly(count, of):
        return None
    return RecentlyTexted(count, of, last_at, name or "")


async def recently_texted_among(ctx: Context, phones: Sequence[str]) -> RecentlyTexted | None:
    """The same for a list not stored (`phones`: those who will be texted, each once), asked
    500 numbers at a time."""
    count, last_at, name = 0, None, None
    async with ctx.db.read() as session:
        since = await ctx.db.now(session) - RECENT
        for start in range(0, len(phones), _CHUNK):
            found, at, which = await _latest(session, since, phones=phones[start : start + _CHUNK])
            count += found
            if at is not None and (last_at is None or at > last_at):
                last_at, name = at, which
    if last_at is None or not mostly(count, len(phones)):
        return None
    return RecentlyTexted(count, len(phones), last_at, name or "")
