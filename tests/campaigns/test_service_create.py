"""Creating, previewing and launching campaigns through the service layer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from campaigns.errors import InputError, LimitError, StateError
from campaigns.models import AuditEntry, Campaign, Recipient
from campaigns.recipients import check_recipient_list, parse_recipients
from campaigns.service import (
    Context,
    NewCampaign,
    create_campaign,
    launch_campaign,
    preview_campaign,
    record_opt_out,
)
from campaigns.status import CampaignStatus, Counts
from tests.conftest import Clock

ACTOR = "slack:U0001"


def people(count: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {"phone": f"+4477009{start + i:05d}", "variables": {"first_name": f"Person {i}"}}
        for i in range(count)
    ]


def new_campaign(**overrides: object) -> NewCampaign:
    values: dict[str, object] = {
        "name": "March promotion",
        "message_template": "Hi {{ first_name }}, 20% off cleanings this month. Reply STOP to opt out",
        "recipients": check_recipient_list(people(3), "GB"),
        "from_numbers": ["+14155550100"],
        "send_at": None,
        "source": "slack",
        "consent_confirmed": True,
        "channel_id": "C0001",
    }
    values.update(overrides)
    return NewCampaign(**values)  # type: ignore[arg-type]


async def table_counts(ctx: Context) -> tuple[int, int, int]:
    async with ctx.db.read() as session:
        campaigns = (await session.execute(select(func.count()).select_from(Campaign))).scalar()
        recipients = (await session.execute(select(func.count()).select_from(Recipient))).scalar()
        audit = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar()
    return campaigns or 0, recipients or 0, audit or 0


async def test_create_now_stores_a_running_campaign_with_counts(ctx: Context) -> None:
    view = await create_campaign(ctx, new_campaign(), ACTOR)
    campaign = view.campaign
    assert campaign.id.startswith("smsc_") and len(campaign.id) == 25
    assert campaign.status == CampaignStatus.RUNNING
    assert campaign.scheduled_at is None
    assert campaign.version == 1
    assert campaign.consent_confirmed_by == ACTOR
    assert campaign.consent_confirmed_at == ctx.now()
    assert view.counts == Counts(total=3, pending=3)
    assert await table_counts(ctx) == (1, 3, 1)


async def test_campaign_ids_are_unguessable(ctx: Context) -> None:
    ids = {(await create_campaign(ctx, new_campaign(), ACTOR)).campaign.id for _ in range(5)}
    assert len(ids) == 5
    assert all(cid[5:].isalnum() and cid[5:].islower() for cid in ids)


async def test_create_scheduled_inside_the_window(ctx: Context, clock: Clock) -> None:
    at = clock.now + timedelta(minutes=15)
    view = await create_campaign(ctx, new_campaign(send_at=at), ACTOR)
    assert view.campaign.status == CampaignStatus.SCHEDULED
    assert view.campaign.scheduled_at == at
    latest = clock.now + timedelta(days=7)
    view = await create_campaign(ctx, new_campaign(send_at=latest), ACTOR)
    assert view.campaign.scheduled_at == latest


@pytest.mark.parametrize(
    ("ahead", "words"),
    [
        (timedelta(minutes=14), "at least 15 minutes ahead"),
        (timedelta(days=7, minutes=1), "at most 7 days ahead"),
        (timedelta(minutes=-5), "at least 15 minutes ahead"),
    ],
)
async def test_a_schedule_outside_the_window_is_refused_and_nothing_is_stored(
    ctx: Context, clock: Clock, ahead: timedelta, words: str
) -> None:
    with pytest.raises(LimitError) as caught:
        await create_campaign(ctx, new_campaign(send_at=clock.now + ahead), ACTOR)
    assert words in caught.value.message
    assert caught.value.field == "scheduled_at"
    assert await table_counts(ctx) == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"name": "  "}, "name", "Give the campaign a name"),
        ({"message_template": " "}, "message_template", "Write the message"),
        ({"from_numbers": ["+14155559999"]}, "from_number", "not one of your sender numbers"),
        ({"from_numbers": None}, "from_number", "Choose the number"),
        ({"consent_confirmed": False}, "consent", "agreed to receive texts"),
        ({"message_template": "x" * 1601}, "message_template", "over 1,600 characters"),
    ],
)
async def test_bad_input_says_what_to_fix_and_leaves_nothing(
    ctx: Context, change: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        await create_campaign(ctx, new_campaign(**change), ACTOR)
    assert caught.value.field == field
    assert words in caught.value.message
    assert await table_counts(ctx) == (0, 0, 0)


async def test_no_valid_recipient_is_refused(ctx: Context) -> None:
    report = check_recipient_list([{"phone": "12"}, {"phone": "not a number"}], "GB")
    with pytest.raises(InputError, match="no valid phone number") as caught:
        await create_campaign(ctx, new_campaign(recipients=report), ACTOR)
    assert caught.value.field == "recipients"
    assert await table_counts(ctx) == (0, 0, 0)


async def test_a_failure_while_storing_recipients_leaves_no_partial_campaign(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from campaigns.service import common

    async def explode(session, campaign_id, report, segments):  # type: ignore[no-untyped-def]
        await original(session, campaign_id, report, segments)
        raise RuntimeError("disk full")

    original = common.insert_recipients
    monkeypatch.setattr("campaigns.service.create.insert_recipients", explode)
    with pytest.raises(RuntimeError):
        await create_campaign(
            ctx, new_campaign(recipients=check_recipient_list(people(50), None)), ACTOR
        )
    assert await table_counts(ctx) == (0, 0, 0)


async def test_all_numbers_makes_a_pool(ctx: Context) -> None:
    view = await create_campaign(ctx, new_campaign(from_numbers=["all"]), ACTOR)
    assert view.campaign.sender_mode == "pool"
    assert view.campaign.from_numbers == ["+14155550100", "+14155550101", "+14155550102"]


async def test_the_same_idempotency_key_returns_the_first_campaign(ctx: Context) -> None:
    first = await create_campaign(ctx, new_campaign(idempotency_key="k1"), "api:key_a")
    again = await create_campaign(ctx, new_campaign(idempotency_key="k1"), "api:key_a")
    other_key = await create_campaign(ctx, new_campaign(idempotency_key="k1"), "api:key_b")
    assert again.campaign.id == first.campaign.id
    assert other_key.campaign.id != first.campaign.id
    assert (await table_counts(ctx))[0] == 2


async def test_preview_shows_counts_renders_cost_and_duration(ctx: Context) -> None:
    csv = (
        b"first_name,phone,city\n"
        b"Ann,+447700900001,Leeds\n"
        b"Bob,07700 900002,\n"
        b"Ann again,+447700900001,York\n"
        b"Cy,12345,Hull\n"
        b"Dee,+447700900003,Bath\n"
    )
    report = parse_recipients(csv, "GB")
    await record_opt_out(ctx, "+447700900003", source="sms", keyword="STOP")
    view = await create_campaign(
        ctx,
        new_campaign(
            recipients=report,
            message_template="Hi {{first_name}} from {{ city }} – see you {{day}}",
            from_numbers=["+14155550100", "+14155550101"],
        ),
        ACTOR,
        launch=False,
    )
    assert view.campaign.status == CampaignStatus.DRAFT
    preview = await preview_campaign(ctx, view.campaign.id)
    assert preview.view.counts.total == 3
    assert preview.import_report["duplicates"] == 1
    assert preview.import_report["invalid_count"] == 1
    assert preview.import_report["invalid"][0]["row"] == 5
    assert preview.opted_out_count == 1 and preview.opted_out == ["+447700900003"]
    # The samples are of those who will be texted: Dee opted out.
    assert [s.text for s in preview.samples] == [
        "Hi Ann from Leeds – see you ",
        "Hi Bob from  – see you ",
    ]
    assert [s.missing for s in preview.samples] == [("day",), ("city", "day")]
    assert preview.gaps == ("day", "city")  # every sample has a gap
    assert (preview.texted, preview.skipped, preview.cost_to_text) == (2, 1, Decimal("0.0158"))
    stats = preview.stats
    assert stats.encoding == "UCS-2" and stats.ucs2_chars == ("–",)
    assert stats.missing == {"city": 1, "day": 3}
    assert stats.unknown_placeholders == ("day",)
    assert stats.total_segments == 3
    assert preview.cost == Decimal("0.0237") and preview.currency == "USD"
    assert preview.messages_per_second == 10
    assert preview.send_duration == timedelta(seconds=0.3)


async def test_cost_sums_each_recipients_own_message(ctx: Context) -> None:
    items = [
        {"phone": "+447700900001", "variables": {"note": "short"}},
        {"phone": "+447700900002", "variables": {"note": "x" * 200}},  # 2 segments
    ]
    view = await create_campaign(
        ctx,
        new_campaign(recipients=check_recipient_list(items, None), message_template="{{note}}"),
        ACTOR,
    )
    preview = await preview_campaign(ctx, view.campaign.id)
    assert (preview.stats.min_segments, preview.stats.max_segments) == (1, 2)
    assert preview.stats.total_segments == 3
    assert preview.cost == Decimal("0.0237")


async def test_launch_turns_a_draft_into_a_scheduled_campaign(ctx: Context, clock: Clock) -> None:
    at = clock.now + timedelta(hours=2)
    draft = await create_campaign(
        ctx, new_campaign(send_at=at, consent_confirmed=False), ACTOR, launch=False
    )
    with pytest.raises(InputError, match="agreed to receive texts"):
        await launch_campaign(ctx, draft.campaign.id, ACTOR, consent_confirmed=False)
    with pytest.raises(StateError, match="someone else's"):  # a draft is its writer's to launch
        await launch_campaign(ctx, draft.campaign.id, "slack:U0002", consent_confirmed=True)
    launched = await launch_campaign(ctx, draft.campaign.id, ACTOR, consent_confirmed=True)
    assert launched.campaign.status == CampaignStatus.SCHEDULED
    assert launched.campaign.consent_confirmed_by == ACTOR
    with pytest.raises(StateError, match="already scheduled"):
        await launch_campaign(ctx, draft.campaign.id, ACTOR, consent_confirmed=True)


async def test_launch_rechecks_the_window(ctx: Context, clock: Clock) -> None:
    draft = await create_campaign(
        ctx, new_campaign(send_at=clock.now + timedelta(minutes=20)), ACTOR, launch=False
    )
    clock.advance(minutes=6)  # the preview sat open: now only 14 minutes ahead
    with pytest.raises(LimitError, match="at least 15 minutes"):
        await launch_campaign(ctx, draft.campaign.id, ACTOR, consent_confirmed=True)
