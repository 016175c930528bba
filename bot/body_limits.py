"""Each route reads no more body than it needs.

A Slack or Twilio webhook is a few kilobytes; only the API's create takes a 10 MB recipient list.
A larger body is refused with 413 before it is read when its Content-Length says so, and while it
is read when it comes chunked (aiohttp stops at the request's `client_max_size`).
"""

from __future__ import annotations

from aiohttp import web

from bot.access_log import NOTE
from bot.api.errors import error_response
from campaigns.limits import MAX_INPUT_BYTES

KB = 1024
# Room for a 10 MB recipient list plus the rest of the JSON around it.
MAX_CREATE_BODY = MAX_INPUT_BYTES + 256 * KB
LIMITS = {
    ("POST", "/v1/sms/campaigns"): MAX_CREATE_BODY,
    ("POST", "/v1/sms/campaigns/preview"): MAX_CREATE_BODY,
    ("POST", "/v1/sms/contact-groups"): MAX_CREATE_BODY,  # a whole campaign's list of contacts
    # A 3,000-character template of emoji, each escaped by the client as two \uXXXX: 36 KB.
    ("POST", "/v1/sms/templates"): 64 * KB,
    # A modal's submission carries the whole view (100 blocks at most) and its state.
    ("POST", "/slack/events"): 1024 * KB,
    ("POST", "/twilio/status"): 16 * KB,
    ("POST", "/twilio/inbound"): 64 * KB,  # an inbound MMS names up to 10 media URLs
}
DEFAULT_LIMIT = 16 * KB
MAX_BODY = max(LIMITS.values())  # the application's own limit: no route reads more


def limit_for(request: web.Request) -> int:
    if request.method == "PATCH" and request.path.startswith(CAMPAIGN_PATH):
        return MAX_CREATE_BODY  # an edit may bring a whole new recipient list
    return LIMITS.get((request.method, request.path), DEFAULT_LIMIT)


CAMPAIGN_PATH = "/v1/sms/campaigns/"


def too_large(limit: int) -> web.Response:
    size = f"{limit // (1024 * KB)} MB" if limit >= 1024 * KB else f"{limit // KB} KB"
    return error_response(413, "too_large", f"The request body is over {size}, this route's limit.")


@web.middleware
async def body_limits(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    limit = limit_for(request)
    if request.content_length is not None and request.content_length > limit:
        return too_large(limit)
    if limit == request.client_max_size:
        return await handler(request)
    bounded = request.clone(client_max_size=limit)
    if NOTE in request:
        bounded[NOTE] = request[NOTE]
    try:
        return await handler(bounded)
    except web.HTTPRequestEntityTooLarge:
        return too_large(limit)
