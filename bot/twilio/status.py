"""POST /twilio/status: Twilio's status callbacks, written through the batcher.

Answered 204 with an empty body once the update is committed. Twilio reads nothing from a status
callback's answer; it only needs a 2xx (a 4xx or 5xx shows as warning 15003 in its console, whose
page names "204 No Content and an empty response body" as a correct answer), so no TwiML is
built. A batch that fails to commit answers 500, so Twilio may deliver it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from bot.access_log import refuse
from bot.keys import RUNTIME
from bot.twilio.batcher import BATCHER, Callback
from bot.twilio.signature import signature_problem
from campaigns.service import StatusUpdate
from campaigns.status import TWILIO_STATUS, error_of

log = logging.getLogger(__name__)


class MalformedCallback(ValueError):
    pass


def callback_from(form: Mapping[str, str], query: Mapping[str, str]) -> Callback | None:
    """The update a callback describes; None for a status we do not track.

    `query` is the callback URL's query: the sender puts the recipient's id in it as `rid`.
    """
    sid = form.get("MessageSid") or form.get("SmsSid")
    twilio_status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not twilio_status:
        raise MalformedCallback("A status callback needs MessageSid and MessageStatus.")
    status = TWILIO_STATUS.get(twilio_status)
    if status is None:
        # Not a status of a message we sent (e.g. "received", for an inbound one).
        log.info("status callback for %s with unknown status %r ignored", sid, twilio_status)
        return None
    code, reason = error_of(status, _integer(form.get("ErrorCode")))
    update = StatusUpdate(status=status, twilio_sid=sid, error_code=code, error_reason=reason)
    return Callback(update, form.get("To") or None, _integer(query.get("rid"), 2**63))


def _integer(raw: str | None, below: int = 2**31) -> int | None:
    """A positive whole number that fits the database column it is for, or None."""
    try:
        value = int(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < below else None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def receive_status(request: web.Request) -> web.StreamResponse:
    if request.content_type != "application/x-www-form-urlencoded":
        # What Twilio always sends; anything else (a multipart upload) is not a callback.
        return _error(415, "A status callback is a form: application/x-www-form-urlencoded.")
    form = await request.post()
    problem = signature_problem(request.app[RUNTIME].settings, request, form)  # type: ignore[arg-type]
    if problem is not None:
        refuse(request, problem)
        return _error(403, problem)
    try:
        callback = callback_from(form, request.query)  # type: ignore[arg-type]
    except MalformedCallback as error:
        return _error(400, str(error))
    if callback is None:
        return web.Response(status=204)
    try:
        written = request.app[BATCHER].submit(callback)
    except RuntimeError:
        return _error(503, "The server is shutting down; send it again.")
    try:
        await written
    except Exception:
        # Logged by the batcher, once for the whole batch.
        return _error(500, "The status could not be stored; nothing was changed.")
    return web.Response(status=204)
