"""API key authentication: `Authorization: Bearer KEY_ID:KEY_SECRET`."""

from __future__ import annotations

import re

from aiohttp import web

from bot.access_log import note, refuse
from bot.api.errors import error_response
from bot.keys import API_KEY, RUNTIME
from campaigns.service import authenticate

KEY_ID = re.compile(r"key_[A-Za-z0-9_-]{1,32}")
PUBLIC_PATHS = frozenset({"/v1/openapi.json"})


def unauthorized() -> web.Response:
    # One answer for missing, malformed, unknown and revoked keys: it tells a prober nothing.
    return error_response(
        401,
        "unauthorized",
        "Send a valid API key: Authorization: Bearer KEY_ID:KEY_SECRET (textcast apikey create NAME).",
        **{"WWW-Authenticate": 'Bearer realm="textcast"'},
    )


@web.middleware
async def require_api_key(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    if not request.path.startswith("/v1/") or request.path in PUBLIC_PATHS:
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        refuse(request, "no API key" if not scheme else "malformed Authorization header")
        return unauthorized()
    key = await authenticate(request.app[RUNTIME].ctx, token.strip())
    if key is None:
        # A key id is no secret and tells which key someone is trying; anything else in its
        # place may be a secret pasted wrong, and is not logged.
        key_id = token.strip().partition(":")[0]
        shown = key_id if KEY_ID.fullmatch(key_id) else "(not a key id)"
        refuse(request, f"unknown or revoked API key {shown}")
        return unauthorized()
    request[API_KEY] = key
    note(request).who = f"key:{key.id}"
    return await handler(request)
