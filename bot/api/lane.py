"""The API's CPU work goes in the CPU pool's bulk lane (campaigns/offload.py).

A program can send ten 10 MB lists at once; a person pressing Preview in Slack has 3 seconds to
be answered. In their own lane the API's requests wait behind one another, never in front of
Slack's, and refusing them as busy never refuses Slack.
"""

from __future__ import annotations

from aiohttp import web

from campaigns.offload import bulk_work


@web.middleware
async def api_lane(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    if not request.path.startswith("/v1/"):
        return await handler(request)
    with bulk_work():
        return await handler(request)
