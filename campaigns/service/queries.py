"""Reading campaigns: a newest-first list with counts, and one campaign with its recipients.

Both page with opaque cursors (keyset pagination), so a page costs the same however deep it is.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from campaigns.models import AuditEntry, Campaign, Recipient
from campaigns.service.common import CampaignView, counts_for, load_campaign
from campaigns.service.context import Context
from campaigns.service.conversation import REPLY
from campaigns.service.cursors import (
    checked_limit,
    decode,
    decode_id_cursor,
    encode_cursor,
    not_ours,
)
from campaigns.status import RecipientStatus, statuses_listed

CAMPAIGN_ID = re.compile(r"[a-z0-9_]{1,64}")


@dataclass(frozen=True, slots=True)
class CampaignPage:
    items: list[CampaignView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CampaignDetail:
    view: CampaignView
    recipients: list[Recipient]  # detached rows, in input order
    next_cursor: str | None


def _decode_list_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at in UTC, campaign id) of the last campaign on the previous page."""
    created_text, last_id = decode(cursor, 2)
    try:
        created = datetime.fromisoformat(created_text)
        # The server writes UTC times with an offset: a naive time or one out of range (which
        # the database could not compare) was not written by it.
        if created.tzinfo is None:
            raise ValueError(created_text)
        created = created.astimezone(UTC)
    except (ValueError, OverflowError):
        raise not_ours() from None
    if not CAMPAIGN_ID.fullmatch(last_id):
        raise not_ours()
    return created, last_id


async def list_campaigns(
    ctx: Context, *, limit: int = 50, cursor: str | None = None, source: str | None = None
) -> CampaignPage:
    """Newest first, each with its counts (one count query for the whole page)."""
    query = (
        select(Campaign)
        .where(Campaign.source != REPLY)  # an answer typed in Slack is shown in its thread
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    if source:
        query = query.where(Campaign.source == source)
    if cursor:
        created, last_id = _decode_list_cursor(cursor)
        query = query.where(
            or_(
                Campaign.created_at < created,
                and_(Campaign.created_at == created, Campaign.id < last_id),
            )
        )
    async with ctx.db.read() as session:
        campaigns = list((await session.execute(query.limit(checked_limit(limit) + 1))).scalars())
        more = len(campaigns) > limit
        campaigns = campaigns[:limit]
        counts = await counts_for(session, [c.id for c in campaigns])
    last = campaigns[-1] if more else None
    next_cursor = encode_cursor(last.created_at.isoformat(), last.id) if last else None
    return CampaignPage([CampaignView(c, counts[c.id]) for c in campaigns], next_cursor)


async def get_campaign(
    ctx: Context,
    campaign_id: str,
    *,
    recipients_limit: int = 100,
    cursor: str | None = None,
    status: str | None = None,
) -> CampaignDetail:
    """One campaign, its counts, and a page of its recipients (optionally those `status` lists:
    a count's name lists what that count counts, `statuses_listed`)."""
    query = select(Recipient).where(Recipient.campaign_id == campaign_id).order_by(Recipient.id)
    if status:
        query = query.where(Recipient.status.in_(statuses_listed(RecipientStatus(status))))
    if cursor:
        query = query.where(Recipient.id > decode_id_cursor(cursor))
    async with ctx.db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        counts = (await counts_for(session, [campaign_id]))[campaign_id]
        limit = checked_limit(recipients_limit)
        recipients = list((await session.execute(query.limit(limit + 1))).scalars())
    more = len(recipients) > limit
    recipients = recipients[:limit]
    next_cursor = encode_cursor(str(recipients[-1].id)) if more else None
    return CampaignDetail(CampaignView(campaign, counts), recipients, next_cursor)


EXPORT_PAGE = 1_000


async def campaign_by_id(ctx: Context, campaign_id: str) -> Campaign:
    """The campaign alone, without counts (NotFound when there is none)."""
    async with ctx.db.read() as session:
        return await load_campaign(session, campaign_id)


async def recipient_pages(
    ctx: Context, campaign_id: str, *, page_size: int = EXPORT_PAGE
) -> AsyncIterator[list[Recipient]]:
    """Every recipient of a campaign, in input order, a page at a time: an export of 100,000
    never sits whole in memory. Each page is its own short read (keyset on id), so a slow reader
    holds no connection between pages; rows that change meanwhile show as they are when read."""
    after = 0
    while True:
        query = (
            select(Recipient)
            .where(Recipient.campaign_id == campaign_id, Recipient.id > after)
            .order_by(Recipient.id)
            .limit(page_size)
        )
        async with ctx.db.read() as session:
            page = list((await session.execute(query)).scalars())
        if page:
            yield page
        if len(page) < page_size:
            return
        after = page[-1].id


async def audit_entries(
    ctx: Context, *, actor: str | None = None, campaign_id: str | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The audit log, newest first: everything one actor (`api:key_...`, `slack:U...`) or one
    campaign did or had done to it."""
    entries, _ = await audit_page(ctx, actor=actor, campaign_id=campaign_id, limit=limit)
    return entries


async def audit_page(
    ctx: Context, *, actor: str | None = None, campaign_id: str | None = None, limit: int = 50
) -> tuple[list[AuditEntry], bool]:
    """`audit_entries`, and whether older entries matched beyond `limit`."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(checked_limit(limit) + 1)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if campaign_id:
        query = query.where(AuditEntry.campaign_id == campaign_id)
    async with ctx.db.read() as session:
        entries = list((await session.execute(query)).scalars())
    return entries[:limit], len(entries) > limit


# The report's order: what someone must look at first (the failed), then what is still open,
# then what went well. A message Twilio has queued (it has a SID) waits for its receipt like a
# sent one; one queued without a SID has not left yet.
_HANDED_OFF = Recipient.twilio_sid.is_not(None)
REPORT_GROUPS: tuple[tuple[str, ColumnElement[bool]], ...] = (
    ("failed", Recipient.status.in_((RecipientStatus.FAILED, RecipientStatus.UNDELIVERED))),
    ("no_receipt", (Recipient.status == RecipientStatus.SENT)
     | ((Recipient.status == RecipientStatus.QUEUED) & _HANDED_OFF)),
    ("pending", (Recipient.status == RecipientStatus.PENDING)
     | ((Recipient.status == RecipientStatus.QUEUED) & ~_HANDED_OFF)),
    ("cancelled", Recipient.status == RecipientStatus.CANCELLED),
    ("delivered", Recipient.status == RecipientStatus.DELIVERED),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatusPage:
    groups: list[tuple[str, list[Recipient]]]  # (group name, its recipients on this page), in order
    next_cursor: str | None


def _decode_group_cursor(cursor: str) -> tuple[int, int]:
    group, after = decode(cursor, 2)
    if not (group.isascii() and group.isdigit() and int(group) < len(REPORT_GROUPS)):
        raise not_ours()
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise not_ours()
    return int(group), int(after)


async def recipients_by_status(
    ctx: Context, campaign_id: str, *, limit: int = 40, cursor: str | None = None
) -> StatusPage:
    """A page of a campaign's recipients, the failed first (REPORT_GROUPS), each group in input
    order; keyset paged on (group, id), so a deep page costs what the first does."""
    limit = checked_limit(limit)
    group, after = _decode_group_cursor(cursor) if cursor else (0, 0)
    found: list[tuple[str, list[Recipient]]] = []
    taken = 0
    more = False
    last: tuple[int, int] | None = None
    async with ctx.db.read() as session:
        await load_campaign(session, campaign_id)  # NotFound for an unknown campaign
        for index in range(group, len(REPORT_GROUPS)):
            name, belongs = REPORT_GROUPS[index]
            query = (
                select(Recipient)
                .where(Recipient.campaign_id == campaign_id, belongs,
                       Recipient.id > (after if index == group else 0))
                .order_by(Recipient.id)
                .limit(limit - taken + 1)
            )  # fmt: skip
            rows = list((await session.execute(query)).scalars())
            if taken + len(rows) > limit:
                rows = rows[: limit - taken]
                more = True
            if rows:
                found.append((name, rows))
                taken += len(rows)
                last = (index, rows[-1].id)
            if more:
                break
            if taken == limit:
                # Full: whether a later group holds anyone decides if there is a next page.
                more = await _any_after(session, campaign_id, index)
                break
    next_cursor = encode_cursor(str(last[0]), str(last[1])) if more and last else None
    return StatusPage(found, next_cursor)


async def _any_after(session: Any, campaign_id: str, index: int) -> bool:
    later = [belongs for _, belongs in REPORT_GROUPS[index + 1 :]]
    if not later:
        return False
    query = select(Recipient.id).where(Recipient.campaign_id == campaign_id, or_(*later))
    return (await session.execute(query.limit(1))).first() is not None
