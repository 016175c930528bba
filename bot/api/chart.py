"""GET /v1/sms/campaigns/{id}/chart.png: the delivery chart the campaign's Slack thread gets.

Drawn on each request, in a child process (charts.renderer): the web process never imports the
plotting library. A campaign that has sent nothing yet has no curve: 409, not an empty picture
that could be taken for a campaign whose messages all vanished.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.api.errors import error_response
from bot.keys import RUNTIME
from campaigns.errors import StateError
from campaigns.service.timeline import delivery_timeline
from charts.payload import chart_payload
from charts.renderer import ChartError, ChartRenderer

log = logging.getLogger(__name__)

CHARTS = web.AppKey("charts", ChartRenderer)
NOTHING_SENT = (
    "Nothing has been sent, delivered or failed yet: the chart shows once the campaign sends."
)


async def chart_png(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    timeline = await delivery_timeline(runtime.ctx, request.match_info["campaign_id"])
    if timeline.empty:
        raise StateError(NOTHING_SENT)
    try:
        png = await request.app[CHARTS].render(chart_payload(timeline, final=timeline.final))
    except ChartError as error:
        log.warning("could not draw the chart of campaign %s: %s", timeline.campaign_id, error)
        return error_response(
            503, "chart_unavailable", "The chart could not be drawn; try again shortly.",
            **{"Retry-After": "5"},
        )  # fmt: skip
    # A finished campaign's curve no longer changes; a running one's does by the second.
    cache = "private, max-age=3600" if timeline.final else "no-cache"
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": cache})


def register(app: web.Application, charts: ChartRenderer | None = None) -> None:
    app[CHARTS] = charts or ChartRenderer()
    app.router.add_get("/v1/sms/campaigns/{campaign_id}/chart.png", chart_png, allow_head=False)
