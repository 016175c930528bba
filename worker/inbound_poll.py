"""Texts recipients send, fetched from Twilio for installs it cannot call (no PUBLIC_BASE_URL).

Every INBOUND_POLL_SECONDS the worker lists each sender number's messages (SENDER_NUMBERS, and the
numbers of TWILIO_MESSAGING_SERVICE_SID as Twilio lists them), newest first, and
stops at the first one older than the newest it saw last time (less a margin for Twilio's clock
and for messages listed late). Each inbound one is recorded as the webhook would record it: once
per MessageSid, so overlapping polls and several workers polling at once are harmless. The
newest time seen is kept in Redis per number; without it (a first start, a flush) the poll looks
back LOOK_BACK. With PUBLIC_BASE_URL the same poll runs every INBOUND_BACKSTOP_SECONDS, for texts
whose webhook failed (the web process down, the database away): Twilio does not post an incoming
message again. A STOP found this way is in force INBOUND_POLL_SECONDS after it was sent, at most
(plus Twilio's own delay in listing it); HELP is answered by Twilio's own default reply, as the
worker cannot answer a webhook it never got.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import aiohttp
from twilio.base.exceptions import TwilioException

from bot.twilio.inbound import hand_on
from campaigns.privacy import mask
from campaigns.service.inbound import IncomingSms, record_inbound
from worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)
LOOK_BACK = timedelta(hours=1)
MARGIN = timedelta(minutes=2)
PAGE = 50
LIMIT = 500  # messages looked at per number and poll: a burst larger waits for the next poll
SERVICE_NUMBERS_SECONDS = 600  # a Messaging Service's senders change seldom: listed this often
SERVICE_NUMBERS_LIMIT = 400  # Twilio's most senders for one Messaging Service


def polling_inbound(rt: WorkerRuntime) -> bool:
    return not rt.settings.PUBLIC_BASE_URL


async def backstop_due(rt: WorkerRuntime) -> bool:
    """With webhooks, one poll every INBOUND_BACKSTOP_SECONDS across every worker."""
    key = f"{rt.namespace}:inbound:backstop"
    return bool(await rt.redis.set(key, "1", nx=True, ex=rt.settings.INBOUND_BACKSTOP_SECONDS))


def _seen_key(rt: WorkerRuntime, sender: str) -> str:
    return f"{rt.namespace}:inbound:seen:{sender}"


async def poll_inbound(rt: WorkerRuntime) -> int:
    """Record the texts sent to each sender number since the last poll; how many were new."""
    new = 0
    for sender in await inbound_numbers(rt):
        try:
            new += await _poll_number(rt, sender)
        except (TwilioException, aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as error:
            log.warning("could not list the texts sent to %s (%r); asking again next time",
                        sender, error)  # fmt: skip
        except (AttributeError, TypeError, ValueError, KeyError) as error:
            # A page the SDK could not read (a garbled next_page_uri, no list of messages): what
            # came before it is recorded, the next number is polled, and since the newest time
            # seen is kept only after a whole poll, this number's next poll reads it all again.
            log.warning("Twilio's list of the texts sent to %s could not be read (%r); asking "
                        "again next time", sender, error)  # fmt: skip
    return new


async def inbound_numbers(rt: WorkerRuntime) -> list[str]:
    """The numbers texts come in to: SENDER_NUMBERS, and the Messaging Service's senders (from
    Twilio's list of them, kept SERVICE_NUMBERS_SECONDS), which SENDER_NUMBERS need not name."""
    numbers = list(rt.settings.sender_phones)
    service_sid = rt.settings.TWILIO_MESSAGING_SERVICE_SID
    if service_sid:
        numbers += [n for n in await _service_numbers(rt, service_sid) if n not in numbers]
    return numbers


async def _service_numbers(rt: WorkerRuntime, service_sid: str) -> list[str]:
    key = f"{rt.namespace}:inbound:service-numbers:{service_sid}"
    kept = await rt.redis.get(key)
    if kept is not None:
        return list(json.loads(kept))
    try:
        listed = await rt.gateway.client.messaging.v1.services(
            service_sid
        ).phone_numbers.list_async(limit=SERVICE_NUMBERS_LIMIT)
    except (TwilioException, aiohttp.ClientError, TimeoutError, ValueError) as error:
        log.warning("could not list the numbers of Messaging Service %s (%r): their texts are "
                    "looked for next time", service_sid, error)  # fmt: skip
        return []
    numbers = [n.phone_number for n in listed if isinstance(n.phone_number, str)]
    await rt.redis.set(key, json.dumps(numbers), ex=SERVICE_NUMBERS_SECONDS)
    return numbers


def _media_count(raw: object) -> int:
    """How many pictures Twilio says a text has (`num_media` is a string); 0 for an answer it
    garbled, so the text itself is still recorded."""
    try:
        count = int(str(raw or 0))
    except ValueError:
        log.warning("an incoming text's num_media %r is not a number; counted as none", raw)
        return 0
    return min(max(count, 0), 10)


async def _poll_number(rt: WorkerRuntime, sender: str) -> int:
    raw = await rt.redis.get(_seen_key(rt, sender))
    now = datetime.now(UTC)
    seen = datetime.fromtimestamp(float(raw), UTC) if raw else now - LOOK_BACK
    newest, new = seen, 0
    async for message in await rt.gateway.client.messages.stream_async(
        to=sender, limit=LIMIT, page_size=PAGE
    ):
        created = message.date_created or now
        if created < seen - MARGIN:
            break
        if message.direction != "inbound" or not message.sid or not message.from_:
            continue
        received = await record_inbound(rt.ctx, IncomingSms(
            message_sid=message.sid, phone=message.from_, sender=message.to or sender,
            body=message.body or "", messaging_service_sid=message.messaging_service_sid,
            media_types=("unknown",) * _media_count(message.num_media),
            received_at=created, source="poll",
        ))  # fmt: skip
        newest = max(newest, created)
        if received.new:
            new += 1
            log.info("text from %s found by polling", mask(message.from_))
            await hand_on(rt.redis, rt.namespace, received)
    await rt.redis.set(_seen_key(rt, sender), str(newest.timestamp()), ex=7 * 24 * 3600)
    return new
