"""Pictures uploaded in the compose modal, through signed Slack requests into the running web
app, the Slack stand-in serving the files, the real database and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from bot.blocks.compose import CHECKING, COMPOSE, MEDIA, PICTURES
from bot.blocks.preview import BACK_TO_EDIT, CONFIRM, PREVIEW
from bot.slack import compose as compose_listener
from campaigns.media_files import MAX_MEDIA_BYTES
from campaigns.models import MediaFile
from campaigns.service import get_campaign
from campaigns.settings import Settings
from sandbox.slack import SlackSandbox
from tests.bot.conftest import Api, slack_settings
from tests.bot.test_slack_compose import (
    PLAIN,
    campaigns_stored,
    click,
    filled,
    showing,
    sms,
    submit,
    top_view,
    until,
)
from tests.campaigns.test_media_files import GIF, PDF, png
from tests.sandbox.slack_fixtures import slack_config_fixture, slack_fixture  # noqa: F401

BASE = "https://sms.example.com"


@pytest.fixture
def api_settings(slack: SlackSandbox, request: pytest.FixtureRequest) -> Settings:
    return slack_settings(slack.url, request, DEFAULT_REGION="US", PUBLIC_BASE_URL=BASE,
                          TWILIO_AUTH_TOKEN="the-auth-token")  # fmt: skip


def block(view: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if b.get("block_id") == block_id), None)


async def compose(web: Api, slack: SlackSandbox) -> dict[str, Any]:
    await sms(web, slack, "new")
    return await until(showing(slack, COMPOSE))


def uploaded(slack: SlackSandbox, name: str, data: bytes) -> dict[str, Any]:
    return slack.file_object(slack.add_file(name, data).id)


async def files_stored(web: Api) -> int:
    async with web.runtime.db.read() as session:
        return (await session.execute(select(func.count()).select_from(MediaFile))).scalar_one()


async def test_an_uploaded_png_makes_an_mms_campaign_priced_as_one(
    web: Api, slack: SlackSandbox
) -> None:
    form = await compose(web, slack)
    field = block(form, PICTURES)
    assert field is not None and field["element"]["type"] == "file_input"
    assert field["element"]["filetypes"] == ["jpg", "jpeg", "png", "gif"]
    assert field["element"]["max_files"] == 10
    parsed = Block.parse(field)  # every limit slack_sdk knows, and nothing dropped
    assert parsed is not None and parsed.to_dict() == field
    picture = png(padding=1000)
    values = filled(
        paste="+14155550123\n+14155550124",
        message=PLAIN,
        pictures=[uploaded(slack, "offer.png", picture)],
    )
    assert await submit(web, slack, form, values) == {}
    preview = await until(showing(slack, PREVIEW))
    text = str(preview["blocks"])
    assert "*With 1 picture or file* (MMS)" in text and "an uploaded picture (`upload:med_" in text
    assert "Row 1 · +14155550123 · MMS" in text
    assert "Picture messages (MMS): one message each whatever the text's length, 2 in all" in text
    assert "Estimated cost: 0.04 USD" in text  # 2 x PRICE_PER_MMS; segments do not apply

    draft_id = preview["blocks"][-1]["elements"][0]["value"]
    campaign = (await get_campaign(web.runtime.ctx, draft_id)).view.campaign
    [ref] = campaign.media_urls
    async with web.runtime.db.read() as session:
        stored = await session.get(MediaFile, ref.removeprefix("upload:"))
    assert stored is not None and stored.data == picture and stored.content_type == "image/png"
    assert stored.campaign_id == draft_id and stored.filename == "offer.png"

    # The API shows it as one of the media, priced as an MMS.
    response = await web.client.get(f"/v1/sms/campaigns/{draft_id}", headers=web.auth)
    shown = await response.json()
    assert shown["media_urls"] == [ref] and shown["estimated_cost"] == 0.04

    # Back to edit keeps the picture as a line in the links field; Preview again keeps it.
    await click(web, slack, preview, BACK_TO_EDIT)
    again = await until(showing(slack, COMPOSE))
    assert block(again, MEDIA)["element"]["initial_value"] == ref  # type: ignore[index]
    assert await submit(web, slack, again, {}) == {}
    preview = await until(showing(slack, PREVIEW))
    assert "an uploaded picture" in str(preview["blocks"])
    await click(web, slack, preview, CONFIRM)
    await until(showing(slack, "sms_notice"))
    campaign = (await get_campaign(web.runtime.ctx, draft_id)).view.campaign
    assert campaign.status == "running" and campaign.media_urls == [ref]
    assert await files_stored(web) == 1


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("menu.pdf", PDF, "menu.pdf is not a JPEG, PNG or GIF picture (whatever its name says)"),
        ("fake.png", b"phone\n+14155550123\n", "fake.png is not a JPEG, PNG or GIF picture"),
    ],
)
async def test_a_file_that_is_not_a_picture_is_refused_under_the_field(
    web: Api, slack: SlackSandbox, name: str, data: bytes, says: str
) -> None:
    form = await compose(web, slack)
    values = filled(paste="+14155550123", pictures=[uploaded(slack, name, data)])
    errors = await submit(web, slack, form, values)
    assert set(errors) == {PICTURES} and says in errors[PICTURES]
    assert "Save it as one of them and upload it again" in errors[PICTURES]
    assert top_view(slack)["id"] == form["id"]
    assert await campaigns_stored(web) == 0 and await files_stored(web) == 0


async def test_a_large_file_that_is_not_a_picture_comes_back_to_the_form_with_the_reason(
    web: Api, slack: SlackSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slack applies the "Checking…" answer as soon as it gets it; the stand-in applies it when
    # the test gets it. The download waits for that, as it does behind Slack: otherwise a
    # local download can finish, and show its outcome, before the answer is applied over it.
    answered = asyncio.Event()
    real_download = compose_listener.download

    async def download_after_the_answer(*args: Any, **kwargs: Any) -> bytes:
        await answered.wait()
        return await real_download(*args, **kwargs)

    monkeypatch.setattr(compose_listener, "download", download_after_the_answer)
    form = await compose(web, slack)
    big_text = b"not a picture\n" * 30_000  # over 256 KB: past what is answered inline
    values = filled(paste="+14155550123", pictures=[uploaded(slack, "photo.jpg", big_text)])
    assert await submit(web, slack, form, values) == {}
    assert top_view(slack)["callback_id"] == CHECKING
    answered.set()
    await until(lambda: "is not a JPEG" in str((top_view(slack) or {}).get("blocks")))
    text = str(top_view(slack)["blocks"])
    assert "photo.jpg is not a JPEG, PNG or GIF" in text and "Upload the files again" in text
    assert top_view(slack)["callback_id"] == COMPOSE
    assert await campaigns_stored(web) == 0 and await files_stored(web) == 0


async def test_pictures_over_5_mb_in_all_are_refused_before_they_are_downloaded(
    web: Api, slack: SlackSandbox
) -> None:
    form = await compose(web, slack)
    three_mb = png(padding=3 * 1024 * 1024)
    pictures = [uploaded(slack, "a.png", three_mb), uploaded(slack, "b.png", three_mb)]
    errors = await submit(web, slack, form, filled(paste="+14155550123", pictures=pictures))
    assert "These pictures come to 6.0 MB; Twilio takes 5 MB in all" in errors[PICTURES]
    one_too_big = [uploaded(slack, "huge.png", png(padding=MAX_MEDIA_BYTES))]
    errors = await submit(web, slack, form, filled(paste="+14155550123", pictures=one_too_big))
    assert "come to 5.0 MB" in errors[PICTURES]
    assert await campaigns_stored(web) == 0 and await files_stored(web) == 0


async def test_more_than_10_pictures_with_the_links_are_refused(
    web: Api, slack: SlackSandbox
) -> None:
    form = await compose(web, slack)
    links = "\n".join(f"https://cdn.example.com/{i}.jpg" for i in range(9))
    pictures = [uploaded(slack, f"{i}.gif", GIF) for i in range(2)]
    values = filled(paste="+14155550123", media=links, pictures=pictures)
    errors = await submit(web, slack, form, values)
    assert errors == {PICTURES: "A message carries at most 10 pictures, links and uploads "
                                "together; this is 11: remove 1."}  # fmt: skip
    assert await campaigns_stored(web) == 0


@pytest.mark.parametrize(
    "api_settings", [{"SENDER_NUMBERS": "+14155550100:5,+447700900999:1"}], indirect=True
)
async def test_an_upload_from_a_number_that_cannot_send_pictures_is_refused(
    web: Api, slack: SlackSandbox
) -> None:
    form = await compose(web, slack)
    values = filled(paste="+14155550123", sender="+447700900999",
                    pictures=[uploaded(slack, "map.gif", GIF)])  # fmt: skip
    errors = await submit(web, slack, form, values)
    assert "Pictures (MMS) go from US and Canadian numbers only" in errors["sender"]
    assert await campaigns_stored(web) == 0 and await files_stored(web) == 0


@pytest.mark.parametrize("api_settings", [{"PUBLIC_BASE_URL": None}], indirect=True)
async def test_without_public_base_url_no_upload_is_offered_and_the_hint_says_why(
    web: Api, slack: SlackSandbox
) -> None:
    form = await compose(web, slack)
    assert block(form, PICTURES) is None
    hint = block(form, MEDIA)["hint"]["text"]  # type: ignore[index]
    assert "Uploading pictures needs PUBLIC_BASE_URL" in hint
    # A form opened before the setting was removed: its pictures are refused, not lost later.
    stale = {**form, "blocks": [*form["blocks"], {"type": "input", "block_id": PICTURES,
             "label": {"type": "plain_text", "text": "Pictures"},
             "element": {"type": "file_input", "action_id": PICTURES}}]}  # fmt: skip
    values = filled(paste="+14155550123", pictures=[uploaded(slack, "a.gif", GIF)])
    errors = await submit(web, slack, stale, values)
    assert "PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN is not set" in errors[PICTURES]
    assert await campaigns_stored(web) == 0
