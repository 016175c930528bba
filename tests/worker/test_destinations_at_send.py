"""Destinations are checked again at send time: a campaign stored before ALLOWED_COUNTRIES was
narrowed (or before destinations were checked at all) texts nobody it may not text now. A real
arq worker, the twilio SDK against the stand-in."""

from __future__ import annotations

from campaigns.db import Database
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign
from tests.worker.stack import running_stack

ONE = "+14155550100"
PREMIUM_RATE = "a premium-rate number: calls and texts to it cost extra"
SARAH, PREMIUM, PARIS = "+447400000001", "+19005550123", "+33612345678"


async def test_a_stored_campaign_does_not_text_numbers_refused_now(db: Database) -> None:
    async with running_stack(db, senders={ONE: 20.0}, ALLOWED_COUNTRIES="GB") as stack:
        # Read without destinations, as a campaign stored before they were checked was.
        stored = check_recipient_list([{"phone": p} for p in (SARAH, PREMIUM, PARIS)], "GB")
        assert len(stored.recipients) == 3
        view = await create_campaign(stack.ctx, NewCampaign(
            name="Old list", message_template="See you soon", recipients=stored,
            from_numbers=[ONE], send_at=None, source="api", consent_confirmed=True,
        ), "test")  # fmt: skip
        await stack.start_worker()
        await stack.until_finished(view.campaign.id)
        detail = await get_campaign(stack.ctx, view.campaign.id, recipients_limit=10)
        outcome = {r.phone: (r.status, r.error_reason) for r in detail.recipients}
        assert outcome[PREMIUM] == ("failed", f"not sent: {PREMIUM_RATE}")
        assert outcome[PARIS] == (
            "failed",
            "not sent: in France (+33): this workspace only texts the United Kingdom",
        )
        assert outcome[SARAH][0] != "failed"
        sent_to = {m.to for m in stack.twilio.sandbox.messages()}
        assert sent_to == {SARAH}
