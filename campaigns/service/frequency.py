"""Who is over the frequency cap: numbers that other campaigns texted (or are texting) in the
window, counted on the database's clock.

At send time, a claimed recipient is over the cap when other campaigns' messages to its number
that passed this same check (or were handed to Twilio) in the window reach the cap. The check
takes a lock per number and marks the claims that pass (`capped_checked_at`) in the same
transaction, so two campaigns' checks on one number are totally ordered by when they commit: the
second sees the first's mark, and two campaigns texting one number at once send one message, not
two and not none. A claim's own time cannot order them: it is read before the claim waits for
its campaign's row and commits, so a claim stamped earlier may become visible later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from campaigns.frequency import FrequencyCap
from campaigns.models import Campaign, OptOut, Recipient
from campaigns.service.claims import Claimed
from campaigns.service.context import Context
from campaigns.status import RecipientStatus

# Campaigns whose messages are not campaign messages: one-to-one answers from Slack.
NOT_COUNTED = ("reply",)
_CHUNK = 500
_LOCK_PREFIX = b"textcast:frequency:"


def _counted_since(since: datetime, row: type[Recipient] = Recipient) -> ColumnElement[bool]:
    """A message that counts toward the cap from `since` on: one that passed the check and went
    or may be going (handed to Twilio, or still claimed), or one handed to Twilio unchecked
    (sent while no cap was set) claimed since then. A claim not yet checked does not count: two
    such claims would cap each other, and the number would get nothing."""
    may_go = or_(row.twilio_sid.is_not(None), row.status == RecipientStatus.QUEUED)
    return or_(
        and_(row.capped_checked_at >= since, may_go),
        and_(row.capped_checked_at.is_(None), row.twilio_sid.is_not(None), row.claimed_at >= since),
    )


def _lock_key(phone: str) -> int:
    """A stable signed 64-bit advisory-lock key for `phone`, the same in every process (Python's
    `hash` is salted per process)."""
    digest = hashlib.blake2b(_LOCK_PREFIX + phone.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_numbers(ctx: Context, session: AsyncSession, phones: Sequence[str]) -> None:
    """Hold every number's lock until the transaction ends. On SQLite the write transaction began
    with BEGIN IMMEDIATE and holds the database's only write lock already."""
    if ctx.db.dialect != "postgresql":
        return
    # Sorted, so that two checks never wait for each other's locks in a cycle; unnest hands the
    # keys to the function in the array's order.
    keys = sorted({_lock_key(phone) for phone in phones})
    for start in range(0, len(keys), _CHUNK):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(key) FROM unnest(CAST(:keys AS bigint[])) AS key"),
            {"keys": keys[start : start + _CHUNK]},
        )


async def over_frequency_cap(
    ctx: Context, campaign_id: str, claims: Sequence[Claimed], cap: FrequencyCap
) -> set[int]:
    """The ids of `claims` whose numbers are at their cap already; the others are marked as
    passed, in the same transaction, and count against other campaigns from its commit on."""
    over: set[int] = set()
    async with ctx.db.transaction() as session:
        await lock_numbers(ctx, session, [c.phone for c in claims])
        # Read after the locks: what an earlier check committed is seen (each statement of a
        # PostgreSQL transaction at READ COMMITTED sees what committed before it began).
        now = await ctx.db.now(session)
        for start in range(0, len(claims), _CHUNK):
            mine = {c.phone: c for c in claims[start : start + _CHUNK]}
            rows = await session.execute(
                select(Recipient.phone, func.count(Recipient.id))
                .join(Campaign, Campaign.id == Recipient.campaign_id)
                .where(
                    Recipient.phone.in_(list(mine)),
                    Recipient.campaign_id != campaign_id,
                    Campaign.source.not_in(NOT_COUNTED),
                    _counted_since(now - cap.window),
                )
                .group_by(Recipient.phone)
            )
            over.update(mine[phone].id for phone, count in rows if count >= cap.messages)
            passed = [c.id for c in mine.values() if c.id not in over]
            if passed:
                await session.execute(
                    update(Recipient)
                    .where(
                        Recipient.id.in_(passed),
                        Recipient.status == RecipientStatus.QUEUED,
                        Recipient.twilio_sid.is_(None),
                    )
                    .values(capped_checked_at=now)
                    .execution_options(synchronize_session=False)
                )
    return over


def opted_out(phone: ColumnElement[str]) -> ColumnElement[bool]:
    """The number has opted out: it is skipped at send time, before the cap is looked at."""
    return exists().where(OptOut.phone == phone, OptOut.opted_out.is_(True))


def capped_phones(campaign_id: str, cap: FrequencyCap, at: datetime) -> Select[tuple[str]]:
    """For the preview: the numbers of the campaign's recipients that other campaigns texted
    `cap.messages` times or more in the window before `at` (as things stand now), who would
    fail `frequency_cap`. Opted-out numbers are left out: they fail `opted_out` first."""
    other = aliased(Recipient)
    return (
        select(Recipient.phone)
        .join(other, and_(other.phone == Recipient.phone, other.campaign_id != campaign_id))
        .join(Campaign, Campaign.id == other.campaign_id)
        .where(
            Recipient.campaign_id == campaign_id,
            Campaign.source.not_in(NOT_COUNTED),
            _counted_since(at - cap.window, other),
            ~opted_out(Recipient.phone),
        )
        .group_by(Recipient.phone)
        .having(func.count(other.id) >= cap.messages)
    )


async def capped_among(
    ctx: Context, phones: Sequence[str], cap: FrequencyCap, at: datetime
) -> set[str]:
    """For a preview of a list not stored: which of `phones` campaigns texted `cap.messages`
    times or more in the window before `at`."""
    capped: set[str] = set()
    async with ctx.db.read() as session:
        for start in range(0, len(phones), _CHUNK):
            texted = (
                select(Recipient.phone)
                .join(Campaign, Campaign.id == Recipient.campaign_id)
                .where(
                    Recipient.phone.in_(list(phones[start : start + _CHUNK])),
                    Campaign.source.not_in(NOT_COUNTED),
                    _counted_since(at - cap.window),
                )
                .group_by(Recipient.phone)
                .having(func.count(Recipient.id) >= cap.messages)
            )
            capped.update((await session.execute(texted)).scalars())
    return capped


__all__ = ["NOT_COUNTED", "capped_among", "capped_phones", "opted_out", "over_frequency_cap"]
