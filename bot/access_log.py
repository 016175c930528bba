"""One line per request: method, route, status, time, who and from where.

Never a body, a query string, a secret or a phone number: the route is logged as its pattern
(`/v1/sms/campaigns/{campaign_id}`), so what a client puts in a URL does not reach the log either.
A request refused for who sent it (a bad API key, a bad Slack or Twilio signature) is logged at
WARNING with the reason, so failed authentications stand out; everything else at INFO.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger("textcast.access")


@dataclass(slots=True)
class RequestNote:
    """What handlers add to a request's log line. Shared by reference, so a cloned request (see
    `body_limits`) writes to the same note."""

    who: str = "-"  # "key:<id>" or "slack:<user id>"
    refused: str | None = None  # why the sender was not trusted


NOTE = web.RequestKey("request_note", RequestNote)


def note(request: web.Request) -> RequestNote:
    """The request's note (a throwaway one for a request that did not pass the middleware)."""
    return request.get(NOTE) or RequestNote()


def refuse(request: web.Request, reason: str) -> None:
    """Mark the request as a failed authentication, with a short reason for the log."""
    note(request).refused = reason


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


@web.middleware
async def access_log(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    request[NOTE] = about = RequestNote()
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        millis = (time.perf_counter() - started) * 1000
        line = "%s %s %d %.0fms %s from %s"
        args = [request.method, _route(request), status, millis, about.who, request.remote]
        if about.refused:
            log.warning(line + " refused: %s", *args, about.refused)
        else:
            log.info(line, *args)
