"""Opt-outs (STOP and its synonyms, Twilio's 21610) and opt-ins (START), with their history.

An opt-out a person makes (over the API, in Slack, or by texting STOP) is in effect before it is
acknowledged: no send loop starts a create to the number after (see in_effect.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import InputError
from campaigns.keywords import understand
from campaigns.models import OptOut, OptOutEvent
from campaigns.recipients import normalise_phone
from campaigns.service.context import Context
from campaigns.service.in_effect import until_in_effect

# Opt-outs a person is told about: the call returns once they are in effect. Twilio's 21610 is
# told to nobody, and the send loop that met it must not wait.
ACKNOWLEDGED = frozenset({"api", "slack"})


def keyword_of(body: str) -> str | None:
    """The keyword a reply is, if the whole message is one (see campaigns/keywords.py)."""
    return understand(body).keyword


def e164(phone: str) -> str:
    """`phone` in E.164, or InputError: an opt-out by hand needs the country code."""
    result = normalise_phone(phone, None)
    if result.e164 is None:
        raise InputError(f"{phone!r} is not a phone number with a country code.", field="phone")
    return result.e164


async def _set(ctx: Context, phone: str, opted_out: bool, **event: Any) -> bool:
    """Store the new state and its event; True if the state changed."""
    phone = e164(phone)
    async with ctx.db.transaction() as session:
        return await store_opt_state(session, ctx, phone, opted_out, **event)


async def store_opt_state(
    session: AsyncSession, ctx: Context, phone: str, opted_out: bool, **event: Any
) -> bool:
    """In the caller's transaction: the number's state, an event for its history (never
    deleted: a later event supersedes it), and the audit entry. True if the state changed."""
    now = ctx.now()
    insert = pg_insert if ctx.db.dialect == "postgresql" else sqlite_insert
    before = await session.get(OptOut, phone)
    was = before.opted_out if before else False
    statement = insert(OptOut).values(phone=phone, opted_out=opted_out, updated_at=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[OptOut.phone], set_={"opted_out": opted_out, "updated_at": now}
        )
    )
    session.add(OptOutEvent(phone=phone, opted_out=opted_out, at=now, **event))
    action = "optout.record" if opted_out else "optout.revoke"
    audit.record(session, event.get("actor") or event["source"], action,
                 event.get("campaign_id"), keyword=event.get("keyword"))  # fmt: skip
    return was != opted_out


async def record_opt_out(
    ctx: Context,
    phone: str,
    *,
    source: str,
    keyword: str | None = None,
    actor: str | None = None,
    campaign_id: str | None = None,
) -> bool:
    """Opt a number out of every sender; True if it was not opted out before. Made by a
    person (ACKNOWLEDGED), it returns once no send loop starts a create to the number."""
    changed = await _set(
        ctx, phone, True, source=source, keyword=keyword, actor=actor, campaign_id=campaign_id
    )
    await stop_sending_to(ctx, e164(phone), acknowledged=source in ACKNOWLEDGED)
    return changed


async def stop_sending_to(ctx: Context, phone: str, *, acknowledged: bool) -> None:
    """After an opt-out is committed: announce it to the send loops and, if a person is told
    it is done, wait until every loop has seen it or stopped starting creates. Announced even
    when it was opted out already: a request that failed before announcing it may have stored
    it. Not announced (no loops to tell, or Redis away): the database screening stops it."""
    if ctx.stops is None or not await ctx.stops.opted_out(phone):
        return
    if acknowledged:
        await until_in_effect()


async def record_opt_in(
    ctx: Context,
    phone: str,
    *,
    source: str,
    keyword: str | None = None,
    actor: str | None = None,
) -> bool:
    """Opt a number back in (START, YES, UNSTOP); True if it was opted out before."""
    return await _set(ctx, phone, False, source=source, keyword=keyword, actor=actor)


async def opted_out_among(ctx: Context, phones: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers are opted out now."""
    wanted = list(dict.fromkeys(phones))
    found: set[str] = set()
    async with ctx.db.read() as session:
        for start in range(0, len(wanted), 1_000):  # stay under bind-parameter limits
            rows = await session.execute(
                select(OptOut.phone).where(
                    OptOut.phone.in_(wanted[start : start + 1_000]), OptOut.opted_out.is_(True)
                )
            )
            found.update(rows.scalars())
    return found


async def recent_opt_outs(ctx: Context, limit: int = 20) -> list[OptOut]:
    """Numbers opted out now, the most recent first."""
    async with ctx.db.read() as session:
        query = (
            select(OptOut)
            .where(OptOut.opted_out.is_(True))
            .order_by(OptOut.updated_at.desc(), OptOut.phone)
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())


async def opt_out_history(ctx: Context, phone: str) -> list[OptOutEvent]:
    """Every opt-out and opt-in of one number, oldest first: kept for compliance."""
    phone = e164(phone)
    async with ctx.db.read() as session:
        query = select(OptOutEvent).where(OptOutEvent.phone == phone).order_by(OptOutEvent.id)
        return list((await session.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A number opted out now, with the opt-out that put it there."""

    phone: str
    since: datetime
    keyword: str | None
    source: str  # "sms", "twilio_21610", "slack", "api"
    actor: str | None  # who, for one made by hand
    campaign_id: str | None


async def suppression_list(ctx: Context) -> list[Suppressed]:
    """Every number opted out now, the most recent first, each with its latest opt-out."""
    latest = (
        select(OptOutEvent.phone, func.max(OptOutEvent.id).label("event_id"))
        .where(OptOutEvent.opted_out.is_(True))
        .group_by(OptOutEvent.phone)
        .subquery()
    )
    query = (
        select(OptOutEvent)
        .join(latest, latest.c.event_id == OptOutEvent.id)
        .join(OptOut, OptOut.phone == OptOutEvent.phone)
        .where(OptOut.opted_out.is_(True))
        .order_by(OptOutEvent.id.desc())
    )
    async with ctx.db.read() as session:
        events = (await session.execute(query)).scalars()
        return [
            Suppressed(e.phone, e.at, e.keyword, e.source, e.actor, e.campaign_id) for e in events
        ]
