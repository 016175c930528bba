"""The texts recipients sent, grouped the way the team reads them: one digest per campaign (the
texts that answered it) and one per day for the texts that answered no campaign.

A digest is one Slack message, edited as texts arrive; where it is, is where its texts were
shown (`InboundMessage.slack_channel` and `slack_ts`, written by `mark_handled`), so it needs no
record of its own. The answers typed in Slack (reply campaigns) are read beside each text, so
the team sees which texts are answered, by whom and when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update

from campaigns import audit
from campaigns.errors import NotFound, StateError
from campaigns.keywords import Meaning
from campaigns.models import Campaign, InboundMessage, OptOut, OptOutEvent, Recipient
from campaigns.service.context import Context
from campaigns.service.inbound import waiting_for
from campaigns.service.optouts import opted_out_among, record_opt_out
from campaigns.status import CampaignStatus

LATEST = 5  # the texts a digest message shows; the rest are a click away
ALL_SHOWN = 30  # the texts the "see all" view shows
CONVERSATION_SHOWN = 8
MAX_COUNTED = 2_000  # the latest replies looked at for how many wait for an answer  # the messages of one conversation shown beside a reply being written
REPLY = "reply"  # Campaign.source of an answer typed in Slack (campaigns.service.conversation)


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer typed in Slack to a number, sent as a campaign of one."""

    actor: str  # "slack:U0BOB"
    at: datetime
    text: str
    status: str  # the reply campaign's


@dataclass(frozen=True, slots=True)
class DigestText:
    message: InboundMessage
    variables: dict[str, str]
    answers: list[Answer]  # the answers sent to the number after this text came
    opted_out: bool  # the number is opted out now
    waiting: int = 0  # an opt-out's messages still waiting in scheduled or paused campaigns
    opted_out_by: str | None = None  # who opted the number out by hand ("slack:U0BOB"), if so


@dataclass(frozen=True, slots=True)
class Digest:
    key: str
    campaign: Campaign | None  # None: the texts of one day that answered no campaign
    day: date | None
    counts: dict[str, int]  # per Meaning
    latest: list[DigestText]  # newest first
    unhandled: list[int] = field(default_factory=list)  # texts not in the Slack message yet
    where: tuple[str, str] | None = None  # (channel, ts) of the digest message, once posted
    unanswered: int = 0  # replies nobody answered yet, from numbers still textable

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def digest_key(message: InboundMessage) -> str:
    """Which digest a text belongs to: its campaign's, or its (UTC) day's."""
    if message.campaign_id:
        return f"c:{message.campaign_id}"
    return f"d:{message.received_at.astimezone(UTC).date().isoformat()}"


def _filter(key: str) -> tuple[list[Any], str | None, date | None]:
    kind, _, rest = key.partition(":")
    if kind == "c" and rest:
        return [InboundMessage.campaign_id == rest], rest, None
    if kind == "d" and rest:
        day = date.fromisoformat(rest)
        start = datetime.combine(day, time(), tzinfo=UTC)
        return (
            [
                InboundMessage.campaign_id.is_(None),
                InboundMessage.received_at >= start,
                InboundMessage.received_at < start + timedelta(days=1),
            ],
            None,
            day,
        )
    raise NotFound(f"No texts are grouped as {key!r}.")


async def read_digest(ctx: Context, key: str, *, latest: int = LATEST) -> Digest:
    where_clauses, campaign_id, day = _filter(key)
    async with ctx.db.read() as session:
        campaign = await session.get(Campaign, campaign_id) if campaign_id else None
        counts_query = (
            select(InboundMessage.meaning, func.count())
            .where(*where_clauses)
            .group_by(InboundMessage.meaning)
        )
        counts = {str(m): int(n) for m, n in await session.execute(counts_query)}
        newest = (
            select(InboundMessage)
            .where(*where_clauses)
            .order_by(InboundMessage.id.desc())
            .limit(latest)
        )
        shown = list((await session.execute(newest)).scalars())
        unhandled_query = select(InboundMessage.id).where(
            *where_clauses, InboundMessage.handled_at.is_(None)
        )
        unhandled = list((await session.execute(unhandled_query)).scalars())
        posted_query = (
            select(InboundMessage.slack_channel, InboundMessage.slack_ts)
            .where(*where_clauses, InboundMessage.slack_ts.is_not(None))
            .order_by(InboundMessage.id.desc())
            .limit(1)
        )
        posted = (await session.execute(posted_query)).first()
        recipient_ids = [m.recipient_id for m in shown if m.recipient_id]
        variables: dict[int, dict[str, str]] = {}
        if recipient_ids:
            rows = await session.execute(
                select(Recipient.id, Recipient.variables).where(Recipient.id.in_(recipient_ids))
            )
            variables = {
                rid: {str(k): str(v) for k, v in (found or {}).items()}
                for rid, found in rows
                if isinstance(found, dict) or found is None
            }
        replies_query = (
            select(InboundMessage.phone, InboundMessage.received_at)
            .where(*where_clauses, InboundMessage.meaning == Meaning.REPLY)
            .order_by(InboundMessage.id.desc())
            .limit(MAX_COUNTED)
        )
        replies = list(await session.execute(replies_query))
    texts = await _with_answers(ctx, shown, variables)
    where = (str(posted[0]), str(posted[1])) if posted and posted[0] else None
    unanswered = await _unanswered(ctx, [(str(p), at) for p, at in replies])
    return Digest(key, campaign, day, counts, texts, unhandled, where, unanswered)


async def _unanswered(ctx: Context, replies: list[tuple[str, datetime]]) -> int:
    phones = {phone for phone, _ in replies}
    answers = await answers_to(ctx, phones)
    opted_out = await opted_out_among(ctx, phones) if phones else set()
    return sum(
        1
        for phone, at in replies
        if phone not in opted_out and not any(a.at >= at for a in answers.get(phone, []))
    )


async def _with_answers(
    ctx: Context, shown: list[InboundMessage], variables: dict[int, dict[str, str]]
) -> list[DigestText]:
    phones = {m.phone for m in shown}
    answers = await answers_to(ctx, phones)
    opted_out = await opted_out_among(ctx, phones) if phones else set()
    by_hand = await _opted_out_by(ctx, opted_out)
    texts = []
    for message in shown:
        waiting = 0
        if message.meaning == Meaning.OPT_OUT and message.phone in opted_out:
            waiting = await waiting_for(ctx, message.phone, before=message.received_at)
        texts.append(
            DigestText(
                message,
                variables.get(message.recipient_id or 0, {}),
                [a for a in answers.get(message.phone, []) if a.at >= message.received_at],
                message.phone in opted_out,
                waiting,
                by_hand.get(message.phone) if message.meaning != Meaning.OPT_OUT else None,
            )
        )
    return texts


async def _opted_out_by(ctx: Context, phones: set[str]) -> dict[str, str]:
    """Who opted each number out, where a person did (the latest opt-out of each)."""
    if not phones:
        return {}
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(OptOutEvent.phone, OptOutEvent.actor)
            .where(OptOutEvent.phone.in_(sorted(phones)), OptOutEvent.opted_out.is_(True))
            .order_by(OptOutEvent.id)
        )
        latest = {phone: actor for phone, actor in rows}
    return {phone: actor for phone, actor in latest.items() if actor}


async def answers_to(ctx: Context, phones: Iterable[str]) -> dict[str, list[Answer]]:
    """The answers typed in Slack to each number, oldest first (drafts not yet sent left out)."""
    wanted = sorted(set(phones))
    if not wanted:
        return {}
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient.phone, Campaign.created_by, Campaign.created_at,
                   Campaign.message_template, Campaign.status)
            .join(Campaign, Campaign.id == Recipient.campaign_id)
            .where(Campaign.source == REPLY, Recipient.phone.in_(wanted),
                   Campaign.status != CampaignStatus.DRAFT)
            .order_by(Campaign.created_at, Campaign.id)
        )  # fmt: skip
        found: dict[str, list[Answer]] = {}
        for phone, actor, at, text, status in rows:
            found.setdefault(phone, []).append(Answer(actor, at, text, str(status)))
    return found


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a number wrote and what the team answered, oldest first, the latest few."""

    entries: list[InboundMessage | Answer]
    answers: list[Answer]  # every answer to the number, oldest first


async def conversation_with(ctx: Context, phone: str) -> Conversation:
    async with ctx.db.read() as session:
        query = (
            select(InboundMessage)
            .where(InboundMessage.phone == phone)
            .order_by(InboundMessage.id.desc())
            .limit(CONVERSATION_SHOWN)
        )
        texts = list((await session.execute(query)).scalars())
    answers = (await answers_to(ctx, [phone])).get(phone, [])

    def when(entry: InboundMessage | Answer) -> datetime:
        return entry.received_at if isinstance(entry, InboundMessage) else entry.at

    entries: list[InboundMessage | Answer] = sorted(
        [*texts, *answers[-CONVERSATION_SHOWN:]], key=when
    )
    return Conversation(entries[-CONVERSATION_SHOWN:], answers)


async def mark_shown(ctx: Context, ids: Iterable[int], channel: str | None, ts: str | None) -> int:
    """The texts are in the digest message at (channel, ts): their Slack side is done."""
    wanted = list(ids)
    if not wanted:
        return 0
    async with ctx.db.transaction() as session:
        result = await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id.in_(wanted), InboundMessage.handled_at.is_(None))
            .values(handled_at=ctx.now(), slack_channel=channel, slack_ts=ts)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def opt_out_from_reply(ctx: Context, inbound_id: int, actor: str) -> bool:
    """A person read the reply as a request to stop ("please stop texting me") and opted the
    number out: recorded like a STOP, with who did it. True if it was not opted out before."""
    async with ctx.db.read() as session:
        message = await session.get(InboundMessage, inbound_id)
        state = await session.get(OptOut, message.phone) if message is not None else None
    if message is None:
        raise NotFound("This text is not one Textcast knows.")
    if message.meaning == Meaning.OPT_IN:
        raise StateError("This text asked to be texted again: it cannot opt the number out.")
    if state is not None and state.opted_out:
        return False
    changed = await record_opt_out(
        ctx, message.phone, source="slack", actor=actor, campaign_id=message.campaign_id
    )
    async with ctx.db.transaction() as session:
        audit.record(session, actor, "optout.from_reply", message.campaign_id, inbound=inbound_id)
    return changed
