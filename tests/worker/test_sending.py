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


async def test_a_picture_campaign_reaches_twilio_with_its_media_urls(db: Database) -> None:
    pictures = ["https://cdn.example.com/march.jpg", "https://cdn.example.com/map.png"]
    async with running_stack(db) as stack:
        await stack.start_worker()
        cid = await stack.create(
            name="With pictures",
            message_template="Hi {{n}}, see you Saturday " + "at the market square " * 10,
            recipients=people(4),
            from_numbers=["+14155550100"],
            media_urls=pictures,
        )
        await stack.until_finished(cid)
        sent = stack.twilio.sandbox.messages()
        assert len(sent) == 4
        assert all(list(m.media_urls) == pictures for m in sent)  # both, in order, each message
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        assert [r.segments for r in detail.recipients] == [1] * 4
