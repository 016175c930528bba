"""What tests and benchmarks read from the stand-in: messages, duplicates, windows, reset."""

from __future__ import annotations

import aiohttp
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from campaigns.settings import Settings
from sandbox.twilio import (
    SANDBOX,
    CarrierConfig,
    Faults,
    RunningTwilioSandbox,
    SandboxConfig,
    TwilioSandbox,
    create_app,
    signature,
)
from tests.sandbox.twilio_fixtures import FAST_NUMBER, HANDSET, OTHER_HANDSET


async def test_messages_counts_and_duplicates(twilio: Client, twilio_sandbox: RunningTwilioSandbox):
    sandbox = twilio_sandbox.sandbox
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Sale")
    await twilio.messages.create_async(to=OTHER_HANDSET, from_=FAST_NUMBER, body="Sale")
    assert sandbox.duplicates() == []

    again = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Sale")
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Other text")

    (duplicate,) = sandbox.duplicates()
    assert (duplicate.to, duplicate.body) == (HANDSET, "Sale")
    assert duplicate.sids[-1] == again.sid and len(duplicate.sids) == 2
    assert sandbox.count_for(HANDSET) == 3
    assert sandbox.per_recipient() == {HANDSET: 3, OTHER_HANDSET: 1}
    assert [m.body for m in sandbox.messages(HANDSET)] == ["Sale", "Sale", "Other text"]
    first = sandbox.messages()[0]
    assert first.created_wall > 1e9 and first.created_at > 0


async def test_a_resend_after_failed_is_not_a_duplicate(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    sandbox.fail_recipient(HANDSET, 30008)
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Sale")
    await sandbox.settled()
    sandbox.config.carrier.recipient_failures.clear()
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Sale")

    assert sandbox.duplicates() == []
    assert len(sandbox.duplicates(include_failed=True)) == 1


async def test_observation_endpoints(twilio: Client, twilio_sandbox: RunningTwilioSandbox):
    sent = await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="Hello")
    await twilio_sandbox.sandbox.settled()

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{twilio_sandbox.url}/sandbox/messages") as response:
            (observed,) = (await response.json())["messages"]
        async with session.get(f"{twilio_sandbox.url}/sandbox/summary") as response:
            summary = await response.json()
        async with session.post(f"{twilio_sandbox.url}/sandbox/reset") as response:
            assert response.status == 200

    assert observed["sid"] == sent.sid
    assert observed["segments"] == 1
    assert [change[0] for change in observed["history"]] == [
        "queued",
        "sending",
        "sent",
        "delivered",
    ]
    assert observed["carrier_at"] >= observed["created_at"]
    assert summary["messages"] == 1
    assert summary["statuses"] == {"delivered": 1}
    assert summary["duplicates"] == []
    assert summary["max_in_window"][FAST_NUMBER]["carrier"] == 1
    assert twilio_sandbox.sandbox.messages() == []


async def test_reset_forgets_messages_opt_outs_and_queues(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    sandbox = twilio_sandbox.sandbox
    await sandbox.reply(HANDSET, FAST_NUMBER, "STOP")
    sandbox.set_carrier(step_delay=5.0)
    await twilio.messages.create_async(to=OTHER_HANDSET, from_=FAST_NUMBER, body="x")
    assert not sandbox.idle

    sandbox.reset()

    assert sandbox.idle
    assert sandbox.messages() == [] and sandbox.replies() == []
    assert not sandbox.opted_out(HANDSET, FAST_NUMBER)
    assert await twilio.messages.list_async() == []
    sandbox.set_carrier(step_delay=0.001)
    await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body="x")
    await sandbox.settled()


def test_signature_matches_twilios_validator():
    params = {"b": "2", "a": "1 & ü", "MessageStatus": "sent"}
    url = "https://example.com:8443/twilio/status?x=1"
    signed = signature("secret", url, params.items())

    assert RequestValidator("secret").validate(url, params, signed)
    assert RequestValidator("secret").compute_signature(url, params) == signed


def test_config_refuses_what_twilio_could_not_be():
    with pytest.raises(ValueError, match="account_sid"):
        SandboxConfig(account_sid="AC123")
    with pytest.raises(ValueError, match=r"E\.164"):
        SandboxConfig(numbers={"4155550100": 1})
    with pytest.raises(ValueError, match="does not have"):
        SandboxConfig(messaging_services={"MG" + "0" * 32: ("+14155550199",)})
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(drop_rate=1.5)
    with pytest.raises(ValueError, match="carrier error"):
        CarrierConfig(failure_codes=(21610,))


def test_config_from_textcast_settings():
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TWILIO_ACCOUNT_SID="AC" + "ab" * 16,
        TWILIO_AUTH_TOKEN="secret",
        TWILIO_MESSAGING_SERVICE_SID="MG" + "cd" * 16,
        SENDER_NUMBERS="+14155550100:5,+14155550101",
        PRICE_PER_SEGMENT="0.01",
    )

    config = SandboxConfig.from_settings(settings, seed=3)

    assert (config.account_sid, config.auth_token) == ("AC" + "ab" * 16, "secret")
    assert config.numbers == {"+14155550100": 5.0, "+14155550101": 1.0}
    assert config.messaging_services == {"MG" + "cd" * 16: ("+14155550100", "+14155550101")}
    assert (config.price_per_segment, config.seed) == ("0.01", 3)


def test_create_app_serves_a_given_sandbox():
    sandbox = TwilioSandbox(SandboxConfig(numbers={"+14155550100": 3}))
    app = create_app(sandbox)
    assert app[SANDBOX] is sandbox
    assert isinstance(create_app()[SANDBOX], TwilioSandbox)
