"""A test message from the preview: the campaign's first message, to the person's own number.

It goes through the worker like any message (the sender's pace, the gateway, its errors), but it
is not a recipient of the campaign, and never retried (a test that Twilio did not answer may
still arrive; sending it again could make two). The web process recorded it before enqueueing
it (campaigns/service/test_sends.py: the hourly limit, the month's spend); what became of it is
recorded here, and the person is told in the app's messages.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from campaigns.senders import SenderChoice, SenderMode, messages_per_second
from campaigns.service import get_campaign, opted_out_among
from campaigns.service.test_sends import settle_test_send
from campaigns.status import TestSendStatus
from campaigns.templates import compile_template
from worker.gateway import Kind, Outgoing, Unsendable, message_body
from worker.media_links import PicturesUnreachable, media_for
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)
PACE_TRIES = 300  # of 0.1 s: half a minute behind a busy number at most


async def send_test(
    rt: WorkerRuntime, campaign_id: str, phone: str, user_id: str, test_id: int | None
) -> str:
    """Send it and tell the person; returns what they were told."""
    if test_id is None:  # queued by a version that did not record tests: not counted, not sent
        told = "No test was sent: press Send a test to me again."
        await _tell(rt, user_id, told)
        return told
    detail = await get_campaign(rt.ctx, campaign_id, recipients_limit=1)
    campaign = detail.view.campaign
    if await opted_out_among(rt.ctx, [phone]):
        told = f"{phone} has opted out (STOP): no test was sent to it."
        outcome, sid = TestSendStatus.NOT_SENT, None
    else:
        told, outcome, sid = await _send(rt, campaign, detail.recipients[0].variables
                                         if detail.recipients else {}, phone)  # fmt: skip
    await settle_test_send(rt.ctx, test_id, outcome, sid)
    await _tell(rt, user_id, told)
    return told


Outcome = tuple[str, TestSendStatus, str | None]  # what the person is told, the status, the SID


async def _send(rt: WorkerRuntime, campaign, variables: dict[str, str], phone: str) -> Outcome:  # type: ignore[no-untyped-def]
    not_sent = TestSendStatus.NOT_SENT
    try:
        body = message_body(compile_template(campaign.message_template), variables)
    except Unsendable as error:
        return f"No test was sent: {error.reason}", not_sent, None
    choice = SenderChoice(SenderMode(campaign.sender_mode), tuple(campaign.from_numbers))
    sender = (rt.settings.TWILIO_MESSAGING_SERVICE_SID if choice.mode == SenderMode.SERVICE
              else choice.numbers[0])  # fmt: skip
    mps = messages_per_second(rt.settings, SenderChoice(choice.mode, (sender,)))
    slot = None
    for _ in range(PACE_TRIES):  # None: the number is booked further ahead than the pacer looks
        slot = await rt.pacer.reserve([(sender, mps)], 1)
        if slot is not None:
            break
        await asyncio.sleep(0.1)
    if slot is None:
        return (f"No test was sent: {sender} is busy with campaigns. Try again in a minute.",
                not_sent, None)  # fmt: skip
    try:
        media = media_for(campaign.media_urls or (), rt.settings, rt.ctx.now)
    except PicturesUnreachable as error:
        return f"No test was sent: {error.reason}", not_sent, None
    await asyncio.sleep(max(0.0, slot.wait))
    attempt = await rt.gateway.send(Outgoing(
        to=phone, body=body, sender=sender, status_callback=None,
        validity_period=rt.settings.MESSAGE_VALIDITY_SECONDS, media_urls=media,
    ))  # fmt: skip
    if attempt.kind is Kind.SUBMITTED:
        return (f"Test sent to {phone} from {sender}: check your phone.",
                TestSendStatus.SENT, attempt.sid)  # fmt: skip
    if attempt.kind is Kind.UNKNOWN:
        return (f"Twilio did not answer the test to {phone} ({attempt.reason}): it may still "
                "arrive, so it was not sent again.", TestSendStatus.UNKNOWN, None)  # fmt: skip
    return f"Twilio refused the test to {phone}: {attempt.reason or attempt.code}.", not_sent, None


async def _tell(rt: WorkerRuntime, user_id: str, text: str) -> None:
    slack = rt.reporter.slack
    if slack is None:
        return
    try:
        await slack.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as error:
        log.warning("could not tell %s about a test: %s", user_id, error.response.get("error"))
