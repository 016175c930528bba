"""Texts recipients send us: stored once per MessageSid, understood, matched to the campaign that
last texted the number, and, for STOP and START, the number's opt-out state changed in the same
transaction; a STOP is announced to the send loops and in effect before Twilio is answered
(campaigns/service/in_effect.py).

The Slack side (the notice in the campaign's thread, the reply shown to the team) is the worker's,
afterwards: `pending_inbound` lists what it has not done yet, `mark_handled` records it done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import audit
from campaigns.errors import NotFound, StateError
from campaigns.keywords import Meaning, understand
from campaigns.models import Campaign, InboundMessage, OptOut, Recipient
from campaigns.service.context import Context
from campaigns.service.frequency import lock_numbers
from campaigns.service.optouts import stop_sending_to, store_opt_state
from campaigns.status import CampaignStatus, RecipientStatus

WAITING_IN = (CampaignStatus.SCHEDULED, CampaignStatus.PAUSED)
MATCH_CANDIDATES = 20  # the number's latest campaigns looked at for the one a reply answers
MAX_BODY = 10_000  # Twilio's inbound bodies are at most 1,600 characters; this bounds the rest
HELP_ANSWER_EVERY = timedelta(days=1)  # at most one HELP_TEXT to a number this often


@dataclass(frozen=True, slots=True)
class IncomingSms:
    message_sid: str
    phone: str  # who wrote (Twilio's From)
    sender: str  # our number it came to (To)
    body: str
    messaging_service_sid: str | None = None
    media_types: Sequence[str] = field(default_factory=tuple)
    opt_out_type: str | None = None  # Twilio's OptOutType (Advanced Opt-Out)
    received_at: datetime | None = None  # Twilio's time, when polled; None: now
    source: str = "webhook"


@dataclass(frozen=True, slots=True)
class Received:
    message: InboundMessage  # detached, read-only
    new: bool  # False: this MessageSid was stored before (Twilio posted it again)


def _clean(text: str) -> str:
    """What a database can keep: no NUL (PostgreSQL refuses it), no lone surrogate."""
    text = text[:MAX_BODY].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")


async def record_inbound(ctx: Context, sms: IncomingSms) -> Received:
    """Store the text (once), what it means, and for STOP or START the opt-out state. A STOP
    returns once no send loop starts a create to the number (again for a repeated one: the
    first may have been stored by a request that failed before it announced it)."""
    received = await _store_inbound(ctx, sms)
    if received.message.meaning == Meaning.OPT_OUT:
        await stop_sending_to(ctx, sms.phone, acknowledged=True)
    return received


async def _store_inbound(ctx: Context, sms: IncomingSms) -> Received:
    understood = understand(sms.body, sms.opt_out_type, ctx.settings.EXTRA_OPT_OUT_KEYWORDS)
    now = ctx.now()
    senders = [s for s in (sms.sender, sms.messaging_service_sid) if s]
    try:
        async with ctx.db.transaction() as session:
            earlier = await _by_sid(session, sms.message_sid)
            if earlier is not None:
                return Received(earlier, new=False)
            cutoff = now - timedelta(days=ctx.settings.REPLY_WINDOW_DAYS)
            match = await _last_texted(session, sms.phone, senders, cutoff)
            answer_help = understood.meaning is Meaning.HELP and await _help_is_due(
                ctx, session, sms, now
            )
            message = InboundMessage(
                message_sid=sms.message_sid, phone=sms.phone, sender=sms.sender,
                messaging_service_sid=sms.messaging_service_sid, body=_clean(sms.body),
                media_types=[_clean(t)[:100] for t in sms.media_types][:10],
                meaning=understood.meaning, keyword=understood.keyword,
                campaign_id=match[0] if match else None,
                recipient_id=match[1] if match else None,
                source=sms.source, received_at=sms.received_at or now,
                help_answered=answer_help,
            )  # fmt: skip
            session.add(message)
            await session.flush()
            if understood.meaning in (Meaning.OPT_OUT, Meaning.OPT_IN):
                await store_opt_state(
                    session, ctx, sms.phone, understood.meaning is Meaning.OPT_OUT,
                    source="sms", keyword=understood.keyword,
                    campaign_id=message.campaign_id, sender=sms.sender,
                )  # fmt: skip
            return Received(message, new=True)
    except IntegrityError:
        # The same MessageSid from two requests at once: the other one stored it first.
        async with ctx.db.read() as session:
            earlier = await _by_sid(session, sms.message_sid)
        if earlier is None:
            raise
        return Received(earlier, new=False)


async def _help_is_due(
    ctx: Context, session: AsyncSession, sms: IncomingSms, now: datetime
) -> bool:
    """Whether this HELP gets HELP_TEXT: only over the webhook (a polled text has no answer),
    and only if no HELP from the number was answered in the last day, so someone texting HELP
    over and over (or a loop between two auto-responders) gets one answer a day. Under a lock
    per number: two HELPs at once get one answer."""
    if sms.source != "webhook":
        return False
    await lock_numbers(ctx, session, [f"help:{sms.phone}"])
    answered = await session.execute(
        select(InboundMessage.id)
        .where(
            InboundMessage.phone == sms.phone,
            InboundMessage.help_answered.is_(True),
            InboundMessage.received_at > now - HELP_ANSWER_EVERY,
        )
        .limit(1)
    )
    return answered.scalar_one_or_none() is None


async def _by_sid(session: AsyncSession, sid: str) -> InboundMessage | None:
    query = select(InboundMessage).where(InboundMessage.message_sid == sid)
    return (await session.execute(query)).scalar_one_or_none()


async def _last_texted(
    session: AsyncSession, phone: str, senders: Sequence[str], since: datetime
) -> tuple[str, int] | None:
    """The campaign (and recipient) that last texted `phone` from one of `senders`.

    A reply can come before the send loop has written down the message it answers (its results
    are written in batches): a claimed recipient whose campaign sends from that number counts.
    """
    query = (
        select(Recipient.campaign_id, Recipient.id, Recipient.sender, Campaign.from_numbers,
               Campaign.sender_mode)
        .join(Campaign, Campaign.id == Recipient.campaign_id)
        .where(
            Recipient.phone == phone,
            Recipient.status != RecipientStatus.PENDING,
            Recipient.status != RecipientStatus.CANCELLED,
            Campaign.started_at >= since,
            # An answer typed in Slack is part of the conversation the campaign started: a text
            # after it still answers that campaign, and shows in its thread.
            Campaign.source != "reply",
        )
        .order_by(Recipient.id.desc())
        .limit(MATCH_CANDIDATES)
    )  # fmt: skip
    for campaign_id, recipient_id, sent_from, numbers, mode in await session.execute(query):
        if sent_from is not None:
            if sent_from in senders:
                return campaign_id, recipient_id
        elif mode == "service" or set(numbers or ()) & set(senders):
            return campaign_id, recipient_id
    return None


async def get_inbound(ctx: Context, inbound_id: int) -> InboundMessage:
    async with ctx.db.read() as session:
        message = await session.get(InboundMessage, inbound_id)
    if message is None:
        raise NotFound(f"No reply {inbound_id} was received.")
    return message


async def pending_inbound(ctx: Context, *, older_than: timedelta, limit: int = 100) -> list[int]:
    """Texts whose Slack side is not done and that nobody is handling now (received a while
    ago: the job the web process enqueued did not run, or died)."""
    cutoff = ctx.now() - older_than
    async with ctx.db.read() as session:
        query = (
            select(InboundMessage.id)
            .where(InboundMessage.handled_at.is_(None), InboundMessage.received_at <= cutoff)
            .order_by(InboundMessage.id)
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())


async def mark_handled(ctx: Context, inbound_id: int, channel: str | None, ts: str | None) -> bool:
    """Record the Slack side done; False if someone else recorded it first."""
    async with ctx.db.transaction() as session:
        result = await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.handled_at.is_(None))
            .values(handled_at=ctx.now(), slack_channel=channel, slack_ts=ts)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _waiting(phone: str, before: datetime | None = None):  # type: ignore[no-untyped-def]
    """The number's messages that wait in scheduled or paused campaigns (made before `before`)."""
    query = (
        select(Recipient.id)
        .join(Campaign, Campaign.id == Recipient.campaign_id)
        .where(
            Recipient.phone == phone,
            Recipient.status == RecipientStatus.PENDING,
            Campaign.status.in_(WAITING_IN),
        )
    )
    return query.where(Campaign.created_at <= before) if before is not None else query


async def waiting_for(ctx: Context, phone: str, before: datetime | None = None) -> int:
    """How many messages to `phone` still wait in scheduled or paused campaigns (made before
    `before`: what `cancel_waiting_for` would cancel for an opt-out received then)."""
    async with ctx.db.read() as session:
        query = select(func.count()).select_from(_waiting(phone, before).subquery())
        return (await session.execute(query)).scalar_one()


async def cancel_waiting_for(ctx: Context, inbound_id: int, actor: str) -> int:
    """Cancel what waited for the number of this opt-out when it came, and nothing else.

    Refused if the number opted back in since: its messages are wanted again.
    """
    async with ctx.db.transaction() as session:
        message = await session.get(InboundMessage, inbound_id)
        if message is None or message.meaning != Meaning.OPT_OUT:
            raise NotFound("This opt-out notice is not one Textcast knows.")
        state = await session.get(OptOut, message.phone)
        if state is None or not state.opted_out:
            raise StateError("This number opted back in since (START): nothing was cancelled.")
        ids = list((await session.execute(_waiting(message.phone, message.received_at))).scalars())
        if ids:
            await session.execute(
                update(Recipient)
                .where(Recipient.id.in_(ids), Recipient.status == RecipientStatus.PENDING)
                .values(status=RecipientStatus.CANCELLED, updated_at=ctx.now(),
                        error_reason="Cancelled after this number opted out (STOP).")
                .execution_options(synchronize_session=False)
            )  # fmt: skip
        audit.record(session, actor, "optout.cancel_waiting", message.campaign_id,
                     recipients=len(ids), inbound=inbound_id)  # fmt: skip
        return len(ids)


async def texts_answering(ctx: Context, campaign_id: str, limit: int = 100) -> list[InboundMessage]:
    """The texts that answered a campaign (replies, STOPs, ...), newest first."""
    async with ctx.db.read() as session:
        query = (
            select(InboundMessage)
            .where(InboundMessage.campaign_id == campaign_id)
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())


async def answer_counts(session: AsyncSession, campaign_id: str) -> dict[str, int]:
    """How many texts of each meaning answered the campaign: {"reply": 3, "opt_out": 1, ...}.
    In the caller's session: the campaign report reads it with the rest, on every progress tick."""
    query = (
        select(InboundMessage.meaning, func.count())
        .where(InboundMessage.campaign_id == campaign_id)
        .group_by(InboundMessage.meaning)
    )
    return {str(meaning): int(n) for meaning, n in await session.execute(query)}
