"""Claims, leases and quarantine in the service layer, on the database's clock (both databases).

These are the rules exactly-once rests on (campaigns/service/claims.py): a loop can write only
about what it holds; a lease that ran out is taken from its loop and quarantined, not resent; a
lookup is taken by one loop at a time; nothing goes back to pending in a cancelled campaign; one
bad row never fails a batch.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from campaigns.models import Recipient
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    Context,
    NewCampaign,
    cancel_campaign,
    create_campaign,
    get_campaign,
)
from campaigns.service.claims import (
    UNKNOWN_OUTCOME,
    Outcome,
    SendResult,
    claim_batch,
    next_check_in,
    quarantine_expired,
    record_results,
    release_claims,
    renew_claims,
    take_checks,
)
from campaigns.service.sending import pause_campaign, start_campaign
from tests.conftest import Clock

A, B = "loop-a", "loop-b"


async def running(ctx: Context, count: int = 5) -> str:
    people = [{"phone": f"+4477009{i:05d}", "variables": {}} for i in range(count)]
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Claims", message_template="Hi", recipients=check_recipient_list(people, "GB"),
            from_numbers=["+14155550100"], send_at=None, source="api", consent_confirmed=True,
        ),
        "test",
    )  # fmt: skip
    await start_campaign(ctx, view.campaign.id)
    return view.campaign.id


async def rows(ctx: Context, campaign_id: str) -> dict[int, Recipient]:
    async with ctx.db.read() as session:
        found = await session.execute(
            select(Recipient).where(Recipient.campaign_id == campaign_id).order_by(Recipient.id)
        )
        return {r.id: r for r in found.scalars()}


async def test_a_claim_carries_its_owner_and_a_lease_on_the_database_clock(ctx: Context) -> None:
    cid = await running(ctx)
    claimed = await claim_batch(ctx, cid, 3, token=A, lease=60)
    stored = await rows(ctx, cid)
    for claim in claimed:
        row = stored[claim.id]
        assert (row.status, row.claim_token) == ("queued", A)
        assert row.lease_until is not None and row.claimed_at is not None
        assert row.lease_until - row.claimed_at == timedelta(seconds=60)
    # The service clock (the tests' fixed one) says nothing about claims: the database's does.
    assert abs(claimed[0].claimed_at - await db_now(ctx)) < timedelta(seconds=5)
    assert await renew_claims(ctx, cid, token=A, lease=60) == {c.id for c in claimed}
    assert await renew_claims(ctx, cid, token=B, lease=60) == set()


async def db_now(ctx: Context):  # type: ignore[no-untyped-def]
    async with ctx.db.read() as session:
        return await ctx.db.now(session)


async def test_a_loop_can_record_only_what_it_holds(ctx: Context) -> None:
    cid = await running(ctx, 2)
    first, second = await claim_batch(ctx, cid, 2, token=A, lease=60)
    await record_results(
        ctx,
        [
            SendResult(
                first.id, Outcome.SUBMITTED, sender="+14155550100", twilio_sid="SM" + "b" * 32
            ),
            SendResult(second.id, Outcome.FAILED, error_code=21211, error_reason="Not valid."),
        ],
        token=B,
    )
    assert {r.status for r in (await rows(ctx, cid)).values()} == {"queued"}
    assert all(r.twilio_sid is None for r in (await rows(ctx, cid)).values())
    assert await release_claims(ctx, cid, [first.id, second.id], token=B) == 0
    await record_results(
        ctx, [SendResult(first.id, Outcome.SUBMITTED, twilio_sid="SM" + "a" * 32)], token=A
    )
    assert (await rows(ctx, cid))[first.id].twilio_sid == "SM" + "a" * 32


async def test_a_lease_that_ran_out_is_quarantined_not_resent(ctx: Context) -> None:
    cid = await running(ctx, 3)
    live = await claim_batch(ctx, cid, 1, token=A, lease=60)
    dead = await claim_batch(ctx, cid, 2, token=B, lease=0.2)
    await asyncio.sleep(0.3)
    assert await quarantine_expired(ctx, cid, wait=30) == 2
    stored = await rows(ctx, cid)
    assert stored[live[0].id].claim_token == A  # a live lease is left alone
    for claim in dead:
        row = stored[claim.id]
        assert (row.status, row.claim_token, row.twilio_sid) == ("queued", None, None)
        assert row.unknown_since is not None and row.check_at is not None
        # The wait runs from when the lapse was found (a moment after the lease's end): a loop
        # that wakes and sends just before that is still seen by the lookup.
        assert timedelta(seconds=30) <= row.check_at - row.unknown_since < timedelta(seconds=31)
    # The loop that stalled can no longer record, nor give back, what it held.
    await record_results(ctx, [SendResult(dead[0].id, Outcome.FAILED, error_reason="x")], token=B)
    assert await release_claims(ctx, cid, [dead[1].id], token=B) == 0
    assert {r.status for r in (await rows(ctx, cid)).values()} == {"queued"}
    # Nothing is due for a lookup before its wait is over.
    assert await take_checks(ctx, cid, token="settler", lease=60, limit=10) == []
    assert 25 < (await next_check_in(ctx, cid) or 0) <= 30


async def test_staleness_is_judged_on_the_database_clock_not_the_workers(
    ctx: Context, clock: Clock
) -> None:
    cid = await running(ctx, 2)
    await claim_batch(ctx, cid, 2, token=A, lease=60)
    clock.advance(hours=2)  # a worker whose own clock runs two hours ahead
    assert await quarantine_expired(ctx, cid, wait=1) == 0
    clock.advance(hours=-4)  # ...or behind
    assert await quarantine_expired(ctx, cid, wait=1) == 0
    assert await renew_claims(ctx, cid, token=A, lease=60) != set()


async def test_one_loop_at_a_time_looks_a_recipient_up(ctx: Context) -> None:
    cid = await running(ctx, 4)
    claimed = await claim_batch(ctx, cid, 4, token=A, lease=60)
    await record_results(
        ctx, [SendResult(c.id, Outcome.UNKNOWN, check_in=0.0) for c in claimed], token=A
    )
    first, second = await asyncio.gather(
        take_checks(ctx, cid, token="one", lease=60, limit=3),
        take_checks(ctx, cid, token="two", lease=60, limit=3),
    )
    ids = [c.id for c in first] + [c.id for c in second]
    assert sorted(ids) == sorted(c.id for c in claimed)  # each taken exactly once
    assert all(c.unknown_since is not None and c.taken_at is not None for c in first + second)
    # What a lookup decides is written under its own token.
    looked = first[0]
    await record_results(
        ctx, [SendResult(looked.id, Outcome.FAILED, error_reason=UNKNOWN_OUTCOME)], token="two"
    )
    assert (await rows(ctx, cid))[looked.id].status == "queued"
    await record_results(
        ctx, [SendResult(looked.id, Outcome.FAILED, error_reason=UNKNOWN_OUTCOME)], token="one"
    )
    row = (await rows(ctx, cid))[looked.id]
    assert (row.status, row.error_reason, row.unknown_since) == ("failed", UNKNOWN_OUTCOME, None)


async def test_a_release_racing_a_cancel_never_leaves_pending_recipients(ctx: Context) -> None:
    cid = await running(ctx, 4)
    claimed = await claim_batch(ctx, cid, 4, token=A, lease=60)
    await pause_campaign(ctx, cid, "a failure spike")  # the loop decided to pause...
    await cancel_campaign(ctx, cid, "slack:U0BOB")  # ...and someone cancelled meanwhile
    assert await release_claims(ctx, cid, [c.id for c in claimed], token=A) == 4
    detail = await get_campaign(ctx, cid, recipients_limit=10)
    assert {r.status for r in detail.recipients} == {"cancelled"}


async def test_one_bad_row_is_recorded_on_its_recipient_and_the_rest_commit(
    ctx: Context,
) -> None:
    cid = await running(ctx, 4)
    one, two, three, four = await claim_batch(ctx, cid, 4, token=A, lease=60)
    taken = "SM" + "c" * 32
    await record_results(ctx, [SendResult(one.id, Outcome.SUBMITTED, twilio_sid=taken)], token=A)
    await record_results(
        ctx,
        [
            SendResult(two.id, Outcome.SUBMITTED, twilio_sid="SM" + "d" * 32),
            SendResult(three.id, Outcome.SUBMITTED, twilio_sid=taken),  # another's message
            # More segments than the column holds: PostgreSQL refuses it, SQLite takes it.
            SendResult(four.id, Outcome.SUBMITTED, twilio_sid="SM" + "e" * 32, segments=70_000),
        ],
        token=A,
    )
    stored = await rows(ctx, cid)
    assert stored[two.id].twilio_sid == "SM" + "d" * 32
    assert stored[three.id].status == "failed" and taken in (stored[three.id].error_reason or "")
    assert stored[four.id].twilio_sid == "SM" + "e" * 32  # the SID kept, whatever else failed
    assert stored[one.id].twilio_sid == taken


async def test_a_dead_loops_claims_in_a_paused_campaign_are_found_again(ctx: Context) -> None:
    cid = await running(ctx, 3)
    await claim_batch(ctx, cid, 3, token=B, lease=0.1)
    await pause_campaign(ctx, cid, "a failure spike")
    await asyncio.sleep(0.2)
    assert await quarantine_expired(ctx, cid, wait=0) == 3
    taken = await take_checks(ctx, cid, token="sweep", lease=60, limit=10)
    assert len(taken) == 3
    assert await release_claims(ctx, cid, [c.id for c in taken], token="sweep") == 3
    detail = await get_campaign(ctx, cid, recipients_limit=10)
    assert {r.status for r in detail.recipients} == {"pending"}  # resent when resumed


async def test_expired_claims_are_found_however_their_lease_was_left(ctx: Context) -> None:
    cid = await running(ctx, 2)
    claimed = await claim_batch(ctx, cid, 2, token=A, lease=60)
    async with ctx.db.transaction() as session:  # as migration 0003 leaves an older claim
        await session.execute(
            update(Recipient).where(Recipient.id == claimed[0].id).values(lease_until=None)
        )
    assert await quarantine_expired(ctx, cid, wait=5) == 1


async def test_a_sid_a_stalled_loop_holds_is_written_while_nobody_owns_the_recipient(
    ctx: Context,
) -> None:
    """A loop stalled past its lease with its requests out: Twilio made the messages, and the
    loop holds their SIDs. What it holds is the truth: written once its claim is quarantined
    (no lookup needed), or once a lookup that missed the message made it pending again (it
    would be sent twice), but never over another loop's claim; nothing else it holds is."""
    cid = await running(ctx, 4)
    retaken, missed, failed, quarantined = await claim_batch(ctx, cid, 4, token=A, lease=0.2)
    await asyncio.sleep(0.3)
    assert await quarantine_expired(ctx, cid, wait=0) == 4
    # Three are looked up, found absent and made pending again; loop B claims one of them.
    looked_up = await take_checks(ctx, cid, token="settler", lease=60, limit=3)
    assert [c.id for c in looked_up] == [retaken.id, missed.id, failed.id]
    assert await release_claims(ctx, cid, [c.id for c in looked_up], token="settler") == 3
    assert [c.id for c in await claim_batch(ctx, cid, 1, token=B, lease=60)] == [retaken.id]
    sids = {r: f"SM{i}" + "0" * 31 for i, r in enumerate((quarantined.id, missed.id, retaken.id))}
    await record_results(
        ctx,
        [SendResult(r, Outcome.SUBMITTED, sender="+14155550100", twilio_sid=sid)
         for r, sid in sids.items()]
        + [SendResult(failed.id, Outcome.FAILED, error_reason="x")],
        token=A,
    )  # fmt: skip
    stored = await rows(ctx, cid)
    for rid in (quarantined.id, missed.id):
        row = stored[rid]
        assert (row.status, row.twilio_sid, row.claim_token, row.check_at) == (
            "queued", sids[rid], None, None,
        )  # fmt: skip
    assert (stored[retaken.id].claim_token, stored[retaken.id].twilio_sid) == (B, None)
    assert (stored[failed.id].status, stored[failed.id].error_reason) == ("pending", None)
