"""Reading campaigns: a newest-first list with counts, and one campaign with its recipients.

Both page with opaque cursors (keyset pagination), so a page costs the same however deep it is.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from campaigns.errors import InputError
from campaigns.models import Campaign, Recipient
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context

MAX_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class CampaignPage:
    items: list[CampaignView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CampaignDetail:
    view: CampaignView
    recipients: list[Recipient]  # detached rows, in input order
    next_cursor: str | None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}.", field="limit")
    return limit


def _encode(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def _decode(cursor: str, parts: int) -> list[str]:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error, or non-ASCII text
        decoded = ""
    values = decoded.split("|")
    if len(values) != parts or not all(values):
        raise InputError("The cursor is not one this server gave out.", field="cursor")
    return values


async def list_campaigns(
    ctx: Context, *, limit: int = 50, cursor: str | None = None, source: str | None = None
) -> CampaignPage:
    """Newest first, each with its counts (one count query for the whole page)."""
    query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if source:
        query = query.where(Campaign.source == source)
    if cursor:
        created_text, last_id = _decode(cursor, 2)
        try:
            created = datetime.fromisoformat(created_text)
        except ValueError:
            raise InputError(
                "The cursor is not one this server gave out.", field="cursor"
            ) from None
        query = query.where(
            or_(
                Campaign.created_at < created,
                and_(Campaign.created_at == created, Campaign.id < last_id),
            )
        )
    async with ctx.db.read() as session:
        campaigns = list((await session.execute(query.limit(_limit(limit) + 1))).scalars())
        more = len(campaigns) > limit
        campaigns = campaigns[:limit]
        counts = await counts_for(session, [c.id for c in campaigns])
    last = campaigns[-1] if more else None
    next_cursor = _encode(last.created_at.isoformat(), last.id) if last else None
    return CampaignPage([CampaignView(c, counts[c.id]) for c in campaigns], next_cursor)


async def get_campaign(
    ctx: Context,
    campaign_id: str,
    *,
    recipients_limit: int = 100,
    cursor: str | None = None,
    status: str | None = None,
) -> CampaignDetail:
    """One campaign, its counts, and a page of its recipients (optionally of one status)."""
    query = select(Recipient).where(Recipient.campaign_id == campaign_id).order_by(Recipient.id)
    if status:
        query = query.where(Recipient.status == status)
    if cursor:
        (after,) = _decode(cursor, 1)
        if not after.isdigit():
            raise InputError("The cursor is not one this server gave out.", field="cursor")
        query = query.where(Recipient.id > int(after))
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        counts = (await counts_for(session, [campaign_id]))[campaign_id]
        limit = _limit(recipients_limit)
        recipients = list((await session.execute(query.limit(limit + 1))).scalars())
    more = len(recipients) > limit
    recipients = recipients[:limit]
    next_cursor = _encode(str(recipients[-1].id)) if more else None
    return CampaignDetail(CampaignView(campaign, counts), recipients, next_cursor)
