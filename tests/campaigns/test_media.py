"""Pictures in messages (MMS): the URLs a campaign may carry, who can send them, what they cost."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from campaigns.errors import InputError
from campaigns.media import can_send_mms, check_media_urls
from campaigns.models import Campaign, Recipient
from campaigns.service import (
    CampaignChanges,
    Context,
    campaign_report,
    create_campaign,
    edit_campaign,
    preview_campaign,
)
from campaigns.service.revision import apply_draft, draft_of
from campaigns.settings import Settings
from tests.campaigns.test_service_create import ACTOR, new_campaign, table_counts
from tests.conftest import Clock, make_settings

PICTURE = "https://cdn.example.com/offers/march.jpg"
LONG_TEXT = "Hi {{ first_name }}, " + "twenty percent off everything this month. " * 6


def test_urls_are_stripped_and_blanks_and_repeats_dropped() -> None:
    assert check_media_urls([f"  {PICTURE} ", "", PICTURE, "http://example.org/b.png"]) == (
        PICTURE,
        "http://example.org/b.png",
    )
    assert check_media_urls(None) == ()


@pytest.mark.parametrize(
    ("urls", "says"),
    [
        ([f"https://example.com/{i}.jpg" for i in range(11)], "at most 10 pictures"),
        (["example.com/a.jpg"], "starting with https://"),
        (["ftp://example.com/a.jpg"], "starting with https://"),
        (["https://example.com/my offer.jpg"], "encode them as %20"),
        (["http://localhost:3000/a.png"], "Twilio cannot reach"),
        (["https://127.0.0.1/a.png"], "Twilio cannot reach"),
        (["https://192.168.1.20/a.png"], "Twilio cannot reach"),
        (["https://[::1]/a.png"], "Twilio cannot reach"),
        (["https://files.internal/a.png"], "Twilio cannot reach"),
        (["https://[oops/a.png"], "is not a valid URL"),
        (["https://example.com/" + "a" * 2100], "longer than 2,000 characters"),
        (["https://example.com/\udc00.png"], "broken character"),
    ],
)
def test_bad_urls_say_what_to_fix(urls: list[str], says: str) -> None:
    with pytest.raises(InputError) as raised:
        check_media_urls(urls)
    assert says in raised.value.message and raised.value.field == "media_urls"


@pytest.mark.parametrize(
    ("phone", "able"),
    [("+14155550100", True), ("+16135550123", True), ("+447700900123", False),
     ("+18095550100", False), ("not a number", False)],
)  # fmt: skip
def test_only_us_and_canadian_numbers_send_pictures(phone: str, able: bool) -> None:
    assert can_send_mms(phone) is able


async def test_an_mms_campaign_is_one_message_each_priced_per_message(ctx: Context) -> None:
    view = await create_campaign(
        ctx, new_campaign(message_template=LONG_TEXT, media_urls=[PICTURE]), ACTOR
    )
    assert view.campaign.media_urls == [PICTURE]
    preview = await preview_campaign(ctx, view.campaign.id)
    assert preview.stats.mms and preview.stats.total_segments == 3  # the text alone would be 6
    assert preview.cost == 3 * ctx.settings.PRICE_PER_MMS == Decimal("0.0600")
    assert preview.send_duration == timedelta(seconds=3 / 5)  # one message each, at 5 a second
    assert preview.outside_mms_area == 3  # the test list is British
    async with ctx.db.read() as session:
        segments = (await session.execute(select(Recipient.segments))).scalars().all()
    assert segments == [1, 1, 1]


async def test_the_same_text_without_pictures_is_priced_by_segment(ctx: Context) -> None:
    view = await create_campaign(ctx, new_campaign(message_template=LONG_TEXT), ACTOR)
    preview = await preview_campaign(ctx, view.campaign.id)
    assert not preview.stats.mms and preview.stats.total_segments == 6
    assert preview.cost == 6 * ctx.settings.PRICE_PER_SEGMENT
    assert preview.outside_mms_area == 0


async def test_pictures_from_a_number_that_cannot_send_them_are_refused(
    ctx: Context, clock: Clock
) -> None:
    settings = make_settings(SENDER_NUMBERS="+14155550100,+447700900999")
    uk = Context(ctx.db, settings, clock)
    with pytest.raises(InputError) as raised:
        await create_campaign(
            uk, new_campaign(from_numbers=["+447700900999"], media_urls=[PICTURE]), ACTOR
        )
    assert "US and Canadian numbers only" in raised.value.message
    assert "+447700900999" in raised.value.message
    with pytest.raises(InputError):  # a pool with one such number, too
        await create_campaign(uk, new_campaign(from_numbers=["all"], media_urls=[PICTURE]), ACTOR)
    assert await table_counts(ctx) == (0, 0, 0)
    # Without pictures the same number is fine; a Messaging Service decides for itself.
    await create_campaign(uk, new_campaign(from_numbers=["+447700900999"]), ACTOR)
    service = Context(ctx.db, _with_service(settings), clock)
    await create_campaign(
        service, new_campaign(from_numbers=["MG123"], media_urls=[PICTURE]), ACTOR
    )


def _with_service(settings: Settings) -> Settings:
    return make_settings(
        SENDER_NUMBERS=",".join(settings.sender_phones), TWILIO_MESSAGING_SERVICE_SID="MG123"
    )


async def test_editing_pictures_in_and_out_recounts_segments_and_cost(
    ctx: Context, clock: Clock
) -> None:
    at = clock.now + timedelta(hours=1)
    view = await create_campaign(ctx, new_campaign(message_template=LONG_TEXT, send_at=at), ACTOR)
    cid = view.campaign.id
    await edit_campaign(ctx, cid, CampaignChanges(media_urls=[PICTURE]), ACTOR)
    assert (await preview_campaign(ctx, cid)).stats.total_segments == 3
    await edit_campaign(ctx, cid, CampaignChanges(media_urls=[]), ACTOR)
    preview = await preview_campaign(ctx, cid)
    assert not preview.stats.mms and preview.stats.total_segments == 6
    assert preview.view.campaign.media_urls == []


async def test_an_edit_draft_carries_the_pictures_to_the_scheduled_campaign(
    ctx: Context, clock: Clock
) -> None:
    at = clock.now + timedelta(hours=1)
    view = await create_campaign(ctx, new_campaign(send_at=at), ACTOR)
    draft, version = await draft_of(ctx, view.campaign.id, ACTOR)
    await edit_campaign(ctx, draft.campaign.id, CampaignChanges(media_urls=[PICTURE]), ACTOR)
    await apply_draft(ctx, view.campaign.id, draft.campaign.id, ACTOR, based_on=version)
    async with ctx.db.read() as session:
        campaign = await session.get(Campaign, view.campaign.id)
    assert campaign is not None and campaign.media_urls == [PICTURE]
    assert campaign.message_stats["mms"] is True


async def test_the_report_prices_what_was_sent_per_message(ctx: Context) -> None:
    view = await create_campaign(
        ctx, new_campaign(message_template=LONG_TEXT, media_urls=[PICTURE]), ACTOR
    )
    async with ctx.db.transaction() as session:
        for n, recipient in enumerate(
            (await session.execute(select(Recipient).order_by(Recipient.id))).scalars()
        ):
            if n < 2:
                recipient.twilio_sid, recipient.status = f"MM{n:032d}", "delivered"
    report = await campaign_report(ctx, view.campaign.id)
    assert report.cost_sent == 2 * ctx.settings.PRICE_PER_MMS
