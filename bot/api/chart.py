"""GET /v1/sms/campaigns/{id}/chart.png: the delivery chart the campaign's Slack thread gets.

Drawn in a child process (charts.renderer): the web process never imports the plotting library.
A campaign that has sent nothing yet has no curve: 409, not an empty picture that could be taken
for a campaign whose messages all vanished.

A drawing is a process of its own, about half a second of a core and 70 MB. Sixty requests at
once each started one in turn, and /healthz answered 503 meanwhile. So:
- requests for the same campaign at the same time share one job (one timeline query, at most one
  drawing), and the same data is never drawn twice while the renderer keeps its PNG;
- at most `JOBS` campaigns' charts are in hand at once (two drawn, the rest waiting their turn);
  past that the answer is 503 with Retry-After at once, with no query and no drawing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiohttp import web

from bot.api.errors import error_response
from bot.keys import RUNTIME
from campaigns.errors import StateError
from campaigns.service.context import Context
from campaigns.service.timeline import delivery_timeline
from charts.payload import chart_payload
from charts.renderer import CONCURRENT, ChartError, ChartRenderer

log = logging.getLogger(__name__)

JOBS = CONCURRENT + 8  # campaigns whose chart is being made or waits for a drawing slot
RETRY_AFTER = "5"  # seconds: a drawing takes about one
NOTHING_SENT = (
    "Nothing has been sent, delivered or failed yet: the chart shows once the campaign sends."
)


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    final: bool  # the campaign is over and every receipt is in: it will not change


class ChartsBusy(Exception):
    """`JOBS` charts are in hand already."""


@dataclass
class Charts:
    """The web process's charts: one job per campaign at a time, `limit` jobs at most."""

    renderer: ChartRenderer = field(default_factory=ChartRenderer)
    limit: int = JOBS
    _jobs: dict[str, asyncio.Task[Chart]] = field(default_factory=dict)

    async def chart(self, ctx: Context, campaign_id: str) -> Chart:
        """The chart as the database has it now; raises ChartsBusy, ChartError, StateError
        (nothing sent yet) or NotFound."""
        job = self._jobs.get(campaign_id)
        if job is None:
            if len(self._jobs) >= self.limit:
                raise ChartsBusy
            job = asyncio.create_task(self._make(ctx, campaign_id))
            self._jobs[campaign_id] = job
            job.add_done_callback(lambda done: self._finished(campaign_id, done))
        # Shielded: a client that hangs up does not cancel the job the others wait for.
        return await asyncio.shield(job)

    async def _make(self, ctx: Context, campaign_id: str) -> Chart:
        timeline = await delivery_timeline(ctx, campaign_id)
        if timeline.empty:
            raise StateError(NOTHING_SENT)
        png = await self.renderer.render(chart_payload(timeline, final=timeline.final))
        return Chart(png, timeline.final)

    def _finished(self, campaign_id: str, job: asyncio.Task[Chart]) -> None:
        if self._jobs.get(campaign_id) is job:
            del self._jobs[campaign_id]
        if not job.cancelled():
            job.exception()  # seen by whoever waited; retrieved here in case nobody still does


CHARTS = web.AppKey("charts", Charts)


async def chart_png(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    campaign_id = request.match_info["campaign_id"]
    try:
        chart = await request.app[CHARTS].chart(runtime.ctx, campaign_id)
    except ChartsBusy:
        return error_response(
            503, "busy", "Too many charts are being drawn right now; try again in a few seconds.",
            **{"Retry-After": RETRY_AFTER},
        )  # fmt: skip
    except ChartError as error:
        log.warning("could not draw the chart of campaign %s: %s", campaign_id, error)
        return error_response(
            503, "chart_unavailable", "The chart could not be drawn; try again shortly.",
            **{"Retry-After": RETRY_AFTER},
        )  # fmt: skip
    # A finished campaign's curve no longer changes; a running one's does by the second.
    cache = "private, max-age=3600" if chart.final else "no-cache"
    return web.Response(body=chart.png, content_type="image/png", headers={"Cache-Control": cache})


def register(app: web.Application, charts: ChartRenderer | None = None) -> None:
    app[CHARTS] = Charts(charts or ChartRenderer())
    app.router.add_get("/v1/sms/campaigns/{campaign_id}/chart.png", chart_png, allow_head=False)
