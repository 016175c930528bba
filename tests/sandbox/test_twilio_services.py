"""A Messaging Service's phone-number list (Twilio's Messaging API v1), through the real SDK."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox
from tests.sandbox.twilio_fixtures import FAST_NUMBER, SERVICE_SID, SLOW_NUMBER
from worker.twilio_client import close_twilio_client, create_twilio_client


async def test_a_services_numbers_are_listed_page_by_page(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.config.messaging_services[SERVICE_SID] = (FAST_NUMBER, SLOW_NUMBER)
    listed = await twilio.messaging.v1.services(SERVICE_SID).phone_numbers.list_async(page_size=1)

    assert [n.phone_number for n in listed] == [FAST_NUMBER, SLOW_NUMBER]
    first = listed[0]
    assert first.service_sid == SERVICE_SID
    assert first.sid is not None and first.sid.startswith("PN") and len(first.sid) == 34
    assert first.date_created is not None and first.date_created.tzinfo is not None


async def test_an_unknown_service_is_not_found_and_a_wrong_token_refused(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    with pytest.raises(TwilioException, match="20404"):
        await twilio.messaging.v1.services("MG" + "f" * 32).phone_numbers.list_async()
    stranger = create_twilio_client(twilio_sandbox.account_sid, "0" * 32, twilio_sandbox.url)
    try:
        with pytest.raises(TwilioException, match="20003"):
            await stranger.messaging.v1.services(SERVICE_SID).phone_numbers.list_async()
    finally:
        await close_twilio_client(stranger)
