"""Destinations are checked again at send time: a campaign stored before ALLOWED_COUNTRIES was
narrowed (or before destinations were checked at all) texts nobody it may not text now. A real
arq worker, the twilio SDK against the stand-in."""

from __future__ import annotations

import asyncio

from campaigns.db import Database
from campaigns.recipients import check_recipient_list
from campaigns.service import NewCampaign, create_campaign, get_campaign
from tests.conftest import make_settings
from tests.worker.stack import running_stack
from worker.main import create_worker

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


async def test_a_list_checked_when_read_is_checked_again_once_the_countries_are_narrowed(
    db: Database,
) -> None:
    """The list was read (over the API) when France was allowed; the worker starts with the UK
    only: the stored check no longer covers it, and each number is checked again."""
    async with running_stack(db, senders={ONE: 20.0}, ALLOWED_COUNTRIES="GB,FR") as stack:
        cid = await stack.create(
            name="Read with France", message_template="See you soon",
            recipients=[{"phone": SARAH}, {"phone": PARIS}], from_number=ONE,
        )  # fmt: skip
        narrowed = make_settings(**{**stack.env, "ALLOWED_COUNTRIES": "GB"})
        worker = create_worker(narrowed, handle_signals=False)
        stack.workers.append((worker, asyncio.create_task(worker.async_run())))
        await stack.until_finished(cid)
        detail = await get_campaign(stack.ctx, cid, recipients_limit=10)
        stored = detail.view.campaign.import_report["checked_destinations"]
        assert stored == {"countries": ["FR", "GB"]}
        outcome = {r.phone: (r.status, r.error_reason) for r in detail.recipients}
        assert outcome[PARIS] == (
            "failed",
            "not sent: in France (+33): this workspace only texts the United Kingdom",
        )
        assert {m.to for m in stack.twilio.sandbox.messages()} == {SARAH}
