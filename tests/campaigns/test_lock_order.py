"""Writers that change many of one loop's recipients at once never deadlock (PostgreSQL).

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
from campaigns.service.status_updates import StatusUpdate, apply_status_updates
from campaigns.status import RecipientStatus
from tests.campaigns.test_claims import rows, running
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer at a time")

ROUNDS = 12  # 80 × 12: the test list holds 1,000 numbers
PER_ROUND = 80
TOKEN = "loop-a"


def sid(rid: int) -> str:
    return f"SM{rid:032d}"


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
