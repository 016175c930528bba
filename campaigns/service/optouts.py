"""Opt-outs (STOP and its synonyms, Twilio's 21610) and opt-ins (START), with their history.

An opt-out a person makes (over the API, in Slack, or by texting STOP) is in effect before it is
acknowledged: no send loop starts a create to the number after (see in_effect.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, exists, false, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from campaigns import audit
from campaigns.errors import InputError
from campaigns.keywords import understand
from campaigns.models import OptOut, OptOutEvent
from campaigns.recipients import normalise_phone
from campaigns.service.context import Context
from campaigns.service.cursors import checked_limit, decode_id_cursor, encode_cursor
from campaigns.service.in_effect import until_in_effect
from campaigns.suppression_export import header_bytes, rows_bytes

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
class OptOutOrigin:
    """How a number's current opt-out began (campaigns.export.opted_out_by says it in words)."""

    source: str  # "sms", "twilio_21610", "slack", "api"
    keyword: str | None
    actor: str | None


async def opt_out_origins(ctx: Context, phones: Iterable[str]) -> dict[str, OptOutOrigin]:
    """For those of these E.164 numbers opted out now, the event that began it: the first
    opt-out after their last opt-in (a second STOP, or a later one in Slack, does not change
    who opted them out)."""
    wanted = list(dict.fromkeys(phones))
    found: dict[str, OptOutOrigin] = {}
    async with ctx.db.read() as session:
        for start in range(0, len(wanted), 1_000):  # stay under bind-parameter limits
            query = (
                select(
                    OptOutEvent.phone,
                    OptOutEvent.opted_out,
                    OptOutEvent.source,
                    OptOutEvent.keyword,
                    OptOutEvent.actor,
                )
                .join(OptOut, OptOut.phone == OptOutEvent.phone)
                .where(
                    OptOut.opted_out.is_(True), OptOutEvent.phone.in_(wanted[start : start + 1_000])
                )
                .order_by(OptOutEvent.id)
            )
            for phone, opted_out, source, keyword, actor in await session.execute(query):
                if not opted_out:
                    found.pop(phone, None)
                elif phone not in found:
                    found[phone] = OptOutOrigin(source, keyword, actor)
    return found


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A number opted out now, with the opt-out that began it (a second STOP changes neither
    the row nor its place in the list)."""

    phone: str
    since: datetime
    keyword: str | None
    source: str  # "sms", "twilio_21610", "slack", "api"
    actor: str | None  # who, for one made by hand
    campaign_id: str | None


@dataclass(frozen=True, slots=True)
class SuppressedPage:
    items: list[Suppressed]
    next_cursor: str | None


EXPORT_PAGE = 1_000


def _opt_outs_in_effect(after: int, limit: int) -> Select[Any]:
    """The event that began each number's current opt-out, in the order they were recorded,
    from the event after `after`. Keyed on that event's id, a walk through the list is stable:
    each number keeps its place while it stays opted out, and one opted out during the walk
    comes after every place already passed (a number opted back in and out again meanwhile is
    a new opt-out, and comes again)."""
    event, earlier, later = OptOutEvent, aliased(OptOutEvent), aliased(OptOutEvent)
    columns = (event.id, event.phone, event.at, event.keyword, event.source, event.actor,
               event.campaign_id)  # fmt: skip
    # The number's event just before this one: none, or an opt-in, if this one began it.
    previous_was_out = (
        select(earlier.opted_out)
        .where(earlier.phone == event.phone, earlier.id < event.id)
        .order_by(earlier.id.desc())
        .limit(1)
        .correlate(event)
        .scalar_subquery()
    )
    opted_in_since = exists().where(
        later.phone == event.phone, later.id > event.id, later.opted_out.is_(False)
    )
    return (
        select(*columns)
        .join(OptOut, OptOut.phone == event.phone)
        .where(
            event.id > after,
            event.opted_out.is_(True),
            OptOut.opted_out.is_(True),  # the state the send loops screen against
            ~opted_in_since,
            func.coalesce(previous_was_out, false()).is_(False),
        )
        .order_by(event.id)
        .limit(limit)
    )


async def _read(ctx: Context, after: int, limit: int) -> list[Row[Any]]:
    async with ctx.db.read() as session:
        return list(await session.execute(_opt_outs_in_effect(after, limit)))


def _suppressed(row: Row[Any]) -> Suppressed:
    return Suppressed(row.phone, row.at, row.keyword, row.source, row.actor, row.campaign_id)


async def suppressed_page(
    ctx: Context, *, limit: int = 100, cursor: str | None = None
) -> SuppressedPage:
    """A page of the numbers opted out now, in the order they opted out, with the cursor of the
    next (None after the last). Keyset paging: a page costs the same however deep it is."""
    limit = checked_limit(limit)
    rows = await _read(ctx, decode_id_cursor(cursor) if cursor else 0, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(str(rows[-1].id)) if more else None
    return SuppressedPage([_suppressed(row) for row in rows], next_cursor)


async def suppressed_pages(
    ctx: Context, *, page_size: int = EXPORT_PAGE
) -> AsyncIterator[list[Suppressed]]:
    """Every number opted out now, in the order they opted out, a page at a time: 100,000 never
    sit whole in memory. Each page is its own short read, so a slow reader holds no database
    connection between pages; one opted out meanwhile is still reached."""
    after = 0
    while True:
        rows = await _read(ctx, after, page_size)
        if rows:
            yield [_suppressed(row) for row in rows]
        if len(rows) < page_size:
            return
        after = rows[-1].id


async def suppression_csv_chunks(
    ctx: Context, *, page_size: int = EXPORT_PAGE
) -> AsyncIterator[bytes]:
    """The suppression list as a CSV file, in pieces to write (or upload) as they come: the
    header, then a page of rows at a time. Each piece takes a few milliseconds to format."""
    yield header_bytes()
    async for page in suppressed_pages(ctx, page_size=page_size):
        yield rows_bytes(page)


async def suppression_list(ctx: Context) -> list[Suppressed]:
    """The whole list at once, in the order they opted out. It holds every row in memory: for
    a file, `suppression_csv_chunks` streams it instead."""
    return [row async for page in suppressed_pages(ctx) for row in page]
