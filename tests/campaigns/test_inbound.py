"""Texts recipients send: what they mean, stored once, matched, and the opt-out they make."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from campaigns.errors import StateError
from campaigns.keywords import Meaning, Understood, asks_to_stop, understand
from campaigns.models import Campaign, InboundMessage, OptOutEvent, Recipient
from campaigns.service import Context, create_campaign, opted_out_among
from campaigns.service.inbound import (
    IncomingSms,
    cancel_waiting_for,
    mark_handled,
    pending_inbound,
    record_inbound,
    waiting_for,
)
from tests.campaigns.test_service_create import ACTOR, new_campaign
from tests.conftest import Clock, make_settings

SENDER = "+14155550100"
FIRST = "+447700900000"  # people(3)'s first number


@pytest.mark.parametrize(
    ("body", "meaning", "keyword"),
    [("STOP", Meaning.OPT_OUT, "STOP"), ("  stop!! ", Meaning.OPT_OUT, "STOP"),
     ("«Unsubscribe»", Meaning.OPT_OUT, "UNSUBSCRIBE"), ("Start.", Meaning.OPT_IN, "START"),
     ("yes", Meaning.OPT_IN, "YES"), ("info?", Meaning.HELP, "INFO"),
     ("Stop texting me", Meaning.REPLY, None), ("OPT-OUT", Meaning.REPLY, None),
     ("", Meaning.REPLY, None), ("ＳＴＯＰ", Meaning.OPT_OUT, "STOP")],
)  # fmt: skip
def test_keywords_are_the_whole_message(body: str, meaning: Meaning, keyword: str | None) -> None:
    assert understand(body) == Understood(meaning, keyword)


def test_twilios_opt_out_type_and_extra_keywords_count() -> None:
    assert understand("Arrêt", extra_opt_out=["ARRÊT", "BAJA"]).meaning is Meaning.OPT_OUT
    assert understand("baja", extra_opt_out=["ARRÊT", "BAJA"]).meaning is Meaning.OPT_OUT
    assert understand("Arrêt").meaning is Meaning.REPLY
    # Advanced Opt-Out matched a keyword the team configured at Twilio.
    assert understand("desabonner", opt_out_type="STOP").meaning is Meaning.OPT_OUT
    assert understand("hello", opt_out_type="START").meaning is Meaning.OPT_IN


def sms(sid: str, body: str, phone: str = FIRST, **more: object) -> IncomingSms:
    return IncomingSms(message_sid=sid, phone=phone, sender=SENDER, body=body, **more)  # type: ignore[arg-type]


async def sent(ctx: Context, campaign_id: str) -> None:
    """As if the send loop had sent every recipient from SENDER."""
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(started_at=ctx.now())
        )
        rows = (await session.execute(
            select(Recipient).where(Recipient.campaign_id == campaign_id))).scalars()  # fmt: skip
        for n, recipient in enumerate(rows):
            recipient.status, recipient.sender = "sent", SENDER
            recipient.twilio_sid = f"SM{campaign_id[-8:]}{n:024d}"


async def test_a_reply_is_stored_once_and_matched_to_the_campaign_that_texted_it(
    ctx: Context, clock: Clock
) -> None:
    older = (await create_campaign(ctx, new_campaign(), ACTOR)).campaign.id
    await sent(ctx, older)
    clock.advance(hours=1)
    newer = (await create_campaign(ctx, new_campaign(name="Newer"), ACTOR)).campaign.id
    await sent(ctx, newer)
    first = await record_inbound(ctx, sms("SM1", "What time?", media_types=("image/jpeg",)))
    assert first.new and first.message.campaign_id == newer  # the latest one to text it
    assert first.message.meaning == Meaning.REPLY and first.message.media_types == ["image/jpeg"]
    again = await record_inbound(ctx, sms("SM1", "What time?"))
    assert not again.new and again.message.id == first.message.id
    # Past REPLY_WINDOW_DAYS nothing matches: it goes to SLACK_NOTIFY_CHANNEL instead.
    clock.advance(days=8)
    late = await record_inbound(ctx, sms("SM2", "Still on?"))
    assert late.new and late.message.campaign_id is None


async def test_the_same_message_sid_twice_at_once_is_one_row(ctx: Context) -> None:
    results = await asyncio.gather(*(record_inbound(ctx, sms("SM9", "STOP")) for _ in range(5)))
    assert sum(r.new for r in results) == 1
    async with ctx.db.read() as session:
        rows = (await session.execute(select(func.count()).select_from(InboundMessage))).scalar()
        events = (await session.execute(select(func.count()).select_from(OptOutEvent))).scalar()
    assert (rows, events) == (1, 1)


async def test_a_stop_opts_out_with_its_history_and_start_supersedes_it(ctx: Context) -> None:
    cid = (await create_campaign(ctx, new_campaign(), ACTOR)).campaign.id
    await sent(ctx, cid)
    await record_inbound(ctx, sms("SM1", "stop"))
    assert await opted_out_among(ctx, [FIRST]) == {FIRST}
    await record_inbound(ctx, sms("SM2", "START"))
    assert await opted_out_among(ctx, [FIRST]) == set()
    async with ctx.db.read() as session:
        events = (await session.execute(select(OptOutEvent).order_by(OptOutEvent.id))).scalars()
        history = [(e.opted_out, e.keyword, e.source, e.sender, e.campaign_id) for e in events]
    assert history == [(True, "STOP", "sms", SENDER, cid), (False, "START", "sms", SENDER, cid)]


async def test_the_notice_button_cancels_exactly_what_waited_for_the_number(
    ctx: Context, clock: Clock
) -> None:
    at = clock.now + timedelta(hours=2)
    waiting = (await create_campaign(ctx, new_campaign(send_at=at), ACTOR)).campaign.id
    stop = await record_inbound(ctx, sms("SM1", "STOP"))
    assert await waiting_for(ctx, FIRST) == 1
    clock.advance(minutes=5)  # a campaign made after the STOP is not what the notice counted
    after = (await create_campaign(ctx, new_campaign(send_at=at), ACTOR)).campaign.id
    assert await cancel_waiting_for(ctx, stop.message.id, ACTOR) == 1
    async with ctx.db.read() as session:
        rows = (await session.execute(select(Recipient.campaign_id, Recipient.phone,
                                             Recipient.status))).all()  # fmt: skip
    cancelled = {(c, p) for c, p, s in rows if s == "cancelled"}
    assert cancelled == {(waiting, FIRST)}
    assert {s for c, p, s in rows if c == after} == {"pending"}
    assert await cancel_waiting_for(ctx, stop.message.id, ACTOR) == 0  # pressed twice: nothing


async def test_the_button_refuses_once_the_number_opted_back_in(ctx: Context, clock: Clock) -> None:
    at = clock.now + timedelta(hours=2)
    await create_campaign(ctx, new_campaign(send_at=at), ACTOR)
    stop = await record_inbound(ctx, sms("SM1", "STOP"))
    await record_inbound(ctx, sms("SM2", "START"))
    with pytest.raises(StateError, match="opted back in"):
        await cancel_waiting_for(ctx, stop.message.id, ACTOR)


async def test_unhandled_texts_are_found_until_marked_handled(ctx: Context, clock: Clock) -> None:
    received = await record_inbound(ctx, sms("SM1", "hello"))
    assert await pending_inbound(ctx, older_than=timedelta(seconds=30)) == []  # its job may run
    clock.advance(minutes=1)
    assert await pending_inbound(ctx, older_than=timedelta(seconds=30)) == [received.message.id]
    assert await mark_handled(ctx, received.message.id, "C1", "1.2")
    assert not await mark_handled(ctx, received.message.id, "C1", "1.3")
    assert await pending_inbound(ctx, older_than=timedelta(seconds=30)) == []


async def test_a_body_a_database_cannot_keep_is_cleaned(ctx: Context) -> None:
    received = await record_inbound(ctx, sms("SM1", "a\x00b\udc00c"))
    assert received.message.body == "a\ufffdb?c"


async def test_extra_keywords_come_from_the_setting(ctx: Context, clock: Clock) -> None:
    french = Context(ctx.db, make_settings(EXTRA_OPT_OUT_KEYWORDS="ARRET, ARRÊT"), clock)
    await record_inbound(french, sms("SM1", "arrêt"))
    assert await opted_out_among(ctx, [FIRST]) == {FIRST}


@pytest.mark.parametrize(
    "body",
    ["please stop texting me", "Unsubscribe me", "remove me from this list", "Stop please",
     "STOP NOW!", "pls stop", "Take me off your list", "how do I opt out?", "No more texts thanks",
     "Don’t text me again", "do not contact me", "Please remove my number from your list",
     "stop sending me these", "leave me alone"],
)  # fmt: skip
def test_a_reply_asking_in_words_not_to_be_texted_is_flagged(body: str) -> None:
    assert understand(body).meaning is Meaning.REPLY  # a person decides: not a keyword
    assert asks_to_stop(body)


@pytest.mark.parametrize(
    "body",
    ["don't stop texting me", "stop by tomorrow", "I will stop by at 3", "What time?",
     "Please don't stop the reminders", "Can I stop by the clinic?", "Thanks, see you",
     "Never stop texting me", "Is the bus stop near you?", "I can't come, please cancel my slot"],
)  # fmt: skip
def test_a_reply_that_only_mentions_stopping_is_not_flagged(body: str) -> None:
    assert not asks_to_stop(body)
