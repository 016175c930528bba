"""A recipient whose row cannot be sent fails alone, with a plain reason, and never stalls its
campaign: a real arq worker, the twilio SDK against the stand-in, both databases.

The API refuses such text now (tests/bot/test_bad_input.py), so the rows are spoiled in the
database, as an older version, a manual edit or a bug elsewhere could leave them: a variable
holding half a surrogate pair (both databases store the escape: the column is PostgreSQL's `json`,
which keeps the text as written; only `jsonb` would refuse it), and variables that are not an
object at all.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from campaigns.db import Database
from campaigns.service import get_campaign
from tests.worker.stack import people, running_stack

ONE = "+14155550100"
BUSY = {ONE: 50.0}


async def spoil(db: Database, campaign_id: str, phones: list[str], raw_variables: str) -> None:
    async with db.transaction() as session:
        for phone in phones:
            await session.execute(
                text("UPDATE recipients SET variables = :v WHERE campaign_id = :c AND phone = :p"),
                {"v": raw_variables, "c": campaign_id, "p": phone},
            )


POISONS = {
    # json.dumps writes the lone surrogate as the escape "\udc00", which decodes back to it.
    "lone surrogate": json.dumps({"n": "\udc00"}),
    "not an object": json.dumps(["a", "list"]),
}


@pytest.mark.parametrize("poison", sorted(POISONS))
async def test_a_row_that_cannot_be_sent_fails_alone_and_the_campaign_ends(
    db: Database, poison: str
) -> None:
    async with running_stack(db, senders=BUSY) as stack:
        recipients = people(20)
        cid = await stack.create(name="Poison", message_template="Hi {{n}}",
                                 recipients=recipients, from_number=ONE)  # fmt: skip
        bad = [recipients[3]["phone"], recipients[11]["phone"]]
        await spoil(db, cid, bad, POISONS[poison])
        await stack.start_worker()
        await stack.until_finished(cid, timeout=20)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=100)
        assert detail.view.campaign.status == "done"
        by_phone = {r.phone: r for r in detail.recipients}
        for phone in bad:
            failed = by_phone[phone]
            assert failed.status == "failed", failed.status
            assert failed.twilio_sid is None and failed.attempts <= 1
            assert "cannot be sent" in (failed.error_reason or ""), failed.error_reason
        sent = stack.twilio.sandbox.per_recipient()
        assert set(sent) == {r["phone"] for r in recipients} - set(bad)
        assert all(count == 1 for count in sent.values())
