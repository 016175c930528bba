"""End to end: a campaign created over the API is sent by a real worker through the stand-in."""

from __future__ import annotations

from campaigns.db import Database
from campaigns.service import get_campaign
from tests.worker.stack import people, running_stack


async def test_a_campaign_created_now_is_sent_once_to_everyone(db: Database) -> None:
    async with running_stack(db) as stack:
        await stack.start_worker()
        cid = await stack.create(
            name="Now",
            message_template="Hi {{n}}",
            recipients=people(20),
            from_numbers=["+14155550100", "+14155550101"],
        )
        await stack.until_finished(cid)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=100)
        assert detail.view.campaign.status == "done"
        assert all(r.twilio_sid for r in detail.recipients)
        sandbox = stack.twilio.sandbox
        assert sorted(sandbox.per_recipient().values()) == [1] * 20
        assert not sandbox.duplicates()
        bodies = {m.to: m.body for m in sandbox.messages()}
        assert bodies["+447400000003"] == "Hi 3"
