"""GET /media/{token} over real HTTP: an uploaded picture for whoever holds a good link (Twilio,
with no credentials), and 404 with no file for anyone else."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_web_app
from bot.runtime import Runtime
from campaigns.db import Database
from campaigns.media_files import checked_upload
from campaigns.media_tokens import mint_token, signing_key
from campaigns.service import create_campaign
from campaigns.settings import Settings
from tests.bot.conftest import Api
from tests.campaigns.test_media_files import GIF, png
from tests.campaigns.test_service_create import ACTOR, new_campaign
from tests.conftest import Clock, make_settings


@pytest.fixture
def api_settings() -> Settings:
    return make_settings(
        TWILIO_AUTH_TOKEN="the-auth-token",
        PUBLIC_BASE_URL="https://sms.example.com",
    )


async def stored_picture(api: Api, data: bytes, name: str = "offer.png") -> str:
    upload = checked_upload(name, data)
    await create_campaign(api.runtime.ctx, new_campaign(uploads=[upload]), ACTOR, launch=False)
    return upload.id


def token_for(api: Api, file_id: str, expires: int) -> str:
    key = signing_key(api.runtime.settings)
    assert key is not None
    return mint_token(key, file_id, expires)


async def test_a_good_link_answers_the_exact_bytes_and_type_without_credentials(
    web: Api, clock: Clock
) -> None:
    picture = png(padding=200_000)
    file_id = await stored_picture(web, picture)
    token = token_for(web, file_id, int(clock().timestamp()) + 60)
    response = await web.client.get(f"/media/{token}")  # no Authorization header
    assert response.status == 200
    assert await response.read() == picture
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(len(picture))
    # Twilio may cache it, as any cache on the way, until the token expires and no longer.
    assert response.headers["Cache-Control"] == "max-age=60"
    etag = response.headers["ETag"]
    assert etag == f'"{file_id}"' and response.headers["Last-Modified"].endswith(" GMT")
    again = await web.client.get(f"/media/{token}", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    clock.advance(seconds=45)
    response = await web.client.get(f"/media/{token}")
    assert response.headers["Cache-Control"] == "max-age=15"

    gif_id = await stored_picture(web, GIF, "map.gif")
    response = await web.client.get(
        f"/media/{token_for(web, gif_id, int(clock().timestamp()) + 60)}"
    )
    assert response.status == 200 and response.headers["Content-Type"] == "image/gif"
    assert await response.read() == GIF


async def test_no_token_a_tampered_one_or_an_expired_one_gets_404_and_no_file(
    web: Api, clock: Clock
) -> None:
    picture = png()
    file_id = await stored_picture(web, picture)
    expires = int(clock().timestamp()) + 60
    token = token_for(web, file_id, expires)
    _, _, signature = token.split(".")
    other = await stored_picture(web, GIF, "other.gif")
    refused = [
        "/media/",
        "/media",
        f"/media/{file_id}",  # the id alone
        f"/media/{file_id}.{expires + 3600}.{signature}",  # a later expiry, same signature
        f"/media/{other}.{expires}.{signature}",  # another file, same signature
        f"/media/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}",  # one character changed
        f"/media/{token_for(web, 'med_' + 'q' * 20, expires)}",  # genuine, but no such file
    ]
    for path in refused:
        response = await web.client.get(path, headers=web.auth)  # an API key changes nothing
        body = await response.read()
        assert response.status == 404, path
        assert picture not in body and GIF not in body and len(body) < 100

    assert (await web.client.get(f"/media/{token}")).status == 200
    clock.advance(seconds=60)  # the moment it expires
    response = await web.client.get(f"/media/{token}")
    assert response.status == 404 and picture not in await response.read()


async def test_the_token_stays_out_of_the_log_and_a_body_is_refused(
    web: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    file_id = await stored_picture(web, png())
    token = token_for(web, file_id, int(clock().timestamp()) + 60)
    with caplog.at_level(logging.INFO, logger="textcast.access"):
        assert (await web.client.get(f"/media/{token}")).status == 200
        assert (await web.client.get(f"/media/{token}x")).status == 404
    assert "/media/{token}" in caplog.text and token not in caplog.text
    assert "bad or expired media token" in caplog.text  # a prober stands out
    response = await web.client.get(f"/media/{token}", data=b"x" * 32 * 1024)
    assert response.status == 413  # the default 16 KB limit: a GET reads no body


async def test_without_twilio_auth_token_nothing_is_served(db: Database, clock: Clock) -> None:
    settings = make_settings()
    runtime = await Runtime.start(settings, db=db, clock=clock)
    client = TestClient(TestServer(create_web_app(runtime)))
    await client.start_server()
    try:
        upload = checked_upload("a.png", png())
        await create_campaign(runtime.ctx, new_campaign(uploads=[upload]), ACTOR, launch=False)
        key = signing_key(make_settings(TWILIO_AUTH_TOKEN="some-other-install"))
        assert key is not None
        token = mint_token(key, upload.id, int(clock().timestamp()) + 60)
        assert (await client.get(f"/media/{token}")).status == 404
    finally:
        await client.close()
        await runtime.redis.aclose()


async def test_the_route_is_in_the_openapi_document_without_a_key(api: Api) -> None:
    document = await (await api.client.get("/v1/openapi.json")).json()
    route = document["paths"]["/media/{token}"]["get"]
    assert route["security"] == [] and set(route["responses"]) == {"200", "304", "404"}
