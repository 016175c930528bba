"""API key authentication: `Authorization: Bearer KEY_ID:KEY_SECRET`."""

from __future__ import annotations

from aiohttp import web

from bot.api.errors import error_response
from bot.keys import API_KEY, RUNTIME
from campaigns.service import authenticate

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
        return unauthorized()
    key = await authenticate(request.app[RUNTIME].ctx, token.strip())
    if key is None:
        return unauthorized()
    request[API_KEY] = key
    return await handler(request)
