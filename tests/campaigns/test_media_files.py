"""Uploaded pictures in the domain: their type read from their bytes, the signed links to them,
and storing them with a campaign in one transaction (both databases)."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from campaigns.errors import InputError
from campaigns.media_files import MAX_MEDIA_BYTES, checked_upload, image_type, upload_id
from campaigns.media_tokens import (
    link_lifetime,
    media_url,
    mint_token,
    signing_key,
    verified_file_id,
)
from campaigns.models import Campaign, MediaFile
from campaigns.service import (
    CampaignChanges,
    Context,
    create_campaign,
    edit_campaign,
    preview_campaign,
)
from campaigns.service.revision import draft_of
from tests.campaigns.test_service_create import ACTOR, new_campaign
from tests.conftest import make_settings


def png(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    """A real, valid PNG (`padding` bytes of extra data make it as large as a test needs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )  # fmt: skip


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_the_type_is_read_from_the_bytes_not_the_name() -> None:
    assert image_type(png()) == "image/png"
    assert image_type(GIF) == "image/gif" and image_type(b"GIF87a...") == "image/gif"
    assert image_type(JPEG) == "image/jpeg"
    assert image_type(PDF) is None
    assert image_type(b"phone\n+14155550100\n") is None
    upload = checked_upload("offer.png", png())
    assert upload.content_type == "image/png" and upload.ref == f"upload:{upload.id}"
    assert upload_id(upload.ref) == upload.id and upload_id("https://x.example/a.png") is None


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        (
            "renamed.png",
            b"just some text, not a picture\n",
            "renamed.png is not a JPEG, PNG or GIF",
        ),
        ("menu.pdf", PDF, "menu.pdf is not a JPEG, PNG or GIF picture (whatever its name says)"),
        ("big.png", png(padding=MAX_MEDIA_BYTES), "big.png is 5.0 MB; Twilio takes 5 MB"),
        ("empty.gif", b"", "empty.gif is empty"),
    ],
)
def test_anything_but_a_picture_within_5_mb_is_refused_saying_what_to_do(
    name: str, data: bytes, says: str
) -> None:
    with pytest.raises(InputError) as refused:
        checked_upload(name, data)
    assert says in refused.value.message and refused.value.field == "media_files"


def test_a_token_works_until_it_expires_and_not_once_changed() -> None:
    key = signing_key(make_settings(TWILIO_AUTH_TOKEN="secret-one"))
    assert key is not None
    token = mint_token(key, "med_" + "a" * 20, 1_000)
    assert verified_file_id(key, token, 999.9) == "med_" + "a" * 20
    assert verified_file_id(key, token, 1_000) is None  # expired
    file_id, expires, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert verified_file_id(key, f"{file_id}.{expires}.{flipped}", 0) is None  # tampered
    assert verified_file_id(key, f"{file_id}.{int(expires) + 9_000}.{signature}", 0) is None
    other_file = "med_" + "b" * 20
    assert verified_file_id(key, f"{other_file}.{expires}.{signature}", 0) is None
    other_key = signing_key(make_settings(TWILIO_AUTH_TOKEN="secret-two"))
    assert verified_file_id(other_key, token, 0) is None  # another install's link
    assert verified_file_id(None, token, 0) is None  # no key here: nothing is served
    for junk in ("", "med_x", token + ".", token.replace(".", "/"), "../etc/passwd"):
        assert verified_file_id(key, junk, 0) is None
    assert signing_key(make_settings()) is None  # no TWILIO_AUTH_TOKEN: no links at all
    assert key != b"secret-one" and b"secret-one" not in key  # the token itself signs nothing
    url = media_url("https://sms.example.com", key, file_id, 1_000)
    assert url == f"https://sms.example.com/media/{token}"


def test_a_link_outlives_any_wait_twilio_may_make() -> None:
    settings = make_settings(MESSAGE_VALIDITY_SECONDS=36_000)
    assert link_lifetime(settings) > settings.MESSAGE_VALIDITY_SECONDS


async def stored_files(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return (await session.execute(select(func.count()).select_from(MediaFile))).scalar_one()


async def test_an_upload_is_stored_with_its_campaign_and_makes_it_an_mms(ctx: Context) -> None:
    picture = checked_upload("offer.png", png())
    tomorrow = ctx.now() + timedelta(days=1)
    view = await create_campaign(ctx, new_campaign(uploads=[picture], send_at=tomorrow), ACTOR)
    campaign = view.campaign
    assert campaign.media_urls == [picture.ref]
    async with ctx.db.read() as session:
        stored = await session.get(MediaFile, picture.id)
        assert stored is not None
        assert (stored.data, stored.content_type, stored.size) == (png(), "image/png", len(png()))
        assert stored.campaign_id == campaign.id and stored.created_by == ACTOR
    preview = await preview_campaign(ctx, campaign.id)
    assert preview.stats.mms and preview.cost == 3 * ctx.settings.PRICE_PER_MMS
    assert preview.cost == Decimal("0.0600")

    # The copy made to edit it names the same file; an edit adds another beside a link.
    copy, _ = await draft_of(ctx, campaign.id, ACTOR)
    assert copy.campaign.media_urls == [picture.ref]
    second = checked_upload("map.gif", GIF)
    changes = CampaignChanges(media_urls=[picture.ref, "https://cdn.example.com/a.jpg"],
                              uploads=[second])  # fmt: skip
    edited = await edit_campaign(ctx, campaign.id, changes, ACTOR)
    assert edited.campaign.media_urls == [picture.ref, "https://cdn.example.com/a.jpg", second.ref]
    assert await stored_files(ctx) == 2


async def test_pictures_over_5_mb_in_all_are_refused_and_nothing_is_stored(ctx: Context) -> None:
    half = MAX_MEDIA_BYTES // 2 + 10
    first, second = (
        checked_upload("a.png", png(padding=half)),
        checked_upload("b.png", png(padding=half)),
    )
    with pytest.raises(InputError, match=r"come to 5\.0 MB; Twilio takes 5 MB in all"):
        await create_campaign(ctx, new_campaign(uploads=[first, second]), ACTOR)
    assert await stored_files(ctx) == 0
    async with ctx.db.read() as session:
        assert (await session.execute(select(func.count()).select_from(Campaign))).scalar() == 0

    # The same across an edit: the picture stored before counts towards the 5 MB.
    view = await create_campaign(ctx, new_campaign(uploads=[first]), ACTOR, launch=False)
    with pytest.raises(InputError, match="come to"):
        changes = CampaignChanges(media_urls=[first.ref], uploads=[second])
        await edit_campaign(ctx, view.campaign.id, changes, ACTOR)
    assert await stored_files(ctx) == 1


async def test_an_upload_that_is_not_stored_is_refused(ctx: Context) -> None:
    ghost = "upload:med_" + "a" * 20
    with pytest.raises(InputError, match=r"No uploaded picture med_a+ is stored in Textcast"):
        await create_campaign(ctx, new_campaign(media_urls=[ghost]), ACTOR)
    with pytest.raises(InputError, match="at most 10 pictures"):
        uploads = [checked_upload(f"{i}.gif", GIF) for i in range(11)]
        await create_campaign(ctx, new_campaign(uploads=uploads), ACTOR)
    assert await stored_files(ctx) == 0
