"""POST /twilio/inbound through real HTTP: signed as Twilio signs, checked before anything is
stored, answered with TwiML."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import unused_port
from sqlalchemy import func, select

from bot.stops import StopWatch
from campaigns.db import Database
from campaigns.models import InboundMessage
from campaigns.service import opted_out_among
from campaigns.settings import Settings
from tests.bot.test_twilio_status import Web, twilio_settings, web_process
from tests.conftest import Clock

INBOUND = "/twilio/inbound"
PHONE, SENDER = "+447700900001", "+14155550100"


@pytest.fixture
def public_port() -> int:
    return unused_port()


@pytest.fixture
def api_settings(public_port: int) -> Settings:
    return twilio_settings(PUBLIC_BASE_URL=f"http://127.0.0.1:{public_port}")


@pytest.fixture
async def web(
    db: Database, api_settings: Settings, clock: Clock, public_port: int
) -> AsyncIterator[Web]:
    """A web process the stand-in's signatures are for (PUBLIC_BASE_URL, its auth token)."""
    async with web_process(api_settings, db, clock, public_port) as running:
        yield running


def text(body: str, sid: str = "SM" + "1" * 32, **more: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": PHONE, "To": SENDER, "Body": body, "NumMedia": "0",
            "AccountSid": "AC" + "0" * 32, **more}  # fmt: skip


async def stored(web: Web) -> int:
    async with web.ctx.db.read() as session:
        query = select(func.count()).select_from(InboundMessage)
        return (await session.execute(query)).scalar_one()


async def test_a_reply_is_stored_and_answered_with_empty_twiml(web: Web) -> None:
    response = await web.post(text("See you at 9", NumMedia="1", MediaContentType0="image/png",
                                   MediaUrl0="https://api.twilio.com/m/1"), path=INBOUND)  # fmt: skip
    assert response.status == 200 and response.content_type == "text/xml"
    assert await response.text() == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    async with web.ctx.db.read() as session:
        [row] = (await session.execute(select(InboundMessage))).scalars()
    assert (row.body, row.meaning, row.media_types, row.source) == (
        "See you at 9",
        "reply",
        ["image/png"],
        "webhook",
    )


async def test_help_gets_the_help_text_escaped_for_xml(
    db: Database,
    clock: Clock,
    public_port: int,
) -> None:
    settings = twilio_settings(PUBLIC_BASE_URL=f"http://127.0.0.1:{public_port}",
                               HELP_TEXT="Acme Dental <reception> & bookings. Reply STOP to stop.")  # fmt: skip
    async with web_process(settings, db, clock, public_port) as web:
        response = await web.post(text("help"), path=INBOUND)
        assert response.status == 200
        body = await response.text()
    assert (
        "<Message>Acme Dental &lt;reception&gt; &amp; bookings. Reply STOP to stop.</Message>"
        in body
    )


async def test_help_is_answered_once_a_day_per_number(web: Web, clock: Clock) -> None:
    async def answer(body: str, sid: str, **more: str) -> str:
        response = await web.post(text(body, sid=sid, **more), path=INBOUND)
        assert response.status == 200
        return await response.text()

    nothing = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    first = await answer("HELP", "SM" + "a" * 32)
    assert "<Message>" in first
    assert await answer("HELP", "SM" + "a" * 32) == first  # Twilio posting it again
    clock.advance(hours=23, minutes=59)
    assert await answer("info", "SM" + "b" * 32) == nothing  # the same day: no answer
    assert await answer("Help!", "SM" + "c" * 32) == nothing
    assert "<Message>" in await answer("HELP", "SM" + "d" * 32, From="+447700900002")
    # Other keywords are unchanged: STOP is in force, a reply is stored.
    assert await answer("STOP", "SM" + "e" * 32) == nothing
    assert await opted_out_among(web.ctx, [PHONE]) == {PHONE}
    clock.advance(minutes=2)  # a day after the one answered (not after the unanswered ones)
    assert "<Message>" in await answer("help", "SM" + "f" * 32)
    assert await stored(web) == 6


async def test_a_stop_is_in_force_and_announced_before_twilio_is_answered(web: Web) -> None:
    watch = StopWatch(web.redis, web.runtime.settings.REDIS_NAMESPACE)
    response = await web.post(text("STOP"), path=INBOUND)
    assert response.status == 200
    assert await opted_out_among(web.ctx, [PHONE]) == {PHONE}
    await watch.refresh()
    assert watch.stopped(PHONE) and not watch.stopped("+447700900002")
    # START withdraws it from the send loops' list too.
    await web.post(text("start", sid="SM" + "2" * 32), path=INBOUND)
    await watch.refresh()
    assert not watch.stopped(PHONE)


@pytest.mark.parametrize(
    ("how", "status"),
    [("unsigned", 403), ("wrong token", 403), ("other url", 403), ("json", 415)],
)
async def test_what_twilio_did_not_sign_is_refused_and_stores_nothing(
    web: Web, how: str, status: int
) -> None:
    params = text("STOP")
    if how == "json":
        response = await web.client.post(INBOUND, json=params)
    else:
        response = await web.post(
            params, path=INBOUND, sign=how != "unsigned",
            token="f" * 32 if how == "wrong token" else web.runtime.settings.TWILIO_AUTH_TOKEN or "",
            signed_url="https://elsewhere.example/twilio/inbound" if how == "other url" else None,
        )  # fmt: skip
    assert response.status == status
    assert await stored(web) == 0 and not await opted_out_among(web.ctx, [PHONE])


async def test_a_text_without_its_sid_or_numbers_is_400(web: Web) -> None:
    params = text("hi")
    del params["From"]
    assert (await web.post(params, path=INBOUND)).status == 400
    assert await stored(web) == 0


async def test_a_body_over_64_kb_is_refused_unread(web: Web) -> None:
    response = await web.post(text("x" * 70_000), path=INBOUND)
    assert response.status == 413 and await stored(web) == 0


@pytest.fixture
async def no_public_url(db: Database, clock: Clock) -> AsyncIterator[Web]:
    async with web_process(twilio_settings(), db, clock) as running:
        yield running


async def test_without_public_base_url_every_webhook_is_refused(
    no_public_url: Web,
    api_settings: Settings,
) -> None:
    response = await no_public_url.post(
        text("STOP"), path=INBOUND, signed_url=f"{api_settings.PUBLIC_BASE_URL}{INBOUND}"
    )
    assert response.status == 403 and await stored(no_public_url) == 0
