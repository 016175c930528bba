"""POST /twilio/inbound: texts recipients send to our numbers (Twilio's incoming-message webhook).

The order matters. The signature is checked first (403, nothing recorded). Then the text is
stored, and a STOP or START applied, in one transaction: once Twilio has its answer, nothing is
lost if this process dies, and a STOP is in force. Then the send loops are told of a STOP at once
(bot/stops.py), the Slack side is handed to the worker, and Twilio gets empty TwiML, or the help
text for HELP and INFO (the first from a number in a day; later ones the same day get nothing).
Twilio posting the same MessageSid again is stored once and answered the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from xml.sax.saxutils import escape

from aiohttp import web
from arq.connections import ArqRedis

from bot.access_log import refuse
from bot.jobs import enqueue_inbound
from bot.keys import RUNTIME
from bot.runtime import Runtime
from bot.stops import withdraw_stop
from bot.twilio.signature import signature_problem
from campaigns.keywords import Meaning
from campaigns.privacy import mask
from campaigns.service.inbound import IncomingSms, Received, record_inbound
from campaigns.settings import Settings

log = logging.getLogger(__name__)
MAX_MEDIA = 10
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def help_text(settings: Settings) -> str:
    return settings.HELP_TEXT or (
        "You get these texts because you gave this number to the team that sends them. "
        "Reply STOP to stop them, START to get them again."
    )


def twiml(message: str | None = None) -> web.Response:
    body = EMPTY_TWIML
    if message:
        body = EMPTY_TWIML.replace(
            "</Response>", f"<Message>{escape(message)}</Message></Response>"
        )
    return web.Response(text=body, content_type="text/xml")


def incoming_from(form: Mapping[str, str]) -> IncomingSms | None:
    """The text a webhook describes, or None when it lacks what every one of Twilio's has."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    phone, sender = form.get("From"), form.get("To")
    if not sid or not phone or not sender or len(sid) > 40 or len(phone) > 20 or len(sender) > 40:
        return None
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    return IncomingSms(
        message_sid=sid,
        phone=phone,
        sender=sender,
        body=form.get("Body") or "",
        messaging_service_sid=(form.get("MessagingServiceSid") or None),
        media_types=tuple(form.get(f"MediaContentType{i}") or "unknown" for i in range(count)),
        opt_out_type=form.get("OptOutType") or None,
    )


async def receive_inbound(request: web.Request) -> web.StreamResponse:
    if request.content_type != "application/x-www-form-urlencoded":
        return web.json_response({"error": "An incoming message is a form."}, status=415)
    runtime: Runtime = request.app[RUNTIME]
    form = await request.post()
    problem = signature_problem(runtime.settings, request, form)  # type: ignore[arg-type]
    if problem is not None:
        refuse(request, problem)
        return web.json_response({"error": problem}, status=403)
    sms = incoming_from(form)  # type: ignore[arg-type]
    if sms is None:
        return web.json_response({"error": "MessageSid, From and To are required."}, status=400)
    received = await record_inbound(runtime.ctx, sms)
    await hand_on(runtime.redis, runtime.settings.REDIS_NAMESPACE, received)
    if received.message.meaning == Meaning.HELP and received.message.help_answered:
        return twiml(help_text(runtime.settings))  # once a day per number (record_inbound)
    return twiml()


async def hand_on(redis: ArqRedis, namespace: str, received: Received) -> None:
    """Tell the send loops, and the worker for Slack. Stored already: a failure here loses
    nothing (the sweep finds the text, and the database screening stops the number)."""
    message = received.message
    # A STOP was announced to the send loops by record_inbound, before Twilio is answered.
    if message.meaning == Meaning.OPT_IN and received.new:
        await withdraw_stop(redis, namespace, message.phone)
    try:
        await enqueue_inbound(redis, namespace, message.id)
    except Exception as error:  # Redis away: the worker's sweep picks it up later
        log.warning("the text from %s was stored; handing it on failed (%r)",
                    mask(message.phone), error)  # fmt: skip
