"""GET /media/{token}: an uploaded picture, for Twilio to fetch when it makes a message.

Twilio fetches media anonymously, so this route is outside the API's key check (it is not
under /v1) and the signed, expiring token in the path is the only permission
(campaigns/media_tokens.py). A missing, malformed, tampered or expired token, or one naming a
file that is not stored, gets the same 404 with no file, so a prober learns nothing. The
access log shows the route's pattern, never the token.

Twilio fetches a MediaUrl for every message it makes, and caches it when the answer allows
(ETag, Last-Modified, Cache-Control max-age): a stored picture never changes, so the answer
may be cached until the token expires, and no longer, by Twilio or any cache on the way. A
repeated fetch with the ETag gets 304 without the bytes being read again.
"""

from __future__ import annotations

from wsgiref.handlers import format_date_time

from aiohttp import web

from bot.access_log import refuse
from bot.keys import RUNTIME
from campaigns.media_tokens import signing_key, token_expiry, verified_file_id
from campaigns.service.media import get_media_file, media_file_exists

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
    token = request.match_info["token"]
    file_id = verified_file_id(request.app.get(KEY), token, now)
    if file_id is None:
        refuse(request, "bad or expired media token")
        return not_found()
    headers = {
        "ETag": f'"{file_id}"',  # a stored picture never changes
        # Cached no longer than the token lives: then the link stops working everywhere.
        "Cache-Control": f"max-age={max(0, token_expiry(token) - int(now))}",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("If-None-Match") == headers["ETag"]:
        if not await media_file_exists(runtime.ctx, file_id):
            return not_found()
        return web.Response(status=304, headers=headers)
    file = await get_media_file(runtime.ctx, file_id)
    if file is None:
        return not_found()
    headers["Last-Modified"] = format_date_time(file.created_at.timestamp())
    return web.Response(body=file.data, content_type=file.content_type, headers=headers)
