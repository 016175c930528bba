"""Handset replies: the signed inbound webhook, and opt-outs that later sends run into."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox
from tests.sandbox.twilio_fixtures import (
    FAST_NUMBER,
    HANDSET,
    OTHER_HANDSET,
    SERVICE_SID,
    SLOW_NUMBER,
    WebhookReceiver,
)


async def _refused_code(twilio: Client, **kwargs: str) -> int | None:
    try:
        await twilio.messages.create_async(body="Offer", **kwargs)
    except TwilioRestException as error:
        return error.code
    return None


async def test_stop_posts_signed_inbound_webhook_and_blocks_later_sends(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    reply = await twilio_sandbox.sandbox.reply(HANDSET, FAST_NUMBER, " stop ")

    assert reply.keyword == "opt-out"
    assert reply.webhook is not None and reply.webhook.status == 200
    (inbound,) = webhooks.at("/twilio/inbound")
    assert inbound.url == webhooks.url("/twilio/inbound")
    validator = RequestValidator(twilio_sandbox.auth_token)
    assert validator.validate(inbound.url, inbound.params, inbound.headers["X-Twilio-Signature"])
    assert inbound.params["From"] == HANDSET
    assert inbound.params["To"] == FAST_NUMBER
    assert inbound.params["Body"] == " stop "
    assert inbound.params["MessageSid"] == inbound.params["SmsSid"] == reply.message.sid
    assert inbound.params["AccountSid"] == twilio_sandbox.account_sid
    assert inbound.params["NumMedia"] == "0"
    assert inbound.params["NumSegments"] == "1"
    assert inbound.params["MessagingServiceSid"] == SERVICE_SID

    assert await _refused_code(twilio, to=HANDSET, from_=FAST_NUMBER) == 21610
    # FAST_NUMBER belongs to the service, so the service is stopped too.
    assert await _refused_code(twilio, to=HANDSET, messaging_service_sid=SERVICE_SID) == 21610
    # Another number of ours, and another handset, are not affected.
    assert await _refused_code(twilio, to=HANDSET, from_=SLOW_NUMBER) is None
    assert await _refused_code(twilio, to=OTHER_HANDSET, from_=FAST_NUMBER) is None


@pytest.mark.parametrize(
    "word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "OptOut"]
)
async def test_every_opt_out_keyword(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, word: str
):
    await twilio_sandbox.sandbox.reply(HANDSET, SLOW_NUMBER, word)
    assert await _refused_code(twilio, to=HANDSET, from_=SLOW_NUMBER) == 21610


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
async def test_start_undoes_stop(twilio: Client, twilio_sandbox: RunningTwilioSandbox, word: str):
    await twilio_sandbox.sandbox.reply(HANDSET, FAST_NUMBER, "STOP")
    assert await _refused_code(twilio, to=HANDSET, from_=FAST_NUMBER) == 21610

    reply = await twilio_sandbox.sandbox.reply(HANDSET, FAST_NUMBER, word)

    assert reply.keyword == "opt-in"
    assert await _refused_code(twilio, to=HANDSET, from_=FAST_NUMBER) is None


@pytest.mark.parametrize(("body", "kind"), [("HELP", "help"), ("stop please", None), ("Hi!", None)])
async def test_other_replies_do_not_opt_out(
    twilio: Client,
    twilio_sandbox: RunningTwilioSandbox,
    webhooks: WebhookReceiver,
    body: str,
    kind: str | None,
):
    reply = await twilio_sandbox.sandbox.reply(HANDSET, FAST_NUMBER, body)

    assert reply.keyword == kind
    assert [webhook.params["Body"] for webhook in webhooks.at("/twilio/inbound")] == [body]
    assert await _refused_code(twilio, to=HANDSET, from_=FAST_NUMBER) is None


async def test_reply_endpoint_and_inbound_in_message_list(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    async with ClientSession() as session:
        async with session.post(
            f"{twilio_sandbox.url}/sandbox/reply",
            json={"From": OTHER_HANDSET, "To": FAST_NUMBER, "Body": "STOP"},
        ) as response:
            assert response.status == 200
            answer = await response.json()
        async with session.post(
            f"{twilio_sandbox.url}/sandbox/reply",
            json={"From": OTHER_HANDSET, "To": "+14155559999", "Body": "hi"},
        ) as response:
            assert response.status == 400

    assert answer["keyword"] == "opt-out" and answer["webhook_status"] == 200
    assert twilio_sandbox.sandbox.opted_out(OTHER_HANDSET, FAST_NUMBER)
    assert len(webhooks.at("/twilio/inbound")) == 1
    (listed,) = await twilio.messages.list_async(from_=OTHER_HANDSET)
    assert (listed.sid, listed.direction, listed.status) == (answer["sid"], "inbound", "received")
    assert twilio_sandbox.sandbox.messages() == []  # observation counts outbound only
