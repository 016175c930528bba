"""Approval by a second person, in the service: who may approve, a late approval, a rejection,
an edit that needs a fresh approval, and spend caps that ask for approval instead of refusing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.db import Database
from campaigns.errors import SpendCapError, StateError
from campaigns.models import Campaign
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    CampaignChanges,
    Context,
    create_campaign,
    edit_campaign,
    edit_confirmed_campaign,
    launch_campaign,
)
from campaigns.service.approval import approve_campaign, reject_campaign
from campaigns.service.revision import apply_draft, draft_of
from tests.campaigns.test_service_create import new_campaign, people
from tests.conftest import Clock, make_settings

ALICE, BOB = "slack:U0ALICE", "slack:U0BOB"


@pytest.fixture
def clock() -> Clock:
    """Starts at the real time: whether a schedule's time is gone is judged on the database's
    clock, which tests do not move; a late approval moves the campaign's time back instead."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


async def move_time_back(db: Database, campaign_id: str, by: timedelta) -> None:
    """As if `by` had passed on the database's clock since the campaign was scheduled."""
    async with db.transaction() as session:
        campaign = await session.get_one(Campaign, campaign_id)
        assert campaign.scheduled_at is not None
        campaign.scheduled_at -= by


def approvals(db: Database, clock: Clock, **more: str) -> Context:
    settings = make_settings(APPROVAL_ABOVE_RECIPIENTS="2", **more)
    return Context(db=db, settings=settings, clock=clock)


def many() -> object:
    return check_recipient_list(people(3), "GB")


async def test_over_the_threshold_it_waits_and_its_creator_cannot_approve_it(
    db: Database, clock: Clock
) -> None:
    ctx = approvals(db, clock)
    small = await create_campaign(ctx, new_campaign(recipients=check_recipient_list(people(2), "GB")), ALICE)  # fmt: skip
    assert small.campaign.status == "running"  # 2 is not above 2
    draft = await create_campaign(ctx, new_campaign(recipients=many()), ALICE, launch=False)
    waiting = await launch_campaign(ctx, draft.campaign.id, ALICE, consent_confirmed=True)
    campaign = waiting.campaign
    assert campaign.status == "awaiting_approval"
    assert campaign.approval_reason == "3 recipients, more than 2"
    with pytest.raises(StateError, match="someone else"):
        await approve_campaign(ctx, campaign.id, campaign.version, ALICE)
    approved = await approve_campaign(ctx, campaign.id, campaign.version, BOB)
    assert (approved.view.campaign.status, approved.late) == ("running", False)
    assert approved.view.campaign.approved_by == BOB
    with pytest.raises(StateError, match="nothing to approve"):
        await reject_campaign(ctx, campaign.id, approved.view.campaign.version, BOB)


async def test_a_schedule_approved_in_time_waits_and_one_approved_late_asks_again(
    db: Database, clock: Clock
) -> None:
    ctx = approvals(db, clock)
    at = clock.now + timedelta(hours=2)
    early = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    decided = await approve_campaign(ctx, early.campaign.id, early.campaign.version, BOB)
    assert (decided.view.campaign.status, decided.late) == ("scheduled", False)
    late = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    clock.advance(hours=3)  # nobody answered before its time
    await move_time_back(db, late.campaign.id, timedelta(hours=3))
    decided = await approve_campaign(ctx, late.campaign.id, late.campaign.version, BOB)
    assert (decided.view.campaign.status, decided.late) == ("paused", True)
    assert "approved after its time" in (decided.view.campaign.pause_reason or "")


async def test_a_schedule_is_judged_late_on_the_database_clock_not_the_approvers(
    db: Database, clock: Clock
) -> None:
    ctx = approvals(db, clock)
    at = clock.now + timedelta(hours=2)
    early = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    late = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    clock.advance(hours=3)  # the web process's clock runs 3 hours fast
    decided = await approve_campaign(ctx, early.campaign.id, early.campaign.version, BOB)
    assert (decided.view.campaign.status, decided.late) == ("scheduled", False)
    clock.advance(hours=-6)  # ... or 3 hours slow
    await move_time_back(db, late.campaign.id, timedelta(hours=3))
    decided = await approve_campaign(ctx, late.campaign.id, late.campaign.version, BOB)
    assert (decided.view.campaign.status, decided.late) == ("paused", True)


async def test_over_a_spend_cap_with_approvals_set_it_asks_instead_of_refusing(
    db: Database, clock: Clock
) -> None:
    ctx = Context(db=db, settings=make_settings(APPROVAL_ABOVE_COST="100",
                                                MAX_CAMPAIGN_COST="0.01"), clock=clock)  # fmt: skip
    made = await create_campaign(ctx, new_campaign(recipients=many()), ALICE)
    assert made.campaign.status == "awaiting_approval"
    assert "one campaign may cost" in (made.campaign.approval_reason or "")


async def test_an_edit_needs_a_fresh_approval(db: Database, clock: Clock) -> None:
    ctx = approvals(db, clock)
    at = clock.now + timedelta(hours=2)
    made = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    asked_about = made.campaign.version
    draft, based_on = await draft_of(ctx, made.campaign.id, ALICE)
    await edit_campaign(ctx, draft.campaign.id, CampaignChanges(name="Open day (new time)"), ALICE)
    edited = await apply_draft(ctx, made.campaign.id, draft.campaign.id, ALICE, based_on=based_on)
    assert edited.campaign.status == "awaiting_approval"
    assert edited.campaign.version > asked_about
    with pytest.raises(StateError, match="changed after this request"):
        await approve_campaign(ctx, made.campaign.id, asked_about, BOB)
    decided = await approve_campaign(ctx, made.campaign.id, edited.campaign.version, BOB)
    assert decided.view.campaign.status == "scheduled"


async def test_an_edit_of_a_confirmed_campaign_is_decided_afresh(
    db: Database, clock: Clock
) -> None:
    """The API's edit: growing a scheduled campaign over the threshold makes it wait for
    approval; an edit of an approved one drops the approval, and a rule it breaks keeps it."""
    ctx = approvals(db, clock)
    at = clock.now + timedelta(hours=2)
    small = check_recipient_list(people(2), "GB")
    created = await create_campaign(ctx, new_campaign(recipients=small, send_at=at), ALICE)
    assert created.campaign.status == "scheduled"
    grown, changed = await edit_confirmed_campaign(
        ctx, created.campaign.id, CampaignChanges(recipients=many()), ALICE
    )
    assert changed == ["recipients"]
    campaign = grown.campaign
    assert (campaign.status, campaign.version) == ("awaiting_approval", 2)
    assert (campaign.approval_reason or "").endswith("recipients, more than 2")
    approved = await approve_campaign(ctx, campaign.id, campaign.version, BOB)
    assert approved.view.campaign.status == "scheduled"
    version = approved.view.campaign.version
    renamed, _ = await edit_confirmed_campaign(
        ctx, campaign.id, CampaignChanges(name="Renamed", expected_version=version), ALICE
    )
    assert renamed.campaign.status == "awaiting_approval"  # approval was for what it said before
    with pytest.raises(StateError, match="changed meanwhile"):
        await edit_confirmed_campaign(
            ctx, campaign.id, CampaignChanges(name="Again", expected_version=version), ALICE
        )


CAROL = "slack:U0CAROL"


async def test_whoever_changed_it_since_its_last_approval_may_not_approve_it(
    db: Database, clock: Clock
) -> None:
    """Bob's edit needs someone else; Alice, who made no version since Carol approved hers, may
    approve it; an edit on a draft copy counts whoever wrote it and whoever applied it."""
    ctx = approvals(db, clock)
    at = clock.now + timedelta(hours=2)
    made = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    assert made.campaign.changed_by == [ALICE]
    approved = await approve_campaign(ctx, made.campaign.id, made.campaign.version, CAROL)
    assert approved.view.campaign.changed_by == []
    grown, _ = await edit_confirmed_campaign(
        ctx, made.campaign.id, CampaignChanges(recipients=check_recipient_list(people(4), "GB")), BOB
    )  # fmt: skip
    campaign = grown.campaign
    assert (campaign.status, campaign.changed_by) == ("awaiting_approval", [BOB])
    with pytest.raises(StateError, match="You changed this campaign since it was last approved"):
        await approve_campaign(ctx, campaign.id, campaign.version, BOB)
    again = await approve_campaign(ctx, campaign.id, campaign.version, ALICE)
    assert again.view.campaign.status == "scheduled"

    draft, based_on = await draft_of(ctx, made.campaign.id, CAROL)
    await edit_campaign(ctx, draft.campaign.id, CampaignChanges(name="Open day"), CAROL)
    with pytest.raises(StateError, match="someone else's"):  # only Carol applies her changes
        await apply_draft(ctx, made.campaign.id, draft.campaign.id, BOB, based_on=based_on)
    edited = await apply_draft(ctx, made.campaign.id, draft.campaign.id, CAROL, based_on=based_on)
    assert edited.campaign.changed_by == [CAROL]
    with pytest.raises(StateError, match="You changed this campaign"):
        await approve_campaign(ctx, made.campaign.id, edited.campaign.version, CAROL)
    await approve_campaign(ctx, made.campaign.id, edited.campaign.version, BOB)


async def test_no_edit_of_a_confirmed_campaign_skips_its_caps_or_approval(
    db: Database, clock: Clock
) -> None:
    """edit_campaign was the draft's edit, but took a scheduled campaign too, with no caps and
    no approval: a confirmed one is now decided again, as edit_confirmed_campaign does."""
    at = clock.now + timedelta(hours=2)
    capped = Context(db=db, settings=make_settings(MAX_CAMPAIGN_COST="0.05"), clock=clock)
    small = await create_campaign(capped, new_campaign(send_at=at), ALICE)
    grown = CampaignChanges(recipients=check_recipient_list(people(20), "GB"))
    with pytest.raises(SpendCapError, match="one campaign may cost"):
        await edit_campaign(capped, small.campaign.id, grown, BOB)
    ctx = approvals(db, clock)
    made = await create_campaign(ctx, new_campaign(recipients=many(), send_at=at), ALICE)
    approved = await approve_campaign(ctx, made.campaign.id, made.campaign.version, CAROL)
    assert approved.view.campaign.status == "scheduled"
    edited = await edit_campaign(ctx, made.campaign.id, CampaignChanges(name="Renamed"), BOB)
    assert (edited.campaign.status, edited.campaign.changed_by) == ("awaiting_approval", [BOB])
