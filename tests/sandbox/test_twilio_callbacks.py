"""Status callbacks: Twilio's fields, Twilio's signature, and the misbehaviour asked for."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox.twilio import RunningTwilioSandbox
from tests.sandbox.twilio_fixtures import (
    FAST_NUMBER,
    HANDSET,
    OTHER_HANDSET,
    SERVICE_SID,
    WebhookReceiver,
)

# What a message sent From a number reports: Twilio posts no callback for the status a message
# is created with (queued), only for the changes after it.
HAPPY_PATH = ["sending", "sent", "delivered"]


async def _send(twilio: Client, callback: str, to: str = HANDSET, **kwargs: str) -> str:
    sender = kwargs or {"from_": FAST_NUMBER}
    message = await twilio.messages.create_async(
        to=to, body="Your code is 1234", status_callback=callback, **sender
    )
    assert message.sid is not None
    return message.sid


async def test_callbacks_arrive_in_order_queued_to_delivered_and_pass_request_validator(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    callback = webhooks.url("/twilio/status?campaign=7&recipient=42")
    sid = await _send(twilio, callback, messaging_service_sid=SERVICE_SID)

    await webhooks.wait_for(4, "/twilio/status")
    await twilio_sandbox.sandbox.settled()
    received = webhooks.for_message(sid)
    # Created "accepted" (no callback), then queued once the service picked a number.
    assert [webhook.params["MessageStatus"] for webhook in received] == ["queued", *HAPPY_PATH]
    validator = RequestValidator(twilio_sandbox.auth_token)
    for webhook in received:
        signed = webhook.headers["X-Twilio-Signature"]
        assert webhook.url == callback
        assert validator.validate(webhook.url, webhook.params, signed)
        # A different token, URL or body must not validate: the signature really covers them.
        assert not RequestValidator("another-token").validate(webhook.url, webhook.params, signed)
        assert not validator.validate(webhook.url.replace("42", "43"), webhook.params, signed)
        assert not validator.validate(webhook.url, webhook.params | {"To": OTHER_HANDSET}, signed)

    delivered = received[-1].params
    assert delivered["MessageSid"] == delivered["SmsSid"] == sid
    assert delivered["SmsStatus"] == "delivered"
    assert delivered["AccountSid"] == twilio_sandbox.account_sid
    assert delivered["From"] == FAST_NUMBER
    assert delivered["To"] == HANDSET
    assert delivered["MessagingServiceSid"] == SERVICE_SID
    assert delivered["ApiVersion"] == "2010-04-01"
    assert "ErrorCode" not in delivered
    assert received[0].headers["Content-Type"].startswith("application/x-www-form-urlencoded")


async def test_message_from_a_number_reports_changes_after_queued(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    sid = await _send(twilio, webhooks.url("/twilio/status"))
    await twilio_sandbox.sandbox.settled()

    received = webhooks.for_message(sid)
    assert [webhook.params["MessageStatus"] for webhook in received] == HAPPY_PATH
    assert {webhook.params["From"] for webhook in received} == {FAST_NUMBER}
    assert all("MessagingServiceSid" not in webhook.params for webhook in received)
    message = twilio_sandbox.sandbox.message(sid)
    assert message is not None and message.statuses == ["queued", *HAPPY_PATH]


@pytest.mark.parametrize(
    ("code", "final", "statuses"),
    [
        (30003, "undelivered", ["sending", "sent", "undelivered"]),
        (30005, "undelivered", ["sending", "sent", "undelivered"]),
        (30006, "undelivered", ["sending", "sent", "undelivered"]),
        (30007, "undelivered", ["sending", "sent", "undelivered"]),
        (30008, "failed", ["sending", "failed"]),
    ],
)
async def test_forced_failure_for_one_recipient(
    twilio: Client,
    twilio_sandbox: RunningTwilioSandbox,
    webhooks: WebhookReceiver,
    code: int,
    final: str,
    statuses: list[str],
):
    twilio_sandbox.sandbox.fail_recipient(HANDSET, code)
    callback = webhooks.url("/twilio/status")
    failing = await _send(twilio, callback, to=HANDSET)
    fine = await _send(twilio, callback, to=OTHER_HANDSET)
    await twilio_sandbox.sandbox.settled()

    failed = webhooks.for_message(failing)
    assert [webhook.params["MessageStatus"] for webhook in failed] == statuses
    assert failed[-1].params["ErrorCode"] == str(code)
    assert [webhook.params["MessageStatus"] for webhook in webhooks.for_message(fine)] == HAPPY_PATH
    fetched = await twilio.messages(failing).fetch_async()
    assert (fetched.status, fetched.error_code) == (final, code)


async def test_global_failure_rate_uses_the_configured_codes(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox
):
    twilio_sandbox.sandbox.set_carrier(failure_rate=0.5, failure_codes=(30007,))
    for i in range(40):
        await twilio.messages.create_async(to=HANDSET, from_=FAST_NUMBER, body=f"m{i}")
    await twilio_sandbox.sandbox.settled()

    counts = twilio_sandbox.sandbox.status_counts()
    assert counts["delivered"] + counts["undelivered"] == 40
    assert 8 <= counts["undelivered"] <= 32
    codes = {m.error_code for m in twilio_sandbox.sandbox.messages() if m.status == "undelivered"}
    assert codes == {30007}


async def test_duplicated_callbacks(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    twilio_sandbox.sandbox.set_carrier(callback_duplicate_rate=1.0)
    sid = await _send(twilio, webhooks.url("/twilio/status"))
    await twilio_sandbox.sandbox.settled()

    received = webhooks.for_message(sid)
    statuses = [webhook.params["MessageStatus"] for webhook in received]
    assert statuses == [status for status in HAPPY_PATH for _ in range(2)]
    tokens = [webhook.headers["I-Twilio-Idempotency-Token"] for webhook in received]
    assert tokens[0] == tokens[1] and tokens[1] != tokens[2]


async def test_reordered_callbacks(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    twilio_sandbox.sandbox.set_carrier(callback_reorder_rate=1.0)
    sid = await _send(twilio, webhooks.url("/twilio/status"))
    await twilio_sandbox.sandbox.settled()

    statuses = [webhook.params["MessageStatus"] for webhook in webhooks.for_message(sid)]
    assert sorted(statuses) == sorted(HAPPY_PATH)
    assert statuses == ["sent", "sending", "delivered"]
    # The resource itself still moved forward in order.
    message = twilio_sandbox.sandbox.message(sid)
    assert message is not None and message.statuses == ["queued", *HAPPY_PATH]


async def test_dropped_callbacks_are_never_posted_nor_retried(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    twilio_sandbox.sandbox.set_carrier(callback_drop_rate=1.0)
    sid = await _send(twilio, webhooks.url("/twilio/status"))
    await twilio_sandbox.sandbox.settled()
    await asyncio.sleep(0.2)  # time enough for a retry, were there one

    assert webhooks.for_message(sid) == []
    message = twilio_sandbox.sandbox.message(sid)
    assert message is not None and message.status == "delivered" and message.callbacks == []
    assert twilio_sandbox.sandbox.summary()["callbacks_dropped"] == len(HAPPY_PATH)


async def test_a_share_of_callbacks_is_dropped(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    twilio_sandbox.sandbox.set_carrier(callback_drop_rate=0.5, callback_reorder_rate=0.5)
    sids = [await _send(twilio, webhooks.url("/twilio/status")) for _ in range(10)]
    await twilio_sandbox.sandbox.settled()

    posted = sum(len(webhooks.for_message(sid)) for sid in sids)
    summary = twilio_sandbox.sandbox.summary()
    dropped = summary["callbacks_dropped"]
    assert posted + dropped == len(sids) * len(HAPPY_PATH)
    assert summary["callbacks_posted"] == posted  # what bench/scale_out.py counts by
    assert 5 <= dropped <= 25


async def test_delayed_callbacks(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    twilio_sandbox.sandbox.set_carrier(callback_delay=0.3)
    sid = await _send(twilio, webhooks.url("/twilio/status"))

    await asyncio.sleep(0.15)
    message = twilio_sandbox.sandbox.message(sid)
    assert message is not None and message.status == "delivered"
    assert webhooks.for_message(sid) == []
    await webhooks.wait_for(3, "/twilio/status")
    statuses = [webhook.params["MessageStatus"] for webhook in webhooks.for_message(sid)]
    assert statuses == HAPPY_PATH


async def test_callback_answers_are_recorded(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, webhooks: WebhookReceiver
):
    sid = await _send(twilio, webhooks.url("/twilio/status"))
    unreachable = await _send(twilio, "http://127.0.0.1:9/status")
    await twilio_sandbox.sandbox.settled()

    answered = twilio_sandbox.sandbox.message(sid)
    failed = twilio_sandbox.sandbox.message(unreachable)
    assert answered is not None and failed is not None
    assert [attempt.result for attempt in answered.callbacks] == [200] * 3
    assert all(isinstance(attempt.result, str) for attempt in failed.callbacks)
    assert failed.status == "delivered"


@pytest.mark.parametrize("concurrency", [4, 32])
async def test_callbacks_are_posted_as_many_at_once_as_asked_each_message_in_order(
    twilio: Client, twilio_sandbox: RunningTwilioSandbox, concurrency: int
):
    """Twilio documents no limit on callbacks at once; the stand-in posts as many as asked (a
    benchmark asks for more than the tests' 16), and still one message's in order."""
    at_once = most = 0
    statuses: dict[str, list[str]] = {}

    async def slow(request: web.Request) -> web.Response:
        nonlocal at_once, most
        form = await request.post()
        statuses.setdefault(str(form["MessageSid"]), []).append(str(form["MessageStatus"]))
        at_once += 1
        most = max(most, at_once)
        await asyncio.sleep(0.1)
        at_once -= 1
        return web.Response(text="<Response/>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/status", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        twilio_sandbox.sandbox.set_carrier(callback_concurrency=concurrency)
        callback = f"http://127.0.0.1:{runner.addresses[0][1]}/status"
        sids = [await _send(twilio, callback, to=f"+4477009001{i:02d}") for i in range(60)]
        async with asyncio.timeout(20):
            while sum(map(len, statuses.values())) < 3 * len(sids):
                await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    assert concurrency / 2 < most <= concurrency
    assert all(statuses[sid] == HAPPY_PATH for sid in sids)


async def test_callbacks_at_once_must_be_a_sensible_number(twilio_sandbox: RunningTwilioSandbox):
    for wrong in (0, 1001):
        with pytest.raises(ValueError, match="callback_concurrency"):
            twilio_sandbox.sandbox.set_carrier(callback_concurrency=wrong)
