"""POST /twilio/status through real HTTP: the Twilio stand-in sends real messages (created with
the twilio SDK) and posts its real, signed status callbacks to the running web process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer, unused_port
from redis.asyncio import Redis
from sqlalchemy import select, update
from twilio.rest import Client

from bot.app import create_web_app
from bot.runtime import Runtime
from bot.twilio.batcher import BATCHER, Callback, StatusBatcher
from campaigns.db import Database
from campaigns.delivery_errors import reason_for
from campaigns.models import OptOutEvent, Recipient
from campaigns.recipients import check_recipient_list
from campaigns.service import (
    Context,
    NewCampaign,
    StatusUpdate,
    create_campaign,
    opted_out_among,
)
from campaigns.service.status_news import status_news_key
from campaigns.settings import Settings
from campaigns.status import RecipientStatus
from sandbox.twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    CarrierConfig,
    RunningTwilioSandbox,
    SandboxConfig,
    signature,
    start,
)
from tests.conftest import Clock, make_settings

SENDER = "+14155550100"
PHONES = ["+447700900001", "+447700900002", "+447700900003", "+447700900004"]
UNREACHABLE, UNKNOWN_ERROR = PHONES[2], PHONES[3]
STATUS_PATH = "/twilio/status"


@dataclass
class Web:
    """The web process under test, and the address Twilio knows it by (PUBLIC_BASE_URL)."""

    client: TestClient
    runtime: Runtime

    @property
    def ctx(self) -> Context:
        return self.runtime.ctx

    @property
    def redis(self) -> Redis:
        return self.runtime.redis

    def public(self, path: str = STATUS_PATH) -> str:
        return f"{self.runtime.settings.PUBLIC_BASE_URL}{path}"

    async def news(self) -> set[str]:
        members = await self.redis.smembers(status_news_key(self.runtime.settings))
        return {member.decode() for member in members}

    async def post(
        self,
        params: Mapping[str, str],
        *,
        path: str = STATUS_PATH,
        signed_url: str | None = None,
        token: str = DEFAULT_AUTH_TOKEN,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
    ) -> ClientResponse:
        """Post a callback, signed as Twilio signs (for `signed_url`, by default the public URL)."""
        sent = dict(headers or {})
        if sign:
            url = signed_url or self.public(path)
            sent["X-Twilio-Signature"] = signature(token, url, params.items())
        return await self.client.post(path, data=dict(params), headers=sent)


@asynccontextmanager
async def web_process(
    settings: Settings, db: Database, clock: Clock, port: int | None = None
) -> AsyncIterator[Web]:
    runtime = await Runtime.start(settings, db=db, clock=clock)
    client = TestClient(TestServer(create_web_app(runtime), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        yield Web(client, runtime)
    finally:
        await client.close()
        await runtime.redis.delete(status_news_key(settings))
        await runtime.redis.aclose()


def twilio_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
    }
    values.update(overrides)
    return make_settings(**values)


@pytest.fixture
def public_port() -> int:
    return unused_port()


@pytest.fixture
def api_settings(public_port: int) -> Settings:
    """A web process the stand-in can reach, trusting the stand-in's auth token."""
    return twilio_settings(PUBLIC_BASE_URL=f"http://127.0.0.1:{public_port}")


@pytest.fixture
async def web(
    db: Database, api_settings: Settings, clock: Clock, public_port: int
) -> AsyncIterator[Web]:
    async with web_process(api_settings, db, clock, public_port) as running:
        yield running


@pytest.fixture
async def twilio_sandbox() -> AsyncIterator[RunningTwilioSandbox]:
    carrier = CarrierConfig(step_delay=0.002)
    running = await start(config=SandboxConfig(numbers={SENDER: 500}, carrier=carrier, seed=7))
    yield running
    await running.stop()


# Helpers ------------------------------------------------------------------------------------


async def new_campaign(ctx: Context, phones: list[str] = PHONES) -> tuple[str, dict[str, int]]:
    """A running campaign; returns its id and each phone's recipient id."""
    view = await create_campaign(
        ctx,
        NewCampaign(
            name="Appointment reminders",
            message_template="Your appointment is tomorrow at 9:00. Reply STOP to opt out.",
            recipients=check_recipient_list([{"phone": phone} for phone in phones], "GB"),
            from_numbers=[SENDER],
            send_at=None,
            source="slack",
            consent_confirmed=True,
            channel_id="C0CAMPAIGNS",
        ),
        "slack:U0001",
    )
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Recipient.phone, Recipient.id).where(Recipient.campaign_id == view.campaign.id)
        )
        return view.campaign.id, {phone: rid for phone, rid in rows}


async def claim(ctx: Context, recipient_id: int) -> None:
    """What the sender stores before its request: the recipient is `queued`."""
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Recipient)
            .where(Recipient.id == recipient_id)
            .values(status="queued", sender=SENDER, updated_at=ctx.now())
        )


async def store_sid(ctx: Context, recipient_id: int, sid: str) -> None:
    """What the sender stores after it: the SID, unless a callback has brought it already."""
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Recipient)
            .where(Recipient.id == recipient_id, Recipient.twilio_sid.is_(None))
            .values(twilio_sid=sid)
        )


async def mark_queued(ctx: Context, recipient_id: int, sid: str) -> None:
    await claim(ctx, recipient_id)
    await store_sid(ctx, recipient_id, sid)


async def send(twilio: Client, phone: str, callback: str | None) -> str:
    message = await twilio.messages.create_async(
        to=phone, from_=SENDER, body="See you tomorrow at 9:00.", status_callback=callback
    )
    assert message.sid is not None
    return message.sid


async def send_all(web: Web, twilio: Client, recipients: Mapping[str, int]) -> dict[str, str]:
    """Send to each recipient as the sender does, with its id in the status callback URL.

    Its callbacks may arrive before the SID is stored, or after: the outcome is the same.
    """
    sids = {}
    for phone, rid in recipients.items():
        await claim(web.ctx, rid)
        sids[phone] = await send(twilio, phone, web.public(f"{STATUS_PATH}?rid={rid}"))
        await store_sid(web.ctx, rid, sids[phone])
    return sids


async def recipients_of(ctx: Context, campaign_id: str) -> dict[str, Recipient]:
    async with ctx.db.read() as session:
        rows = await session.execute(select(Recipient).where(Recipient.campaign_id == campaign_id))
        return {recipient.phone: recipient for recipient in rows.scalars()}


def status_params(sid: str, status: str, to: str, code: int | None = None) -> dict[str, str]:
    params = {
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to,
        "From": SENDER,
    }
    if code is not None:
        params["ErrorCode"] = str(code)
    return params


async def refused(response: ClientResponse) -> str:
    assert response.status == 403, await response.text()
    body = await response.json()
    assert set(body) == {"error"}
    return body["error"]


def expect(recipient: Recipient, status: RecipientStatus, code: int | None = None) -> None:
    """The status, code and plain-words reason a recipient should have."""
    reason = reason_for(code) if status in ("undelivered", "failed") else None
    got = (recipient.status, recipient.error_code, recipient.error_reason)
    assert got == (status, code, reason)


# Callbacks from the stand-in ----------------------------------------------------------------


async def test_callbacks_bring_each_recipient_to_its_final_status(
    web: Web, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    twilio_sandbox.sandbox.fail_recipient(UNREACHABLE, 30003)
    twilio_sandbox.sandbox.fail_recipient(UNKNOWN_ERROR, 30008)
    campaign_id, recipients = await new_campaign(web.ctx)
    sids = await send_all(web, twilio, recipients)

    await twilio_sandbox.sandbox.settled(timeout=10)

    rows = await recipients_of(web.ctx, campaign_id)
    expect(rows[PHONES[0]], RecipientStatus.DELIVERED)
    expect(rows[PHONES[1]], RecipientStatus.DELIVERED)
    expect(rows[UNREACHABLE], RecipientStatus.UNDELIVERED, 30003)
    expect(rows[UNKNOWN_ERROR], RecipientStatus.FAILED, 30008)
    assert rows[UNREACHABLE].error_reason == "The phone is switched off or out of signal."
    assert {phone: row.twilio_sid for phone, row in rows.items()} == sids
    # Every callback was acknowledged with 204 (and so only once it was written).
    for message in twilio_sandbox.sandbox.messages():
        assert len(message.callbacks) >= 2
        assert {attempt.result for attempt in message.callbacks} == {204}
    assert campaign_id in await web.news()


async def test_an_error_code_on_sent_is_kept_and_a_partial_delivery_counts_delivered(
    web: Web, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    """Twilio shows a carrier's warning as an ErrorCode on `sent` (and no receipt may follow);
    an MMS some of whose parts arrived ends `partially_delivered`."""
    sandbox = twilio_sandbox.sandbox
    sandbox.set_carrier(sent_only={PHONES[0]: 30005}, partial_rate=1.0)
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:2])
    await claim(web.ctx, recipients[PHONES[0]])
    sid = await send(twilio, PHONES[0], web.public(f"{STATUS_PATH}?rid={recipients[PHONES[0]]}"))
    await store_sid(web.ctx, recipients[PHONES[0]], sid)
    await claim(web.ctx, recipients[PHONES[1]])
    mms = await twilio.messages.create_async(
        to=PHONES[1], from_=SENDER, body="Your X-ray", media_url=["https://example.com/x.png"],
        status_callback=web.public(f"{STATUS_PATH}?rid={recipients[PHONES[1]]}"),
    )  # fmt: skip
    assert mms.sid is not None
    await store_sid(web.ctx, recipients[PHONES[1]], mms.sid)
    await sandbox.settled(timeout=10)

    assert [m.status for m in sandbox.messages()] == ["sent", "partially_delivered"]
    rows = await recipients_of(web.ctx, campaign_id)
    warned = rows[PHONES[0]]
    assert (warned.status, warned.error_code) == (RecipientStatus.SENT, 30005)
    assert warned.error_reason == reason_for(30005)
    assert rows[PHONES[1]].status == RecipientStatus.DELIVERED
    assert {attempt.result for m in sandbox.messages() for attempt in m.callbacks} == {204}


async def test_duplicated_and_reordered_callbacks_change_nothing_they_should_not(
    web: Web, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    sandbox = twilio_sandbox.sandbox
    sandbox.set_carrier(callback_duplicate_rate=1.0, callback_reorder_rate=1.0)
    sandbox.fail_recipient(UNREACHABLE, 30003)
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:3])
    sids = await send_all(web, twilio, recipients)
    await sandbox.settled(timeout=10)

    for message in sandbox.messages():
        posted = [attempt.status for attempt in message.callbacks]
        assert len(posted) > len(set(posted)), "the stand-in was asked to duplicate every one"
    rows = await recipients_of(web.ctx, campaign_id)
    expect(rows[PHONES[0]], RecipientStatus.DELIVERED)
    expect(rows[PHONES[1]], RecipientStatus.DELIVERED)
    expect(rows[UNREACHABLE], RecipientStatus.UNDELIVERED, 30003)

    # Late news, well signed, never moves a message back or replaces its final status.
    late = [
        status_params(sids[PHONES[0]], "sent", PHONES[0]),
        status_params(sids[PHONES[0]], "queued", PHONES[0]),
        status_params(sids[PHONES[1]], "undelivered", PHONES[1], 30005),
        status_params(sids[UNREACHABLE], "failed", UNREACHABLE, 30008),
        status_params(sids[UNREACHABLE], "delivered", UNREACHABLE),
    ]
    for params in late:
        response = await web.post(params)
        assert response.status == 204, await response.text()
    after = await recipients_of(web.ctx, campaign_id)
    for phone in PHONES[:3]:
        assert (after[phone].status, after[phone].error_code, after[phone].updated_at) == (
            rows[phone].status,
            rows[phone].error_code,
            rows[phone].updated_at,
        )


async def test_a_callback_that_beats_the_senders_write_finds_its_recipient_by_rid(
    web: Web, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:2])
    sids = {}
    for phone, rid in recipients.items():
        await claim(web.ctx, rid)  # and the SID is never stored here: only callbacks bring it
        sids[phone] = await send(twilio, phone, web.public(f"{STATUS_PATH}?rid={rid}"))
    await twilio_sandbox.sandbox.settled(timeout=10)

    rows = await recipients_of(web.ctx, campaign_id)
    for phone in PHONES[:2]:
        expect(rows[phone], RecipientStatus.DELIVERED)
        assert rows[phone].twilio_sid == sids[phone]
    assert campaign_id in await web.news()

    # A rid never re-points a recipient that already has a SID.
    rid = recipients[PHONES[0]]
    path = f"{STATUS_PATH}?rid={rid}"
    response = await web.post(status_params("SM" + "f" * 32, "failed", PHONES[0], 30008), path=path)
    assert response.status == 204
    row = (await recipients_of(web.ctx, campaign_id))[PHONES[0]]
    assert (row.twilio_sid, row.status) == (sids[PHONES[0]], "delivered")


# Signatures ---------------------------------------------------------------------------------


async def test_bad_or_missing_signatures_are_refused_and_change_nothing(
    web: Web, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:1])
    phone = PHONES[0]
    sid = await send(twilio, phone, None)  # no callbacks: only what this test posts
    await mark_queued(web.ctx, recipients[phone], sid)
    delivered = status_params(sid, "delivered", phone)
    host = {"Host": "attacker.example:8080"}

    assert "X-Twilio-Signature" in await refused(await web.post(delivered, sign=False))
    bad = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert "does not match" in await refused(await web.post(delivered, sign=False, headers=bad))
    # A real SID, a well-formed callback, signed with another account's token.
    await refused(await web.post(delivered, token="f" * 32))
    # Signed for other parameters than the ones sent.
    signed_other = signature(
        DEFAULT_AUTH_TOKEN, web.public(), status_params(sid, "sent", phone).items()
    )
    await refused(
        await web.post(delivered, sign=False, headers={"X-Twilio-Signature": signed_other})
    )
    # Signed for the URL the Host header claims: the URL is rebuilt from PUBLIC_BASE_URL only.
    hosted = f"http://attacker.example:8080{STATUS_PATH}"
    await refused(await web.post(delivered, signed_url=hosted, headers=host))
    # Signed for another path, or without the query the request has.
    await refused(await web.post(delivered, signed_url=web.public("/twilio/inbound")))
    await refused(await web.post(delivered, path=f"{STATUS_PATH}?rid=1", signed_url=web.public()))

    row = (await recipients_of(web.ctx, campaign_id))[phone]
    assert (row.status, row.error_code) == ("queued", None)
    assert campaign_id not in await web.news()

    # The same callback, rightly signed, is taken whatever the Host header says.
    response = await web.post(delivered, headers=host)
    assert response.status == 204, await response.text()
    row = (await recipients_of(web.ctx, campaign_id))[phone]
    assert row.status == "delivered"


async def test_behind_a_proxy_the_public_url_counts_with_or_without_its_port(
    db: Database, clock: Clock
) -> None:
    settings = twilio_settings(PUBLIC_BASE_URL="https://sms.example.com")
    async with web_process(settings, db, clock) as web:
        params = status_params("SM" + "0" * 32, "delivered", PHONES[0])
        for url in (
            "https://sms.example.com/twilio/status",
            "https://sms.example.com:443/twilio/status",
        ):
            response = await web.post(params, signed_url=url)
            assert response.status == 204, (url, await response.text())
        query = f"{STATUS_PATH}?rid=12&campaign=smsc_1"
        response = await web.post(params, path=query, signed_url=f"https://sms.example.com{query}")
        assert response.status == 204
        # What the request looked like at this process (no TLS, another host and port).
        await refused(await web.post(params, signed_url=str(web.client.make_url(STATUS_PATH))))
        await refused(await web.post(params, signed_url="http://sms.example.com/twilio/status"))


@pytest.mark.parametrize(
    "unset", [{"PUBLIC_BASE_URL": None}, {"TWILIO_AUTH_TOKEN": None}], ids=["no-url", "no-token"]
)
async def test_without_public_base_url_or_auth_token_every_callback_is_refused(
    db: Database, clock: Clock, unset: dict[str, None]
) -> None:
    settings = twilio_settings(**{"PUBLIC_BASE_URL": "https://sms.example.com", **unset})
    async with web_process(settings, db, clock) as web:
        params = status_params("SM" + "0" * 32, "delivered", PHONES[0])
        here = str(web.client.make_url(STATUS_PATH))
        for url in (here, "https://sms.example.com/twilio/status"):
            message = await refused(await web.post(params, signed_url=url))
            assert "PUBLIC_BASE_URL" in message


# What a callback says -----------------------------------------------------------------------


async def test_21610_in_a_callback_records_an_opt_out_once(
    web: Web, twilio: Client, twilio_sandbox: RunningTwilioSandbox
) -> None:
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:2])
    phone = PHONES[0]
    sid = await send(twilio, phone, None)
    await mark_queued(web.ctx, recipients[phone], sid)

    for _ in range(2):  # Twilio may post the same callback twice
        response = await web.post(status_params(sid, "failed", phone, 21610))
        assert response.status == 204, await response.text()

    row = (await recipients_of(web.ctx, campaign_id))[phone]
    expect(row, RecipientStatus.FAILED, 21610)
    assert await opted_out_among(web.ctx, PHONES) == {phone}
    async with web.ctx.db.read() as session:
        events = (await session.execute(select(OptOutEvent))).scalars().all()
    assert [(e.phone, e.opted_out, e.source, e.keyword, e.campaign_id) for e in events] == [
        (phone, True, "twilio_21610", None, campaign_id)
    ]


async def test_unknown_statuses_are_ignored_and_malformed_callbacks_refused(web: Web) -> None:
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:1])
    await mark_queued(web.ctx, recipients[PHONES[0]], "SM" + "1" * 32)

    response = await web.post(status_params("SM" + "1" * 32, "received", PHONES[0]))
    assert response.status == 204
    response = await web.post({"MessageStatus": "delivered", "To": PHONES[0]})
    assert response.status == 400
    assert "MessageSid" in (await response.json())["error"]
    as_json = await web.client.post(
        STATUS_PATH, json=status_params("SM" + "1" * 32, "failed", PHONES[0])
    )
    assert as_json.status == 415
    # A callback for a message Textcast never sent is acknowledged (a retry would not help).
    response = await web.post(status_params("SM" + "2" * 32, "delivered", PHONES[0]))
    assert response.status == 204

    row = (await recipients_of(web.ctx, campaign_id))[PHONES[0]]
    assert row.status == "queued"


async def test_a_failed_write_answers_500_so_twilio_may_send_it_again(
    db: Database, clock: Clock, tmp_path: Path
) -> None:
    settings = twilio_settings(PUBLIC_BASE_URL="https://sms.example.com")
    healthy = await Runtime.start(settings, db=db, clock=clock)
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    runtime = Runtime(settings, broken, healthy.redis, Context(broken, settings, clock))
    client = TestClient(TestServer(create_web_app(runtime)))
    await client.start_server()
    try:
        web = Web(client, runtime)
        response = await web.post(status_params("SM" + "3" * 32, "delivered", PHONES[0]))
        assert response.status == 500
        assert "not be stored" in (await response.json())["error"]
    finally:
        await client.close()
        await broken.dispose()
        await healthy.redis.aclose()


# The batcher --------------------------------------------------------------------------------


async def test_concurrent_callbacks_are_written_in_few_batches(web: Web) -> None:
    phones = [f"+4477009{i:05d}" for i in range(200)]
    campaign_id, recipients = await new_campaign(web.ctx, phones)
    sids = {phone: f"SM{rid:032x}" for phone, rid in recipients.items()}
    for phone, rid in recipients.items():
        await mark_queued(web.ctx, rid, sids[phone])
    batcher = web.client.app[BATCHER]
    before = batcher.batches

    responses = await asyncio.gather(
        *(web.post(status_params(sid, "delivered", phone)) for phone, sid in sids.items())
    )

    assert [response.status for response in responses] == [204] * 200
    assert batcher.batches - before <= 20
    rows = await recipients_of(web.ctx, campaign_id)
    assert {row.status for row in rows.values()} == {"delivered"}
    assert await web.news() == {campaign_id}


async def test_stopping_the_batcher_writes_what_is_waiting(web: Web) -> None:
    campaign_id, recipients = await new_campaign(web.ctx, PHONES[:3])
    for rid in recipients.values():
        await mark_queued(web.ctx, rid, f"SM{rid:032x}")
    batcher = StatusBatcher(web.ctx, web.redis, news_key=f"{uuid.uuid4().hex}:news", max_delay=60)
    await batcher.start()
    waiting = [
        batcher.submit(Callback(StatusUpdate(RecipientStatus.SENT, twilio_sid=f"SM{rid:032x}")))
        for rid in recipients.values()
    ]
    await asyncio.sleep(0.05)
    assert not any(future.done() for future in waiting)  # the batch is still filling

    await batcher.stop()

    assert all(future.done() and future.exception() is None for future in waiting)
    rows = await recipients_of(web.ctx, campaign_id)
    assert {row.status for row in rows.values()} == {"sent"}
    with pytest.raises(RuntimeError):
        batcher.submit(Callback(StatusUpdate(RecipientStatus.SENT, twilio_sid="SM1")))
    assert await web.redis.delete(batcher.news_key) == 1
