"""What a batch of Twilio status news means beyond the statuses themselves.

Which campaigns it touched (so their Slack summaries can be refreshed); the SID of a message
whose first callback beat the sender's own write of it; and the opt-outs that Twilio's error
21610 reveals: Twilio refuses a number that texted STOP, so the refusal is an opt-out we may not
have heard of (the STOP may have reached another app on the same number).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import func, literal, select, text, update

from campaigns.errors import InputError
from campaigns.models import Recipient, UTCDateTime
from campaigns.service.context import Context
from campaigns.service.optouts import opted_out_among, record_opt_out
from campaigns.settings import Settings
from campaigns.status import RecipientStatus

log = logging.getLogger(__name__)

OPT_OUT_SOURCE = "twilio_21610"


def status_news_key(settings: Settings) -> str:
    """The Redis set of campaign ids whose recipients moved: `textcast:status-news` by default.

    Only the name lives here, so that the web process (callbacks) and the worker (polling) add
    to the same set; the domain itself never talks to Redis.
    """
    return f"{settings.REDIS_NAMESPACE}:status-news"


async def campaigns_by_sid(ctx: Context, sids: Collection[str]) -> dict[str, str]:
    """The campaign of each of these Twilio SIDs that belongs to a recipient (one query)."""
    if not sids:
        return {}
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient.twilio_sid, Recipient.campaign_id).where(
                Recipient.twilio_sid.in_(list(sids))
            )
        )
        return {sid: campaign_id for sid, campaign_id in rows if sid is not None}


async def campaigns_of_sids(ctx: Context, sids: Collection[str]) -> set[str]:
    """The campaigns these Twilio SIDs belong to (one query; unknown SIDs are skipped)."""
    return set((await campaigns_by_sid(ctx, sids)).values())


async def attach_sids(ctx: Context, found: Sequence[tuple[int, str, str | None]]) -> int:
    """Store each (recipient id, SID, To) on a recipient that has no SID yet; returns how many.

    For a status callback that names a message Textcast holds no SID for: its URL names the
    recipient (`rid`), its signature vouches for the pairing, and its `To` must be the
    recipient's number. That is the message the recipient's request made, however the request
    ended: its answer beat the sender's own write, or was lost (the recipient waits in
    quarantine for a lookup, and this settles it), or a lookup found nothing yet and gave the
    recipient back to be sent (this stops the resend, unless it is already under way).
    """
    if not found:
        return 0
    if ctx.db.dialect == "postgresql":
        return len(await _attach_postgresql(ctx, found))
    attached = 0
    async with ctx.db.transaction() as session:
        held = await session.execute(
            select(Recipient.twilio_sid).where(Recipient.twilio_sid.in_([s for _, s, _ in found]))
        )
        taken = set(held.scalars())
        now = ctx.now()
        connection = await session.connection()
        # Few (a race's losers), and asyncpg cannot count executemany. In id order, as every
        # writer of many recipients locks them (set_writes.py): the sender writes these too.
        for rid, sid, to in sorted(found, key=lambda one: one[0]):
            if sid in taken:  # already some recipient's: never two rows on one message
                continue
            where = [
                Recipient.id == rid,
                Recipient.twilio_sid.is_(None),
                Recipient.status.in_([RecipientStatus.QUEUED, RecipientStatus.PENDING]),
            ]
            if to is not None:
                where.append(Recipient.phone == to)
            result = await connection.execute(
                update(Recipient.__table__)
                .where(*where)
                .values(
                    twilio_sid=sid,
                    sent_at=func.coalesce(Recipient.sent_at, literal(now, UTCDateTime())),
                    status=RecipientStatus.QUEUED,
                    claim_token=None,
                    lease_until=None,
                    unknown_since=None,
                    check_at=None,
                    error_code=None,
                    error_reason=None,
                )
            )
            attached += max(result.rowcount, 0)
            taken.add(sid)
    return attached


async def attach_sids_by_campaign(
    ctx: Context, found: Sequence[tuple[int, str, str | None]]
) -> dict[str, str] | None:
    """`attach_sids`, and on PostgreSQL the campaign of each SID attached (None on SQLite)."""
    if ctx.db.dialect != "postgresql":
        await attach_sids(ctx, found)
        return None
    return dict(await _attach_postgresql(ctx, found)) if found else {}


# The conditions attach_sids checks, in one statement: the rows are locked in id order first (the
# sender writes them too), and each is judged again on its newest version as it is updated.
_ATTACH = f"""
WITH f AS (
    SELECT * FROM unnest(CAST(:rids AS bigint[]), CAST(:sids AS text[]), CAST(:tos AS text[]))
        AS f(rid, sid, dest)
),
locked AS MATERIALIZED (
    SELECT r.id, f.sid FROM recipients AS r JOIN f ON r.id = f.rid
    WHERE r.twilio_sid IS NULL AND r.status IN ('{RecipientStatus.QUEUED.value}', '{RecipientStatus.PENDING.value}')
        AND (f.dest IS NULL OR r.phone = f.dest)
        AND NOT EXISTS (SELECT 1 FROM recipients AS x WHERE x.twilio_sid = f.sid)
    ORDER BY r.id FOR UPDATE OF r
)
UPDATE recipients AS r SET twilio_sid = l.sid, sent_at = COALESCE(r.sent_at, :now),
    status = '{RecipientStatus.QUEUED.value}', claim_token = NULL, lease_until = NULL,
    unknown_since = NULL, check_at = NULL, error_code = NULL, error_reason = NULL
FROM locked AS l
WHERE r.id = l.id AND r.twilio_sid IS NULL
    AND r.status IN ('{RecipientStatus.QUEUED.value}', '{RecipientStatus.PENDING.value}')
RETURNING r.twilio_sid, r.campaign_id
"""


async def _attach_postgresql(
    ctx: Context, found: Sequence[tuple[int, str, str | None]]
) -> list[tuple[str, str]]:
    # One pairing per recipient and per SID, the first given, as the loop below keeps.
    rids: set[int] = set()
    sids: set[str] = set()
    kept = []
    for rid, sid, to in sorted(found, key=lambda one: one[0]):
        if rid not in rids and sid not in sids:
            rids.add(rid)
            sids.add(sid)
            kept.append((rid, sid, to))
    async with ctx.db.transaction() as session:
        result = await session.execute(
            text(_ATTACH),
            {
                "rids": [rid for rid, _, _ in kept],
                "sids": [sid for _, sid, _ in kept],
                "tos": [to for _, _, to in kept],
                "now": ctx.now(),
            },
        )
        return [(sid, campaign) for sid, campaign in result.all()]


async def record_refused_numbers(ctx: Context, refused: Iterable[tuple[str, str | None]]) -> int:
    """Opt out each (phone, campaign id) Twilio refused with 21610; returns how many were new.

    A number already opted out is left alone, so a repeated callback adds no second event.
    """
    campaign_of: dict[str, str | None] = {}
    for phone, campaign_id in refused:
        campaign_of.setdefault(phone, campaign_id)
    if not campaign_of:
        return 0
    already = await opted_out_among(ctx, campaign_of)
    recorded = 0
    for phone, campaign_id in campaign_of.items():
        if phone in already:
            continue
        try:
            recorded += await record_opt_out(
                ctx, phone, source=OPT_OUT_SOURCE, keyword=None, campaign_id=campaign_id
            )
        except InputError:
            # Not a number with a country code: Twilio never sends one, so nothing to opt out.
            log.warning("21610 for a number that is not E.164; no opt-out recorded")
    return recorded
