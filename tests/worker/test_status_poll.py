"""Polling Twilio for statuses (no PUBLIC_BASE_URL): real messages sent through the Twilio
stand-in with the twilio SDK, no callbacks, and `poll_statuses` over real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import replace
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update
from twilio.rest import Client

from campaigns.delivery_errors import reason_for
from campaigns.models import OptOutEvent, Recipient
from campaigns.recipients import check_recipient_list
from campaigns.service import Context, NewCampaign, create_campaign, opted_out_among
from campaigns.service.status_news import status_news_key
from campaigns.settings import Settings
from sandbox.twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    CarrierConfig,
    RunningTwilioSandbox,
    SandboxConfig,
    start,
)
from tests.conftest import Clock, make_settings
from worker.status_poll import (
    BACKOFF_SECONDS,
    PollKeys,
    next_delay,
    poll_due_statuses,
    poll_statuses,
    polling_needed,
)

SENDER = "+14155550100"
PHONES = [f"+4477009000{i:02d}" for i in range(1, 6)]


@pytest.fixture
def settings() -> Settings:
    return make_settings(
        TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
    )


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def twilio_sandbox() -> AsyncIterator[RunningTwilioSandbox]:
    carrier = CarrierConfig(step_delay=0.002)
    running = await start(config=SandboxConfig(numbers={SENDER: 500}, carrier=carrier, seed=11))
    yield running
    await running.stop()


async def forget(redis: Redis, settings: Settings) -> None:
    """Everything this test's namespace holds in Redis (as a FLUSHDB would)."""
    keys = [key async for key in redis.scan_iter(match=f"{settings.REDIS_NAMESPACE}:*")]
    if keys:
        await redis.delete(*keys)


async def sent_campaign(
    ctx: Context, twilio: Client, phones: list[str] = PHONES, pictures: Collection[str] = ()
) -> tuple[str, dict[str, str]]:
    """A running campaign whose recipients were all sent, without status callbacks; returns
    its id and each phone's SID. The SIDs are stored as the sender stores them. The phones in
    `pictures` get an MMS."""
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Flu clinic",
            message_template="Flu jabs are available this week: reply STOP to opt out.",
            recipients=check_recipient_list([{"phone": phone} for phone in phones], "GB"),
            from_numbers=[SENDER],
            send_at=None,
            source="api",
            consent_confirmed=True,
        ),
        "api:key_tests",
    )
    sids = {}
    for phone in phones:
        media = {"media_url": ["https://example.com/clinic.png"]} if phone in pictures else {}
        message = await twilio.messages.create_async(
            to=phone, from_=SENDER, body="Flu jabs", **media
        )
        assert message.sid is not None
        sids[phone] = message.sid
        async with ctx.db.transaction() as session:
            await session.execute(
                update(Recipient)
                .where(Recipient.campaign_id == view.campaign.id, Recipient.phone == phone)
                .values(status="queued", twilio_sid=message.sid, updated_at=ctx.now())
            )
    return view.campaign.id, sids


async def statuses(ctx: Context, campaign_id: str) -> dict[str, tuple[str, int | None, str | None]]:
    async with ctx.db.read() as session:
        rows = await session.execute(select(Recipient).where(Recipient.campaign_id == campaign_id))
        return {r.phone: (r.status, r.error_code, r.error_reason) for r in rows.scalars()}


async def scheduled(redis: Redis, settings: Settings) -> int:
    return await redis.zcard(PollKeys.of(settings).schedule)


async def test_polling_brings_sent_messages_to_their_final_statuses(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    assert polling_needed(ctx.settings)
    twilio_sandbox.sandbox.fail_recipient(PHONES[2], 30003)
    twilio_sandbox.sandbox.fail_recipient(PHONES[3], 30008)
    campaign_id, _ = await sent_campaign(ctx, twilio)
    await twilio_sandbox.sandbox.settled()

    assert await poll_statuses(ctx, twilio, redis=redis) == 0  # sent just now: not asked yet
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis) == 5

    assert await statuses(ctx, campaign_id) == {
        PHONES[0]: ("delivered", None, None),
        PHONES[1]: ("delivered", None, None),
        PHONES[2]: ("undelivered", 30003, reason_for(30003)),
        PHONES[3]: ("failed", 30008, reason_for(30008)),
        PHONES[4]: ("delivered", None, None),
    }
    news = await redis.smembers(status_news_key(ctx.settings))
    assert news == {campaign_id.encode()}
    assert await scheduled(redis, ctx.settings) == 0  # final messages are not asked about again
    clock.advance(hours=1)
    assert await poll_statuses(ctx, twilio, redis=redis) == 0


async def test_with_callbacks_a_message_is_asked_about_only_after_the_backstop(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    """With PUBLIC_BASE_URL the callback should bring the status: Twilio is asked only about a
    message still not final RECEIPT_BACKSTOP_SECONDS after it was sent (its callback was lost)."""
    settings = ctx.settings.model_copy(
        update={"PUBLIC_BASE_URL": "https://sms.example.com", "RECEIPT_BACKSTOP_SECONDS": 600}
    )
    ctx = replace(ctx, settings=settings)
    assert not polling_needed(settings)
    campaign_id, _ = await sent_campaign(ctx, twilio)  # no status callback: all of them lost
    await twilio_sandbox.sandbox.settled()
    reads = twilio_sandbox.sandbox.reads

    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    clock.advance(seconds=BACKOFF_SECONDS[0])  # when polling would ask
    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    clock.advance(seconds=599 - BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    assert twilio_sandbox.sandbox.reads == reads, "asked before the backstop was due"
    clock.advance(seconds=1)
    assert await poll_statuses(ctx, twilio, redis=redis) == 5
    assert {s for s, _, _ in (await statuses(ctx, campaign_id)).values()} == {"delivered"}
    assert next_delay(1, settings) == 600  # a message still not final waits as long again


async def test_a_fetched_error_code_on_sent_is_kept_and_partially_delivered_is_final(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    twilio_sandbox.sandbox.set_carrier(sent_only={PHONES[0]: 30005}, partial_rate=1.0)
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:2], pictures={PHONES[1]})
    await twilio_sandbox.sandbox.settled()

    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis) == 2
    got = await statuses(ctx, campaign_id)
    assert got[PHONES[0]] == ("sent", 30005, reason_for(30005))
    assert got[PHONES[1]] == ("delivered", None, None)
    assert await scheduled(redis, ctx.settings) == 1  # only the `sent` one is asked about again


async def test_a_garbled_error_code_never_stops_the_poll(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    twilio_sandbox.sandbox.fail_recipient(PHONES[2], 30003)
    twilio_sandbox.sandbox.set_faults(garbled_fields={"error_code": "30003x"})
    campaign_id, _ = await sent_campaign(ctx, twilio)
    await twilio_sandbox.sandbox.settled()

    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis) == 5
    got = await statuses(ctx, campaign_id)
    assert got[PHONES[2]] == ("undelivered", None, reason_for(None))
    assert {got[phone][0] for phone in PHONES if phone != PHONES[2]} == {"delivered"}


async def test_a_backlog_drains_in_one_job_not_a_batch_per_run(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    phones = [f"+4477009001{i:02d}" for i in range(30)]
    campaign_id, _ = await sent_campaign(ctx, twilio, phones)
    await twilio_sandbox.sandbox.settled()
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis, batch=10) == 10  # one batch

    assert await poll_due_statuses(ctx, twilio, redis=redis, batch=10) == 20  # two more rounds
    assert {s for s, _, _ in (await statuses(ctx, campaign_id)).values()} == {"delivered"}


async def test_a_just_checked_message_waits_for_its_backoff(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    twilio_sandbox.sandbox.set_carrier(step_delay=0.3)
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:1])
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis) == 0  # Twilio: still sending
    await twilio_sandbox.sandbox.settled()  # delivered now, but we were told otherwise

    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    clock.advance(seconds=BACKOFF_SECONDS[1] - 1)
    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    assert await statuses(ctx, campaign_id) == {PHONES[0]: ("queued", None, None)}

    clock.advance(seconds=1)
    assert await poll_statuses(ctx, twilio, redis=redis) == 1
    assert await statuses(ctx, campaign_id) == {PHONES[0]: ("delivered", None, None)}


async def test_a_flushed_poll_set_is_rebuilt_from_the_database(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    # The carrier moves each message on after 2 s of real time: the first poll, made at once,
    # finds nothing new (with 0.3 s, a loaded CI polled after the carrier had moved all three).
    twilio_sandbox.sandbox.set_carrier(step_delay=2.0)
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:3])
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    assert await scheduled(redis, ctx.settings) == 3
    await twilio_sandbox.sandbox.settled()

    # Only the schedule is lost (evicted, or deleted by hand): the last sync was a moment ago,
    # and the rebuild must not wait for the next one.
    assert await redis.delete(PollKeys.of(ctx.settings).schedule) == 1

    # Rebuilt with each message due when it would first have been: all three, now.
    assert await poll_statuses(ctx, twilio, redis=redis) == 3
    assert set((await statuses(ctx, campaign_id)).values()) == {("delivered", None, None)}


async def test_after_a_flush_of_redis_polling_carries_on(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:2])
    clock.advance(seconds=BACKOFF_SECONDS[0])
    assert await poll_statuses(ctx, twilio, redis=redis, batch=1) == 1
    await forget(redis, ctx.settings)  # FLUSHDB, as far as this namespace goes

    assert await poll_statuses(ctx, twilio, redis=redis) == 1
    assert set((await statuses(ctx, campaign_id)).values()) == {("delivered", None, None)}


async def test_one_call_checks_at_most_a_batch_oldest_first(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:1])
    clock.advance(seconds=1)
    await sent_campaign(ctx, twilio, PHONES[1:])
    await twilio_sandbox.sandbox.settled()
    clock.advance(seconds=BACKOFF_SECONDS[0])

    assert await poll_statuses(ctx, twilio, redis=redis, batch=1) == 1
    assert (await statuses(ctx, campaign_id))[PHONES[0]][0] == "delivered"  # the oldest
    assert await poll_statuses(ctx, twilio, redis=redis, batch=3) == 3
    assert await poll_statuses(ctx, twilio, redis=redis, batch=3) == 1  # five in all
    assert await poll_statuses(ctx, twilio, redis=redis, batch=3) == 0


async def test_failed_fetches_are_tried_again_after_the_backoff(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:2])
    await twilio_sandbox.sandbox.settled()
    twilio_sandbox.sandbox.set_faults(rate_500=1.0, on_reads=True)
    clock.advance(seconds=BACKOFF_SECONDS[0])

    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    twilio_sandbox.sandbox.clear_faults()
    assert await poll_statuses(ctx, twilio, redis=redis) == 0  # not before its backoff
    clock.advance(seconds=BACKOFF_SECONDS[1])
    assert await poll_statuses(ctx, twilio, redis=redis) == 2
    assert set((await statuses(ctx, campaign_id)).values()) == {("delivered", None, None)}


async def test_messages_older_than_max_age_are_left_alone(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, _ = await sent_campaign(ctx, twilio, PHONES[:1])
    await twilio_sandbox.sandbox.settled()
    clock.advance(hours=73)

    assert await poll_statuses(ctx, twilio, redis=redis) == 0
    assert await poll_statuses(ctx, twilio, redis=redis, max_age=timedelta(hours=74)) == 1
    assert await statuses(ctx, campaign_id) == {PHONES[0]: ("delivered", None, None)}


async def test_21610_found_by_polling_records_an_opt_out(
    ctx: Context, clock: Clock, redis: Redis, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, sids = await sent_campaign(ctx, twilio, PHONES[:2])
    await twilio_sandbox.sandbox.settled()
    # As Twilio reports a message it took, then refused because the number had texted STOP.
    message = twilio_sandbox.sandbox.message(sids[PHONES[0]])
    assert message is not None
    message.status, message.error_code = "failed", 21610
    clock.advance(seconds=BACKOFF_SECONDS[0])

    assert await poll_statuses(ctx, twilio, redis=redis) == 2

    assert (await statuses(ctx, campaign_id))[PHONES[0]] == ("failed", 21610, reason_for(21610))
    assert await opted_out_among(ctx, PHONES) == {PHONES[0]}
    async with ctx.db.read() as session:
        events = (await session.execute(select(OptOutEvent))).scalars().all()
    assert [(e.phone, e.source, e.campaign_id) for e in events] == [
        (PHONES[0], "twilio_21610", campaign_id)
    ]
