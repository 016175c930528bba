"""GET /media/{token}: an uploaded picture, for Twilio to fetch when it makes a message.

Twilio fetches media anonymously, so this route is outside the API's key check (it is not
under /v1) and the signed, expiring token in the path is the only permission
(campaigns/media_tokens.py). A missing, malformed, tampered or expired token, or one naming a
file that is not stored, gets the same 404 with no file, so a prober learns nothing. The
access log shows the route's pattern, never the token.
"""

from __future__ import annotations

from aiohttp import web

from bot.access_log import refuse
from bot.keys import RUNTIME
from campaigns.media_tokens import signing_key, verified_file_id
from campaigns.service.media import get_media_file

KEY = web.AppKey("media_signing_key", bytes)


def register(app: web.Application) -> None:
    """Add the route; `app[RUNTIME]` must be set already."""
    key = signing_key(app[RUNTIME].settings)
    if key is not None:
        app[KEY] = key
    app.router.add_get("/media/{token}", serve_media)


def not_found() -> web.Response:
    return web.Response(status=404, text="Not found.", headers={"Cache-Control": "no-store"})


async def serve_media(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    now = runtime.ctx.now().timestamp()
    file_id = verified_file_id(request.app.get(KEY), request.match_info["token"], now)
    if file_id is None:
        refuse(request, "bad or expired media token")
        return not_found()
    file = await get_media_file(runtime.ctx, file_id)
    if file is None:
        return not_found()
    return web.Response(
        body=file.data,
        content_type=file.content_type,
        # A shared cache must not hand the picture out after the token expired.
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
