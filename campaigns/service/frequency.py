"""Who is over the frequency cap: numbers that other campaigns texted (or are texting) in the
window, counted on the database's clock.

At send time, a claimed recipient is over the cap when other campaigns' messages to its number,
claimed in the window before its own claim, reach the cap. Claims still in flight count, in the
order they were made, so two campaigns texting one number at once send one message, not two
and not none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from campaigns.frequency import FrequencyCap
from campaigns.models import Campaign, Recipient
from campaigns.service.claims import Claimed
from campaigns.service.context import Context
from campaigns.status import RecipientStatus

# Campaigns whose messages are not campaign messages: one-to-one answers from Slack.
NOT_COUNTED = ("reply",)
_CHUNK = 500


def _counted() -> ColumnElement[bool]:
    """A message that went, or may be going: handed to Twilio, or claimed to be."""
    return or_(Recipient.twilio_sid.is_not(None), Recipient.status == RecipientStatus.QUEUED)


async def over_frequency_cap(
    ctx: Context, campaign_id: str, claims: Sequence[Claimed], cap: FrequencyCap
) -> set[int]:
    """The ids of `claims` whose numbers are at their cap already."""
    over: set[int] = set()
    async with ctx.db.read() as session:
        for start in range(0, len(claims), _CHUNK):
            chunk = claims[start : start + _CHUNK]
            mine = {c.phone: c for c in chunk}
            since = min(c.claimed_at for c in chunk) - cap.window
            rows = await session.execute(
                select(Recipient.phone, Recipient.claimed_at, Recipient.id)
                .join(Campaign, Campaign.id == Recipient.campaign_id)
                .where(
                    Recipient.phone.in_(list(mine)),
                    Recipient.campaign_id != campaign_id,
                    Campaign.source.not_in(NOT_COUNTED),
                    Recipient.claimed_at >= since,
                    _counted(),
                )
            )
            earlier: dict[str, int] = {}
            for phone, claimed_at, other_id in rows:
                claim = mine[phone]
                in_window = claimed_at >= claim.claimed_at - cap.window
                if in_window and (claimed_at, other_id) < (claim.claimed_at, claim.id):
                    earlier[phone] = earlier.get(phone, 0) + 1
            over.update(mine[p].id for p, n in earlier.items() if n >= cap.messages)
    return over


async def capped_in_campaign(
    ctx: Context, campaign_id: str, cap: FrequencyCap, at: datetime
) -> int:
    """For the preview: recipients whose numbers other campaigns texted `cap.messages` times
    or more in the window before `at` (as things stand now), who would fail `frequency_cap`."""
    other = aliased(Recipient)
    async with ctx.db.read() as session:
        texted = (
            select(Recipient.phone)
            .join(other, and_(other.phone == Recipient.phone, other.campaign_id != campaign_id))
            .join(Campaign, Campaign.id == other.campaign_id)
            .where(
                Recipient.campaign_id == campaign_id,
                Campaign.source.not_in(NOT_COUNTED),
                other.claimed_at >= at - cap.window,
                or_(other.twilio_sid.is_not(None), other.status == RecipientStatus.QUEUED),
            )
            .group_by(Recipient.phone)
            .having(func.count(other.id) >= cap.messages)
        )
        return (
            await session.execute(select(func.count()).select_from(texted.subquery()))
        ).scalar_one()


async def capped_among(ctx: Context, phones: Sequence[str], cap: FrequencyCap, at: datetime) -> int:
    """For a preview of a list not stored: how many of `phones` campaigns texted `cap.messages`
    times or more in the window before `at`."""
    capped = 0
    async with ctx.db.read() as session:
        for start in range(0, len(phones), _CHUNK):
            texted = (
                select(Recipient.phone)
                .join(Campaign, Campaign.id == Recipient.campaign_id)
                .where(
                    Recipient.phone.in_(list(phones[start : start + _CHUNK])),
                    Campaign.source.not_in(NOT_COUNTED),
                    Recipient.claimed_at >= at - cap.window,
                    _counted(),
                )
                .group_by(Recipient.phone)
                .having(func.count(Recipient.id) >= cap.messages)
            )
            capped += (
                await session.execute(select(func.count()).select_from(texted.subquery()))
            ).scalar_one()
    return capped


__all__ = ["NOT_COUNTED", "capped_among", "capped_in_campaign", "over_frequency_cap"]
