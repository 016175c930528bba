"""Writers that change many of one loop's recipients at once never deadlock (PostgreSQL), and
the set-based ones change what their one-row-at-a-time versions did.

A loop renews its leases while its results are written, on two connections, and status news
arrives on a third. Each transaction locks many of the same rows; locked in different orders
they wait on each other in a circle, and PostgreSQL kills one after a second
(campaigns/service/set_writes.py). Here the results and the news come in the reverse of the
order the renewal reads its rows, the order that deadlocked before they all locked by id.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from campaigns.service import Context
from campaigns.service.claims import (
    Outcome,
    SendResult,
    claim_batch,
    record_results,
    renew_claims,
)
from campaigns.service.status_news import attach_sids
from campaigns.service.status_updates import StatusUpdate, apply_status_updates
from campaigns.status import RecipientStatus
from tests.campaigns.test_claims import rows, running
from tests.conftest import ON_POSTGRES

ONE_WRITER = "SQLite has one writer at a time"

ROUNDS = 12  # 80 × 12: the test list holds 1,000 numbers
PER_ROUND = 80
TOKEN = "loop-a"


def sid(rid: int) -> str:
    return f"SM{rid:032d}"


@pytest.mark.skipif(not ON_POSTGRES, reason=ONE_WRITER)
async def test_renewals_result_writes_and_status_news_never_deadlock(ctx: Context) -> None:
    """Each round's results also hold the last round's again (a flush retried after a commit
    whose answer was lost), about which status news arrives meanwhile."""
    campaign_id = await running(ctx, ROUNDS * PER_ROUND)
    shuffle = random.Random(7)
    last_round: list[int] = []
    for _ in range(ROUNDS):
        claimed = await claim_batch(ctx, campaign_id, PER_ROUND, token=TOKEN, lease=60)
        assert len(claimed) == PER_ROUND
        newest_first = sorted([c.id for c in claimed] + last_round, reverse=True)
        results = [
            SendResult(rid, Outcome.SUBMITTED, sender="+14155550100", twilio_sid=sid(rid))
            for rid in newest_first
        ]
        news = [StatusUpdate(RecipientStatus.DELIVERED, twilio_sid=sid(rid)) for rid in last_round]
        shuffle.shuffle(news)
        renewed, _, moved = await asyncio.gather(
            renew_claims(ctx, campaign_id, token=TOKEN, lease=60),
            record_results(ctx, results, token=TOKEN),
            apply_status_updates(ctx, news),
        )
        assert renewed <= {c.id for c in claimed}
        assert moved == len(last_round)
        last_round = [c.id for c in claimed]
    found = await rows(ctx, campaign_id)
    assert all(r.twilio_sid == sid(r.id) and r.claim_token is None for r in found.values())


@pytest.mark.skipif(not ON_POSTGRES, reason=ONE_WRITER)
async def test_status_news_and_result_writes_on_the_same_rows_never_deadlock(
    ctx: Context,
) -> None:
    """News about the same messages in two batches at once, in opposite orders (two web
    processes), while a flush is retried: each batch is one statement, which must lock its
    rows in one order whatever the batch's (without it, this deadlocked in the first round)."""
    campaign_id = await running(ctx, ROUNDS * PER_ROUND)
    for _ in range(ROUNDS):
        claimed = await claim_batch(ctx, campaign_id, PER_ROUND, token=TOKEN, lease=60)
        ids = sorted(c.id for c in claimed)
        results = [
            SendResult(rid, Outcome.SUBMITTED, sender="+14155550100", twilio_sid=sid(rid))
            for rid in ids
        ]
        await record_results(ctx, results, token=TOKEN)
        news = [StatusUpdate(RecipientStatus.SENT, twilio_sid=sid(rid)) for rid in reversed(ids)]
        for _ in range(4):  # the same results again (their commit's answer was lost)
            await asyncio.gather(
                record_results(ctx, list(reversed(results)), token=TOKEN),
                apply_status_updates(ctx, news),
                apply_status_updates(ctx, list(reversed(news))),
            )
    found = await rows(ctx, campaign_id)
    assert all(r.status == RecipientStatus.SENT for r in found.values())


async def test_attaching_sids_keeps_one_message_per_recipient_and_one_recipient_per_message(
    ctx: Context,
) -> None:
    """Callbacks that beat the sender's write (one statement on PostgreSQL, a loop on SQLite):
    a recipient takes the first SID named for it, a SID goes to one recipient, and a callback
    whose `To` is not the recipient's number attaches nothing."""
    campaign_id = await running(ctx, 4)
    claimed = sorted(c.id for c in await claim_batch(ctx, campaign_id, 4, token=TOKEN, lease=60))
    first, second, third, fourth = claimed
    before = await rows(ctx, campaign_id)
    found = [
        (second, "SM" + "b" * 32, before[second].phone),
        (first, "SM" + "a" * 32, None),  # no To: the signature vouches for the pairing
        (first, "SM" + "c" * 32, before[first].phone),  # a second message for it: not kept
        (third, "SM" + "b" * 32, before[third].phone),  # the SID is the second's
        (fourth, "SM" + "d" * 32, "+447700900999"),  # not its number
    ]
    assert await attach_sids(ctx, found) == 2
    after = await rows(ctx, campaign_id)
    assert [after[rid].twilio_sid for rid in claimed] == [
        "SM" + "a" * 32,
        "SM" + "b" * 32,
        None,
        None,
    ]
    assert after[first].claim_token is None and after[first].sent_at is not None
    assert await attach_sids(ctx, [(third, "SM" + "e" * 32, None)]) == 1
    assert await attach_sids(ctx, [(third, "SM" + "f" * 32, None)]) == 0  # it has one now
